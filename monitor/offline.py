"""Saying once that this machine cannot reach the internet, rather than once per source.

A source that cannot connect says so in its own health, naming its host and why
(monitor/http.py: a name that does not resolve, a refused or timed-out connection, a
TLS or proxy failure). When the latest poll of every enabled source failed that way,
the trouble is this machine's connection, not the sources: the pipeline says so once,
in the log and as a notice on every channel::

    mention-monitor cannot reach the internet from this machine: check its connection

and each source's health carries the same sentence after its own reason. When any
source connects again (even to answer with an error: it was reached), the pipeline
says that once too. The state is the process's own: a service started while the
machine is offline says it at its first polls, within a minute.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

#: The sentence itself, in the log, the notice and the sources' health.
OFFLINE = "mention-monitor cannot reach the internet from this machine: check its connection"


@dataclass
class Episode:
    """A time when no source could be reached: since when, and each source's reason."""

    since: datetime
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.since:%Y%m%dT%H%M%S.%f}"

    def text(self) -> str:
        each = "; ".join(self.reasons.values())
        return (
            f"None of its sources can be reached ({each}). Look at the network cable or "
            "Wi-Fi, the DNS, and any proxy or firewall. Polling goes on: once the "
            "connection is back, mentions posted meanwhile are fetched as far back as "
            "each source allows."
        )


class Reachability:
    """Which sources failed to connect at their latest poll. Thread-safe: the scheduler
    polls sources from several threads."""

    def __init__(self, sources: Iterable[str]) -> None:
        self.sources = set(sources)
        self._unreachable: dict[str, str] = {}
        self._since: datetime | None = None
        self._announced: Episode | None = None
        self._lock = threading.Lock()

    @property
    def offline(self) -> bool:
        """No source could be reached at its latest poll."""
        with self._lock:
            return self._all_down()

    def _all_down(self) -> bool:
        return bool(self.sources) and self.sources <= set(self._unreachable)

    def unreachable(self, source: str, reason: str, now: datetime) -> None:
        """``source``'s poll failed to connect, for ``reason``."""
        with self._lock:
            if self._since is None:
                self._since = now
            self._unreachable[source] = reason

    def reached(self, source: str) -> Episode | None:
        """``source`` connected (whatever it answered); the announced episode this ends."""
        with self._lock:
            self._unreachable.pop(source, None)
            self._since = None  # some source is reachable: a new episode starts afresh
            ended, self._announced = self._announced, None
            return ended

    def announce(self) -> Episode | None:
        """The episode to tell the owner about, once: None if told already, or if some
        source can still be reached."""
        with self._lock:
            if self._announced is not None or self._since is None or not self._all_down():
                return None
            self._announced = Episode(self._since, dict(sorted(self._unreachable.items())))
            return self._announced
