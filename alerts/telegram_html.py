"""What the Telegram bot says: alerts and digests as Bot API HTML, and their inline keyboards.

Format (https://core.telegram.org/bots/api#html-style): the text is sent with
``parse_mode: HTML``. Telegram reads only its own tags (``<b>``, ``<i>``, ``<code>``,
``<blockquote>``, ``<a href>``, ...) and the entities ``&lt;`` ``&gt;`` ``&amp;``
``&quot;`` (and numeric ones); every ``<``, ``>`` and ``&`` that is not ours must be
escaped. So every string here passes through ``esc`` (stranger text and our own words
alike, control characters and bidi overrides removed first): a post's ``<b>``, ``&amp;``
or ``<a href="...">`` arrives as those characters, never as formatting or a link. Our
tags are written around already escaped text; an ``href`` is an http(s) address escaped
for an attribute.

Limits: a message is 1-4096 characters after the tags are read (measured here in UTF-16
units, never fewer than characters), so a long post is cut with … and a digest lists what
fits, then "and N more". A button's ``callback_data`` is 1-64 bytes: ``mm:<mention id>:<action>``
is at most 35. Link buttons (**Open post**, **Open in inbox**) take http(s) addresses only.

Layout of an alert: the colour cue and the subject in bold, "may repeat" when re-sent after
a crash, the details (growth, how long it waited), then the post (its title in bold, its
text in a quote, source, author, age, sentiment and why, engagement) or a notice's text and
a spike's top posts, then the mention's number and status, and after a press the line that
says who did what. Buttons: the actions that still apply (two a row), then the link
buttons. A digest lists one entry per alert (#number, kind, brand, source, author, age,
status, links) and a row of buttons per mention that still has any (the first ten).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from alerts.render import (
    REPEAT_NOTE,
    ago,
    digest_label,
    engagement,
    follow_up,
    is_notice,
    safe_link,
    source_name,
    subject,
    why,
)
from monitor.actions import ACTIONS, LABELS, buttons_for
from monitor.models import HEALTH, Alert
from monitor.text import terminal_safe

LIMIT = 4096  # characters of a message after entities parsing
DETAILS_SHOWN = 5
POSTS_SHOWN = 10  # a spike's top posts
DIGEST_BUTTONS = 10  # mentions of a digest that get a row of buttons
URL_MAX = 2048
CUES = {"high": "🔴", "negative": "🟠", "info": "🟢"}
HEALTH_CUES = {"info": "✅", "negative": "⚠️", "high": "⚠️"}
CALLBACK = re.compile(r"mm:(\d{1,18}):([a-z_]{1,20})")
_TAG = re.compile(r"<[^>]*>")

Keyboard = list[list[dict[str, str]]]


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def flat(text: str) -> str:
    """One line, without control characters or bidi overrides."""
    return " ".join(terminal_safe(text).split())


def cut(text: str, chars: int) -> str:
    line = flat(text)
    return line if len(line) <= chars else line[: max(chars - 1, 0)].rstrip() + "…"


def esc(text: str) -> str:
    """Telegram's three characters as entities (``&`` first, so nothing is escaped twice)."""
    return html.escape(text, quote=False)


def show(text: str, chars: int) -> str:
    return esc(cut(text, chars))


def visible(markup: str) -> int:
    """How long Telegram counts ``markup``: the text once our tags are read."""
    return units(html.unescape(_TAG.sub("", markup)))


def ours(text: str) -> str:
    """Our own words, with `commands` in backticks as code."""
    parts = terminal_safe(text).split("`")
    return "".join(f"<code>{esc(p)}</code>" if i % 2 else esc(p) for i, p in enumerate(parts))


def link(url: str) -> str | None:
    """An http(s) address percent-encoded so no space, quote, ``<`` or control is left."""
    if safe_link(url) is None:
        return None
    clean = quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~")
    return clean if len(clean) <= URL_MAX else None


def cue(alert: Alert) -> str:
    if alert.kind == HEALTH:
        return HEALTH_CUES.get(alert.severity, HEALTH_CUES["negative"])
    return CUES.get(alert.severity, "🟢")


