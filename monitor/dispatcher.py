"""Delivering the outbox: every pending alert to its channel, in the channel's rhythm.

Runs right after each poll and on a timer. Per channel, each round:

- **paused** channels (they raised ChannelMisconfigured: a revoked webhook, a
  wrong password) are skipped; their alerts wait, and are given up only after
  ``give_up_after``. ``mention-monitor test-alert`` or a restart of ``run``
  resumes them.
- **digest** channels (``mode: digest``) send one message with every alert
  queued before the last scheduled digest time (``digest_at`` daily in the
  channel's ``timezone``, or every ``every``); nothing is sent when nothing
  is waiting, and items are marked sent only when the digest was accepted.
- **instant** channels send each alert as it comes, except that inside
  ``quiet_hours`` only ``high`` alerts go out (the rest are held until the
  window ends), and that when more than ``flood_limit`` alerts would go out
  within a minute, all that are due become one roll-up message listing them.

Every row is claimed (pending -> sending) before it is sent, so two
dispatchers never send one row. A transient failure (an AlertError, a crash
of the channel's code) makes the **whole channel** wait, whichever alert is
next (mention, reminder, notice, roll-up, digest): until the channel's
``retry_after`` (a 429's Retry-After) has passed, or with exponential backoff
and jitter by its failures in a row (30 s, 1 min, 2 min, ... capped at 1 h).
The wait is kept in the store's channel_state, so a restart honours it. When
it is over, one message is the probe (claimed in the store, so two processes
do not both try); its success ends the wait. Rows are given up (dead) once
``give_up_after`` has passed since they were queued. Other channels go on. A
permanent failure of one message marks it dead at once.

The one window for a repeat is a crash after a channel accepted a message and
before it was marked sent: its rows stay "sending" and are released after ten
minutes, marked as possible repeats and still grouped by their claim token;
the rows that were one message go out again as one message (a roll-up, or the
single alert), saying that it may repeat an alert sent before a restart.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from alerts.base import Channel, ChannelConfig
from monitor.config import AlertsConfig
from monitor.errors import AlertError, ChannelMisconfigured, MonitorError, StorageError
from monitor.links import InboxLinks
from monitor.models import Alert, Digest
from monitor.store import ChannelWait, DueAlert, Store, stale_before
from monitor.store.messages import thread_roots
from monitor.wording import count

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
FLOOD_WINDOW = timedelta(minutes=1)
PROBE_LEASE = timedelta(minutes=10)  # a probe's hold on a channel, like a row's claim


@dataclass
class DispatchReport:
    sent: int = 0  # alerts delivered (an alert in a digest or roll-up counts once)
    messages: int = 0  # messages the channels accepted
    retrying: int = 0
    dead: int = 0
    held: int = 0  # waiting for quiet hours, the next digest, or a channel that asked to wait
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, rng: random.Random, base: timedelta = BACKOFF_BASE) -> timedelta:
    """Delay before the next try after ``attempts`` failures, with +-20% jitter."""
    delay: timedelta = min(base * (2 ** max(0, attempts - 1)), BACKOFF_MAX)
    return delay * rng.uniform(0.8, 1.2)


class _ChannelDown(Exception):
    """Internal: stop sending to this channel for the rest of the round."""


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
        links: InboxLinks | None = None,
        config_hint: str | None = None,
    ) -> None:
        self.store = store
        self.links = links  # web.public_url: each alert then links to its page in the inbox
        self.config_hint = config_hint  # the -c its follow-up commands need (links.py)
        self.channels = channels
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        self.strict = strict
        self._lock = threading.Lock()
        self._waits: dict[str, ChannelWait] = {}  # channels that failed last time
        self._probing: set[str] = set()  # channels whose probe this round has no outcome yet

    def dispatch(self) -> DispatchReport:
        with self._lock:
            report = DispatchReport()
            now = self.clock()
            released = self.store.release_stale_claims(stale_before(now))
            if released:
                log.warning(
                    "%s left mid-send by a stopped process; retrying", count(released, "alert")
                )
            by_channel: dict[str, list[DueAlert]] = {}
            for row in self.store.due_alerts(now):
                by_channel.setdefault(row.channel, []).append(row)
            paused = self.store.paused_channels()
            self._waits = self.store.channel_waits()
            for name, rows in by_channel.items():
                channel = self.channels.get(name)
                if channel is None:
                    self._dead(
                        [r.id for r in rows], name, "this channel is no longer configured", report
                    )
                    continue
                if name in paused:
                    self._expire_paused(channel, paused[name][1], now)
                    continue
                if not self._may_try(channel, now):
                    report.held += len(rows)
                    continue
                try:
                    if channel.config.mode == "digest":
                        self._digest(channel, rows, now, report)
                    else:
                        self._instant(channel, rows, now, report)
                except _ChannelDown:
                    pass
                finally:
                    if name in self._probing:  # nothing was sent: the next round may try
                        self._probing.discard(name)
                        self.store.release_probe(name, now + PROBE_LEASE, now)
            return report

    def _may_try(self, channel: Channel, now: datetime) -> bool:
        """False while the channel is waited for; once the wait is over, True for the one
        process that takes the probe."""
        name = channel.config.name
        wait = self._waits.get(name)
        if wait is None or wait.until is None:
            return True
        if wait.until > now:
            give_up = self._give_up_after(channel.config)
            n = self.store.expire(name, now - give_up, f"gave up: {wait.reason}")
            if n:
                log.error("%s: %s expired while waiting for the channel", name, count(n, "alert"))
            return False
        if not self.store.claim_probe(name, now, now + PROBE_LEASE):
            return False  # another process is trying it
        self._probing.add(name)
        return True

    # ------------------------------------------------------------ rhythm

    def _instant(
        self, channel: Channel, rows: list[DueAlert], now: datetime, report: DispatchReport
    ) -> None:
        config = channel.config
        quiet_until = config.quiet_until(now)
        if quiet_until is not None:
            held = [r.id for r in rows if r.severity != "high"]
            if held:
                self.store.defer(held, quiet_until)
                report.held += len(held)
            rows = [r for r in rows if r.severity == "high"]
        repeats: dict[str, list[int]] = {}
        for row in rows:
            if row.repeat_of is not None:
                repeats.setdefault(row.repeat_of, []).append(row.id)
        for ids in repeats.values():
            # Sent together before a crash: again together, as one message (see the docstring).
            claimed = self.store.claim_many(ids, self.clock())
            if claimed:
                self._deliver(channel, claimed, "rollup" if len(claimed) > 1 else None, report)
        rows = [r for r in rows if r.repeat_of is None]
        if not rows:
            return
        budget = config.flood_limit - self.store.sent_since(config.name, now - FLOOD_WINDOW)
        if len(rows) > budget:
            # A flood: everything due goes out as one message listing it, not one per alert.
            log.info(
                "%s: %s within a minute; sending one roll-up",
                config.name,
                count(len(rows), "alert"),
            )
            claimed = self.store.claim_many([r.id for r in rows], self.clock())
            if claimed:
                self._deliver(channel, claimed, "rollup", report)
            return
        for row in rows:
            claimed = self.store.claim_many([row.id], self.clock())
            if claimed:
                self._deliver(channel, claimed, None, report)

    def _digest(
        self, channel: Channel, rows: list[DueAlert], now: datetime, report: DispatchReport
    ) -> None:
        slot = channel.config.last_digest_time(now)
        ready = [r.id for r in rows if r.queued_at <= slot]
        waiting = [r.id for r in rows if r.queued_at > slot]
        if waiting:
            self.store.defer(waiting, self._next_digest_time(channel.config, now))
            report.held += len(waiting)
        if ready:
            claimed = self.store.claim_many(ready, self.clock())
            if claimed:
                self._deliver(channel, claimed, "digest", report)

    @staticmethod
    def _next_digest_time(config: ChannelConfig, now: datetime) -> datetime:
        step = config.every or timedelta(days=1)
        later = config.last_digest_time(now + step)
        return later if later > now else later + step

    # ------------------------------------------------------------ delivery

    def _deliver(
        self, channel: Channel, alerts: Sequence[Alert], kind: str | None, report: DispatchReport
    ) -> None:
        """Send one message (an alert, or a digest/roll-up of several) and record the outcome."""
        ids = [a.id for a in alerts]
        name = channel.config.name
        if self.links is not None:
            alerts = [self.links.attach(a) for a in alerts]
        if self.config_hint is not None:
            alerts = [replace(a, config_hint=self.config_hint) for a in alerts]
        if channel.interactive:
            alerts = self._threaded(name, alerts)
        try:
            if kind is None:
                posted = channel.send(alerts[0])
            else:
                posted = channel.send_digest(Digest(kind, name, tuple(alerts)))
        except ChannelMisconfigured as exc:
            self.store.mark_failed(ids, exc.message, retry_at=self.clock())
            self.store.pause_channel(name, exc.message, self.clock())
            report.errors.append(str(exc))
            report.retrying += len(ids)
            log.error(
                "channel %s is paused: %s. Its alerts are kept; fix the channel, then run "
                "`mention-monitor test-alert --channel %s` (or restart the service) to resume.",
                name,
                exc.message,
                name,
            )
            raise _ChannelDown from exc
        except AlertError as exc:
            if exc.permanent:
                self._dead(ids, name, exc.message, report)
                return
            self._retry_later(channel, alerts, exc.message, exc.retry_after, report)
            raise _ChannelDown from exc
        except Exception as exc:
            if self.strict:
                raise
            log.exception("channel %s crashed while sending", name)
            # Only the type: the text of a library's exception can hold a secret URL.
            message = f"unexpected {type(exc).__name__} in the channel (see the service log)"
            self._retry_later(channel, alerts, message, None, report)
            raise _ChannelDown from exc
        self._probing.discard(name)
        try:
            self.store.mark_sent(ids, self.clock(), posted=posted)
            if name in self._waits:
                del self._waits[name]
                self.store.channel_ok(name)
                log.info("%s works again", name)
        except StorageError:
            # The database itself: the rows stay "sending" and go out again, marked as a
            # possible repeat, once it works; the caller raises the alarm.
            log.warning("%s accepted alerts %s but they could not be recorded as sent", name, ids)
            raise
        except MonitorError:
            log.exception("%s accepted alerts %s but they could not be recorded as sent", name, ids)
        report.sent += len(ids)
        report.messages += 1

    def _threaded(self, channel: str, alerts: Sequence[Alert]) -> list[Alert]:
        """Each alert about a mention this channel posted about before, with that first
        message as its ``thread_ref`` (escalations and reminders go under it)."""
        ids = [a.mention_id for a in alerts if a.mention_id is not None]
        roots = thread_roots(self.store, channel, ids) if ids else {}
        return [
            replace(a, thread_ref=roots[a.mention_id])
            if a.mention_id is not None and a.mention_id in roots
            else a
            for a in alerts
        ]

    def _give_up_after(self, config: ChannelConfig) -> timedelta:
        return config.give_up_after or self.config.give_up_after

    def _retry_later(
        self,
        channel: Channel,
        alerts: Sequence[Alert],
        message: str,
        retry_after: float | None,
        report: DispatchReport,
    ) -> None:
        now = self.clock()
        name = channel.config.name
        attempts = max(a.attempts for a in alerts) + 1
        wait = self._waits.get(name)
        failures = (wait.failures if wait is not None else 0) + 1
        delay = (
            timedelta(seconds=retry_after)
            if retry_after is not None
            else backoff(failures, self.rng, self.config.retry_base)
        )
        retry_at = now + delay
        # The whole channel waits: no request to it, for any alert, before retry_at.
        self._probing.discard(name)
        self.store.channel_failed(name, retry_at, message)
        self._waits[name] = ChannelWait(retry_at, message, failures)
        give_up = self._give_up_after(channel.config)
        expired = [a.id for a in alerts if (a.queued_at or now) + give_up < retry_at]
        alive = [a.id for a in alerts if a.id not in set(expired)]
        if expired:
            self._dead(expired, name, f"gave up after {attempts} attempts: {message}", report)
        if alive:
            self.store.mark_failed(alive, message, retry_at=retry_at)
            report.retrying += len(alive)
            report.errors.append(f"{name}: {message}")
            log.warning(
                "%s: %s; %s retried at %s",
                name,
                message,
                count(len(alive), "alert"),
                f"{retry_at:%H:%M:%S}",
            )

    def _dead(self, ids: list[int], channel: str, message: str, report: DispatchReport) -> None:
        self.store.mark_failed(ids, message, retry_at=None)
        report.dead += len(ids)
        report.errors.append(f"{channel}: {message}")
        log.error("%s to %s cannot be delivered: %s", count(len(ids), "alert"), channel, message)

    def _expire_paused(self, channel: Channel, reason: str, now: datetime) -> None:
        give_up = self._give_up_after(channel.config)
        n = self.store.expire(
            channel.config.name, now - give_up, f"gave up: the channel was paused ({reason})"
        )
        if n:
            log.error(
                "%s: %s expired while the channel was paused",
                channel.config.name,
                count(n, "alert"),
            )
