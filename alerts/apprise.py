"""The apprise channel: any service Apprise knows (Discord, Teams, Telegram, ntfy, Pushover, ...).

Each entry of ``urls`` is an Apprise URL (https://github.com/caronc/apprise/wiki,
one page per service: ``discord://webhook_id/webhook_token``,
``tgram://bot_token/chat_id``, ``ntfy://topic``, ...), checked by Apprise when
the config is loaded. Auth and limits are the service's; Apprise sends with
``requests`` (not the service's httpx client), with its own timeouts (4 s
connect, 4 s read), and with ``mention-monitor/<version>`` as the User-Agent
where the service takes one (Apprise's ``app_id``, also its display name).

``Apprise.notify()`` answers only True/False, so the reason for a failure is read
from Apprise's log, captured with ``apprise.LogCapture`` during the call. Apprise
URLs carry tokens everywhere (host, path, user, query) and Apprise logs URLs and
hosts, so while we call it a filter on its logger (and on urllib3's, which logs
request paths) removes every part of our URLs from each record; the error we
raise is scrubbed again. Calls are serialised (one lock), so the captured log
belongs to this call. A failure is transient (Apprise does not say more); no
loadable URL at all is ChannelMisconfigured. Apprise has no return of "which
URL failed": a retry goes to every URL again.

Text from strangers is stripped of terminal escapes, controls and bidi
overrides, and its ``@`` gets a word joiner so ``@everyone``/``<@123>`` cannot
ping (Discord looks for pings in bodies in its Markdown mode);
``format: markdown`` also escapes Markdown and ``<`` (raw HTML) in it. With
``format: text`` the body goes to Apprise as HTML-escaped text, so Apprise
converts it for each service (``apprise.conversion``): the same text for text
services, and escaped Markdown for Markdown services (Discord, Slack,
Mattermost, ...), which would otherwise render a stranger's ``*bold*``. The same
goes for a spike's posts, and for our own ``details`` (they hold brand names).
The title is the kind-aware subject; the body starts with the ``details``, ends
with the follow-up command.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from typing import Annotated, Literal
from urllib.parse import quote, unquote, unquote_plus, urlsplit

import apprise
import httpx
from apprise.url import URLBase
from pydantic import AfterValidator, ConfigDict, Field, SecretStr, field_validator

from alerts.base import Channel, ChannelConfig
from alerts.render import (
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
    tag,
    why,
)
from monitor import __version__
from monitor.errors import AlertError, ChannelMisconfigured
from monitor.models import Alert, Digest
from monitor.text import shorten, terminal_safe

log = logging.getLogger(__name__)

MAX_TEXT = 1000
DIGEST_LIMIT = 20  # alerts listed in one digest message; the rest are counted
_LOGGERS = ("apprise", "urllib3.connectionpool")
_LOCK = threading.Lock()
WORD_JOINER = "\u2060"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,31})://")
_MENTION = re.compile(r"@(?=\S)")
_MARKDOWN = re.compile(r"([\\`*_~\[\]()!|])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_TYPES = {
    "high": apprise.NotifyType.FAILURE,
    "negative": apprise.NotifyType.WARNING,
    "info": apprise.NotifyType.INFO,
}


def _asset() -> apprise.AppriseAsset:
    return apprise.AppriseAsset(
        app_id=f"mention-monitor/{__version__}",
        app_desc="mention-monitor",
        storage_mode="memory",
        interpret_emojis=False,
    )


def scheme_of(url: str) -> str:
    match = _SCHEME.match(url.strip())
    return f"'{match.group(1).lower()}://'" if match else "(no scheme://)"


def secret_parts(url: str) -> set[str]:
    """The URL and every part of it that could be (part of) a token."""
    parts = {url}
    try:
        split = urlsplit(url)
        credentials = [split.username, split.password]
    except ValueError:
        return parts
    pieces = re.split(r"[:@]", split.netloc) + split.path.split("/") + [split.fragment]
    pieces += [pair.partition("=")[2] for pair in re.split(r"[&;]", split.query)]
    forms = {v for p in [split.netloc, *pieces] for v in (p, unquote(p), unquote_plus(p))}
    parts.update(p for p in forms if len(p.strip()) > 3 and not (p.isdigit() and len(p) <= 5))
    parts.update(v for c in credentials if c for v in (c, unquote(c)) if v.strip())
    return parts


class Scrubber:
    """Replaces every part of the given secret URLs in a text by ``***``."""

    def __init__(self, urls: Sequence[str]) -> None:
        parts = sorted({p for url in urls for p in secret_parts(url)}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, parts)), re.I) if parts else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub("***", text) if self._pattern else text


class _ScrubRecords(logging.Filter):
    def __init__(self, scrub: Scrubber, *, quiet: bool = False) -> None:
        super().__init__()
        self.scrub = scrub
        self.quiet = quiet

    def filter(self, record: logging.LogRecord) -> bool:
        if self.quiet:
            return False
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep what it has, scrubbed
            message = str(record.msg)
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        record.exc_text = None
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        record.msg, record.args = self.scrub(message), None
        return True


@contextmanager
def _guarded(urls: Sequence[str], *, quiet: bool = False) -> Iterator[Scrubber]:
    """One apprise call at a time, with our URLs scrubbed from every log record it makes
    (or, ``quiet``, with its records dropped)."""
    scrub = Scrubber(urls)
    records = _ScrubRecords(scrub, quiet=quiet)
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    with _LOCK:
        for logger in loggers:
            logger.addFilter(records)
        try:
            yield scrub
        finally:
            for logger in loggers:
                logger.removeFilter(records)


def _understood(value: SecretStr) -> SecretStr:
    url = value.get_secret_value()
    with _guarded([url], quiet=True):  # our error says it; apprise's would half-mask the URL
        plugin = apprise.Apprise.instantiate(url, asset=_asset())
    if plugin is None:
        scheme = scheme_of(url)
        hint = (
            " (for a plain web address use `type: webhook`, or apprise's json:// URL)"
            if scheme in ("'http://'", "'https://'")
            else ": see https://github.com/caronc/apprise/wiki for your service's URL"
        )
        raise ValueError(f"apprise does not understand this {scheme} URL{hint}")
    return value


class AppriseConfig(ChannelConfig):
    """One or more Apprise URLs (secret) and the body format."""

    # A rejected URL must not be echoed back by pydantic's error text.
    model_config = ConfigDict(hide_input_in_errors=True)

    type: Literal["apprise"] = "apprise"
    urls: list[Annotated[SecretStr, AfterValidator(_understood)]] = Field(
        description="one or more Apprise addresses, each as `${ENV_VAR}`, e.g."
        ' `["${DISCORD_URL}", "${NTFY_URL}"]`'
    )
    format: Literal["text", "markdown"] = Field(
        default="text",
        description="`text`: plain text, which Apprise converts for each service (a stranger's"
        ' `*bold*` shows as written); `markdown`: labels in bold and a link titled "open the'
        ' mention", with whatever strangers wrote escaped. Use `markdown` only if every'
        " service in `urls` shows Markdown or HTML (Discord, Slack, Telegram, e-mail): plain"
        " text services such as Pushover or ntfy would show the escapes as backslashes",
    )

    @field_validator("urls")
    @classmethod
    def _at_least_one(cls, value: list[SecretStr]) -> list[SecretStr]:
        if not value:
            raise ValueError("list at least one Apprise URL, like ${DISCORD_URL}")
        return value


class AppriseChannel(Channel):
    """Sends alerts through the apprise library to every URL in ``urls``."""

    name = "apprise"
    Config = AppriseConfig
    config: AppriseConfig

    def __init__(self, config: ChannelConfig, *, http: httpx.Client | None = None) -> None:
        super().__init__(config, http=http)  # apprise brings its own HTTP (requests)
        self._apprise: apprise.Apprise | None = None

    def send(self, alert: Alert) -> None:
        self._notify(terminal_safe(subject(alert)), self.render(alert), _TYPES[alert.severity])

    def send_digest(self, digest: Digest) -> None:
        severities = {a.severity for a in digest.alerts}
        worst = next((s for s in ("high", "negative") if s in severities), "info")
        title = terminal_safe(digest_title(digest))
        self._notify(title, self.render_digest(digest), _TYPES[worst])

    # ------------------------------------------------------------------ rendering

    def _escape(self, text: str, limit: int) -> str:
        return self._inert(shorten(terminal_safe(text), limit))

    def _inert(self, text: str) -> str:
        text = _MENTION.sub("@" + WORD_JOINER, terminal_safe(text))
        if self.config.format == "markdown":
            text = _MARKDOWN.sub(r"\\\1", _ENTITY.sub("&amp;", text)).replace("<", "&lt;")
        return text

    def _ours(self, text: str) -> str:
        """Our line with `commands`: in markdown the commands are code, the rest escaped."""
        text = shorten(terminal_safe(text), 500)
        if self.config.format != "markdown":
            return self._inert(text)
        pieces = text.split("`")
        return "".join(
            f"`{_MENTION.sub('@' + WORD_JOINER, piece)}`" if i % 2 else self._inert(piece)
            for i, piece in enumerate(pieces)
        )

    def _label(self, word: str) -> str:
        return f"**{word}**" if self.config.format == "markdown" else word

    def _link(self, url: str, words: str = "open the mention") -> str:
        link = safe_link(terminal_safe(url))
        if link is None:
            return "(not an http(s) link, not shown)"
        if self.config.format == "markdown":
            return f"[{words}]({quote(link, safe=':/?#@!$&*+,;=%~-._')})"
        return link

    def _inbox_lines(self, alert: Alert, indent: str = "") -> list[str]:
        """The alert's pages in the inbox (web.public_url): Open in inbox, Acknowledge."""
        return [
            f"{indent}{self._label(words + ':')} {self._link(url, words.lower())}"
            for words, url in inbox_links(alert)
        ]

    def render(self, alert: Alert) -> str:
        esc, label = self._escape, self._label
        lines = [f"({REPEAT_NOTE})", ""] if alert.possible_repeat else []
        lines += [esc(line, 300) for line in alert.details]
        if alert.details:
            lines.append("")
        if is_notice(alert):
            lines += self._notice_lines(alert)
        else:
            lines += self._mention_lines(alert)
        lines += self._inbox_lines(alert)
        if (then := follow_up(alert)) is not None:
            lines.append(f"{label('Follow-up:')} {self._ours(then)}")
        return "\n".join(lines)

    def _mention_lines(self, alert: Alert) -> list[str]:
        esc, label = self._escape, self._label
        when = alert.created_at.astimezone(UTC)
        lines = [
            f"{label('Brand:')} {esc(alert.brand, 200)}",
            f"{label('Why:')} {esc(why(alert), 300)}",
            f"{label('Source:')} {esc(source_name(alert.source), 100)}",
            f"{label('Author:')} {esc(alert.author, 200)}, {ago(alert.created_at)}"
            f" ({when:%Y-%m-%d %H:%M} UTC)",
        ]
        if counts := engagement(alert):
            lines.append(f"{label('Engagement:')} {counts}")
        if alert.title:
            lines.append(f"{label('Title:')} {esc(alert.title, 200)}")
        lines.append(f"{label('Text:')} {esc(alert.text, MAX_TEXT)}")
        lines.append(f"{label('Link:')} {self._link(alert.url)}")
        return lines

    def _notice_lines(self, alert: Alert) -> list[str]:
        """A notice's text (our words) and a spike's top posts, listed like a digest."""
        esc, lines = self._escape, []
        if alert.text:
            lines.append(esc(alert.text, MAX_TEXT))
        for post in alert.posts[:DIGEST_LIMIT]:
            lines.append(
                f"- {esc(source_name(post.source), 50)}, {esc(post.author, 60)}, "
                f"{ago(post.created_at)}: "
                f"{esc(post.text, 300)}"
            )
            lines.append(f"  {self._link(post.url)}")
        if alert.url:
            lines.append(f"{self._label('Link:')} {self._link(alert.url)}")
        return lines

    def render_digest(self, digest: Digest) -> str:
        esc = self._escape
        lines = [f"({REPEAT_NOTE})", ""] if digest.possible_repeat else []
        for alert in digest.alerts[:DIGEST_LIMIT]:
            kind = f"{self._label(digest_label(alert))}: " if digest_label(alert) else ""
            if is_notice(alert):
                said = alert.details[0] if alert.details else alert.text
                lines.append(
                    f"- {self._label(tag(alert).lower())}: {kind}{esc(subject(alert), 200)}: "
                    f"{esc(said, 200)}"
                )
            else:
                text = f"{alert.title} - {alert.text}" if alert.title else alert.text
                lines.append(
                    f"- {self._label(alert.severity)}: {kind}{esc(alert.brand, 100)} on "
                    f"{esc(source_name(alert.source), 50)}, {esc(alert.author, 60)}, "
                    f"{ago(alert.created_at)}: {esc(text, 160)}"
                )
                if alert.details:
                    lines.append(f"  {esc(alert.details[0], 200)}")
            if alert.url:
                lines.append(f"  {self._link(alert.url)}")
            lines += self._inbox_lines(alert, "  ")
        if len(digest.alerts) > DIGEST_LIMIT:
            more = len(digest.alerts) - DIGEST_LIMIT
            lines.append(f"... and {more} more: see `mention-monitor mentions`")
        return "\n".join(lines)

    # ------------------------------------------------------------------ sending

    def _targets(self) -> apprise.Apprise:
        """The loaded URLs (once); call under ``_guarded``: apprise logs the URLs it loads."""
        if self._apprise is None:
            targets = apprise.Apprise(asset=_asset())
            for i, url in enumerate(self.config.urls):
                if not targets.add(url.get_secret_value()):
                    log.warning(
                        "%s: apprise could not load urls[%d] (a %s URL); sending to the others",
                        self.config.name,
                        i,
                        scheme_of(url.get_secret_value()),
                    )
            if len(targets) == 0:
                raise ChannelMisconfigured(
                    self.config.name,
                    "apprise could not load any URL in `urls`: check each against the apprise "
                    "wiki page of its service",
                )
            self._apprise = targets
        return self._apprise

    def _notify(self, title: str, body: str, kind: apprise.NotifyType) -> None:
        name = self.config.name
        urls = [url.get_secret_value() for url in self.config.urls]
        if self.config.format == "text":
            # Sent as HTML (escaped exactly as Apprise escapes text for HTML services), so
            # Apprise converts it for each service: back to the same text for text services,
            # HTML for HTML ones, and escaped Markdown for Markdown ones (Discord, Slack,
            # Mattermost...), where text sent as text would render a stranger's *bold*.
            body = URLBase.escape_html(body, convert_new_lines=True)  # type: ignore[no-untyped-call]
            body_format = apprise.NotifyFormat.HTML
        else:
            body_format = apprise.NotifyFormat.MARKDOWN
        with (
            _guarded(urls) as scrub,
            apprise.LogCapture(  # type: ignore[no-untyped-call]
                level=logging.WARNING, fmt="%(message)s"
            ) as captured,
        ):
            targets = self._targets()
            try:
                ok = targets.notify(
                    body=body, title=title, notify_type=kind, body_format=body_format
                )
            except Exception as exc:  # apprise's plugins are many: translate anything here
                raise AlertError(
                    name, f"apprise failed while sending ({type(exc).__name__}); will retry"
                ) from exc
            said = str(captured.getvalue())
        if ok is None:
            raise ChannelMisconfigured(name, "apprise had no URL to send to: check `urls`")
        if not ok:
            raise AlertError(
                name,
                f"delivery failed (Apprise says: {_reason(said, scrub)}); will retry "
                "(if it keeps failing, check the service and its URL)",
            )


def _reason(captured: str, scrub: Scrubber) -> str:
    lines: list[str] = []
    for line in captured.splitlines():
        line = scrub(terminal_safe(line)).strip()
        if line and line not in lines:
            lines.append(line)
    return shorten("; ".join(lines), 500) if lines else "it gave no reason"
