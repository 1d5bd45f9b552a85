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
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, create_engine, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import StorageError
from monitor.models import Alert, Posted, utcnow
from monitor.redact import redact, redact_data
from monitor.store import jsontext
from monitor.store.bulk import bulk_insert
from monitor.store.checkpoint import Checkpointer
from monitor.store.opening import (
    engine_url,
    explain,
    inspect_sqlite_file,
    migration_lock,
    prepare_upgrade,
    sqlite_path,
)
from monitor.store.records import ChannelWait, DueAlert, NewMention, _alert, _episode
from monitor.store.tables import (
    DEAD,
    NEW,
    PENDING,
    SENDING,
    SENT,
    AlertRow,
    Base,
    ChannelStateRow,
    CursorRow,
    MentionRow,
    MessageRow,
    SourceHealthRow,
    SourceStateRow,
)

log = logging.getLogger(__name__)


def _fitted(name: str, value: str) -> str:
    """A stranger's words cut to their column's length (``mentions``' String(n)): PostgreSQL
    refuses a longer value, and the whole poll with it, every time it is read again (SQLite
    kept it whole). An author's name of more than 300 characters is no one's name."""
    length = _LENGTHS.get(name)
    if length is None:
        column = MentionRow.__table__.columns[name]
        length = _LENGTHS[name] = getattr(column.type, "length", None) or 0
    return value[: length - 1] + "…" if length and len(value) > length else value


