"""When the monitor itself fails: the database cannot be written (a full disk, a file
made read-only), so no alert can be queued through the outbox.

Every job meets the same StorageError, over and over. ``DatabaseAlarm`` turns
that into what an owner needs: one log line with the fix (not a traceback per
job), and a notice sent straight to every channel, without the database, at
most once per ``repeat_after`` while the problem lasts; then, once a job works
again, one "works again" notice, only if the failure was announced. A channel
that cannot take the notice is logged and skipped; nothing here raises.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from alerts.base import Channel
from monitor.errors import MonitorError, StorageError
from monitor.models import HEALTH, Alert, Severity
from monitor.wording import count

log = logging.getLogger(__name__)

#: The source name the notices carry: the monitor itself, not one of the sources.
SELF = "mention-monitor"


class DatabaseAlarm:
    def __init__(
        self,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        repeat_after: timedelta = timedelta(hours=1),
    ) -> None:
        self.channels = channels
        self.clock = clock
        self.repeat_after = repeat_after
        self.failing_since: datetime | None = None
        self.announced_at: datetime | None = None
        self.failures = 0
        self._lock = threading.Lock()

    def failed(self, exc: StorageError) -> None:
        """A job could not use the database."""
        with self._lock:
            now = self.clock()
            self.failures += 1
            first = self.failing_since is None
            if first:
                self.failing_since = now
                log.error(
                    "mention-monitor cannot use its database, so nothing new is stored or "
                    "alerted: %s. It keeps trying every poll and tells every channel directly.",
                    exc,
                )
            due = self.announced_at is None or now - self.announced_at >= self.repeat_after
            if not due:
                log.debug("the database still fails: %s", exc)
                return
            since = self.failing_since or now
            if not first:
                log.error("the database still cannot be used (since %s UTC): %s", since, exc)
            self.announced_at = now
        self._send(
            "mention-monitor cannot write its database",
            f"Since {since:%Y-%m-%d %H:%M} UTC no mention can be stored and no alert queued: "
            f"{exc}. New mentions are fetched again once it works; fix it soon, as sources "
            "only reach back so far.",
            "high",
        )

    def ok(self) -> None:
        """A job used the database successfully."""
        with self._lock:
            if self.failing_since is None:
                return
            since, announced, failures = self.failing_since, self.announced_at, self.failures
            self.failing_since = self.announced_at = None
            self.failures = 0
        log.warning(
            "the database works again (it failed %s since %s)", count(failures, "time"), since
        )
        if announced is not None:
            minutes = max(1, round((self.clock() - since).total_seconds() / 60))
            self._send(
                "mention-monitor can write its database again",
                f"The database works again after {minutes} min; polling and alerts go on, "
                "and sources are read back from where they stopped.",
                "info",
            )

    def _send(self, title: str, text: str, severity: Severity) -> None:
        now = self.clock()
        alert = Alert(
            id=0,
            kind=HEALTH,
            channel="",
            severity=severity,
            brand="",
            source=SELF,
            author="",
            url="",
            text=text,
            created_at=now,
            title=title,
            compound=0.0,
            label="neutral",
            reasons=(),
            engagement={},
            queued_at=now,
        )
        for name, channel in self.channels.items():
            try:
                channel.send(alert)
            except MonitorError as exc:
                log.error("could not tell %s that the database fails: %s", name, exc)
            except Exception:
                log.exception("could not tell %s that the database fails", name)
