"""The connector contract: what every source module provides.

A connector is one class with a ``name``, a pydantic ``Config`` model and
``fetch(queries, cursor) -> (mentions, new_cursor)``. ``queries`` are one
brand's keywords; ``cursor`` is the opaque string the connector returned last
time for that brand (None on the first poll). The connector searches as well as
its API allows; the pipeline then matches every mention again locally, so a
fuzzy API search is harmless.

A connector raises only ConnectorError and its subclasses (monitor/errors.py),
translated from library errors in one place, and never swallows a failure: the
pipeline records it against the source and carries on with the others.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import timedelta
from typing import ClassVar

import httpx

from monitor.config import Duration, StrictModel
from monitor.models import Mention


class SourceConfig(StrictModel):
    """Keys every source accepts. A connector's own model adds its own keys."""

    every: Duration = timedelta(minutes=5)
    base_url: str
    timeout: Duration = timedelta(seconds=20)
    enabled: bool = True


FetchResult = tuple[list[Mention], str | None]


class Connector(ABC):
    """Base of every source. Subclasses set ``name`` and ``Config``."""

    name: ClassVar[str]
    Config: ClassVar[type[SourceConfig]]

    def __init__(self, config: SourceConfig, http: httpx.Client) -> None:
        self.config = config
        self.http = http

    @property
    def base_url(self) -> str:
        return self.config.base_url.rstrip("/")

    @abstractmethod
    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        """New mentions for one brand's keywords since ``cursor``, and the cursor to keep."""

    def refresh(self, ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Current engagement of already-seen posts, by external id (for spread tracking)."""
        raise NotImplementedError(f"{self.name} cannot refresh engagement yet")

    def close(self) -> None:
        """Release what the connector holds (sessions, tokens). The HTTP client is the core's."""
        return None
