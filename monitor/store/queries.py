"""The store: ``Store`` is StoreBase (mentions, outbox, cursors, source state and
health) plus the queries of spread tracking, follow-up and spikes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, func, insert, select, update

from monitor.errors import StatusError
from monitor.models import REMINDER
from monitor.store.base import _chunks
from monitor.store.records import Reading, Snapshot, Timeline, Tracked
from monitor.store.reviews import ReviewStore
from monitor.store.tables import (
    IGNORED,
    NEW,
    SENT,
    STATUSES,
    AlertRow,
    Base,
    MentionRow,
    ReplyRow,
    SnapshotRow,
    StatusChangeRow,
)
from monitor.store.verdicts import mention_or_error

#: Tracked (a next reading is set), as a range: SQLite reads a range from
#: ix_mentions_next_refresh, but would scan every mention for ``IS NOT NULL``. Bounded on
#: both sides, so that SQLite (which has no statistics) rates it narrower than a one-sided
#: range of posting times (``stop_tracking``'s ``created_at <``, on ix_mentions_created).
TRACKED = MentionRow.next_refresh_at.between(
    datetime(2000, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)
)


class Store(ReviewStore):
    """All reads and writes of the service. Every SQLAlchemy error becomes StorageError."""

    # ------------------------------------------------------------ spread tracking

    def stop_tracking(self, created_before: datetime) -> int:
        """Stop tracking mentions posted before ``created_before`` (older than track_for)."""
        with self.session() as s:
            result = s.execute(
                update(MentionRow)
                .where(TRACKED, MentionRow.created_at < created_before)
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
            # Only the first and the last reading of each are needed (ids rise with time).
            ends: dict[int, tuple[int, int]] = {}
            for chunk in _chunks([r.id for r in rows], 500):
                for mention_id, lo, hi in s.execute(
                    select(
                        SnapshotRow.mention_id, func.min(SnapshotRow.id), func.max(SnapshotRow.id)
                    )
                    .where(SnapshotRow.mention_id.in_(chunk))
                    .group_by(SnapshotRow.mention_id)
                ):
                    ends[int(mention_id)] = (int(lo), int(hi))
            wanted = sorted({i for pair in ends.values() for i in pair})
            snaps: dict[int, Snapshot] = {}
            for chunk in _chunks(wanted, 500):
                for snap in s.scalars(select(SnapshotRow).where(SnapshotRow.id.in_(chunk))):
                    snaps[snap.id] = Snapshot(
                        snap.taken_at, dict(snap.engagement), snap.negative_replies
                    )
        due = []
        for row in rows:
            if row.id in ends:
                lo, hi = ends[row.id]
                first, last = snaps[lo], snaps[hi]
            else:
                first = last = Snapshot(row.first_seen_at, dict(row.engagement), 0)
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
        self,
        mention_id: int,
        status: str,
        note: str | None,
        now: datetime,
        *,
        actor: str | None = None,
    ) -> tuple[str, str]:
        """Change a mention's status and keep the change (and who made it, in words:
        "@maria on Slack", "the inbox"); returns (old, new).

        Moving to the status the mention already has changes nothing and is not
        kept (old == new). The note is the change's own: a change without one
        clears the previous change's note from the mention.
        """
        if status not in STATUSES or status == NEW:
            raise StatusError(f"'{status}' is not a status a mention can be moved to")
        with self.session() as s:
            row = mention_or_error(s, mention_id)
            old = row.status
            if old == status:
                return old, status
            row.status, row.status_at, row.status_note = status, now, note or None
            if row.acked_at is None:
                row.acked_at = now
            if status == IGNORED:
                row.next_refresh_at = None  # the owner does not want to hear of it again
            s.add(
                StatusChangeRow(
                    mention_id=mention_id, at=now, status=status, note=note, actor=actor
                )
            )
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

    def unanswered(
        self, *, seen_before: datetime, seen_after: datetime
    ) -> list[tuple[MentionRow, list[str]]]:
        """Negative mentions still new, first seen in (seen_after, seen_before], with no
        reminder queued yet, each with the channels its alert was queued for (a mention
        no channel wanted needs no reminder, and is left out).

        Two indexed reads however long the history: the window of mentions, then the
        alerts of just those mentions.
        """
        reminded = exists().where(AlertRow.mention_id == MentionRow.id, AlertRow.kind == REMINDER)
        with self.session() as s:
            rows = list(
                s.scalars(
                    select(MentionRow)
                    .where(
                        MentionRow.status == NEW,
                        MentionRow.negative.is_(True),
                        MentionRow.first_seen_at <= seen_before,
                        MentionRow.first_seen_at > seen_after,
                        ~reminded,
                    )
                    .order_by(MentionRow.id)
                )
            )
            channels: dict[int | None, list[str]] = {}
            for chunk in _chunks([r.id for r in rows], 500):
                for mention_id, channel in s.execute(
                    select(AlertRow.mention_id, AlertRow.channel)
                    .where(AlertRow.mention_id.in_(chunk), AlertRow.kind == "mention")
                    .order_by(AlertRow.id)
                ):
                    channels.setdefault(mention_id, []).append(channel)
        return [(row, channels[row.id]) for row in rows if row.id in channels]

    def alert_channels(self, mention_id: int, kind: str = "mention") -> list[str]:
        """The channels a mention's alert of ``kind`` was queued for."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(AlertRow.channel)
                    .where(AlertRow.mention_id == mention_id, AlertRow.kind == kind)
                    .order_by(AlertRow.id)
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
            # min() keeps the column's type, so every time here is already UTC-aware.
            return [Timeline(*row) for row in s.execute(query)]

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

    def last_alert_at(self, kind: str, key_prefix: str, since: datetime) -> datetime | None:
        """When an alert of ``kind`` whose key starts with ``key_prefix`` was last queued,
        if it was at ``since`` or later."""
        with self.session() as s:
            return s.scalar(
                select(func.max(AlertRow.created_at)).where(
                    AlertRow.kind == kind,
                    AlertRow.created_at >= since,
                    AlertRow.dedupe_key.startswith(key_prefix),
                )
            )


class StoreState:
    """The SourceState a connector gets: its own rows of ``source_state``."""

    def __init__(self, store: Store, source: str) -> None:
        self.store = store
        self.source = source

    def get(self, key: str) -> str | None:
        return self.store.state_get(self.source, key)

    def set(self, key: str, value: str) -> None:
        self.store.state_set(self.source, key, value)