# ------------------------------------------------------------------ buttons


def callback(mention_id: int, action: str) -> str:
    return f"mm:{mention_id}:{action}"


def parse_callback(data: object) -> tuple[int, str] | None:
    """(mention id, action) of a button we made, else None."""
    if not isinstance(data, str):
        return None
    match = CALLBACK.fullmatch(data)
    if match is None or match.group(2) not in ACTIONS:
        return None
    return int(match.group(1)), match.group(2)


def action_rows(mention_id: int, actions: Sequence[str]) -> Keyboard:
    """The buttons of one mention, two a row."""
    buttons = [{"text": LABELS[a], "callback_data": callback(mention_id, a)} for a in actions]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def link_row(alert: Alert, words: str = "Open post") -> list[dict[str, str]]:
    """Open post and Open in inbox (``web.public_url``), where their addresses are http(s).
    The inbox's Acknowledge page is left out: the Acknowledge button does it here."""
    row = []
    for label, target in ((words, alert.url), ("Open in inbox", alert.inbox_url or "")):
        clean = link(target)
        if clean is not None:
            row.append({"text": label, "url": clean})
    return row


def alert_keyboard(alert: Alert, actions: Sequence[str] | None = None) -> Keyboard:
    """The buttons under one alert: ``actions`` (default: what its status allows), links."""
    rows: Keyboard = []
    if alert.mention_id is not None:
        if actions is None:
            actions = buttons_for(alert.status or "new", None)
        rows += action_rows(alert.mention_id, actions)
    row = link_row(alert, "Open" if is_notice(alert) else "Open post")
    if row:
        rows.append(row)
    return rows


def digest_keyboard(alerts: Sequence[Alert], pressed: tuple[int, Sequence[str]] | None) -> Keyboard:
    """A row per mention that still has buttons (the first ``DIGEST_BUTTONS``), the first
    button naming the mention's number. ``pressed``: (mention id, its buttons now)."""
    rows: Keyboard = []
    seen: set[int] = set()
    for alert in alerts:
        n = alert.mention_id
        if n is None or n in seen or len(rows) >= DIGEST_BUTTONS:
            continue
        seen.add(n)
        if pressed is not None and pressed[0] == n:
            actions: Sequence[str] = pressed[1]
        else:
            actions = buttons_for(alert.status or "new", None)
        if actions:
            row = [{"text": LABELS[a], "callback_data": callback(n, a)} for a in actions]
            row[0] = {**row[0], "text": f"#{n} {row[0]['text']}"}
            rows.append(row)
    return rows


def markup(rows: Keyboard) -> dict[str, Any]:
    return {"inline_keyboard": rows}


def message(chat_id: int | str, text: str, rows: Keyboard) -> dict[str, Any]:
    """sendMessage's (or editMessageText's) parameters: HTML, no link previews (a link in a
    stranger's text would otherwise fetch and show that page), the keyboard if any."""
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if rows:
        params["reply_markup"] = markup(rows)
    return params


def strip_links(rows: Keyboard) -> Keyboard:
    """The keyboard without its link buttons (for a second try when Telegram refused one)."""
    kept = [[b for b in row if "url" not in b] for row in rows]
    return [row for row in kept if row]


# ------------------------------------------------------------------ one alert


def _mention_lines(alert: Alert, text_chars: int) -> list[str]:
    lines = [""]
    if alert.title:
        lines.append(f"<b>{show(alert.title, 200)}</b>")
    body = show(alert.text, text_chars)
    lines.append(f"<blockquote>{body}</blockquote>" if body else "(no text)")
    lines.append(
        f"{esc(source_name(alert.source))} · by {show(alert.author, 80)} · "
        f"{esc(ago(alert.created_at))}"
    )
    lines.append(f"why: {show(why(alert), 300)}")
    if counts := engagement(alert):
        lines.append(show(counts, 300))
    return lines


