"""The console channel: one readable block per alert on standard output.

Always on unless ``alerts.console: false``, so a fresh install shows its
alerts before Slack or email is set up. Mention text is stripped of terminal
escape sequences, control characters and bidi overrides before printing.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

from alerts.base import Channel, ChannelConfig
from monitor.errors import AlertError
from monitor.models import Alert
from monitor.text import shorten, terminal_safe


class ConsoleConfig(ChannelConfig):
    type: Literal["console"] = "console"
    max_text: int = 600


def ago(when: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now(UTC)) - when).total_seconds())
    if seconds < 90:
        return "just now" if seconds < 60 else "1 min ago"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"  # pragma: no cover


def render(alert: Alert, max_text: int = 600) -> str:
    safe = terminal_safe
    engagement = ", ".join(f"{k} {v}" for k, v in sorted(alert.engagement.items()))
    head = f"[{alert.severity.upper()}] {safe(alert.brand)} on {alert.source}"
    lines = [
        head,
        f"  by {safe(alert.author)}, {ago(alert.created_at)}"
        f" ({alert.created_at:%Y-%m-%d %H:%M} UTC)",
        f"  sentiment: {alert.label} {alert.compound:+.2f}"
        + (f" ({'; '.join(safe(r) for r in alert.reasons)})" if alert.reasons else ""),
    ]
    if engagement:
        lines.append(f"  engagement: {engagement}")
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

    def __init__(self, config: ChannelConfig, stream: TextIO | None = None) -> None:
        super().__init__(config)
        self.stream = stream

    def send(self, alert: Alert) -> None:
        stream = self.stream or sys.stdout
        try:
            stream.write(render(alert, self.config.max_text) + "\n\n")
            stream.flush()
        except (OSError, ValueError) as exc:
            raise AlertError(self.config.name, f"cannot write to the console: {exc}") from exc
