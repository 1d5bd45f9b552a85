"""The email channel: one plain-text + HTML message per alert, sent over SMTP.

API: SMTP submission through smtplib (RFC 5321/6409). ``security: starttls`` (port
587) upgrades with STARTTLS and refuses a server that does not offer it; ``ssl``
(port 465) is TLS from the first byte (RFC 8314); ``none`` (port 25) is clear
text, for a relay on this machine or network. Certificates are checked against
the system's CAs plus ``ca_file`` (a private mail server's CA). Auth: optional
``username``/``password`` (SMTP AUTH: CRAM-MD5, PLAIN or LOGIN); Gmail and
Outlook need an app password. Limits: providers cap messages per day (a free
Gmail account: about 500); mention text is trimmed to ``max_text``.
Docs: https://docs.python.org/3/library/smtplib.html

Messages are multipart/alternative. The subject says brand, source and sentiment
(an escalation or reminder says so first; a notice is its title), and the
alert's ``details`` come right under the heading; a spike lists its posts, and
the follow-up command closes. The Message-ID is stable per alert, kind and
channel (``alert-<id>`` for a mention, ``<kind>-<id>`` for the others), so a
retried message that did arrive is recognised as the same one and an escalation
never takes the mention alert's ID. Strangers' text (a spike's posts too) is
stripped of terminal escapes, control characters and bidi overrides, and
HTML-escaped; the HTML uses inline styles only, loads nothing remote and links
only http(s) addresses.
Errors (``EmailChannel._translate``): a refused login, sender or recipient, no STARTTLS or
an unknown CA need the owner; 4xx, refusals and timeouts are transient; 5xx to a message is final.
"""

from __future__ import annotations

import html
import logging
import re
import shlex
import smtplib
import socket
import ssl
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Literal

import httpx
from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

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
from monitor.config import Duration
from monitor.errors import AlertError, ChannelMisconfigured
from monitor.models import MENTION, TEST, Alert, Digest
from monitor.text import shorten, terminal_safe

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_AUTH_CODES = {530, 534, 535, 538}  # authentication required / too weak / failed / needs TLS
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_COLOURS = {"high": "#b00020", "negative": "#c25400", "info": "#555555"}


def _check_address(value: str) -> str:
    addr = parseaddr(value)[1]
    if "\r" in value or "\n" in value or "@" not in addr or " " in addr:
        raise ValueError(
            f"{value!r} is not an email address: write it like shop@example.com "
            "or Acme Alerts <shop@example.com>"
        )
    return value


class EmailConfig(ChannelConfig):
    type: Literal["email"] = "email"
    host: str = Field(
        min_length=1, description="your mail provider's SMTP server, e.g. `smtp.gmail.com`"
    )
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="the SMTP port; unset: 587 for `starttls`, 465 for `ssl`, 25 for `none`",
    )
    security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="`starttls`: connect, then switch to encryption (nothing is sent if the"
        " server cannot); `ssl`: encrypted from the start (usually port 465); `none`: no"
        " encryption, only for a relay on this machine or your own network",
    )
    username: str | None = Field(
        default=None, description="login name, often your e-mail address; needs `password`"
    )
    password: SecretStr | None = Field(
        default=None,
        description="login password (an app password for Gmail and Outlook), as"
        " `${SMTP_PASSWORD}`; needs `username`",
    )
    from_: str = Field(
        alias="from",
        description="the sender, `alerts@example.com` or `Acme Alerts <alerts@example.com>`;"
        " many servers accept only the address of the account you log in with",
    )
    to: list[str] = Field(min_length=1, description="one or more recipients")
    timeout: Duration = Field(
        default=timedelta(seconds=20),
        description="how long to wait for the server before trying again later",
    )
    ca_file: str | None = Field(
        default=None,
        description="for a private mail server with its own certificate authority: a PEM file"
        " of the certificates to trust, as an absolute path",
    )
    max_text: int = Field(
        default=4000, ge=100, description="the longest post text put in an e-mail, in characters"
    )

    model_config = ConfigDict(hide_input_in_errors=True)  # the input holds the password

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no such file: {value} (give the path of a PEM file of CA certs)")
        return value

    @field_validator("from_", "to")
    @classmethod
    def _addresses(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str):
            return _check_address(value)
        return [_check_address(v.strip()) for v in value]

    @model_validator(mode="after")
    def _auth(self) -> EmailConfig:
        has_password = self.password is not None and self.password.get_secret_value() != ""
        if has_password and not self.username:
            raise ValueError("`password` is set but `username` is not: give both, or neither")
        if self.username and not has_password:
            raise ValueError(
                "`username` is set but `password` is empty: set it, e.g. password: ${SMTP_PASSWORD}"
            )
        return self

    @property
    def smtp_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]


