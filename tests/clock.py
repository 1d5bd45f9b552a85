"""A clock a test moves by hand: ``clock()`` is the time, ``clock.advance(minutes=5)``
moves it (UTC, whole seconds, starting now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)
