"""The long-running service: APScheduler 3, one job per source, plus the dispatcher.

(A source whose poll costs a request per brand, with more brands than its
``brands_per_job``, has one job per group of brands instead: monitor/polljobs.py.)

Each source polls at its own ``every`` (a streaming one listens instead, in its own
thread: monitor/streams.py) with a little jitter, never overlaps
itself (``max_instances=1``; a missed run is coalesced, not queued), and
dispatches right after it polls. The dispatcher also runs on its own timer
(``alerts.dispatch_every``) so retries go out while sources are quiet. A
follow-up job runs every minute: due engagement readings (spread tracking),
spikes and reminders, then a dispatch if it queued anything.
SIGINT and SIGTERM stop the scheduler cleanly: running jobs finish first.

Several workers (``run`` started more than once on one PostgreSQL database) share the
work through leases in the database (monitor/store/leases.py): every worker's scheduler
ticks, but a poll or the follow-up job runs only in the worker that claims its lease, and
only when it did not start within its interval in any worker. After each tick the job is
rescheduled for when it is next due (its last start, in whichever worker, plus its
interval, plus a little jitter), so one worker alone polls at the same pace as before.
The dispatcher runs in every worker: each alert is claimed before it is sent.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import format_duration
from monitor.errors import StorageError
from monitor.polljobs import PollJob, poll_jobs
from monitor.service import Service
from monitor.workers import Worker

log = logging.getLogger(__name__)

#: How often due engagement readings, spikes and reminders are looked for. Cheap when
#: nothing is due: one indexed query each.
WATCH_EVERY = timedelta(minutes=1)
#: When a poll job whose source this worker is polling (another group of its brands) is
#: tried again.
BUSY_RETRY = timedelta(seconds=5)


class Scheduler:
    def __init__(self, service: Service, worker: Worker | None = None) -> None:
        self.service = service
        self.worker = worker or Worker(service.store, clock=service.clock)
        self._stop = threading.Event()
        #: One lock per source: the job of it this worker is polling now.
        self._polling: dict[str, threading.Lock] = {}
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

    def _poll_then_dispatch(self, poll: PollJob) -> None:
        def job() -> None:
            report = self.service.pipeline.poll_source(poll.source, poll)
            if report.new or report.changed or not report.ok:
                self.service.dispatch()

        self._guarded(f"the job for {poll.describe()}", job, writes=True)

    def _watch_then_dispatch(self) -> None:
        def job() -> None:
            if self.service.watch().queued:
                self.service.dispatch()

        self._guarded("the follow-up job (spread, spikes, reminders)", job)

    def _dispatch(self) -> None:
        self._guarded("the dispatcher", self.service.dispatch)

    def _claimed(
        self, job_id: str, every: timedelta, run: Callable[[], None], source: str | None = None
    ) -> None:
        """The scheduled job: ``run`` (guarded itself) if this worker gets the job's lease,
        then the job is rescheduled for when it is next due across all workers.

        ``source``: a poll; this worker polls one job of a source at a time (its brands
        may be split into several jobs: monitor/polljobs.py). One whose other job runs
        here now is tried again a little later, without taking its lease meanwhile."""
        local = self._polling.setdefault(source, threading.Lock()) if source else None
        if local is not None and not local.acquire(blocking=False):
            self._reschedule(job_id, self.service.clock() + BUSY_RETRY, BUSY_RETRY)
            return

        def job() -> None:
            now = self.service.clock()
            lease = self.worker.claim(job_id, every, now)
            if not lease.held:
                self._reschedule(job_id, lease.next_try(every, now), every)
                return
            try:
                run()
            finally:
                self.worker.release(job_id)
                self._reschedule(job_id, now + every, every)

        try:
            self._guarded(f"the lease of {job_id}", job)
        finally:
            if local is not None:
                local.release()

    def _reschedule(self, job_id: str, due: datetime, every: timedelta) -> None:
        jitter = random.uniform(0, max(1.0, every.total_seconds() * 0.05))
        when = max(due, self.service.clock() + timedelta(seconds=0.5))
        # APScheduler's shutdown(wait=True) holds its job store lock while it waits for the
        # running jobs, and modify_job takes that lock: a job rescheduling itself then would
        # wait for ever. So the lock is taken here with a timeout, while the scheduler runs.
        lock = self.scheduler._jobstores_lock
        while self.scheduler.state == STATE_RUNNING:
            if lock.acquire(timeout=0.2):
                try:
                    self.scheduler.modify_job(
                        job_id, next_run_time=when + timedelta(seconds=jitter)
                    )
                except Exception as exc:  # stopping: the job is gone with the scheduler
                    log.debug("%s not rescheduled: %s", job_id, exc)
                finally:
                    lock.release()
                return

    def start(self) -> None:
        now = datetime.now(UTC)
        connectors = self.service.connectors
        polled = [n for n, c in connectors.items() if not (c.streaming and c.resumes)]
        # (A streaming source that resumes is listened to all the time, in its own thread:
        # service.listen.)
        for poll in poll_jobs(self.service.config, connectors, polled):
            every = connectors[poll.source].config.every
            seconds = every.total_seconds()
            self.scheduler.add_job(
                self._claimed,
                IntervalTrigger(seconds=seconds, jitter=max(1, int(seconds * 0.05))),
                args=[poll.id, every, partial(self._poll_then_dispatch, poll), poll.source],
                id=poll.id,
                name=f"poll {poll.describe()}",
                next_run_time=now,
            )
        self.scheduler.add_job(
            self._claimed,
            IntervalTrigger(seconds=WATCH_EVERY.total_seconds()),
            args=["watch", WATCH_EVERY, self._watch_then_dispatch],
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
            self.worker.start()
            self.start()
            # Streams (one worker each) and Slack and Telegram buttons, if configured.
            self.service.listen(self._stop, self.worker)
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
            self.worker.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            log.info("mention-monitor stopped")