def _notice_lines(alert: Alert, text_chars: int) -> list[str]:
    lines = []
    text = show(alert.text, text_chars)
    if text:
        lines += ["", text]
    for post in alert.posts[:POSTS_SHOWN]:
        mark = CUES["negative" if post.label == "negative" else "info"]
        lines.append(
            f"\n{mark} {esc(source_name(post.source))} · {show(post.author, 80)} · "
            f"{esc(ago(post.created_at))} · {esc(post.label)} {post.compound:+.2f}\n"
            f"{show(post.text, 200)}"
        )
    more = len(alert.posts) - POSTS_SHOWN
    if more > 0:
        lines.append(f"and {more} more")
    return lines


def _where(alert: Alert) -> str | None:
    """The last line: the mention's number and status; a notice's follow-up command."""
    if alert.mention_id is not None:
        status = alert.status if alert.status not in (None, "new") else None
        return f"mention #{alert.mention_id}" + (f" · {esc(status)}" if status else "")
    then = follow_up(alert)
    return ours(then) if then else None


def alert_text(alert: Alert, max_text: int, status_line: str | None = None) -> str:
    """The HTML of one alert; ``status_line`` (after a press) says who did what."""
    text_chars = max_text
    while True:
        lines = [f"{cue(alert)} <b>{show(subject(alert), 200)}</b>"]
        if alert.possible_repeat:
            lines.append(f"<i>{esc(REPEAT_NOTE)}</i>")
        lines += [f"• {show(d, 300)}" for d in alert.details[:DETAILS_SHOWN]]
        if is_notice(alert):
            lines += _notice_lines(alert, text_chars)
        else:
            lines += _mention_lines(alert, text_chars)
        where = _where(alert)
        if where:
            lines += ["", where]
        if status_line:
            lines.append(f"<b>{show(status_line, 200)}</b>")
        text = "\n".join(lines)
        over = visible(text) - LIMIT
        if over <= 0 or text_chars <= 50:
            return text
        text_chars = max(50, text_chars - over - 1)


# ------------------------------------------------------------------ digests


def _entry(alert: Alert) -> str:
    label = digest_label(alert)
    kind = f"{esc(label)} · " if label else ""
    links = []
    for words, target in (("open", alert.url), ("inbox", alert.inbox_url or "")):
        clean = link(target)
        if clean is not None:
            links.append(f'<a href="{html.escape(clean, quote=True)}">{words}</a>')
    tail = f" · {' · '.join(links)}" if links else ""
    if is_notice(alert):
        said = alert.details[0] if alert.details else alert.text
        return f"{cue(alert)} {kind}<b>{show(subject(alert), 200)}</b>{tail}\n{show(said, 300)}"
    number = f"<b>#{alert.mention_id}</b> " if alert.mention_id is not None else ""
    status = f" · {esc(alert.status)}" if alert.status not in (None, "new") else ""
    text = f"{alert.title} - {alert.text}" if alert.title else alert.text
    note = f"\n{show(alert.details[0], 200)}" if alert.details else ""
    return (
        f"{cue(alert)} {number}{kind}{show(alert.brand, 100)} · "
        f"{esc(source_name(alert.source))} · {show(alert.author, 80)} · "
        f"{esc(ago(alert.created_at))}{status}{tail}{note}\n{show(text, 200)}"
    )


def digest_text(
    title: str, alerts: Sequence[Alert], repeat: bool, status_line: str | None = None
) -> str:
    """One message listing the alerts that fit in Telegram's 4096, then how many more."""
    head = [f"<b>{show(title, 300)}</b>"]
    if repeat:
        head.append(f"<i>{esc(REPEAT_NOTE)}</i>")
    tail = [f"<b>{show(status_line, 200)}</b>"] if status_line else []
    reserve = 120  # the "and N more" line
    used = visible("\n".join(head + tail)) + reserve
    entries: list[str] = []
    for alert in alerts:
        entry = _entry(alert)
        size = visible(entry) + 2  # the blank line before it
        if used + size > LIMIT:
            break
        entries.append(entry)
        used += size
    lines = head + [f"\n{e}" for e in entries]
    more = len(alerts) - len(entries)
    if more > 0:
        lines.append(
            f"\nand {more} more: run {ours('`mention-monitor mentions --negative`')} on the server"
        )
    return "\n".join(lines + tail)
