"""The console channel: one readable block per alert on standard output.

Always on unless ``alerts.console: false``, so a fresh install shows its
alerts before Slack or email is set up. A mention starts
``[SEVERITY] brand on source``, any other kind ``[SEVERITY]`` and its subject,
then its details; the last line is the follow-up command. Every text
(strangers' and the brand names in our details) is stripped of terminal
escape sequences, control characters and bidi overrides before printing.
"""

from __future__ import annotations

import sys
from typing import Literal, TextIO

from pydantic import Field

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
    subject,
    tag,
    why,
)
from monitor.errors import AlertError
from monitor.models import MENTION, TEST, Alert, Digest
from monitor.text import shorten, terminal_safe


class ConsoleConfig(ChannelConfig):
    type: Literal["console"] = "console"
    max_text: int = Field(
        default=600, description="characters of a mention shown before it is cut with `…`"
    )
    flood_limit: int = Field(default=50, ge=1)


def render(alert: Alert, max_text: int = 600, config_path: str | None = None) -> str:
    safe = terminal_safe
    if alert.kind in (MENTION, TEST):
        head = f"[{tag(alert)}] {safe(alert.brand)} on {alert.source}"
    else:
        head = f"[{tag(alert)}] {shorten(safe(subject(alert)), 200)}"
    lines = [head]
    if alert.possible_repeat:
        lines.append(f"  ({REPEAT_NOTE})")
    lines += [f"  {shorten(safe(line), 300)}" for line in alert.details]
    lines += _notice(alert, max_text) if is_notice(alert) else _mention(alert, max_text)
    lines += [f"  {words.lower()}: {terminal_safe(url)}" for words, url in inbox_links(alert)]
    if (then := follow_up(alert, config_path)) is not None:
        lines.append(f"  follow-up: {shorten(safe(then), 300)}")
    return "\n".join(lines)


def _mention(alert: Alert, max_text: int) -> list[str]:
    safe = terminal_safe
    counts = engagement(alert)
    lines = [
        f"  by {safe(alert.author)}, {ago(alert.created_at)}"
        f" ({alert.created_at:%Y-%m-%d %H:%M} UTC)",
        f"  why: {shorten(safe(why(alert)), 300)}",
    ]
    if counts:
        lines.append(f"  engagement: {counts}")
    if alert.title:
        lines.append(f"  title: {shorten(safe(alert.title), 200)}")
    lines.append(f"  text: {shorten(safe(alert.text), max_text)}")
    lines.append(f"  link: {safe(alert.url)}")
    return lines


def _notice(alert: Alert, max_text: int) -> list[str]:
    """A notice's text (our words) and a spike's top posts."""
    safe = terminal_safe
    lines = [f"  {shorten(safe(alert.text), max_text)}"] if alert.text else []
    if alert.posts:
        lines.append("  top posts:")
    for post in alert.posts:
        lines.append(
            f"  - {safe(post.source)}, {safe(post.author)}, {ago(post.created_at)}: "
            f"{shorten(safe(post.text), 200)}"
        )
        lines.append(f"    {safe(post.url)}")
    if alert.url:
        lines.append(f"  link: {safe(alert.url)}")
    return lines


class ConsoleChannel(Channel):
    """Prints alerts to the terminal (or the service's log)."""

    name = "console"
    Config = ConsoleConfig
    config: ConsoleConfig

    def __init__(
        self,
        config: ChannelConfig,
        *,
        stream: TextIO | None = None,
        config_path: str | None = None,
        **kw: object,
    ) -> None:
        super().__init__(config)
        self.stream = stream
        #: The config file the follow-up commands name with ``-c`` (the demo's).
        self.config_path = config_path

    def send(self, alert: Alert) -> None:
        self._write(render(alert, self.config.max_text, self.config_path) + "\n\n")

    def send_digest(self, digest: Digest) -> None:
        lines = [f"[{digest.kind.upper()}] {terminal_safe(digest_title(digest))}"]
        if digest.possible_repeat:
            lines.append(f"  ({REPEAT_NOTE})")
        for alert in digest.alerts:
            kind = f"{digest_label(alert)}: " if digest_label(alert) else ""
            if is_notice(alert):
                said = terminal_safe(alert.details[0] if alert.details else alert.text)
                lines.append(
                    f"  - {tag(alert).lower()}: {kind}{terminal_safe(subject(alert))}: "
                    f"{shorten(said, 120)}"
                )
            else:
                text = terminal_safe(f"{alert.title} - {alert.text}" if alert.title else alert.text)
                lines.append(
                    f"  - {alert.severity}: {kind}{terminal_safe(alert.brand)} on {alert.source}, "
                    f"{terminal_safe(alert.author)}: {shorten(text, 120)}"
                )
                if alert.details:
                    lines.append(f"    {shorten(terminal_safe(alert.details[0]), 200)}")
            if alert.url:
                lines.append(f"    {terminal_safe(alert.url)}")
            if alert.inbox_url:
                lines.append(f"    in the inbox: {terminal_safe(alert.inbox_url)}")
        self._write("\n".join(lines) + "\n\n")

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stdout
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError) as exc:
            raise AlertError(self.config.name, f"cannot write to the console: {exc}") from exc
