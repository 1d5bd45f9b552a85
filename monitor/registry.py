"""Lazy registries of plug-ins: a name in config.yaml -> "module:Class", imported on use.

A source or channel whose optional library is missing only matters to the
owners who use it, and then with an "install X" error instead of a crash.
"""

from __future__ import annotations

import importlib

from monitor.errors import ConfigError


def load_class(registry: dict[str, str], name: str, what: str) -> type:
    try:
        module_name, _, class_name = registry[name].partition(":")
    except KeyError:
        known = ", ".join(sorted(registry))
        raise ConfigError(f"unknown {what} '{name}' (known: {known})") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name and (module_name + ".").startswith(exc.name + "."):
            raise ConfigError(
                f"{what} '{name}' is listed but its module {module_name} cannot be found: "
                "reinstall mention-monitor"
            ) from exc
        raise ConfigError(
            f"{what} '{name}' needs the Python package '{exc.name}': pip install {exc.name}"
        ) from exc
    cls: type = getattr(module, class_name)
    return cls
