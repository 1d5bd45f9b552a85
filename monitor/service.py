"""Wiring: one object that owns the store, HTTP client, connectors and channels.

``Service.poll()`` is one cycle (what ``mention-monitor poll`` runs);
monitor/scheduler.py runs the same pieces on a timetable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from alerts import load_channel
from alerts.base import Channel
from connectors import load_connector
from connectors.base import Connector
from monitor.actions import Answered, Press, answer
from monitor.alarm import DatabaseAlarm
from monitor.config import Config
from monitor.dispatcher import Dispatcher, DispatchReport
from monitor.errors import ConfigError, MonitorError, StorageError
from monitor.followup import queue_reminders
from monitor.http import make_client
from monitor.links import InboxLinks, command_config
from monitor.models import utcnow
from monitor.pipeline import Clock, Pipeline, SourceReport
from monitor.polljobs import PollJob, poll_jobs
from monitor.sentiment import Scorer, make_scorer
from monitor.spikes import queue_spikes
from monitor.spread import Tracker, TrackReport
from monitor.store import Store, StoreState
from monitor.streams import StreamListener

if TYPE_CHECKING:
    from monitor.workers import Worker

log = logging.getLogger(__name__)
T = TypeVar("T")


#: How long an interactive channel waits before listening again after a failure
#: (doubling up to the maximum while it keeps failing), in seconds.
LISTEN_PAUSE = 5.0
LISTEN_PAUSE_MAX = 300.0
#: While one problem lasts, it is logged again every this many tries (about an hour).
LISTEN_REMIND = 12


@dataclass
class WatchReport:
    track: TrackReport = field(default_factory=TrackReport)
    spikes: int = 0
    reminders: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def queued(self) -> int:
        return self.track.escalations + self.spikes + self.reminders


def build_channels(configs: Iterable[Any], http: httpx.Client | None = None) -> dict[str, Channel]:
    return {c.name: load_channel(c.type)(c, http=http) for c in configs if c.enabled}


def build_connectors(
    config: Config, http: httpx.Client, store: Store | None = None
) -> dict[str, Connector]:
    return {
        name: load_connector(name)(
            source_config, http, StoreState(store, name) if store is not None else None
        )
        for name, source_config in config.sources.items()
        if source_config.enabled
    }


class Service:
    def __init__(
        self,
        config: Config,
        *,
        store: Store | None = None,
        http: httpx.Client | None = None,
        scorer: Scorer | None = None,
        channels: dict[str, Channel] | None = None,
        connectors: dict[str, Connector] | None = None,
        clock: Clock = utcnow,
        strict: bool = False,
    ) -> None:
        self.config = config
        self.store = store or Store(config.database)
        self._owns_http = http is None
        self.http = http or make_client()
        self.channels = (
            channels if channels is not None else build_channels(config.channels, self.http)
        )
        self.connectors = (
            connectors
            if connectors is not None
            else build_connectors(config, self.http, self.store)
        )
        self.pipeline = Pipeline(
            config,
            self.store,
            scorer or make_scorer(config.sentiment, config.brands),
            self.connectors,
            clock=clock,
            strict=strict,
        )
        self.dispatcher = Dispatcher(
            self.store,
            self.channels,
            config.alerts,
            clock=clock,
            strict=strict,
            links=InboxLinks.of(config.web.public_url),
            config_hint=command_config(config.path),
        )
        self.clock = clock
        self.tracker = Tracker(config, self.store, self.connectors, clock=clock)
        self.alarm = DatabaseAlarm(self.channels, clock=clock)

    def poll(
        self, sources: Iterable[str] | None = None, worker: Worker | None = None
    ) -> list[SourceReport]:
        """One cycle of the named sources (default: all enabled ones), a report for each
        (a source polled in groups of brands: the groups' reports together); no dispatch.
        With ``worker``, each poll is done under its lease (see ``_poll_job``)."""
        names = list(sources) if sources is not None else list(self.connectors)
        for name in names:
            if name not in self.connectors:
                known = ", ".join(self.connectors) or "none"
                raise ConfigError(
                    f"source '{name}' is not configured or not enabled (known: {known})"
                )
        reports: dict[str, SourceReport] = {}
        for job in poll_jobs(self.config, self.connectors, names):
            report = self._poll_job(job, worker)
            reports[job.source] = (
                _merged(reports[job.source], report) if job.source in reports else report
            )
        return list(reports.values())

    def _poll_job(self, job: PollJob, worker: Worker | None) -> SourceReport:
        """One job, under its lease when ``worker`` is given: skipped while a running
        worker polls it now (`poll` on a database `run` workers share)."""
        if worker is None:
            return self.pipeline.poll_source(job.source, job)
        lease = worker.claim(job.id, timedelta(0), self.clock())
        if not lease.held:
            return SourceReport(job.source, job=job, busy=lease.holder or "another worker")
        try:
            return self.pipeline.poll_source(job.source, job)
        finally:
            worker.release(job.id)

    def watch(self) -> WatchReport:
        """The follow-up jobs: spread tracking, spikes and reminders. Each runs even if
        another failed; what they queue goes out with the next dispatch."""
        report = WatchReport()

        def guarded(what: str, job: Callable[[], T]) -> T | None:
            try:
                return job()
            except StorageError:
                raise  # the database itself: the caller's alarm, not one job's failure
            except MonitorError as exc:
                report.errors.append(f"{what}: {exc}")
                log.error("%s failed: %s", what, exc)
                return None

        report.track = guarded("spread tracking", self.tracker.run) or report.track
        now = self.clock()
        report.spikes = guarded("spikes", lambda: queue_spikes(self.config, self.store, now)) or 0
        report.reminders = (
            guarded("reminders", lambda: queue_reminders(self.config, self.store, now)) or 0
        )
        return report

    def answer(self, press: Press) -> Answered:
        """A button pressed in an interactive channel (monitor/actions.py)."""
        return answer(self.config, self.store, press, self.clock())

    def listen(self, stop: threading.Event, worker: Worker | None = None) -> list[threading.Thread]:
        """Start a thread per streaming source (monitor/streams.py) and per interactive
        channel receiving its button presses, until ``stop`` is set; a failure is logged
        and the source or channel listens again after a pause. With ``worker``, a stream
        is listened to by the one worker that holds its lease."""
        threads = [
            StreamListener(self, name, connector, worker).start(stop)
            for name, connector in self.connectors.items()
            if connector.streaming
        ]
        for name, channel in self.channels.items():
            if channel.interactive:
                thread = threading.Thread(
                    target=self._listen, args=(channel, stop), name=f"listen:{name}", daemon=True
                )
                thread.start()
                threads.append(thread)
        return threads

    def _listen(self, channel: Channel, stop: threading.Event) -> None:
        """Listen, and again after a failure. The same problem is said once (an ERROR),
        then, while it lasts, only as a WARNING every LISTEN_REMIND tries, so a revoked
        token does not fill the log; it is said again when the problem changes."""
        pause = LISTEN_PAUSE
        said, repeats = "", 0
        while not stop.is_set():
            try:
                channel.listen(self.answer, stop)
                pause, said = LISTEN_PAUSE, ""
            except MonitorError as exc:
                message = f"{channel.config.name} cannot receive button presses: {exc}"
                repeats = repeats + 1 if message == said else 0
                if repeats == 0:
                    log.error("%s; trying again in %.0f s", message, pause)
                elif repeats % LISTEN_REMIND == 0:
                    log.warning("%s (still, after %d tries)", message, repeats + 1)
                said = message
            except Exception:
                log.exception(
                    "%s stopped receiving button presses; trying again in %.0f s",
                    channel.config.name,
                    pause,
                )
            if stop.wait(pause):
                return
            pause = min(pause * 2, LISTEN_PAUSE_MAX)

    def dispatch(self) -> DispatchReport:
        return self.dispatcher.dispatch()

    def close(self) -> None:
        for connector in self.connectors.values():
            connector.close()
        for channel in self.channels.values():
            channel.close()
        if self._owns_http:
            self.http.close()
        self.store.close()


def _merged(a: SourceReport, b: SourceReport) -> SourceReport:
    """Two reports of one source's groups of brands as one."""
    errors = [e for e in (a.error, b.error) if e]
    later = [d for d in (a.deferred_until, b.deferred_until) if d is not None]
    return SourceReport(
        a.source,
        fetched=a.fetched + b.fetched,
        new=a.new + b.new,
        negative=a.negative + b.negative,
        queued_alerts=a.queued_alerts + b.queued_alerts,
        changed=a.changed + b.changed,
        error="; ".join(dict.fromkeys(errors)) or None,
        deferred_until=max(later) if later else None,
        budget_exhausted=a.budget_exhausted or b.budget_exhausted,
        behind=max(a.behind, b.behind),
        busy=a.busy or b.busy,
    )
