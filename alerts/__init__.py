"""The registry of alert channels: a ``type:`` in config.yaml -> the class that sends.

Modules are imported only when config.yaml uses them (monitor/registry.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.registry import load_class

if TYPE_CHECKING:
    from alerts.base import Channel

REGISTRY: dict[str, str] = {
    "console": "alerts.console:ConsoleChannel",
    "slack": "alerts.slack:SlackChannel",
    "email": "alerts.email:EmailChannel",
    "webhook": "alerts.webhook:WebhookChannel",
    "apprise": "alerts.apprise:AppriseChannel",
    "telegram": "alerts.telegram:TelegramChannel",
}


def load_channel(kind: str) -> type[Channel]:
    return load_class(REGISTRY, kind, "channel type")
