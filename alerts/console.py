"""The console channel: one readable block per alert on standard output.

Always on unless ``alerts.console: false``, so a fresh install shows its
alerts before Slack or email is set up. Mention text is stripped of terminal
escape sequences, control characters and bidi overrides before printing.
"""

from __future__ import annotations

import sys
from typing import Literal, TextIO

from pydantic import Field

from alerts.base import Channel, ChannelConfig
from alerts.render import ago, digest_title, engagement
from monitor.errors import AlertError
from monitor.models import Alert, Digest
from monitor.text import shorten, terminal_safe


class ConsoleConfig(ChannelConfig):
    type: Literal["console"] = "console"
    max_text: int = 600
    flood_limit: int = Field(default=50, ge=1)


def render(alert: Alert, max_text: int = 600) -> str:
    safe = terminal_safe
    counts = engagement(alert)
    head = f"[{alert.severity.upper()}] {safe(alert.brand)} on {alert.source}"
    lines = [
        head,
        f"  by {safe(alert.author)}, {ago(alert.created_at)}"
        f" ({alert.created_at:%Y-%m-%d %H:%M} UTC)",
        f"  sentiment: {alert.label} {alert.compound:+.2f}"
        + (f" ({'; '.join(safe(r) for r in alert.reasons)})" if alert.reasons else ""),
    ]
    if counts:
        lines.append(f"  engagement: {counts}")
    if alert.title:
        lines.append(f"  title: {shorten(safe(alert.title), 200)}")
    lines.append(f"  text: {shorten(safe(alert.text), max_text)}")
    lines.append(f"  link: {safe(alert.url)}")
    if alert.mention_id is not None:
        lines.append(f"  mention id: {alert.mention_id}")
    return "\n".join(lines)


class ConsoleChannel(Channel):
    """Prints alerts to the terminal (or the service's log)."""

    name = "console"
    Config = ConsoleConfig
    config: ConsoleConfig

    def __init__(
        self, config: ChannelConfig, *, stream: TextIO | None = None, **kw: object
    ) -> None:
        super().__init__(config)
        self.stream = stream

    def send(self, alert: Alert) -> None:
        self._write(render(alert, self.config.max_text) + "\n\n")

    def send_digest(self, digest: Digest) -> None:
        lines = [f"[{digest.kind.upper()}] {terminal_safe(digest_title(digest))}"]
        for alert in digest.alerts:
            text = terminal_safe(f"{alert.title} - {alert.text}" if alert.title else alert.text)
            lines.append(
                f"  - {alert.severity}: {terminal_safe(alert.brand)} on {alert.source}, "
                f"{terminal_safe(alert.author)}: {shorten(text, 120)}"
            )
            lines.append(f"    {terminal_safe(alert.url)}")
        self._write("\n".join(lines) + "\n\n")

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stdout
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError) as exc:
            raise AlertError(self.config.name, f"cannot write to the console: {exc}") from exc
