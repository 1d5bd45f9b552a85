"""The channel contract: what every alert channel provides.

A channel is one class with a ``name``, a pydantic ``Config`` model and
``send(alert)``. ``send`` returns only when the alert was delivered; on any
failure it raises AlertError (``permanent=True`` when retrying cannot help),
never returns False. The dispatcher owns retries, backoff and bookkeeping.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import model_validator

from monitor.config import StrictModel
from monitor.models import SEVERITIES, Alert, Severity


class ChannelConfig(StrictModel):
    """Keys every channel accepts: routing. A channel's own model adds its settings."""

    type: str
    name: str = ""
    enabled: bool = True
    brands: list[str] | None = None
    min_severity: Literal["all", "negative", "high"] = "negative"

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name"):
            data = {**data, "name": data.get("type") or cls.model_fields["type"].default}
        return data

    def wants(self, brand: str, severity: Severity) -> bool:
        if not self.enabled or (self.brands is not None and brand not in self.brands):
            return False
        floor: Severity = "info" if self.min_severity == "all" else self.min_severity
        return SEVERITIES.index(severity) >= SEVERITIES.index(floor)


class Channel(ABC):
    """Base of every channel. Subclasses set ``name`` and ``Config``."""

    name: ClassVar[str]
    Config: ClassVar[type[ChannelConfig]]

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config

    @abstractmethod
    def send(self, alert: Alert) -> None:
        """Deliver one alert, or raise AlertError."""

    def close(self) -> None:
        """Release connections."""
        return None
