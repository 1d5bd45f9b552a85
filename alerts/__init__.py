"""The registry of alert channels: a ``type:`` in config.yaml -> the class that sends.

Modules are imported only when config.yaml uses them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from monitor.errors import ConfigError

if TYPE_CHECKING:
    from alerts.base import Channel

REGISTRY: dict[str, str] = {
    "console": "alerts.console:ConsoleChannel",
}


def load_channel(kind: str) -> type[Channel]:
    try:
        module_name, _, class_name = REGISTRY[kind].partition(":")
    except KeyError:
        raise ConfigError(
            f"unknown channel type '{kind}' (known: {', '.join(sorted(REGISTRY))})"
        ) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"channel type '{kind}' needs the Python package '{exc.name}': pip install {exc.name}"
        ) from exc
    cls: type[Channel] = getattr(module, class_name)
    return cls