def _line(value: str, limit: int) -> str:
    return shorten(terminal_safe(value), limit)


def _e(value: str) -> str:
    return html.escape(terminal_safe(value), quote=True)


def _link(url: str) -> str:
    link = safe_link(url)
    if link is None:
        return f"<code>{_e(url)}</code> (not a web link, so not clickable)"
    return f'<a href="{_e(link)}" style="color:#1a5fb4;">{_e(url)}</a>'


def _button(words: str, url: str, *, small: bool = False) -> str:
    """A link to one of our inbox pages (http(s), built by monitor/links.py), shown as a
    button in a full alert and as a plain link in a digest line. Opening it changes nothing:
    the Acknowledge page asks for the one click (mail scanners open every link)."""
    if small:
        return f'<a href="{_e(url)}" style="color:#1a5fb4;">{_e(words)}</a>'
    return (
        f'<a href="{_e(url)}" style="display:inline-block;padding:8px 14px;margin:0 8px 8px 0;'
        f'border-radius:4px;background:#1a5fb4;color:#ffffff;text-decoration:none;">'
        f"{_e(words)}</a>"
    )


def _code(value: str) -> str:
    """Our line with its `backticked` commands as <code>, everything HTML-escaped."""
    pieces = value.split("`")
    return "".join(
        f"<code>{_e(piece)}</code>" if i % 2 else _e(piece) for i, piece in enumerate(pieces)
    )


def _repeat(title: str, text: str, body: str) -> tuple[str, str, str]:
    """A message re-sent after a crash mid-send says so first (its Message-ID is the same)."""
    note = f'<p style="margin:0 0 12px;font-size:13px;color:#666;">{_e(REPEAT_NOTE)}</p>'
    return f"(possible repeat) {title}", f"{REPEAT_NOTE}\n\n{text}", note + body


def _msgid_part(value: str) -> str:
    return _ID_UNSAFE.sub("-", value).strip(".-") or "x"


