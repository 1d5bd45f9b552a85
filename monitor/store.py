"""The database: mentions, the alert outbox, cursors and source health.

SQLAlchemy 2 typed models on any SQLAlchemy URL; SQLite (the default) runs in
WAL mode with a busy timeout so the service and a manual ``poll`` can share a
file. The schema is created and upgraded by the Alembic migrations in
monitor/migrations at start, so an existing database survives an upgrade.

The one rule that makes the service trustworthy: ``ingest`` writes a batch of
new mentions, their outbox rows and the advanced cursor in one transaction.
A crash at any point either keeps all three or none, so nothing is lost and
nothing is alerted twice. Delivery then claims each outbox row atomically
(pending -> sending) before sending, so two dispatchers never send one row.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from monitor.errors import StorageError
from monitor.models import Alert, Mention, PostRef, Score, Severity

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
NEW, ACKNOWLEDGED, RESOLVED, IGNORED = "new", "acknowledged", "resolved", "ignored"
STATUSES = (NEW, ACKNOWLEDGED, RESOLVED, IGNORED)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (SQLite has none) and hands back aware datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    pass


class MentionRow(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_mentions_source_external_id"),
        Index("ix_mentions_brand_created", "brand", "created_at"),
        Index("ix_mentions_first_seen", "first_seen_at"),
        Index("ix_mentions_next_refresh", "next_refresh_at"),
        Index("ix_mentions_status", "status", "negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(300))
    brand: Mapped[str] = mapped_column(String(200))
    matched_terms: Mapped[list[str]] = mapped_column(JSON)
    url: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(300))
    author_followers: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    engagement: Mapped[dict[str, int]] = mapped_column(JSON)
    compound: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(10))
    negative: Mapped[bool] = mapped_column(Boolean)
    severity: Mapped[str] = mapped_column(String(10))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: new -> acknowledged -> resolved (or ignored); see monitor/followup.py.
    status: Mapped[str] = mapped_column(String(20), default=NEW, server_default=NEW)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_note: Mapped[str | None] = mapped_column(Text)
    #: When the owner first answered (acknowledged, resolved or ignored it).
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Spread tracking: the escalation level reached (0, 1 spreading, 2 viral), the
    #: next engagement reading (None: not tracked), and the step of the schedule.
    level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    negative_replies: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AlertRow(Base):
    """The outbox: one row per alert to deliver to one channel."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("channel", "kind", "dedupe_key", name="uq_alerts_channel_kind_key"),
        Index("ix_alerts_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(400))
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: For notices (kind "health", ...) that are about no mention: what to say.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SnapshotRow(Base):
    """One reading of a tracked mention's engagement."""

    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_mention_taken", "mention_id", "taken_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    engagement: Mapped[dict[str, int]] = mapped_column(JSON)
    negative_replies: Mapped[int] = mapped_column(Integer)


class StatusChangeRow(Base):
    """The history of a mention's status, with the owner's notes."""

    __tablename__ = "status_changes"
    __table_args__ = (Index("ix_status_changes_mention", "mention_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)


class ReplyRow(Base):
    """A reply or quote seen for a tracked mention (counted once), and whether it is negative."""

    __tablename__ = "replies"

    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    external_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    negative: Mapped[bool] = mapped_column(Boolean)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CursorRow(Base):
    __tablename__ = "cursors"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    brand: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SourceStateRow(Base):
    """A source's own notes that outlive the process (X's posts read this month)."""

    __tablename__ = "source_state"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelStateRow(Base):
    """A channel paused because it needs its owner (revoked webhook, wrong password)."""

    __tablename__ = "channel_state"

    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_reason: Mapped[str | None] = mapped_column(Text)


class SourceHealthRow(Base):
    __tablename__ = "source_health"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_count: Mapped[int] = mapped_column(Integer, default=0)
    total_count: Mapped[int] = mapped_column(Integer, default=0)
    retry_after_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True, slots=True)
class DueAlert:
    """An outbox row whose time has come, before it is claimed."""

    id: int
    channel: str
    severity: str
    queued_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class NewMention:
    """A matched, scored mention and where its alerts go, ready to be written."""

    mention: Mention
    brand: str
    terms: tuple[str, ...]
    score: Score
    severity: Severity
    channels: tuple[str, ...]
    kind: str = "mention"
    #: When to first re-read its engagement (a negative mention on a source that can);
    #: None: not tracked.
    track_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    """A negative mention's response times: posted, first alert sent, first answered."""

    id: int
    brand: str
    status: str
    created_at: datetime
    acked_at: datetime | None
    alerted_at: datetime | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: datetime
    engagement: dict[str, int]
    negative_replies: int


@dataclass(frozen=True, slots=True)
class Tracked:
    """A negative mention due for an engagement reading, with its first and last readings."""

    id: int
    source: str
    external_id: str
    brand: str
    created_at: datetime
    author_followers: int | None
    level: int
    step: int
    negative_replies: int
    first: Snapshot
    last: Snapshot


@dataclass(frozen=True, slots=True)
class Reading:
    """The outcome of one reading: a snapshot (unless ``engagement`` is None), the next
    reading (None: stop tracking), and an escalation alert to queue: (kind, channels,
    payload)."""

    mention_id: int
    engagement: dict[str, int] | None
    negative_replies: int | None
    next_at: datetime | None
    step: int
    level: int
    escalation: tuple[str, tuple[str, ...], dict[str, Any]] | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """All reads and writes of the service. Every SQLAlchemy error becomes StorageError."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        try:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (
                None,
                "",
                ":memory:",
            ):
                Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
            if migrate:
                self.migrate()
        except (SQLAlchemyError, OSError) as exc:
            raise StorageError(f"cannot open the database {self.safe_url}: {exc}") from exc

    @property
    def safe_url(self) -> str:
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except SQLAlchemyError:
            return "(unparsable URL)"

    def migrate(self) -> None:
        from monitor.migrations import upgrade

        upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any error."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StorageError(f"database error ({self.safe_url}): {exc}") from exc
        finally:
            session.close()

    # ------------------------------------------------------------ mentions

    def known_ids(self, source: str, external_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self.session() as s:
            for chunk in _chunks(list(external_ids), 500):
                found.update(
                    s.scalars(
                        select(MentionRow.external_id).where(
                            MentionRow.source == source, MentionRow.external_id.in_(chunk)
                        )
                    )
                )
        return found

    def get_cursor(self, source: str, brand: str) -> str | None:
        with self.session() as s:
            row = s.get(CursorRow, (source, brand))
            return row.value if row else None

    def ingest(
        self,
        source: str,
        brand: str,
        items: Sequence[NewMention],
        cursor: str | None,
        *,
        now: datetime | None = None,
    ) -> list[tuple[int, NewMention]]:
        """Write new mentions, their outbox rows and the cursor in one transaction.

        Mentions already stored (by source and external id) are skipped, so a
        batch that races another process is written once. Returns what was
        written, each with its new id.
        """
        now = now or _utcnow()
        try:
            # The pipeline has already left out what it knew; the unique key catches the rest.
            return self._ingest(source, brand, items, cursor, now, check_known=False)
        except StorageError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            log.debug("some of these mentions were stored already (another process?); retrying")
        return self._ingest(source, brand, items, cursor, now, check_known=True)

    def _ingest(
        self,
        source: str,
        brand: str,
        items: Sequence[NewMention],
        cursor: str | None,
        now: datetime,
        *,
        check_known: bool,
    ) -> list[tuple[int, NewMention]]:
        with self.session() as s:
            fresh: dict[tuple[str, str], NewMention] = {}
            for item in items:
                fresh.setdefault((item.mention.source, item.mention.external_id), item)
            if check_known:
                for known in self._ids(s, list(fresh)):
                    fresh.pop(known, None)
            written: list[tuple[int, NewMention]] = []
            if fresh:
                # executemany, then one query for the ids: much faster than RETURNING row by row.
                s.execute(
                    insert(Base.metadata.tables["mentions"]),
                    [self._mention_values(i, now) for i in fresh.values()],
                )
                ids = self._ids(s, list(fresh))
                written = [(ids[key], item) for key, item in fresh.items()]
                outbox = [
                    {
                        "mention_id": mention_id,
                        "channel": channel,
                        "kind": item.kind,
                        "dedupe_key": f"{item.mention.source}:{item.mention.external_id}",
                        "severity": item.severity,
                        "status": PENDING,
                        "attempts": 0,
                        "created_at": now,
                        "next_attempt_at": now,
                    }
                    for mention_id, item in written
                    for channel in item.channels
                ]
                if outbox:
                    s.execute(insert(Base.metadata.tables["alerts"]), outbox)
                snapshots = [
                    {
                        "mention_id": mention_id,
                        "taken_at": now,
                        "engagement": item.mention.engagement,
                        "negative_replies": 0,
                    }
                    for mention_id, item in written
                    if item.track_at is not None
                ]
                if snapshots:
                    s.execute(insert(Base.metadata.tables["snapshots"]), snapshots)
            self._set_cursor(s, source, brand, cursor, now)
            return written

    @staticmethod
    def _ids(s: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """(source, external_id) -> id, for those of ``keys`` that are stored."""
        found: dict[tuple[str, str], int] = {}
        for src in {src for src, _ in keys}:
            ids = [external_id for s_, external_id in keys if s_ == src]
            for chunk in _chunks(ids, 500):
                rows = s.execute(
                    select(MentionRow.id, MentionRow.external_id).where(
                        MentionRow.source == src, MentionRow.external_id.in_(chunk)
                    )
                )
                found.update({(src, external_id): int(i) for i, external_id in rows})
        return found

    @staticmethod
    def _mention_values(item: NewMention, now: datetime) -> dict[str, Any]:
        m = item.mention
        return {
            "source": m.source,
            "external_id": m.external_id,
            "brand": item.brand,
            "matched_terms": list(item.terms),
            "url": m.url,
            "author": m.author,
            "author_followers": m.author_followers,
            "title": m.title,
            "text": m.text,
            "created_at": m.created_at,
            "first_seen_at": now,
            "engagement": m.engagement,
            "compound": item.score.compound,
            "label": item.score.label,
            "negative": item.score.negative,
            "severity": item.severity,
            "reasons": list(item.score.reasons),
            "raw": m.raw,
            "status": NEW,
            "level": 0,
            "next_refresh_at": item.track_at,
            "refresh_step": 0,
            "negative_replies": 0,
        }

    @staticmethod
    def _set_cursor(s: Session, source: str, brand: str, value: str | None, now: datetime) -> None:
        row = s.get(CursorRow, (source, brand))
        if row is None:
            s.add(CursorRow(source=source, brand=brand, value=value, updated_at=now))
        else:
            row.value, row.updated_at = value, now

    def mentions(
        self,
        *,
        brand: str | None = None,
        negative: bool | None = None,
        since: datetime | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[MentionRow]:
        query = select(MentionRow).order_by(MentionRow.created_at.desc(), MentionRow.id.desc())
        if status is not None:
            query = query.where(MentionRow.status == status)
        if brand is not None:
            query = query.where(func.lower(MentionRow.brand) == brand.lower())
        if negative is not None:
            query = query.where(MentionRow.negative == negative)
        if since is not None:
            query = query.where(MentionRow.created_at >= since)
        with self.session() as s:
            return list(s.scalars(query.limit(limit)))

    def mention(self, mention_id: int) -> MentionRow | None:
        with self.session() as s:
            return s.get(MentionRow, mention_id)

    # ------------------------------------------------------------ spread tracking

    def stop_tracking(self, created_before: datetime) -> int:
        """Stop tracking mentions posted before ``created_before`` (older than track_for)."""
        with self.session() as s:
            result = s.execute(
                update(MentionRow)
                .where(
                    MentionRow.next_refresh_at.is_not(None),
                    MentionRow.created_at < created_before,
                )
                .values(next_refresh_at=None)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def tracked_due(self, now: datetime, limit: int = 2000) -> list[Tracked]:
        """Tracked mentions whose next reading is due, most overdue first."""
        with self.session() as s:
            rows = list(
                s.scalars(
                    select(MentionRow)
                    .where(MentionRow.next_refresh_at <= now)
                    .order_by(MentionRow.next_refresh_at, MentionRow.id)
                    .limit(limit)
                )
            )
            snaps: dict[int, list[SnapshotRow]] = {}
            for chunk in _chunks([r.id for r in rows], 500):
                for snap in s.scalars(
                    select(SnapshotRow)
                    .where(SnapshotRow.mention_id.in_(chunk))
                    .order_by(SnapshotRow.taken_at, SnapshotRow.id)
                ):
                    snaps.setdefault(snap.mention_id, []).append(snap)
        due = []
        for row in rows:
            taken = snaps.get(row.id) or []
            first = (
                Snapshot(taken[0].taken_at, dict(taken[0].engagement), taken[0].negative_replies)
                if taken
                else Snapshot(row.first_seen_at, dict(row.engagement), 0)
            )
            last = (
                Snapshot(taken[-1].taken_at, dict(taken[-1].engagement), taken[-1].negative_replies)
                if taken
                else first
            )
            due.append(
                Tracked(
                    id=row.id,
                    source=row.source,
                    external_id=row.external_id,
                    brand=row.brand,
                    created_at=row.created_at,
                    author_followers=row.author_followers,
                    level=row.level,
                    step=row.refresh_step,
                    negative_replies=row.negative_replies,
                    first=first,
                    last=last,
                )
            )
        return due

    def record_readings(self, readings: Sequence[Reading], now: datetime) -> int:
        """Snapshots, next readings, levels and escalation alerts in one transaction.

        Returns the escalation alerts queued. The outbox's unique key keeps each
        level to one alert per channel even if two trackers raced.
        """
        queued = 0
        with self.session() as s:
            snapshots = [
                {
                    "mention_id": r.mention_id,
                    "taken_at": now,
                    "engagement": r.engagement,
                    "negative_replies": r.negative_replies or 0,
                }
                for r in readings
                if r.engagement is not None
            ]
            if snapshots:
                s.execute(insert(Base.metadata.tables["snapshots"]), snapshots)
            for r in readings:
                values: dict[str, Any] = {"next_refresh_at": r.next_at, "refresh_step": r.step}
                if r.engagement is not None:
                    values["engagement"] = r.engagement
                if r.escalation is not None:
                    values["level"] = r.level
                s.execute(update(MentionRow).where(MentionRow.id == r.mention_id).values(**values))
                if r.escalation is not None:
                    kind, channels, payload = r.escalation
                    row = s.get(MentionRow, r.mention_id)
                    if row is None or row.status == IGNORED:
                        continue
                    key = f"{row.source}:{row.external_id}"
                    queued += self._queue(s, kind, key, payload, "high", channels, now, row.id)
        return queued

    def tracked_threads(self, source: str, external_ids: Sequence[str]) -> dict[str, int]:
        """external id -> mention id, for those of ``external_ids`` being tracked now."""
        found: dict[str, int] = {}
        with self.session() as s:
            for chunk in _chunks(list(dict.fromkeys(external_ids)), 500):
                rows = s.execute(
                    select(MentionRow.external_id, MentionRow.id).where(
                        MentionRow.source == source,
                        MentionRow.external_id.in_(chunk),
                        MentionRow.next_refresh_at.is_not(None),
                    )
                )
                found.update({str(e): int(i) for e, i in rows})
        return found

    def add_replies(self, replies: Sequence[tuple[int, str, bool]], now: datetime) -> int:
        """Record (mention id, reply's external id, negative?) once each; returns the new
        negative ones, which are added to their mention's ``negative_replies``."""
        added = 0
        with self.session() as s:
            for mention_id, external_id, negative in dict.fromkeys(replies):
                if s.get(ReplyRow, (mention_id, external_id)) is not None:
                    continue
                s.add(
                    ReplyRow(
                        mention_id=mention_id,
                        external_id=external_id,
                        negative=negative,
                        seen_at=now,
                    )
                )
                if negative:
                    added += 1
                    s.execute(
                        update(MentionRow)
                        .where(MentionRow.id == mention_id)
                        .values(negative_replies=MentionRow.negative_replies + 1)
                    )
        return added

    def snapshots(self, mention_id: int) -> list[SnapshotRow]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(SnapshotRow)
                    .where(SnapshotRow.mention_id == mention_id)
                    .order_by(SnapshotRow.taken_at, SnapshotRow.id)
                )
            )

    # ------------------------------------------------------------ follow-up

    def set_status(
        self, mention_id: int, status: str, note: str | None, now: datetime
    ) -> tuple[str, str]:
        """Change a mention's status and keep the change; returns (old, new).

        LookupError: no such mention; ValueError: not a status, or back to ``new``.
        """
        if status not in STATUSES or status == NEW:
            raise ValueError(f"'{status}' is not a status a mention can be moved to")
        with self.session() as s:
            row = s.get(MentionRow, mention_id)
            if row is None:
                raise LookupError(mention_id)
            old = row.status
            row.status, row.status_at = status, now
            if note:
                row.status_note = note
            if row.acked_at is None:
                row.acked_at = now
            if status == IGNORED:
                row.next_refresh_at = None  # the owner does not want to hear of it again
            s.add(StatusChangeRow(mention_id=mention_id, at=now, status=status, note=note))
            return old, status

    def status_changes(self, mention_id: int) -> list[StatusChangeRow]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(StatusChangeRow)
                    .where(StatusChangeRow.mention_id == mention_id)
                    .order_by(StatusChangeRow.at, StatusChangeRow.id)
                )
            )

    def unanswered(self, *, seen_before: datetime, seen_after: datetime) -> list[MentionRow]:
        """Negative mentions still new, first seen in (seen_after, seen_before], that had
        an alert queued (a mention no channel wanted needs no reminder)."""
        alerted = select(AlertRow.mention_id).where(AlertRow.kind == "mention")
        with self.session() as s:
            return list(
                s.scalars(
                    select(MentionRow)
                    .where(
                        MentionRow.negative.is_(True),
                        MentionRow.status == NEW,
                        MentionRow.first_seen_at <= seen_before,
                        MentionRow.first_seen_at > seen_after,
                        MentionRow.id.in_(alerted),
                    )
                    .order_by(MentionRow.id)
                )
            )

    def negative_timeline(self, since: datetime | None) -> list[Timeline]:
        """Each negative mention (posted since ``since``) with when its first alert went out."""
        first_sent = (
            select(AlertRow.mention_id, func.min(AlertRow.sent_at).label("sent"))
            .where(AlertRow.kind == "mention", AlertRow.status == SENT)
            .group_by(AlertRow.mention_id)
            .subquery()
        )
        query = (
            select(
                MentionRow.id,
                MentionRow.brand,
                MentionRow.status,
                MentionRow.created_at,
                MentionRow.acked_at,
                first_sent.c.sent,
            )
            .join(first_sent, first_sent.c.mention_id == MentionRow.id, isouter=True)
            .where(MentionRow.negative.is_(True))
        )
        if since is not None:
            query = query.where(MentionRow.created_at >= since)
        with self.session() as s:
            return [
                Timeline(
                    i,
                    brand,
                    status,
                    created,
                    acked if acked is None or acked.tzinfo else acked.replace(tzinfo=UTC),
                    sent.replace(tzinfo=UTC) if sent is not None and sent.tzinfo is None else sent,
                )
                for i, brand, status, created, acked, sent in s.execute(query)
            ]

    # ------------------------------------------------------------ spikes

    def negatives_since(self, since: datetime) -> list[tuple[str, datetime]]:
        """(brand, posted at) of every negative mention posted since ``since``."""
        with self.session() as s:
            return [
                (str(b), c)
                for b, c in s.execute(
                    select(MentionRow.brand, MentionRow.created_at).where(
                        MentionRow.negative.is_(True), MentionRow.created_at >= since
                    )
                )
            ]

    def watching_since(self) -> datetime | None:
        """When the first mention was stored: how far back a baseline can look."""
        with self.session() as s:
            return s.scalar(select(func.min(MentionRow.first_seen_at)))

    def top_negatives(self, brand: str, since: datetime, limit: int = 5) -> list[MentionRow]:
        with self.session() as s:
            rows = list(
                s.scalars(
                    select(MentionRow).where(
                        MentionRow.brand == brand,
                        MentionRow.negative.is_(True),
                        MentionRow.created_at >= since,
                    )
                )
            )
        severity = {"high": 2, "negative": 1}
        rows.sort(
            key=lambda r: (
                -severity.get(r.severity, 0),
                -sum(v for k, v in r.engagement.items() if k != "upvote_ratio"),
                r.compound,
            )
        )
        return rows[:limit]

    def last_alert_at(self, kind: str, key_prefix: str) -> datetime | None:
        """When an alert of ``kind`` whose key starts with ``key_prefix`` was last queued."""
        with self.session() as s:
            return s.scalar(
                select(func.max(AlertRow.created_at)).where(
                    AlertRow.kind == kind, AlertRow.dedupe_key.startswith(key_prefix)
                )
            )

    # ------------------------------------------------------------ outbox

    def due_alerts(self, now: datetime, limit: int = 5000) -> list[DueAlert]:
        """Pending outbox rows whose time has come, oldest first."""
        with self.session() as s:
            rows = s.execute(
                select(
                    AlertRow.id,
                    AlertRow.channel,
                    AlertRow.severity,
                    AlertRow.created_at,
                    AlertRow.attempts,
                )
                .where(AlertRow.status == PENDING, AlertRow.next_attempt_at <= now)
                .order_by(AlertRow.id)
                .limit(limit)
            )
            return [DueAlert(*row) for row in rows]

    def claim_many(self, alert_ids: Sequence[int], now: datetime) -> list[Alert]:
        """Take several pending rows at once; only those no other dispatcher took first."""
        token = uuid.uuid4().hex
        with self.session() as s:
            for chunk in _chunks(list(alert_ids), 500):
                s.execute(
                    update(AlertRow)
                    .where(AlertRow.id.in_(chunk), AlertRow.status == PENDING)
                    .values(status=SENDING, claimed_at=now, claimed_by=token)
                )
            rows = s.execute(
                select(AlertRow, MentionRow)
                .join(MentionRow, AlertRow.mention_id == MentionRow.id, isouter=True)
                .where(AlertRow.claimed_by == token, AlertRow.status == SENDING)
                .order_by(AlertRow.id)
            )
            return [_alert(row, mention) for row, mention in rows]

    def mark_sent(self, alert_ids: int | Sequence[int], now: datetime) -> None:
        ids = [alert_ids] if isinstance(alert_ids, int) else list(alert_ids)
        with self.session() as s:
            for chunk in _chunks(ids, 500):
                s.execute(
                    update(AlertRow)
                    .where(AlertRow.id.in_(chunk))
                    .values(
                        status=SENT, sent_at=now, attempts=AlertRow.attempts + 1, last_error=None
                    )
                )

    def mark_failed(
        self, alert_ids: int | Sequence[int], error: str, *, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt: back to pending for ``retry_at``, or dead when None."""
        ids = [alert_ids] if isinstance(alert_ids, int) else list(alert_ids)
        values: dict[str, Any] = {"attempts": AlertRow.attempts + 1, "last_error": error[:2000]}
        if retry_at is None:
            values["status"] = DEAD
        else:
            values.update(status=PENDING, next_attempt_at=retry_at)
        with self.session() as s:
            for chunk in _chunks(ids, 500):
                s.execute(update(AlertRow).where(AlertRow.id.in_(chunk)).values(**values))

    def defer(self, alert_ids: Sequence[int], until: datetime) -> None:
        """Hold pending rows until ``until`` (quiet hours, the next digest) without an attempt."""
        with self.session() as s:
            for chunk in _chunks(list(alert_ids), 500):
                s.execute(
                    update(AlertRow)
                    .where(AlertRow.id.in_(chunk), AlertRow.status == PENDING)
                    .values(next_attempt_at=until)
                )

    def sent_since(self, channel: str, since: datetime) -> int:
        with self.session() as s:
            return int(
                s.scalar(
                    select(func.count()).where(
                        AlertRow.channel == channel,
                        AlertRow.status == SENT,
                        AlertRow.sent_at >= since,
                    )
                )
                or 0
            )

    def pause_channel(self, channel: str, reason: str, now: datetime) -> None:
        with self.session() as s:
            row = s.get(ChannelStateRow, channel)
            if row is None:
                s.add(ChannelStateRow(channel=channel, paused_at=now, paused_reason=reason[:2000]))
            else:
                row.paused_at, row.paused_reason = now, reason[:2000]

    def resume_channel(self, channel: str | None = None) -> list[str]:
        """Un-pause one channel (or all); returns the names that were paused."""
        with self.session() as s:
            query = select(ChannelStateRow).where(ChannelStateRow.paused_at.is_not(None))
            if channel is not None:
                query = query.where(ChannelStateRow.channel == channel)
            rows = list(s.scalars(query))
            for row in rows:
                row.paused_at = row.paused_reason = None
            return [row.channel for row in rows]

    def paused_channels(self) -> dict[str, tuple[datetime, str]]:
        with self.session() as s:
            rows = s.scalars(select(ChannelStateRow).where(ChannelStateRow.paused_at.is_not(None)))
            return {r.channel: (r.paused_at, r.paused_reason or "") for r in rows if r.paused_at}

    def expire(self, channel: str, queued_before: datetime, reason: str) -> int:
        """Give up on a channel's pending rows queued before ``queued_before``: mark them dead."""
        with self.session() as s:
            result = s.execute(
                update(AlertRow)
                .where(
                    AlertRow.channel == channel,
                    AlertRow.status == PENDING,
                    AlertRow.created_at < queued_before,
                )
                .values(status=DEAD, last_error=reason[:2000])
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def release_stale_claims(self, older_than: datetime) -> int:
        """Rows left 'sending' by a process that died mid-send go back to pending.

        This is the one documented window for a repeat: a crash after the
        channel accepted the alert but before ``mark_sent`` was written.
        """
        with self.session() as s:
            result = s.execute(
                update(AlertRow)
                .where(AlertRow.status == SENDING, AlertRow.claimed_at < older_than)
                .values(status=PENDING)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def alert_counts(self) -> dict[tuple[str, str], int]:
        """(channel, status) -> number of outbox rows."""
        with self.session() as s:
            rows = s.execute(
                select(AlertRow.channel, AlertRow.status, func.count()).group_by(
                    AlertRow.channel, AlertRow.status
                )
            )
            return {(channel, status): int(n) for channel, status, n in rows}

    def dead_alerts(self, limit: int = 20) -> list[AlertRow]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(AlertRow)
                    .where(AlertRow.status == DEAD)
                    .order_by(AlertRow.id.desc())
                    .limit(limit)
                )
            )

    def queue_notice(
        self,
        kind: str,
        key: str,
        payload: dict[str, Any],
        severity: str,
        channels: Sequence[str],
        now: datetime,
        *,
        mention_id: int | None = None,
    ) -> int:
        """Queue an alert once per (channel, kind, key); returns the rows added.

        A notice (health, spike) is about no mention: ``payload`` says it all. An
        escalation or reminder names its ``mention_id``; ``payload`` adds details.
        """
        with self.session() as s:
            return self._queue(s, kind, key, payload, severity, channels, now, mention_id)

    @staticmethod
    def _queue(
        s: Session,
        kind: str,
        key: str,
        payload: dict[str, Any],
        severity: str,
        channels: Sequence[str],
        now: datetime,
        mention_id: int | None,
    ) -> int:
        added = 0
        for channel in channels:
            exists = s.scalar(
                select(AlertRow.id).where(
                    AlertRow.channel == channel,
                    AlertRow.kind == kind,
                    AlertRow.dedupe_key == key,
                )
            )
            if exists is None:
                s.add(
                    AlertRow(
                        mention_id=mention_id,
                        channel=channel,
                        kind=kind,
                        dedupe_key=key,
                        severity=severity,
                        status=PENDING,
                        attempts=0,
                        created_at=now,
                        next_attempt_at=now,
                        payload=payload,
                    )
                )
                added += 1
        return added

    # ------------------------------------------------------------ source state

    def state_get(self, source: str, key: str) -> str | None:
        with self.session() as s:
            row = s.get(SourceStateRow, (source, key))
            return row.value if row else None

    def state_set(self, source: str, key: str, value: str) -> None:
        with self.session() as s:
            row = s.get(SourceStateRow, (source, key))
            if row is None:
                s.add(SourceStateRow(source=source, key=key, value=value, updated_at=_utcnow()))
            else:
                row.value, row.updated_at = value, _utcnow()

    # ------------------------------------------------------------ health

    def record_success(self, source: str, count: int, now: datetime) -> tuple[int, str]:
        """Returns the failures in a row that this success ends, and that run's episode key."""
        with self.session() as s:
            row = self._health_row(s, source)
            ended = (row.consecutive_failures or 0, _episode(row.last_success_at))
            row.last_attempt_at = row.last_success_at = now
            row.consecutive_failures = 0
            row.last_count = count
            row.total_count = (row.total_count or 0) + count
            row.retry_after_until = None
            return ended

    def record_failure(
        self, source: str, error: str, now: datetime, *, retry_after_until: datetime | None = None
    ) -> tuple[int, str]:
        """Returns the failures in a row so far, and a key for this run of failures."""
        with self.session() as s:
            row = self._health_row(s, source)
            row.last_attempt_at = row.last_error_at = now
            row.last_error = error[:2000]
            row.consecutive_failures = (row.consecutive_failures or 0) + 1
            row.retry_after_until = retry_after_until
            return row.consecutive_failures, _episode(row.last_success_at)

    def arrivals(self, source: str, limit: int = 50) -> list[datetime]:
        """When the source's newest stored mentions were first seen, newest first."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(MentionRow.first_seen_at)
                    .where(MentionRow.source == source)
                    .order_by(MentionRow.first_seen_at.desc())
                    .limit(limit)
                )
            )

    def health(self) -> dict[str, SourceHealthRow]:
        with self.session() as s:
            return {row.source: row for row in s.scalars(select(SourceHealthRow))}

    @staticmethod
    def _health_row(s: Session, source: str) -> SourceHealthRow:
        row = s.get(SourceHealthRow, source)
        if row is None:
            row = SourceHealthRow(
                source=source, consecutive_failures=0, last_count=0, total_count=0
            )
            s.add(row)
        return row

    def counts_by_brand(self, since: datetime | None = None) -> dict[str, tuple[int, int]]:
        """brand -> (mentions, negative mentions)."""
        query = select(
            MentionRow.brand, func.count(), func.sum(MentionRow.negative.cast(Integer))
        ).group_by(MentionRow.brand)
        if since is not None:
            query = query.where(MentionRow.created_at >= since)
        with self.session() as s:
            return {brand: (int(n), int(neg or 0)) for brand, n, neg in s.execute(query)}


def _alert(row: AlertRow, mention: MentionRow | None) -> Alert:
    if mention is None:
        return _notice(row)
    return Alert(
        id=row.id,
        kind=row.kind,
        channel=row.channel,
        severity=row.severity,  # type: ignore[arg-type]
        brand=mention.brand,
        source=mention.source,
        author=mention.author,
        url=mention.url,
        text=mention.text,
        created_at=mention.created_at,
        title=mention.title,
        compound=mention.compound,
        label=mention.label,  # type: ignore[arg-type]
        reasons=tuple(mention.reasons),
        engagement=dict(mention.engagement),
        mention_id=mention.id,
        matched_terms=tuple(mention.matched_terms),
        attempts=row.attempts,
        queued_at=row.created_at,
        details=tuple(str(d) for d in (row.payload or {}).get("details") or ()),
        status=mention.status,
    )


def _episode(last_success: datetime | None) -> str:
    """Names a run of failures by the success before it, so each run alerts once."""
    return last_success.strftime("%Y%m%dT%H%M%S") if last_success else "never"


def _notice(row: AlertRow) -> Alert:
    """A notice (health alert) rendered through the same Alert shape channels know."""
    p = row.payload or {}
    return Alert(
        id=row.id,
        kind=row.kind,
        channel=row.channel,
        severity=row.severity,  # type: ignore[arg-type]
        brand=str(p.get("brand") or "mention-monitor"),
        source=str(p.get("source") or "mention-monitor"),
        author="mention-monitor",
        url=str(p.get("url") or ""),
        text=str(p.get("text") or ""),
        created_at=row.created_at,
        title=str(p["title"]) if p.get("title") else None,
        compound=0.0,
        label="neutral",
        reasons=tuple(str(r) for r in p.get("reasons") or ()),
        engagement={},
        mention_id=None,
        attempts=row.attempts,
        queued_at=row.created_at,
        details=tuple(str(d) for d in p.get("details") or ()),
        posts=tuple(_post_ref(post) for post in p.get("posts") or () if isinstance(post, dict)),
    )


def _post_ref(p: dict[str, Any]) -> PostRef:
    created = p.get("created_at")
    try:
        when = datetime.fromisoformat(str(created))
    except ValueError:
        when = datetime.fromtimestamp(0, UTC)
    return PostRef(
        mention_id=int(p.get("mention_id") or 0),
        source=str(p.get("source") or ""),
        author=str(p.get("author") or ""),
        text=str(p.get("text") or ""),
        url=str(p.get("url") or ""),
        created_at=when if when.tzinfo else when.replace(tzinfo=UTC),
        label=p["label"] if p.get("label") in ("negative", "neutral", "positive") else "neutral",
        compound=float(p.get("compound") or 0.0),
    )


def post_payload(row: MentionRow) -> dict[str, Any]:
    """A mention as a spike alert's payload lists it (JSON-safe)."""
    return {
        "mention_id": row.id,
        "source": row.source,
        "author": row.author,
        "text": f"{row.title} - {row.text}" if row.title else row.text,
        "url": row.url,
        "created_at": row.created_at.isoformat(),
        "label": row.label,
        "compound": row.compound,
    }


class StoreState:
    """The SourceState a connector gets: its own rows of ``source_state``."""

    def __init__(self, store: Store, source: str) -> None:
        self.store = store
        self.source = source

    def get(self, key: str) -> str | None:
        return self.store.state_get(self.source, key)

    def set(self, key: str, value: str) -> None:
        self.store.state_set(self.source, key, value)


def stale_before(now: datetime, minutes: int = 10) -> datetime:
    return now - timedelta(minutes=minutes)
