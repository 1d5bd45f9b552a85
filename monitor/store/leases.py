"""Leases: which worker does a job now, and when it last started it.

Several ``run`` processes on one database (PostgreSQL) share the work through this table;
no coordinator of our own. A lease is a row named after a job (``poll:hackernews``,
``watch``). A worker takes it with one conditional UPDATE that succeeds only when

- nobody holds it, its holder's lease has expired (a worker killed with SIGKILL renews
  nothing), or the holder is the worker asking; and
- the job last started at least ``every`` ago (``acquired_at`` is kept when the lease is
  given back: it is the last start), so a source is never polled more often than its
  ``every`` whichever worker polls it, and a job runs once per due time.

PostgreSQL runs concurrent UPDATEs of one row one after the other and checks the
condition again on the row the first one left, so exactly one worker gets it; SQLite
writes one transaction at a time. The first claim of a name INSERTs the row; a worker
losing that race gets the unique key's error and simply does not hold the lease.

Time is given by the caller (the worker's clock, UTC): workers on several machines need
their clocks set by NTP, as any server's are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from monitor.errors import StorageError
from monitor.store.base import StoreBase
from monitor.store.tables import Base, UTCDateTime

#: How long a lease lasts unless its holder renews it (the worker's heartbeat does, every
#: HEARTBEAT_EVERY in monitor/workers.py): the longest a dead worker's job waits.
LEASE_TTL = timedelta(seconds=30)


class LeaseRow(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    #: When the holder (or the last holder) took it: the job's last start.
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Lease:
    """A lease as it stands: ``held`` is True when the one asking got it."""

    name: str
    held: bool
    holder: str | None
    acquired_at: datetime | None
    expires_at: datetime | None

    def next_try(self, every: timedelta, now: datetime) -> datetime:
        """When this job may be claimed next: its last start plus ``every``, and not before
        a live lease of another worker expires (it renews it while it works)."""
        due = self.acquired_at + every if self.acquired_at is not None else now
        if not self.held and self.holder is not None and self.expires_at is not None:
            due = max(due, self.expires_at)
        return max(due, now)


class Leases:
    """The leases of one database. Every method is one short transaction."""

    def __init__(self, store: StoreBase, ttl: timedelta = LEASE_TTL) -> None:
        self.store = store
        self.ttl = ttl

    def claim(self, name: str, holder: str, now: datetime, every: timedelta) -> Lease:
        """Take ``name`` for ``holder`` if it is free and did not start within ``every``."""
        free = or_(LeaseRow.holder.is_(None), LeaseRow.expires_at < now, LeaseRow.holder == holder)
        rested = or_(LeaseRow.acquired_at.is_(None), LeaseRow.acquired_at <= now - every)
        with self.store.session() as s:
            result = s.execute(
                update(LeaseRow)
                .where(LeaseRow.name == name, and_(free, rested))
                .values(holder=holder, acquired_at=now, expires_at=now + self.ttl)
            )
            if int(getattr(result, "rowcount", 0) or 0) == 1:
                return Lease(name, True, holder, now, now + self.ttl)
            row = s.get(LeaseRow, name)
            if row is not None:
                return Lease(name, False, row.holder, row.acquired_at, row.expires_at)
        try:
            with self.store.session() as s:
                s.add(
                    LeaseRow(name=name, holder=holder, acquired_at=now, expires_at=now + self.ttl)
                )
        except StorageError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            return self.get(name) or Lease(name, False, None, None, None)  # another came first
        return Lease(name, True, holder, now, now + self.ttl)

    def get(self, name: str) -> Lease | None:
        with self.store.session() as s:
            row = s.get(LeaseRow, name)
            if row is None:
                return None
            return Lease(name, False, row.holder, row.acquired_at, row.expires_at)

    def release(self, name: str, holder: str) -> None:
        """Give the lease back (the job is done); its start stays as ``acquired_at``."""
        with self.store.session() as s:
            s.execute(
                update(LeaseRow)
                .where(LeaseRow.name == name, LeaseRow.holder == holder)
                .values(holder=None, expires_at=None)
            )

    def renew(self, holder: str, now: datetime) -> int:
        """Extend every lease ``holder`` still holds to ``now + ttl``; returns how many."""
        with self.store.session() as s:
            result = s.execute(
                update(LeaseRow).where(LeaseRow.holder == holder).values(expires_at=now + self.ttl)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def release_all(self, holders: Sequence[str]) -> int:
        """Give back every lease of these workers (stopped, or found dead)."""
        if not holders:
            return 0
        with self.store.session() as s:
            result = s.execute(
                update(LeaseRow)
                .where(LeaseRow.holder.in_(list(holders)))
                .values(holder=None, expires_at=None)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def held(self, now: datetime) -> list[Lease]:
        """The leases held now (not expired), oldest first."""
        with self.store.session() as s:
            rows = s.scalars(
                select(LeaseRow)
                .where(LeaseRow.holder.is_not(None), LeaseRow.expires_at >= now)
                .order_by(LeaseRow.acquired_at, LeaseRow.name)
            )
            return [Lease(r.name, False, r.holder, r.acquired_at, r.expires_at) for r in rows]
