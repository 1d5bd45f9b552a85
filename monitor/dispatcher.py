"""Delivering the outbox: every pending alert to its channel, with retries.

Runs right after each poll and on a timer. For each due row it claims the row
(pending -> sending), calls ``channel.send`` and records the outcome:

- sent: ``status=sent``; never sent again;
- a transient failure (channel down, timeout, 5xx): back to pending with
  exponential backoff and jitter (30 s, 1 min, 2 min, ... capped at 1 h) until
  ``alerts.give_up_after`` has passed since the alert was queued, then dead;
  the rest of that channel's alerts wait for the next round, other channels
  go on;
- a permanent failure (``AlertError(permanent=True)``): dead at once, reported
  once.

The one window for a repeat is a crash after a channel accepted an alert and
before ``sent`` was written: the row stays "sending" and is released for
another try after ten minutes.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from alerts.base import Channel
from monitor.config import AlertsConfig
from monitor.errors import AlertError, MonitorError
from monitor.store import Store, stale_before

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Delay before the next try after ``attempts`` failures, with +-20% jitter."""
    delay: timedelta = min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_MAX)
    return delay * rng.uniform(0.8, 1.2)


class Dispatcher:
    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        config: AlertsConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        strict: bool = False,
    ) -> None:
        self.store = store
        self.channels = channels
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        self.strict = strict
        self._lock = threading.Lock()

    def dispatch(self) -> DispatchReport:
        with self._lock:
            report = DispatchReport()
            now = self.clock()
            released = self.store.release_stale_claims(stale_before(now))
            if released:
                log.warning("%d alerts were left mid-send by a stopped process; retrying", released)
            down: set[str] = set()
            for alert_id, channel_name in self.store.due_alerts(now):
                if channel_name in down:
                    continue
                if channel_name not in self.channels:
                    self._give_up(
                        alert_id, channel_name, "this channel is no longer configured", report
                    )
                    continue
                alert = self.store.claim(alert_id, self.clock())
                if alert is None:
                    continue  # another dispatcher has it
                try:
                    self.channels[channel_name].send(alert)
                except AlertError as exc:
                    if exc.permanent:
                        self._give_up(alert_id, channel_name, exc.message, report)
                        down.add(channel_name)
                        continue
                    self._retry_later(
                        alert_id, alert.attempts, alert.queued_at, exc.message, report
                    )
                    down.add(channel_name)
                except Exception as exc:
                    if self.strict:
                        raise
                    log.exception(
                        "channel %s crashed while sending alert %d", channel_name, alert_id
                    )
                    message = f"{type(exc).__name__}: {exc}"
                    self._retry_later(alert_id, alert.attempts, alert.queued_at, message, report)
                    down.add(channel_name)
                else:
                    try:
                        self.store.mark_sent(alert_id, self.clock())
                    except MonitorError:
                        log.exception("alert %d was sent but could not be recorded", alert_id)
                    report.sent += 1
            return report

    def _retry_later(
        self,
        alert_id: int,
        attempts: int,
        queued_at: datetime | None,
        message: str,
        report: DispatchReport,
    ) -> None:
        now = self.clock()
        retry_at = now + backoff(attempts + 1, self.rng)
        deadline = (queued_at or now) + self.config.give_up_after
        if retry_at > deadline:
            self.store.mark_failed(
                alert_id, f"gave up after {attempts + 1} attempts: {message}", retry_at=None
            )
            report.dead += 1
            report.errors.append(message)
            log.error("alert %d: giving up after %d attempts: %s", alert_id, attempts + 1, message)
            return
        self.store.mark_failed(alert_id, message, retry_at=retry_at)
        report.retrying += 1
        report.errors.append(message)
        log.warning("alert %d: %s; retrying at %s", alert_id, message, f"{retry_at:%H:%M:%S}")

    def _give_up(self, alert_id: int, channel: str, message: str, report: DispatchReport) -> None:
        self.store.mark_failed(alert_id, message, retry_at=None)
        report.dead += 1
        report.errors.append(f"{channel}: {message}")
        log.error("alert %d to %s cannot be delivered: %s", alert_id, channel, message)
