"""Workers: the ``run`` processes sharing one database, each with a heartbeat.

A worker registers at start (``host:pid:key``, ``key`` random), writes a heartbeat every
few seconds (monitor/workers.py) and says when it stops. One whose heartbeat is older than
``DEAD_AFTER`` was killed or lost its machine: the first live worker to notice marks it
gone, gives back its leases and releases the alerts it had claimed for sending. Those go
out again marked as a possible repeat (the channel may have shown them before the worker
died): the same crash recovery a restart does, sooner. A worker's claims are its own
because every claim token it writes starts with its ``key`` (``StoreBase.claim_prefix``).

Rows of workers gone for more than ``FORGET_AFTER`` are deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Boolean, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from monitor.store.base import StoreBase
from monitor.store.leases import LeaseRow
from monitor.store.tables import PENDING, SENDING, AlertRow, Base, UTCDateTime

#: A worker whose heartbeat is older than this is dead; its work is taken over.
DEAD_AFTER = timedelta(seconds=30)
#: How long a worker that stopped (or died) is still listed by ``status``.
FORGET_AFTER = timedelta(days=1)


class WorkerRow(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When it stopped (``stopped`` True: it said so) or was found dead (False).
    gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)


def claim_key(worker_id: str) -> str:
    """The random part of ``host:pid:key``: what this worker's claim tokens start with."""
    return worker_id.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    gone_at: datetime | None
    stopped: bool

    def alive(self, now: datetime, dead_after: timedelta = DEAD_AFTER) -> bool:
        return self.gone_at is None and self.heartbeat_at >= now - dead_after


@dataclass
class Reaped:
    """What was taken over from workers found dead."""

    workers: list[str]
    leases: int = 0
    alerts: int = 0


class Workers:
    """The workers table of one database. Every method is one or two short transactions."""

    def __init__(self, store: StoreBase, dead_after: timedelta = DEAD_AFTER) -> None:
        self.store = store
        self.dead_after = dead_after

    def register(self, worker_id: str, host: str, pid: int, version: str, now: datetime) -> None:
        with self.store.session() as s:
            row = s.get(WorkerRow, worker_id)
            if row is None:
                s.add(
                    WorkerRow(
                        id=worker_id,
                        host=host,
                        pid=pid,
                        version=version,
                        started_at=now,
                        heartbeat_at=now,
                        gone_at=None,
                        stopped=False,
                    )
                )
            else:
                row.heartbeat_at, row.gone_at, row.stopped = now, None, False

    def beat(self, worker_id: str, now: datetime) -> bool:
        """The heartbeat. False when this worker had been taken for dead (a long pause, the
        database out of reach): its leases and claims were given away; it counts again."""
        with self.store.session() as s:
            result = s.execute(
                update(WorkerRow)
                .where(WorkerRow.id == worker_id, WorkerRow.gone_at.is_(None))
                .values(heartbeat_at=now)
            )
            if int(getattr(result, "rowcount", 0) or 0) == 1:
                return True
            row = s.get(WorkerRow, worker_id)
            if row is not None:
                row.heartbeat_at, row.gone_at, row.stopped = now, None, False
                return False
        return False

    def stop(self, worker_id: str, now: datetime, *, forget: bool = False) -> None:
        """A clean stop: listed as stopped (``forget``: not listed at all, as a `poll` that
        did its one cycle), its leases free at once."""
        with self.store.session() as s:
            if forget:
                s.execute(delete(WorkerRow).where(WorkerRow.id == worker_id))
            else:
                s.execute(
                    update(WorkerRow)
                    .where(WorkerRow.id == worker_id)
                    .values(gone_at=now, stopped=True)
                )
            s.execute(
                update(LeaseRow)
                .where(LeaseRow.holder == worker_id)
                .values(holder=None, expires_at=None)
            )

    def reap(self, now: datetime) -> Reaped:
        """Mark the workers whose heartbeat stopped as gone and take over their work."""
        with self.store.session() as s:
            candidates = list(
                s.scalars(
                    select(WorkerRow.id).where(
                        WorkerRow.gone_at.is_(None), WorkerRow.heartbeat_at < now - self.dead_after
                    )
                )
            )
        reaped = Reaped([])
        for worker_id in candidates:
            with self.store.session() as s:
                result = s.execute(
                    update(WorkerRow)
                    .where(
                        WorkerRow.id == worker_id,
                        WorkerRow.gone_at.is_(None),
                        WorkerRow.heartbeat_at < now - self.dead_after,
                    )
                    .values(gone_at=now, stopped=False)
                )
                if int(getattr(result, "rowcount", 0) or 0) != 1:
                    continue  # another worker took it over first, or it came back
                leases = s.execute(
                    update(LeaseRow)
                    .where(LeaseRow.holder == worker_id)
                    .values(holder=None, expires_at=None)
                )
                alerts = s.execute(
                    update(AlertRow)
                    .where(
                        AlertRow.status == SENDING,
                        AlertRow.claimed_by.startswith(f"{claim_key(worker_id)}.", autoescape=True),
                    )
                    .values(status=PENDING, possible_repeat=True)
                )
                reaped.workers.append(worker_id)
                reaped.leases += int(getattr(leases, "rowcount", 0) or 0)
                reaped.alerts += int(getattr(alerts, "rowcount", 0) or 0)
        return reaped

    def forget(self, now: datetime, after: timedelta = FORGET_AFTER) -> int:
        with self.store.session() as s:
            result = s.execute(
                delete(WorkerRow).where(
                    WorkerRow.gone_at.is_not(None), WorkerRow.gone_at < now - after
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def all(self) -> list[WorkerInfo]:
        """Every worker listed, in the order they started."""
        with self.store.session() as s:
            rows = s.scalars(select(WorkerRow).order_by(WorkerRow.started_at, WorkerRow.id))
            return [
                WorkerInfo(
                    r.id,
                    r.host,
                    r.pid,
                    r.version,
                    r.started_at,
                    r.heartbeat_at,
                    r.gone_at,
                    bool(r.stopped),
                )
                for r in rows
            ]
