"""The long-running service: APScheduler 3, one job per source, plus the dispatcher.

Each source polls at its own ``every`` (a streaming one listens instead, in its own
thread: monitor/streams.py) with a little jitter, never overlaps
itself (``max_instances=1``; a missed run is coalesced, not queued), and
dispatches right after it polls. The dispatcher also runs on its own timer
(``alerts.dispatch_every``) so retries go out while sources are quiet. A
follow-up job runs every minute: due engagement readings (spread tracking),
spikes and reminders, then a dispatch if it queued anything.
SIGINT and SIGTERM stop the scheduler cleanly: running jobs finish first.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import format_duration
from monitor.errors import StorageError
from monitor.service import Service

log = logging.getLogger(__name__)

#: How often due engagement readings, spikes and reminders are looked for. Cheap when
#: nothing is due: one indexed query each.
WATCH_EVERY = timedelta(minutes=1)


class Scheduler:
    def __init__(self, service: Service) -> None:
        self.service = service
        self._stop = threading.Event()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone=UTC,
        )

    def _guarded(self, what: str, job: Callable[[], object], *, writes: bool = False) -> None:
        """The guard: one failing job never stops the service. A database that cannot be
        used is the monitor's own failure: the alarm logs it once and tells the channels
        directly (the outbox is in that database). A job that always writes (a poll
        records the source's health) tells the alarm when the database works again."""
        try:
            job()
        except StorageError as exc:
            self.service.alarm.failed(exc)
        except Exception:
            log.exception("%s failed", what)
        else:
            if writes:
                self.service.alarm.ok()

    def _poll_then_dispatch(self, name: str) -> None:
        def job() -> None:
            report = self.service.pipeline.poll_source(name)
            if report.new or report.changed or not report.ok:
                self.service.dispatch()

        self._guarded(f"the job for {name}", job, writes=True)

    def _watch_then_dispatch(self) -> None:
        def job() -> None:
            if self.service.watch().queued:
                self.service.dispatch()

        self._guarded("the follow-up job (spread, spikes, reminders)", job)

    def _dispatch(self) -> None:
        self._guarded("the dispatcher", self.service.dispatch)

    def start(self) -> None:
        now = datetime.now(UTC)
        for name, connector in self.service.connectors.items():
            if connector.streaming and connector.resumes:
                continue  # listened to all the time, in its own thread (service.listen)
            every = connector.config.every.total_seconds()
            self.scheduler.add_job(
                self._poll_then_dispatch,
                IntervalTrigger(seconds=every, jitter=max(1, int(every * 0.05))),
                args=[name],
                id=f"poll:{name}",
                name=f"poll {name}",
                next_run_time=now,
            )
        self.scheduler.add_job(
            self._watch_then_dispatch,
            IntervalTrigger(seconds=WATCH_EVERY.total_seconds()),
            id="watch",
            name="spread tracking, spikes and reminders",
            next_run_time=now + WATCH_EVERY,
        )
        self.scheduler.add_job(
            self._dispatch,
            IntervalTrigger(seconds=self.service.config.alerts.dispatch_every.total_seconds()),
            id="dispatch",
            name="dispatch alerts",
            next_run_time=now,
        )
        self.scheduler.start()

    def stop(self, *_: object) -> None:
        self._stop.set()

    def run_forever(self) -> None:
        """Start, block until SIGINT/SIGTERM, then shut down cleanly."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s; stopping after running jobs finish", signal.Signals(signum).name)
            self._stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            self.service.listen(self._stop)  # Slack and Telegram buttons, if configured
            sources = ", ".join(
                f"{n} live"
                if c.streaming and c.resumes
                else f"{n} every {format_duration(c.config.every)}"
                + (" and live" if c.streaming else "")
                for n, c in self.service.connectors.items()
            )
            log.info("mention-monitor running: %s", sources or "no sources enabled")
            while not self._stop.wait(1.0):
                pass
        finally:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            log.info("mention-monitor stopped")