class EmailChannel(Channel):
    """Sends each alert as an email through the owner's SMTP server."""

    name = "email"
    Config = EmailConfig
    config: EmailConfig

    def __init__(self, config: ChannelConfig, *, http: httpx.Client | None = None) -> None:
        super().__init__(config, http=http)
        self._context: ssl.SSLContext | None = None
        if self.config.username and self.config.security == "none":
            log.warning("%s: `security: none` sends the password unencrypted", self.config.name)

    def send(self, alert: Alert) -> None:
        self._deliver(self.alert_message(alert))

    def send_digest(self, digest: Digest) -> None:
        self._deliver(self.digest_message(digest))

    def alert_message(self, alert: Alert) -> EmailMessage:
        if is_notice(alert):
            title = _line(subject(alert), 150)
        else:
            excerpt = _line(f"{alert.title} - {alert.text}" if alert.title else alert.text, 60)
            title = f'{_line(subject(alert), 120)}: "{excerpt}"'
        if alert.kind == TEST:  # every test alert is a new message, never a duplicate
            msgid = make_msgid("mention-monitor-test", domain=self._domain())
        elif alert.kind == MENTION:
            msgid = self._msgid(f"alert-{alert.id}")
        else:  # an escalation or reminder of a mention is a message of its own
            msgid = self._msgid(f"{alert.kind}-{alert.id}")
        text, body = self._alert_parts(alert)
        if alert.possible_repeat:
            title, text, body = _repeat(title, text, body)
        return self._message(title, msgid, text, body, _COLOURS.get(alert.severity, "#555555"))

    def digest_message(self, digest: Digest) -> EmailMessage:
        text = [_line(digest_title(digest), 300), ""]
        items = []
        for i, alert in enumerate(digest.alerts, 1):
            label = f"{digest_label(alert)}: " if digest_label(alert) else ""
            if is_notice(alert):
                head = f"[{tag(alert)}] {label}{subject(alert)}"
                said = _line(alert.details[0] if alert.details else alert.text, 300)
            else:
                head = (
                    f"[{alert.severity.upper()}] {label}{alert.brand} on "
                    f"{source_name(alert.source)}, by {alert.author}, {ago(alert.created_at)}"
                )
                said = _line(f"{alert.title} - {alert.text}" if alert.title else alert.text, 300)
                if alert.details:
                    said = f"{_line(alert.details[0], 200)}: {said}"
            url = terminal_safe(alert.url).strip()
            links = inbox_links(alert)
            text += [f"{i}. {_line(head, 300)}", f"   {said}"]
            text += [f"   {url}"] if url else []
            text += [f"   {words}: {target}" for words, target in links] + [""]
            items.append(
                f'<li style="margin:0 0 12px;"><strong>{_e(_line(head, 300))}</strong><br>'
                f'<span style="color:#333;">{_e(said)}</span>'
                + (f"<br>{_link(url)}" if url else "")
                + "".join(f" · {_button(words, target, small=True)}" for words, target in links)
                + "</li>"
            )
        text.append(self._footer())
        body = (
            f'<h2 style="margin:0 0 12px;font-size:18px;">{_e(digest_title(digest))}</h2>'
            f'<ol style="padding-left:20px;">{"".join(items)}</ol>'
        )
        title, plain = _line(digest_title(digest), 150), "\n".join(text)
        if digest.possible_repeat:
            title, plain, body = _repeat(title, plain, body)
        return self._message(title, self._msgid(digest.key), plain, body, "#555555")

    def _alert_parts(self, alert: Alert) -> tuple[str, str]:
        colour = _COLOURS.get(alert.severity, "#555555")
        text = [_line(subject(alert), 300), ""]
        body = (
            f'<h2 style="margin:0 0 8px;font-size:18px;color:{colour};">{_e(subject(alert))}</h2>'
        )
        if alert.details:
            lines = [_line(d, 500) for d in alert.details]
            text += [*lines, ""]
            body += (
                f'<p style="margin:0 0 12px;font-size:15px;font-weight:bold;">'
                f"{'<br>'.join(_e(line) for line in lines)}</p>"
            )
        more_text, more_body = (
            self._notice_parts(alert) if is_notice(alert) else self._mention_parts(alert)
        )
        text += more_text
        body += more_body
        links = inbox_links(alert)
        if links:
            text += ["", *(f"{words}: {url}" for words, url in links)]
            body += '<p style="margin:16px 0;">' + " ".join(_button(w, u) for w, u in links)
            body += "</p>"
        then = follow_up(alert)
        if then is not None:
            text += ["", _line(then, 300)] if text[-1] else [_line(then, 300)]
            body += f'<p style="margin:12px 0;font-size:13px;">{_code(_line(then, 300))}</p>'
        if not is_notice(alert) and not links:
            command = f"mention-monitor mentions --brand {shlex.quote(terminal_safe(alert.brand))}"
            text.append(f"List recent mentions with: {command}")
            body += (
                '<p style="margin:12px 0;font-size:12px;color:#666;">'
                f"List recent mentions with: <code>{_e(command)}</code></p>"
            )
        text.append(self._footer())
        return "\n".join(text), body

    def _mention_parts(self, alert: Alert) -> tuple[list[str], str]:
        """The post: facts, its text, its link."""
        cfg = self.config
        when = alert.created_at.astimezone(cfg.tz)
        rows = [
            ("Severity", alert.severity),
            ("Why", why(alert)),
            ("Source", source_name(alert.source)),
            ("Author", alert.author),
            ("Posted", f"{ago(alert.created_at)} ({when:%Y-%m-%d %H:%M %Z})"),
        ]
        if counts := engagement(alert):
            rows.append(("Engagement", counts))
        if alert.title:
            rows.append(("Title", alert.title))
        said = _line(alert.text, cfg.max_text)
        url = terminal_safe(alert.url).strip()
        text = [f"{label}: {_line(value, 500)}" for label, value in rows]
        text += ["", said, "", f"{'Link' if safe_link(url) else 'Address (not a web link)'}: {url}"]
        colour = _COLOURS.get(alert.severity, "#555555")
        cells = "".join(
            f'<tr><td style="padding:2px 12px 2px 0;color:#666;vertical-align:top;">{label}</td>'
            f'<td style="padding:2px 0;">{_e(_line(value, 500))}</td></tr>'
            for label, value in rows
        )
        body = (
            f'<table style="border-collapse:collapse;font-size:14px;">{cells}</table>'
            f'<p style="margin:12px 0;padding:8px 12px;border-left:3px solid {colour};'
            f'background:#f6f6f6;">{_e(said)}</p>'
            f'<p style="margin:12px 0;">Post: {_link(url)}</p>'
        )
        return text, body

    def _notice_parts(self, alert: Alert) -> tuple[list[str], str]:
        """A notice's text (our words), a spike's top posts, a link if it has one."""
        text: list[str] = []
        body = ""
        if alert.text:
            said = _line(alert.text, self.config.max_text)
            text += [said, ""]
            body += f'<p style="margin:12px 0;">{_e(said)}</p>'
        items = []
        for i, post in enumerate(alert.posts, 1):
            head = f"{source_name(post.source)}, by {post.author}, {ago(post.created_at)}"
            said = _line(post.text, 500)
            url = terminal_safe(post.url).strip()
            text += [f"{i}. {_line(head, 300)}", f"   {said}", f"   {url}", ""]
            items.append(
                f'<li style="margin:0 0 12px;"><strong>{_e(_line(head, 300))}</strong><br>'
                f'<span style="color:#333;">{_e(said)}</span><br>{_link(url)}</li>'
            )
        if items:
            body += f'<ol style="padding-left:20px;">{"".join(items)}</ol>'
        url = terminal_safe(alert.url).strip()
        if url:
            text.append(f"{'Link' if safe_link(url) else 'Address (not a web link)'}: {url}")
            body += f'<p style="margin:12px 0;">Link: {_link(url)}</p>'
        return text, body

    def _message(self, title: str, msgid: str, text: str, body: str, colour: str) -> EmailMessage:
        cfg = self.config
        message = EmailMessage()
        message["Subject"] = title
        message["From"] = cfg.from_
        message["To"] = ", ".join(cfg.to)
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = msgid
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message.set_content(text)
        message.add_alternative(
            '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
            '<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;'
            f'font-size:14px;color:#222;border-top:4px solid {colour};">{body}'
            f'<p style="margin:16px 0 0;font-size:12px;color:#888;">{_e(self._footer())}</p>'
            "</body></html>",
            subtype="html",
        )
        return message

    def _footer(self) -> str:
        return f"Sent by mention-monitor, channel '{terminal_safe(self.config.name)}'."

    def _domain(self) -> str:
        return _msgid_part(parseaddr(self.config.from_)[1].rpartition("@")[2])

    def _msgid(self, key: str) -> str:
        return f"<{_msgid_part(key)}.{_msgid_part(self.config.name)}@{self._domain()}>"

    def _deliver(self, message: EmailMessage) -> None:
        cfg = self.config
        sender = parseaddr(cfg.from_)[1]
        recipients = [addr for _, addr in getaddresses(cfg.to)]
        try:
            smtp = self._connect()
            try:
                self._secure_and_login(smtp)
                refused = smtp.send_message(message, sender, recipients)
            finally:
                _close(smtp)
        except (smtplib.SMTPException, OSError) as exc:
            raise self._translate(exc) from exc
        if refused:
            log.warning(
                "%s: sent, but %s refused some recipients: %s; check `to`",
                cfg.name,
                cfg.host,
                "; ".join(f"{a} ({self._reply(c, m)})" for a, (c, m) in refused.items()),
            )

    def _connect(self) -> smtplib.SMTP:
        cfg, timeout = self.config, self.config.timeout.total_seconds()
        if cfg.security == "ssl":
            return smtplib.SMTP_SSL(cfg.host, cfg.smtp_port, timeout=timeout, context=self._tls())
        return smtplib.SMTP(cfg.host, cfg.smtp_port, timeout=timeout)

    def _secure_and_login(self, smtp: smtplib.SMTP) -> None:
        cfg = self.config
        if cfg.security == "starttls":
            code, reply = smtp.ehlo()
            if code != 250:
                raise smtplib.SMTPHeloError(code, reply)
            if not smtp.has_extn("starttls"):
                raise ChannelMisconfigured(
                    cfg.name,
                    f"{self._where()} does not offer STARTTLS, so the password and the alerts "
                    "would travel unencrypted; nothing was sent. Use `security: ssl` (usually "
                    "port 465) if the server speaks TLS from the start, or `security: none` only "
                    "for a relay on this machine or network",
                )
            smtp.starttls(context=self._tls())
            smtp.ehlo()
        if cfg.username and cfg.password is not None:
            smtp.login(cfg.username, cfg.password.get_secret_value())

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            try:
                self._context = ssl.create_default_context(cafile=self.config.ca_file)
            except (OSError, ValueError) as exc:
                raise ChannelMisconfigured(
                    self.config.name,
                    f"cannot load `ca_file` {self.config.ca_file!r} ({exc}); "
                    "it must be a PEM file of CA certificates",
                ) from exc
        return self._context

    def _where(self) -> str:
        return f"the SMTP server {self.config.host}:{self.config.smtp_port}"

    def _reply(self, code: int, message: bytes | str) -> str:
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        secret = self.config.password.get_secret_value() if self.config.password else ""
        if secret:
            text = text.replace(secret, "**********")
        return _line(f"{code} {text}", 200)

    def _translate(self, exc: smtplib.SMTPException | OSError) -> AlertError:
        """The one place where smtplib, ssl and socket errors become ours."""
        name, where = self.config.name, self._where()
        if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
            exc.__context__, TimeoutError
        ):  # smtplib reports a read timeout as a disconnection
            exc = exc.__context__
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            said = "; ".join(f"{a}: {self._reply(c, m)}" for a, (c, m) in exc.recipients.items())
            if all(400 <= c < 500 for c, _ in exc.recipients.values()):
                return AlertError(
                    name, f"{where} refused the recipients for now ({said}); retrying"
                )
            return ChannelMisconfigured(
                name, f"{where} refused the recipients ({said}); check `to`"
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            code, said = exc.smtp_code, self._reply(exc.smtp_code, exc.smtp_error)
            if isinstance(exc, smtplib.SMTPConnectError) or 400 <= code < 500:
                return AlertError(name, f"{where} answered {said} (temporary); will retry")
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                return ChannelMisconfigured(
                    name,
                    f"{where} refused the username/password ({said}); check `username` and the "
                    "variable `password` refers to (e.g. SMTP_PASSWORD); Gmail and Outlook "
                    "need an app password",
                )
            if code in _AUTH_CODES:
                return ChannelMisconfigured(
                    name,
                    f"{where} wants a login ({said}); check `username`, `password`, `security`",
                )
            if isinstance(exc, smtplib.SMTPSenderRefused):
                return ChannelMisconfigured(
                    name,
                    f"{where} refused the sender {exc.sender!r} ({said}); set `from` to an "
                    "address this account may send as",
                )
            if isinstance(exc, smtplib.SMTPDataError):
                message = f"{where} refused this message ({said}); it will not be retried"
                return AlertError(name, message, permanent=True)
            return ChannelMisconfigured(name, f"{where} answered {said}; check `security`")
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            hint = "check `security` (many servers offer login only after STARTTLS) and `username`"
            return ChannelMisconfigured(name, f"{where} does not support it ({exc}); {hint}")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return AlertError(name, f"{where} closed the connection unexpectedly; will retry")
        if isinstance(exc, smtplib.SMTPException):
            return ChannelMisconfigured(name, f"{where}: {_line(str(exc), 200)}")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return ChannelMisconfigured(
                name,
                f"cannot verify the certificate of {where} ({exc.verify_message}); check that "
                "`host` is the name on the certificate, and for a private mail server with "
                "its own CA put that CA's PEM file in `ca_file`",
            )
        if isinstance(exc, ssl.SSLError):
            return AlertError(
                name,
                f"TLS with {where} failed ({exc.reason or exc}); will retry. If this persists, "
                "check `security` and `port` (ssl is usually 465, starttls 587)",
            )
        if isinstance(exc, TimeoutError):
            seconds = self.config.timeout.total_seconds()
            return AlertError(name, f"{where} did not answer within {seconds:g}s; will retry")
        if isinstance(exc, ConnectionRefusedError):
            return AlertError(
                name, f"{where} refused the connection (is it running? check `host`, `port`)"
            )
        if isinstance(exc, socket.gaierror):
            return AlertError(name, f"cannot find the host of {where} ({exc}); check `host`")
        return AlertError(name, f"cannot reach {where} ({exc.strerror or exc}); will retry")


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
