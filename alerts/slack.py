"""Slack: one Block Kit message per alert (or per digest) through an incoming webhook.

API: an incoming webhook of a Slack app, ``POST`` of a JSON message to its URL
(https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks).
Auth: the webhook URL itself is the secret; it is a ``SecretStr`` and never
appears in a repr, a log line or an error. Slack answers ``200 ok``; errors are
short plain-text codes (``invalid_payload``, ``invalid_blocks`` 400;
``invalid_token``, ``action_prohibited`` 403; ``no_service``,
``channel_not_found`` 404; ``channel_is_archived`` 410; ``429`` with
``Retry-After``), translated in ``_check``.

Limits (https://docs.slack.dev/reference/block-kit/blocks): at most 50 blocks;
a text object 1-3000 characters; header plain_text 150; context 10 elements;
button text 75, url 3000. Slack does not say how it counts characters, so
lengths are measured here in UTF-16 units, never fewer than code points.
Posting: one message per second per webhook (short bursts tolerated), so sends
to one webhook URL are spaced >= 1 s apart across every SlackChannel of the
process.

Strangers' text (https://docs.slack.dev/reference/block-kit/composition-objects/text-object):
mrkdwn has no escape for ``*``, ``_``, ``~`` or backticks, so everything a
stranger wrote (a post's text and title, its author, the sentiment reasons
drawn from it, a spike's posts, a health notice's error) goes into
``plain_text`` objects with ``emoji: false``, which Slack shows exactly as
written: no bold, code, strike, links, ``<!channel>`` or ``<@U…>`` mentions,
no ``:emoji:`` codes. Control characters and bidi overrides are removed
first, and ``&``, ``<``, ``>`` are escaped in every text object (Slack decodes
them for display). mrkdwn (``verbatim``) holds only our words:
the details, the source's name, the follow-up command. The notification
fallback ``text`` is shown as plain text by Slack's notifications; stranger
text in it is escaped all the same. Links are shown only for http(s) URLs, as
buttons, percent-encoded; link previews are turned off.

Layout: a header (the kind-aware subject), the alert's ``details`` right under
it, then the post (text, facts, a button), or for a notice its text and a
spike's top posts as digest-like lines, and last a context with the follow-up
command. Digest lines start with the kind's label (Spreading, Reminder, ...).
A message re-sent after a crash mid-send says so right under its header.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from alerts.base import Channel, ChannelConfig
from alerts.render import (
    ACKNOWLEDGE,
    OPEN_IN_INBOX,
    REPEAT_NOTE,
    ago,
    digest_label,
    digest_title,
    engagement,
    follow_up,
    inbox_links,
    is_notice,
    safe_link,
    source_name,
    subject,
    why,
)
from alerts.slack_config import SlackConfig as SlackConfig  # also at its old address
from monitor.errors import AlertError, ChannelMisconfigured
from monitor.http import parse_retry_after
from monitor.models import CHANGED, HEALTH, REMINDER, SPREADING, VIRAL, Alert, Digest, Posted
from monitor.text import shorten, terminal_safe

if TYPE_CHECKING:
    from alerts.base import OnPress
    from alerts.slack_app import SlackApp

TEXT_MAX = 3000  # a text object, a button url
HEADER_MAX = 150
BUTTON_MAX = 75
DIGEST_BLOCKS = 47  # header + 45 alerts + "and N more" (a webhook's digest): within Slack's 50
POSTS_SHOWN = 10  # a spike's posts: header, details, text, 10 posts, more, button, follow-up
DETAILS_SHOWN = 5
DETAIL_MAX = 580  # 5 lines of "• " + 580 units and 4 newlines stay within one text object
MIN_INTERVAL = 1.0  # seconds between two posts to one webhook
CUES = {"high": "🔴", "negative": "🟠", "info": "🟢"}
HEALTH_CUES = {"info": "✅", "negative": "⚠️", "high": "⚠️"}  # a source, not a mention
NEW_HOOK = (
    "create a new incoming webhook (your Slack app > Incoming Webhooks > Add New Webhook "
    "to Workspace) and put its URL in this channel's `webhook_url`"
)
#: Slack's error codes that mean the webhook itself needs the owner: what happened, the fix.
BROKEN_HOOK = {
    "invalid_token": ("the webhook's token is not valid (was the Slack app removed?)", ""),
    "no_service": ("the webhook was removed or revoked", ""),
    "no_team": ("the webhook's Slack workspace no longer exists or is disabled", ""),
    "channel_not_found": ("the channel the webhook posts to no longer exists", ""),
    "channel_is_archived": ("the channel the webhook posts to is archived", "unarchive it, or "),
    "action_prohibited": ("a workspace admin has restricted this webhook", "ask them, or "),
    "posting_to_general_channel_denied": ("only admins may post in this channel", ""),
}
#: Slack's error codes that mean this message's content was refused: our bug, not the owner's.
BAD_MESSAGE = {"invalid_payload", "invalid_blocks", "invalid_blocks_format", "no_text"}
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_CODE = re.compile(r"[a-z_]{2,60}")


def escape(text: str) -> str:
    """Slack's three control characters as entities (``&`` first, so nothing is escaped twice)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, chars: int, limit: int = TEXT_MAX) -> str:
    """Text on one line, without control characters, with Slack's three control characters
    escaped (in every text object: https://docs.slack.dev/messaging/formatting-message-text),
    at most ``chars`` characters shown and ``limit`` UTF-16 units sent (cut with …)."""
    flat = " ".join(terminal_safe(text).split())
    pieces = [_ESCAPES.get(c, c) for c in flat]
    whole = "".join(pieces)
    if len(pieces) <= chars and units(whole) <= limit:
        return whole
    out, used = [], 0
    for piece in pieces[: max(chars - 1, 0)]:
        used += units(piece)
        if used > limit - 1:
            break
        out.append(piece)
    return "".join(out).rstrip() + "…"


