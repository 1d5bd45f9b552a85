"""The registry of sources: a name in config.yaml -> the class that fetches from it.

Modules are imported only when config.yaml uses them, so a missing optional
library only matters to the owners who use that source.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from monitor.errors import ConfigError

if TYPE_CHECKING:
    from connectors.base import Connector

REGISTRY: dict[str, str] = {
    "hackernews": "connectors.hackernews:HackerNewsConnector",
}


def load_connector(name: str) -> type[Connector]:
    try:
        module_name, _, class_name = REGISTRY[name].partition(":")
    except KeyError:
        raise ConfigError(
            f"unknown source '{name}' (known: {', '.join(sorted(REGISTRY))})"
        ) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"source '{name}' needs the Python package '{exc.name}': pip install {exc.name}"
        ) from exc
    cls: type[Connector] = getattr(module, class_name)
    return cls