#: ``mentions``' column lengths, looked up once each.
_LENGTHS: dict[str, int] = {}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` as IN lists of at most ``size``, each padded to a power of two by repeating
    its last item (harmless in IN). An IN list of a new length is a new statement, which
    SQLite prepares and keeps in every pooled connection's statement cache: with lengths
    as they come, the service's memory kept growing as new lengths turned up."""
    for start in range(0, len(items), size):
        chunk = list(items[start : start + size])
        width = 1 << (len(chunk) - 1).bit_length()
        yield chunk + chunk[-1:] * (width - len(chunk))


#: SQLite's page cache per connection, in KiB (its default is 2,000). Each pooled
#: connection fills its own cache as the database grows, so the default let a long-running
#: service grow by up to 2 MB per connection over its first days; the hot pages of a
#: small business's database (recent mentions, the outbox, indexes) fit in far less.
SQLITE_CACHE_KIB = 512
#: The page cache of a connection while it stores a poll's mentions: their rows and the
#: entries of a dozen indexes touch more pages than SQLITE_CACHE_KIB holds, and SQLite then
#: wrote pages to the log before the commit, and again when changed after (a 500-mention
#: poll wrote its log a third larger, and read as many pages again). Back to the smaller
#: cache when the connection goes back to the pool, so the memory is only lent.
SQLITE_WRITE_CACHE_KIB = 4096
#: Prepared statements each connection keeps (the sqlite3 module's default is 128).
SQLITE_STATEMENTS = 48
#: Connections kept open for SQLite: the scheduler's workers, the dispatcher and the web
#: server's requests share them; more would only multiply the caches above.
SQLITE_POOL = 4
SQLITE_OVERFLOW = 4


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _narrow_cache(dbapi_conn: Any, record: Any) -> None:
    """A connection back in the pool after storing a poll: its usual cache again."""
    if record is not None and record.info.pop(_WIDE, False) and dbapi_conn is not None:
        dbapi_conn.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


#: Marks a pooled SQLite connection whose cache ``_widen_cache`` widened.
_WIDE = "monitor.wide_cache"


def _widen_cache(s: Session) -> None:
    """The cache of this SQLite transaction's connection, for storing a poll (see
    SQLITE_WRITE_CACHE_KIB); narrowed again when the connection is back in the pool."""
    conn = s.connection()
    if conn.dialect.name == "sqlite" and not conn.info.get(_WIDE):
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_WRITE_CACHE_KIB}")
        conn.info[_WIDE] = True


def _no_autocheckpoint(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")
    # The log restarted after a checkpoint is cut back to nothing, so that its size is
    # what has been written since: the checkpoint thread goes by it (checkpoint.py).
    dbapi_conn.execute("PRAGMA journal_size_limit=0")


class StoreBase:
    """All reads and writes of the service. Every SQLAlchemy error becomes StorageError."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        """Open the database at ``url``; with ``migrate``, create or upgrade its schema.

        An SQLite file is looked at first (see monitor/store/opening.py): an empty,
        foreign, damaged or read-only one is refused with one line saying what to do.
        ``migrate=False`` (a first look, as ``check`` takes) never creates the file.
        """
        self.url = url
        self.path = sqlite_path(url)
        self._checkpointer: Checkpointer | None = None
        #: The SQLite file did not exist: a new install (a server database: False).
        self.is_new = False
        if self.path is not None:
            self.is_new = inspect_sqlite_file(self.path, write=migrate)
        try:
            if self.path is not None:
                self.engine: Engine = create_engine(
                    url,
                    pool_size=SQLITE_POOL,
                    max_overflow=SQLITE_OVERFLOW,
                    connect_args={"cached_statements": SQLITE_STATEMENTS},
                    json_serializer=jsontext.dumps,
                )
            else:
                # A server may restart under a long-running service: a pooled connection
                # is checked before it is handed out, instead of failing the next poll.
                self.engine = create_engine(
                    engine_url(url),
                    pool_pre_ping=True,
                    json_serializer=jsontext.dumps,
                )
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
                event.listen(self.engine, "checkin", _narrow_cache)
            if self.path is not None:
                # Checkpoints run on a thread of their own, not in commits (checkpoint.py).
                event.listen(self.engine, "connect", _no_autocheckpoint)
                self._checkpointer = Checkpointer(self.path)
                # A store dropped without close() stops its thread too.
                weakref.finalize(self, self._checkpointer.stop, False)
            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
            if migrate:
                self.migrate()
        except (SQLAlchemyError, OSError, ImportError) as exc:  # ImportError: no driver
            raise explain(exc, url, self.safe_url) from exc

    @property
    def safe_url(self) -> str:
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except SQLAlchemyError:
            return "(unparsable URL)"

    def migrate(self) -> None:
        from monitor.migrations import upgrade

        try:
            with migration_lock(self.engine):  # PostgreSQL: one process migrates, others wait
                if not self.is_new:  # an older schema: backed up first (store/backup.py)
                    prepare_upgrade(self.path, self.engine, self.safe_url)
                upgrade(self.engine)
        except (SQLAlchemyError, OSError) as exc:
            raise explain(exc, self.url, self.safe_url) from exc
        self.is_new = False

    def revision(self) -> str | None:
        """The schema's migration revision; None for a database not created yet.

        A new SQLite file is not created by asking.
        """
        if self.is_new:
            return None
        from monitor.migrations import current

        try:
            return current(self.engine)
        except (SQLAlchemyError, OSError) as exc:
            raise explain(exc, self.url, self.safe_url) from exc

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any error."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise explain(exc, self.url, self.safe_url) from exc
        finally:
            session.close()
            if self._checkpointer is not None:
                self._checkpointer.nudge()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read on a pooled connection, without an ORM session: for the small reads of
        every poll (a session costs more than they do). Rolled back at the end."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise explain(exc, self.url, self.safe_url) from exc

    # ------------------------------------------------------------ mentions

    def known_ids(self, source: str, external_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self._reading() as conn:
            for chunk in _chunks(list(external_ids), 500):
                found.update(
                    conn.scalars(
                        select(MentionRow.external_id).where(
                            MentionRow.source == source, MentionRow.external_id.in_(chunk)
                        )
                    )
                )
        return found

    def cursors_of(self, source: str) -> dict[str, str]:
        """Every cursor a source keeps, by brand (or ALL_BRANDS), that has a value."""
        with self.session() as s:
            rows = s.scalars(select(CursorRow).where(CursorRow.source == source))
            return {r.brand: r.value for r in rows if r.value}

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
        now = now or utcnow()
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
                _widen_cache(s)
                # executemany, then one query for the ids: much faster than RETURNING row by row.
                bulk_insert(
                    s,
                    Base.metadata.tables["mentions"],
                    [self._mention_row(i, now) for i in fresh.values()],
                    self.MENTION_COLUMNS,
                )
                ids = self._inserted_ids(s, list(fresh))
                written = [(ids[key], item) for key, item in fresh.items()]
                outbox = [
                    (
                        mention_id,
                        channel,
                        item.kind,
                        f"{item.mention.source}:{item.mention.external_id}",
                        item.severity,
                        PENDING,
                        0,
                        now,
                        now,
                    )
                    for mention_id, item in written
                    for channel in item.channels
                ]
                bulk_insert(s, Base.metadata.tables["alerts"], outbox, self.OUTBOX_COLUMNS)
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
                bulk_insert(s, Base.metadata.tables["snapshots"], snapshots)
            self._set_cursor(s, source, brand, cursor, now)
            return written

    @classmethod
    def _inserted_ids(
        cls, s: Session, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """(source, external_id) -> id of the rows this transaction has just inserted, in
        the order of ``keys``.

        On SQLite, a new row's id is one more than the largest in the table, and no other
        writer can insert inside a write transaction: the rows are then numbered
        ``last_insert_rowid() - n + 1`` to ``last_insert_rowid()`` in the order inserted.
        That is checked on the first and the last row (a table whose largest id is
        SQLite's largest integer numbers new rows at random); when it does not hold, and
        on every other database, the keys are looked up.
        """
        if keys and s.get_bind().dialect.name == "sqlite":
            last = int(s.execute(select(func.last_insert_rowid())).scalar_one())
            first = last - len(keys) + 1
            ends = {
                int(i): (src, external_id)
                for i, src, external_id in s.execute(
                    select(MentionRow.id, MentionRow.source, MentionRow.external_id).where(
                        MentionRow.id.in_([first, last])
                    )
                )
            }
            if ends.get(first) == keys[0] and ends.get(last) == keys[-1]:
                return {key: first + place for place, key in enumerate(keys)}
            log.debug("new mentions not numbered in order; looking their ids up")
        return cls._ids(s, keys)

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

    #: The columns of a new outbox row, in the order ``_ingest`` gives them.
    OUTBOX_COLUMNS = (
        "mention_id", "channel", "kind", "dedupe_key", "severity", "status", "attempts",
        "created_at", "next_attempt_at",
    )  # fmt: skip

    #: The columns ``_mention_row`` gives, in its order.
    MENTION_COLUMNS = (
        "brand", "author", "source", "external_id", "matched_terms", "url",
        "author_followers", "title", "text", "created_at", "first_seen_at", "engagement",
        "compound", "label", "negative", "severity", "reasons", "raw", "status", "level",
        "next_refresh_at", "refresh_step", "negative_replies", "rating", "edited_at",
        "owner_replied_at", "own_page",
    )  # fmt: skip

    @staticmethod
    def _mention_row(item: NewMention, now: datetime) -> tuple[Any, ...]:
        """A new mention's values of ``MENTION_COLUMNS`` (a tuple: a poll stores hundreds)."""
        m, score = item.mention, item.score
        return (
            _fitted("brand", item.brand), _fitted("author", m.author), m.source,
            m.external_id, list(item.terms),
            m.url, m.author_followers, m.title, m.text, m.created_at, now, m.engagement,
            score.compound, score.label, score.negative, item.severity, list(score.reasons),
            m.raw, NEW, 0, item.track_at, 0, 0, m.rating, m.edited_at, m.owner_replied_at,
            m.own_page,
        )  # fmt: skip

    @staticmethod
    def _set_cursor(s: Session, source: str, brand: str, value: str | None, now: datetime) -> None:
        # One statement that inserts or updates (no ORM load of the row first): two
        # workers writing a source's first cursor at once do not fail on its key.
        statement = _dialect_insert(s)(CursorRow).values(
            source=source, brand=brand, value=value, updated_at=now
        )
        s.execute(
            statement.on_conflict_do_update(
                index_elements=["source", "brand"], set_={"value": value, "updated_at": now}
            )
        )

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
                    AlertRow.possible_repeat,
                    AlertRow.claimed_by,
                )
                .where(AlertRow.status == PENDING, AlertRow.next_attempt_at <= now)
                .order_by(AlertRow.id)
                .limit(limit)
            )
            return [
                DueAlert(i, channel, severity, queued, attempts, token if repeat else None)
                for i, channel, severity, queued, attempts, repeat, token in rows
            ]

    #: What this process's claim tokens start with: a worker's key (monitor/store/workers.py),
    #: so the rows a worker killed mid-send had claimed can be released as soon as it is
    #: found dead.
    claim_prefix = ""

    def claim_many(self, alert_ids: Sequence[int], now: datetime) -> list[Alert]:
        """Take several pending rows at once; only those no other dispatcher took first.

        On PostgreSQL the rows are locked with SKIP LOCKED first: a row another worker is
        claiming at this moment is passed over, not waited for (SQLite ignores the clause;
        it writes one transaction at a time)."""
        token = (self.claim_prefix + uuid.uuid4().hex)[:40]
        with self.session() as s:
            for chunk in _chunks(list(alert_ids), 500):
                free = list(
                    s.scalars(
                        select(AlertRow.id)
                        .where(AlertRow.id.in_(chunk), AlertRow.status == PENDING)
                        .with_for_update(skip_locked=True)
                    )
                )
                for ids in _chunks(free, 500):
                    s.execute(
                        update(AlertRow)
                        .where(AlertRow.id.in_(ids), AlertRow.status == PENDING)
                        .values(status=SENDING, claimed_at=now, claimed_by=token)
                    )
            rows = s.execute(
                select(AlertRow, MentionRow)
                .join(MentionRow, AlertRow.mention_id == MentionRow.id, isouter=True)
                .where(AlertRow.claimed_by == token, AlertRow.status == SENDING)
                .order_by(AlertRow.id)
            )
            return [_alert(row, mention) for row, mention in rows]

    def mark_sent(
        self, alert_ids: int | Sequence[int], now: datetime, *, posted: Posted | None = None
    ) -> None:
        """The rows were delivered; with ``posted`` (the message a channel made of them),
        keep it for each row in the same transaction (threads, button presses)."""
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
                if posted is not None:
                    rows = s.execute(
                        select(AlertRow.id, AlertRow.channel, AlertRow.mention_id).where(
                            AlertRow.id.in_(chunk)
                        )
                    )
                    s.add_all(
                        MessageRow(
                            channel=channel,
                            alert_id=alert_id,
                            mention_id=mention_id,
                            ref=posted.ref,
                            posted_at=now,
                        )
                        for alert_id, channel, mention_id in rows
                    )

    def mark_failed(
        self, alert_ids: int | Sequence[int], error: str, *, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt: back to pending for ``retry_at``, or dead when None."""
        ids = [alert_ids] if isinstance(alert_ids, int) else list(alert_ids)
        values: dict[str, Any] = {
            "attempts": AlertRow.attempts + 1,
            "last_error": redact(error)[:2000],
        }
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
                s.add(
                    ChannelStateRow(
                        channel=channel, paused_at=now, paused_reason=redact(reason)[:2000]
                    )
                )
            else:
                row.paused_at, row.paused_reason = now, redact(reason)[:2000]

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
                .values(status=DEAD, last_error=redact(reason)[:2000])
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def release_stale_claims(self, older_than: datetime) -> int:
        """Rows left 'sending' by a process that died mid-send go back to pending.

        This is the one documented window for a repeat: a crash after the
        channel accepted the message but before ``mark_sent`` was written. The
        rows are marked ``possible_repeat`` and keep their claim token, so the
        rows that were one message (a roll-up, a digest) go out again as one.
        """
        with self.session() as s:
            result = s.execute(
                update(AlertRow)
                .where(AlertRow.status == SENDING, AlertRow.claimed_at < older_than)
                .values(status=PENDING, possible_repeat=True)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # ------------------------------------------------------------ channel waits

    def channel_waits(self) -> dict[str, ChannelWait]:
        """Channels that failed last time (or asked to wait), with when to try again."""
        with self.session() as s:
            rows = s.scalars(
                select(ChannelStateRow).where(
                    (ChannelStateRow.wait_until.is_not(None)) | (ChannelStateRow.failures > 0)
                )
            )
            return {
                r.channel: ChannelWait(r.wait_until, r.wait_reason or "", r.failures or 0)
                for r in rows
            }

    def claim_probe(self, channel: str, now: datetime, lease_until: datetime) -> bool:
        """Take the one try at a channel whose wait is over; False if another process took
        it (or the wait is not over). The try holds the channel until ``lease_until``."""
        with self.session() as s:
            result = s.execute(
                update(ChannelStateRow)
                .where(
                    ChannelStateRow.channel == channel,
                    ChannelStateRow.wait_until.is_not(None),
                    ChannelStateRow.wait_until <= now,
                )
                .values(wait_until=lease_until)
            )
            return int(getattr(result, "rowcount", 0) or 0) == 1

    def release_probe(self, channel: str, lease_until: datetime, now: datetime) -> None:
        """Give back a probe that sent nothing (quiet hours held everything): try next round."""
        with self.session() as s:
            s.execute(
                update(ChannelStateRow)
                .where(
                    ChannelStateRow.channel == channel, ChannelStateRow.wait_until == lease_until
                )
                .values(wait_until=now)
            )

    def channel_failed(self, channel: str, until: datetime, reason: str) -> None:
        """No request to the channel before ``until``; one more failure in a row."""
        with self.session() as s:
            row = s.get(ChannelStateRow, channel)
            if row is None:
                row = ChannelStateRow(channel=channel, failures=0)
                s.add(row)
            row.wait_until, row.wait_reason = until, redact(reason)[:2000]
            row.failures = (row.failures or 0) + 1

    def channel_ok(self, channel: str) -> None:
        with self.session() as s:
            row = s.get(ChannelStateRow, channel)
            if row is not None:
                row.wait_until = row.wait_reason = None
                row.failures = 0

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
                        payload=redact_data(payload),
                    )
                )
                added += 1
        return added

    # ------------------------------------------------------------ source state

    def state_get(self, source: str, key: str) -> str | None:
        with self._reading() as conn:
            return conn.scalar(
                select(SourceStateRow.value).where(
                    SourceStateRow.source == source, SourceStateRow.key == key
                )
            )

    def state_prefixed(self, source: str, prefix: str) -> dict[str, str]:
        """A source's state values whose keys start with ``prefix``, by key."""
        with self.session() as s:
            rows = s.scalars(
                select(SourceStateRow).where(
                    SourceStateRow.source == source,
                    SourceStateRow.key.startswith(prefix, autoescape=True),
                )
            )
            return {r.key: r.value for r in rows}

    def state_set(self, source: str, key: str, value: str) -> None:
        # One statement that inserts or updates: two workers setting a key the first time
        # at the same moment (both logging in to Bluesky) must not fail on the key.
        now = utcnow()
        with self.session() as s:
            statement = _dialect_insert(s)(SourceStateRow).values(
                source=source, key=key, value=value, updated_at=now
            )
            s.execute(
                statement.on_conflict_do_update(
                    index_elements=["source", "key"], set_={"value": value, "updated_at": now}
                )
            )

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

    def record_progress(self, source: str, count: int, now: datetime) -> None:
        """A poll of part of a source's brands worked while another part still fails: its
        mentions are counted, and the failures in a row go on (monitor/polljobs.py)."""
        with self.session() as s:
            row = self._health_row(s, source)
            row.last_attempt_at = now
            row.last_count = count
            row.total_count = (row.total_count or 0) + count

    def record_failure(
        self, source: str, error: str, now: datetime, *, retry_after_until: datetime | None = None
    ) -> tuple[int, str]:
        """Returns the failures in a row so far, and a key for this run of failures."""
        with self.session() as s:
            row = self._health_row(s, source)
            row.last_attempt_at = row.last_error_at = now
            row.last_error = redact(error)[:2000]
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
        """The source's health row, created if need be, locked until the transaction ends:
        two workers polling two groups of one source's brands count one after the other."""
        s.execute(
            _dialect_insert(s)(SourceHealthRow)
            .values(source=source, consecutive_failures=0, last_count=0, total_count=0)
            .on_conflict_do_nothing(index_elements=["source"])
        )
        row = s.get(SourceHealthRow, source, with_for_update=True, populate_existing=True)
        assert row is not None
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


def _dialect_insert(s: Session) -> Any:
    """INSERT with the database's own ON CONFLICT (SQLite and PostgreSQL both have it)."""
    return postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
