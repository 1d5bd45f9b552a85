"""This process as one of the workers sharing a database, and how `status` shows them.

``mention-monitor run`` registers a Worker (``host:pid:key``) in the database's workers
table, then keeps a heartbeat thread: every HEARTBEAT_EVERY it writes its heartbeat,
renews the leases it holds (monitor/store/leases.py), and takes over the work of any worker
whose heartbeat stopped (killed, or its machine gone): that one's leases are freed and the
alerts it had claimed for sending go out again, marked as a possible repeat. A job the dead
worker held is therefore done again within LEASE_TTL (30 s) of its last renewal.

On SQLite only one `run` may use a file (monitor/runlock.py); it registers all the same, so
`status` shows it and a restart after a crash takes over its alerts at once.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from monitor import __version__
from monitor.errors import MonitorError
from monitor.models import utcnow
from monitor.polljobs import describe_lease
from monitor.store import Lease, Leases, StoreBase, WorkerInfo, Workers
from monitor.store.workers import DEAD_AFTER, claim_key
from monitor.wording import count

log = logging.getLogger(__name__)

#: How often a worker writes its heartbeat and renews its leases.
HEARTBEAT_EVERY = timedelta(seconds=10)


class Worker:
    """One `run` process's identity, heartbeat and leases."""

    def __init__(
        self,
        store: StoreBase,
        *,
        clock: Callable[[], datetime] = utcnow,
        heartbeat_every: timedelta = HEARTBEAT_EVERY,
    ) -> None:
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.host}:{self.pid}:{secrets.token_hex(4)}"
        self.store = store
        self.clock = clock
        self.heartbeat_every = heartbeat_every
        self.leases = Leases(store)
        self.workers = Workers(store)
        store.claim_prefix = f"{claim_key(self.id)}."
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Register, take over what dead workers left, and start the heartbeat thread."""
        self.workers.register(self.id, self.host, self.pid, __version__, self.clock())
        self.beat()
        self._thread = threading.Thread(target=self._beating, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self, *, forget: bool = False) -> None:
        """Stop the heartbeat and say so: this worker's leases are free at once.
        ``forget``: leave no line in `status` (a `poll` that did its one cycle)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.workers.stop(self.id, self.clock(), forget=forget)
        except MonitorError as exc:
            log.warning("could not record that this worker stopped: %s", exc)

    def claim(self, job: str, every: timedelta, now: datetime) -> Lease:
        return self.leases.claim(job, self.id, now, every)

    def release(self, job: str) -> None:
        self.leases.release(job, self.id)

    def beat(self) -> None:
        now = self.clock()
        if not self.workers.beat(self.id, now):
            log.warning(
                "this worker was taken for stopped (no heartbeat for %s: a pause, or the "
                "database out of reach); its jobs went to the others, and it takes part again",
                f"{DEAD_AFTER.total_seconds():.0f} s",
            )
        self.leases.renew(self.id, now)
        reaped = self.workers.reap(now)
        for worker_id in reaped.workers:
            log.warning("worker %s stopped without saying so; its work is taken over", worker_id)
        if reaped.alerts:
            log.warning(
                "%s it was sending go out again, marked as a possible repeat",
                count(reaped.alerts, "alert"),
            )
        self.workers.forget(now)

    def _beating(self) -> None:
        said = ""
        while not self._stop.wait(self.heartbeat_every.total_seconds()):
            try:
                self.beat()
                said = ""
            except MonitorError as exc:
                if str(exc) != said:  # the database alarm tells the owner; log it once
                    log.warning("heartbeat not written: %s", exc)
                said = str(exc)
            except Exception:
                log.exception("heartbeat failed")


def worker_name(worker_id: str) -> str:
    """``host:pid:key`` as an owner reads it: "the worker on host (process pid)"."""
    host, _, rest = worker_id.partition(":")
    pid = rest.partition(":")[0]
    return f"the worker on {host} (process {pid})" if pid else worker_id


def _ago(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _at(when: datetime) -> str:
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"


def describe_workers(workers: list[WorkerInfo], held: list[Lease], now: datetime) -> list[str]:
    """The lines `mention-monitor status` prints about the workers, in an owner's words."""
    live = [w for w in workers if w.alive(now)]
    lines = [f"Running now: {count(len(live), 'worker')}"]
    if not live:
        lines.append("  none (start one with `mention-monitor run`)")
    for w in live:
        lines.append(
            f"  {w.host} (process {w.pid}): running since {_at(w.started_at)}, "
            f"last heard from {_ago(w.heartbeat_at, now)}, version {w.version}"
        )
        jobs = [lease for lease in held if lease.holder == w.id]
        for lease in jobs:
            since = _at(lease.acquired_at) if lease.acquired_at else "a moment ago"
            lines.append(f"    {describe_lease(lease.name)} since {since}")
        if not jobs:
            lines.append("    waiting for its next job")
    gone = [w for w in workers if not w.alive(now)]
    if gone:
        lines.append("Stopped (listed for a day):")
    for w in gone:
        when = w.gone_at or w.heartbeat_at
        if w.stopped:
            how = f"stopped at {_at(when)}"
        elif w.gone_at is not None:
            how = (
                f"stopped without saying so (last heard from at {_at(w.heartbeat_at)}); "
                "the others took over its work"
            )
        else:
            how = (
                f"not heard from since {_at(w.heartbeat_at)}; the next running worker "
                "takes over its work"
            )
        lines.append(f"  {w.host} (process {w.pid}): {how}")
    return lines