def link(url: str) -> str | None:
    """An http(s) URL percent-encoded so no ``<``, ``>``, ``|``, space or control is left."""
    if safe_link(url) is None:
        return None
    clean = quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~")
    return clean if len(clean) <= TEXT_MAX else None


def cue(alert: Alert) -> str:
    """The colour cue of the header and digest lines; a source's health has its own."""
    if alert.kind == HEALTH:
        return HEALTH_CUES.get(alert.severity, HEALTH_CUES["negative"])
    return CUES.get(alert.severity, "🟢")


def mrkdwn(text: str) -> dict[str, Any]:
    """Our own words (labels, commands in backticks), already escaped."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def stranger(text: str) -> dict[str, Any]:
    """Text that may hold a stranger's words, already fitted (escaped): plain_text shows it
    exactly as written (no bold, code, strike, links, mentions or :emoji: codes)."""
    return {"type": "plain_text", "text": text, "emoji": False}


def plain(text: str, limit: int) -> dict[str, Any]:
    return stranger(fit(text, limit, limit))


def details(lines: tuple[str, ...]) -> str:
    """Our own lines (numbers, growth), escaped, one per line; within one text object."""
    shown = [f"• {fit(line, 300, DETAIL_MAX)}" for line in lines[:DETAILS_SHOWN]]
    return "\n".join(shown)


def _line(line: str, url: str, words: str = "Open") -> dict[str, Any]:
    """A digest or post line as plain text, with an Open button if its link is http(s)."""
    block: dict[str, Any] = {"type": "section", "text": stranger(line)}
    clean = link(url)
    if clean is not None:
        block["accessory"] = {"type": "button", "text": plain(words, BUTTON_MAX), "url": clean}
    return block


#: action_id of each link button (unique within its block, as Slack requires).
_ACTION_IDS = {OPEN_IN_INBOX: "inbox", ACKNOWLEDGE: "acknowledge"}


def _buttons(url: str, words: str, alert: Alert) -> list[dict[str, Any]]:
    """One row of link buttons: the post (``words``), then the alert's inbox pages (Open in
    inbox, Acknowledge: web.public_url). Link buttons only open a page; acknowledging is
    the confirm page's own button, so a link preview or a stray tap changes nothing."""
    elements = []
    for label, target, action in [
        (words, url, "open"),
        *((label, target, _ACTION_IDS[label]) for label, target in inbox_links(alert)),
    ]:
        clean = link(target)
        if clean is not None:
            button = {"type": "button", "text": plain(label, BUTTON_MAX), "url": clean}
            elements.append({**button, "action_id": action})
    return [{"type": "actions", "elements": elements}] if elements else []


