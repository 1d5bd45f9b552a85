"""Streaming sources inside ``run``: one thread each, beside the scheduler's polls.

A source whose connector sets ``streaming`` (Bluesky's Jetstream) is not polled on a
timer: ``run`` starts a thread that listens to it (``Connector.listen``) and hands every
batch to the pipeline with its cursor, as a poll's answer is handed over. So a stream's
posts are matched, scored, stored and alerted by the same code as a poll's, and its
cursor is stored with each batch: a restart or a dropped connection resumes from the
last post handled.

- Alerts a batch queues are sent at once (a dispatch right after the batch), so a
  complaint reaches the owner seconds after it was posted.
- Health: while the stream flows, its success is recorded every ``HEALTH_EVERY`` (with
  what it brought), so ``check`` and the Sources page show it alive; a broken
  connection is recorded as a failed poll, and after ``alerts.health_after`` failures in
  a row the owner gets the same "has stopped working" notice as for a polled source, and
  "works again" when it is back.
- A stream that cannot resume from a cursor (Mastodon's) is polled right after each
  connection, to read what was posted while it was down, and by the scheduler as usual.
- A failure moves to the source's next host, and the next try waits 1 s, then 2, 4, ...
  up to a minute (or as long as a 429 asks); a batch that flows resets the wait.
- Memory: the connector reads at most a few dozen messages ahead of the pipeline (the
  WebSocket library's queue), so a stream faster than matching slows the sender instead
  of filling memory.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from connectors.base import Connector
from monitor.errors import MonitorError, RateLimited, StorageError
from monitor.pipeline import ALL_BRANDS, SourceReport

if TYPE_CHECKING:
    from monitor.service import Service

log = logging.getLogger(__name__)

HEALTH_EVERY = timedelta(seconds=60)
PAUSE, PAUSE_MAX = 1.0, 60.0


class StreamListener:
    """Listens to one streaming source until ``stop`` is set (``thread`` runs it)."""

    def __init__(self, service: Service, name: str, connector: Connector) -> None:
        self.service = service
        self.name = name
        self.connector = connector
        self.batches = 0  # handled so far (for tests and benchmarks)

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(
            target=self.run, args=(stop,), name=f"stream:{self.name}", daemon=True
        )
        thread.start()
        return thread

    def run(self, stop: threading.Event) -> None:
        pause = PAUSE
        while not stop.is_set():
            wait = pause
            try:
                self._listen(stop)
                pause = PAUSE
                continue
            except StorageError as exc:
                self.service.alarm.failed(exc)
            except RateLimited as exc:
                self._failed(exc)
                wait = max(pause, exc.retry_after or 0.0)
            except MonitorError as exc:
                self._failed(exc)
            except Exception as exc:
                log.exception("%s: the stream stopped unexpectedly", self.name)
                self._failed(exc)
            self.connector.next_host()
            if stop.wait(wait):
                break
            pause = min(pause * 2, PAUSE_MAX)
        self.connector.close()

    def _failed(self, exc: Exception) -> None:
        self.service.pipeline.streamed(SourceReport(self.name), exc)
        self.service.dispatch()  # the "has stopped working" notice, when this was the one

    def _listen(self, stop: threading.Event) -> None:
        pipeline = self.service.pipeline
        cursor = self.service.store.get_cursor(self.name, ALL_BRANDS)
        report = SourceReport(self.name)
        reported = 0.0  # the first batch says at once that the stream works
        keywords = [k for b in self.service.config.brands_for(self.name) for k in b.keywords]
        gap = not self.connector.resumes
        for mentions, new_cursor in self.connector.listen(keywords, cursor, stop):
            batch = pipeline.process(self.name, ALL_BRANDS, mentions, new_cursor)
            self.batches += 1
            if gap:  # connected: what was posted while it was not comes by a poll
                gap = False
                if pipeline.poll_source(self.name).new:
                    self.service.dispatch()
            report.fetched += len(mentions)
            report.new += len(batch.new_ids)
            report.negative += batch.negative
            if batch.queued_alerts or batch.changed:
                self.service.dispatch()
            if time.monotonic() - reported >= HEALTH_EVERY.total_seconds():
                pipeline.streamed(report)
                self.service.alarm.ok()
                report, reported = SourceReport(self.name), time.monotonic()