@dataclass
class _Pace:
    """When a webhook was last posted to; its lock keeps posts to it one at a time."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    last: float | None = None


_PACES: dict[str, _Pace] = {}  # sha256 of the webhook URL -> its pace
_PACES_LOCK = threading.Lock()


def _pace(url: str) -> _Pace:
    key = hashlib.sha256(url.encode()).hexdigest()
    with _PACES_LOCK:
        return _PACES.setdefault(key, _Pace())


class SlackChannel(Channel):
    """Posts alerts to a Slack channel through an incoming webhook, or, configured with a
    ``bot_token``, as the Slack app (``self.app``: alerts/slack_app.py), whose alerts carry
    buttons and which ``send``, ``listen`` and ``check`` hand over to.

    ``clock`` and ``sleep`` (default ``time.monotonic``/``time.sleep``) pace the
    posts; tests hand in a fake pair.
    """

    name = "slack"
    Config = SlackConfig
    config: SlackConfig

    def __init__(
        self,
        config: ChannelConfig,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(config, http=http)
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self.app: SlackApp | None = None
        if self.config.bot_token is not None:
            from alerts.slack_app import SlackApp

            self.app = SlackApp(self)

    # ------------------------------------------------------------ messages

    def send(self, alert: Alert) -> Posted | None:
        if self.app is not None:
            return self.app.send(alert)
        self._post(self.message(alert))
        return None

    def send_digest(self, digest: Digest) -> Posted | None:
        if self.app is not None:
            return self.app.send_digest(digest)
        self._post(self.digest_message(digest))
        return None

    # ------------------------------------------------------------ the Slack app's part

    @property
    def interactive(self) -> bool:
        return self.app is not None

    def check(self, online: bool = False) -> list[str]:
        if self.app is not None:
            return self.app.check(online)
        return ["posts through an incoming webhook (no buttons: see docs/channels/slack-app.md)"]

    def listen(self, on_press: OnPress, stop: threading.Event) -> None:
        if self.app is None:
            super().listen(on_press, stop)
            return
        from alerts.slack_socket import listen

        listen(self.app, on_press, stop)

    def close(self) -> None:
        if self.app is not None:
            self.app.close()
        super().close()

    def message(
        self, alert: Alert, extra: Sequence[dict[str, Any]] = (), follow: str | None = None
    ) -> dict[str, Any]:
        """The message for one alert; ``extra`` blocks (the app's buttons) go before the
        follow-up line, which ``follow`` replaces."""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": plain(f"{cue(alert)} {subject(alert)}", HEADER_MAX)}
        ]
        if alert.possible_repeat:
            blocks.append({"type": "context", "elements": [mrkdwn(f"_{REPEAT_NOTE}_")]})
        if alert.details:
            blocks.append({"type": "section", "text": mrkdwn(details(alert.details))})
        if is_notice(alert):
            blocks += self._notice_blocks(alert)
        else:
            blocks += self._mention_blocks(alert)
        blocks += extra
        then = follow if follow is not None else follow_up(alert)
        where = fit(then, 600, 2000) if then is not None else "sent by mention-monitor"
        blocks.append({"type": "context", "elements": [mrkdwn(where)]})
        if is_notice(alert) or alert.kind in (SPREADING, VIRAL, REMINDER, CHANGED):
            said = alert.details[0] if alert.details else alert.text
            fallback = f"{cue(alert)} {fit(subject(alert), 150, 600)}: {fit(said, 150, 1000)}"
        else:
            fallback = (
                f"{cue(alert)} {escape(subject(alert))}: "
                f"{fit(alert.author, 80, 500)}: {fit(alert.text, 150, 1000)}"
            )
        return self._payload(fallback, blocks, alert.severity == "high", alert.possible_repeat)

    def _mention_blocks(self, alert: Alert) -> list[dict[str, Any]]:
        """The post: its text, who and when, sentiment, engagement, a button to open it."""
        title = fit(alert.title, 200, 1000) + "\n" if alert.title else ""
        body = title + fit(alert.text, self.config.max_text, TEXT_MAX - units(title))
        facts = [
            mrkdwn(f"*{escape(source_name(alert.source))}*"),
            plain(f"by {alert.author}", 500),
            plain(ago(alert.created_at), 100),
            plain(f"why: {shorten(why(alert), 300)}", 1500),
        ]
        if counts := engagement(alert):  # a new post's counters may all be zero
            facts.append(plain(counts, 1000))
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": stranger(body or "(no text)")},
            {"type": "context", "elements": facts},
        ]
        blocks += _buttons(alert.url, "Open post", alert)
        return blocks

    def _notice_blocks(self, alert: Alert) -> list[dict[str, Any]]:
        """A spike's top posts, each like a digest line; a health notice's text."""
        blocks: list[dict[str, Any]] = []
        text = fit(alert.text, self.config.max_text)
        if text:
            blocks.append({"type": "section", "text": stranger(text)})
        for post in alert.posts[:POSTS_SHOWN]:
            line = (
                f"{CUES['negative' if post.label == 'negative' else 'info']} "
                f"{source_name(post.source)} · {fit(post.author, 80, 500)} · "
                f"{ago(post.created_at)}\n"
                f"{fit(post.text, 300, 1600)}"
            )
            blocks.append(_line(line, post.url))
        more = len(alert.posts) - POSTS_SHOWN
        if more > 0:
            blocks.append({"type": "context", "elements": [mrkdwn(f"and {more} more")]})
        blocks += _buttons(alert.url, "Open", alert)
        return blocks

    def digest_message(
        self, digest: Digest, extra: Callable[[Alert], list[dict[str, Any]]] | None = None
    ) -> dict[str, Any]:
        """One message listing the alerts while Slack's blocks last; ``extra`` gives the
        blocks to show under an alert's line (the app's buttons)."""
        title = digest_title(digest)
        blocks: list[dict[str, Any]] = [{"type": "header", "text": plain(title, HEADER_MAX)}]
        if digest.possible_repeat:
            blocks.append({"type": "context", "elements": [mrkdwn(f"_{REPEAT_NOTE}_")]})
        room = DIGEST_BLOCKS - len(blocks) - 1  # one left for "and N more"
        shown = 0
        for alert in digest.alerts:
            lines = [self._digest_line(alert), *(extra(alert) if extra is not None else [])]
            if len(lines) > room:
                break
            blocks += lines
            room -= len(lines)
            shown += 1
        more = len(digest.alerts) - shown
        if more > 0:
            note = f"and {more} more: run `mention-monitor mentions --negative` on the server"
            blocks.append({"type": "context", "elements": [mrkdwn(note)]})
        high = any(a.severity == "high" for a in digest.alerts)
        return self._payload(escape(title), blocks, high, digest.possible_repeat)

    def _digest_line(self, alert: Alert) -> dict[str, Any]:
        label = digest_label(alert)
        kind = f"{label} · " if label else ""
        if is_notice(alert):
            said = alert.details[0] if alert.details else alert.text
            line = f"{cue(alert)} {kind}{fit(subject(alert), 200, 1000)}\n{fit(said, 300, 1600)}"
        else:
            text = f"{alert.title} - {alert.text}" if alert.title else alert.text
            note = f"\n{fit(alert.details[0], 200, 800)}" if alert.details else ""
            line = (
                f"{cue(alert)} {kind}{fit(alert.brand, 100, 600)} · "
                f"{source_name(alert.source)} · {fit(alert.author, 80, 500)} · "
                f"{ago(alert.created_at)}{note}\n{fit(text, 200, 1100)}"
            )
        if alert.inbox_url:  # the inbox's page links the post and has the buttons
            return _line(line, alert.inbox_url, OPEN_IN_INBOX)
        return _line(line, alert.url)

    def _payload(
        self, fallback: str, blocks: list[dict[str, Any]], high: bool, repeat: bool = False
    ) -> dict[str, Any]:
        if repeat:
            fallback = f"({REPEAT_NOTE.rstrip('.')}) {fallback}"
        if high and self.config.mention_channel_on_high:
            fallback = "<!channel> " + fallback  # the owner's choice in config.yaml, never a post's
        return {"text": fallback, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}

    # ------------------------------------------------------------ the wire

    def _post(self, payload: dict[str, Any]) -> None:
        assert self.config.webhook_url is not None  # the config has one or a bot_token
        url = self.config.webhook_url.get_secret_value()
        pace = _pace(url)
        with pace.lock:
            if pace.last is not None:
                wait = min(MIN_INTERVAL, pace.last + MIN_INTERVAL - self._clock())
                if wait > 0:
                    self._sleep(wait)
            pace.last = self._clock()
            try:
                response = self.http.post(url, json=payload)
            except httpx.TimeoutException as exc:
                raise AlertError(self.config.name, "no answer from Slack in time") from exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise AlertError(
                    self.config.name, f"cannot reach Slack: {type(exc).__name__}"
                ) from exc
        self._check(response)

    def _check(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        body = response.text[:100].strip()
        code = body if _CODE.fullmatch(body) else ""  # Slack's codes; never echo anything else
        said = f"HTTP {status}" + (f" {code}" if code else "")
        channel = self.config.name
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            wait = 30.0 if wait is None else wait
            raise AlertError(
                channel,
                f"Slack is rate limiting this webhook ({said}); retrying in {wait:.0f}s",
                retry_after=wait,
            )
        if status >= 500:
            raise AlertError(channel, f"Slack had a server error ({said}); will retry")
        if code in BROKEN_HOOK or status in (401, 403, 404, 405, 410):
            what, fix = BROKEN_HOOK.get(code, ("Slack does not accept this webhook URL", ""))
            raise ChannelMisconfigured(channel, f"Slack answered {said}: {what}; {fix}{NEW_HOOK}")
        if code in BAD_MESSAGE:
            raise AlertError(
                channel,
                f"Slack refused this message ({said}); it is not retried. This is a bug in "
                "mention-monitor's Slack messages: please report it",
                permanent=True,
            )
        if 400 <= status < 500:
            raise AlertError(channel, f"Slack refused this message ({said})", permanent=True)
        raise AlertError(channel, f"unexpected answer from Slack ({said}); will retry")
