"""Reviews in the store (issue 14; the rules are in monitor/reviews.py): a review seen
again with new stars or words is revised in place, with its old rating and words kept
in the mention's history; the business's own reply marks it answered; a review the
source says is gone is marked deleted, never removed.

History entries use ``status_changes`` (the mention's one timeline) with words no
status uses: ``edited`` and ``improved`` (actor "the reviewer", the note says what
changed: "changed from 4 to 1 stars"), ``deleted``; the business's reply is a real
status change to ``resolved``, with ``acked_at`` the reply's time so that the response
times in ``stats`` count it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from monitor.models import Mention, Score, Severity
from monitor.store.base import _chunks
from monitor.store.tables import ACKNOWLEDGED, IGNORED, NEW, RESOLVED, MentionRow, StatusChangeRow
from monitor.store.verdicts import OWNER_PREFIX, VerdictStore

#: History words of a review (in ``status_changes.status``; no status uses them).
EDITED, IMPROVED, DELETED = "edited", "improved", "deleted"
#: Who changes a review, in the history's words.
REVIEWER = "the reviewer"


@dataclass(frozen=True, slots=True)
class StoredReview:
    """What is kept of a review, to compare with the source's copy."""

    id: int
    brand: str
    rating: float | None
    title: str | None
    text: str
    edited_at: datetime | None
    owner_replied_at: datetime | None
    deleted_at: datetime | None
    negative: bool
    status: str


@dataclass(frozen=True, slots=True)
class ChangeAlert:
    """The alert a review that changed for the worse queues: one per channel and edit."""

    key: str
    details: tuple[str, ...]
    channels: tuple[str, ...]


class ReviewStore(VerdictStore):
    """VerdictStore plus reviews (Store inherits this)."""

    def stored_reviews(self, source: str, external_ids: Sequence[str]) -> dict[str, StoredReview]:
        """The stored copies of these reviews of ``source``, by external id."""
        found: dict[str, StoredReview] = {}
        with self.session() as s:
            for chunk in _chunks(list(external_ids), 500):
                rows = s.scalars(
                    select(MentionRow).where(
                        MentionRow.source == source, MentionRow.external_id.in_(chunk)
                    )
                )
                for r in rows:
                    found[r.external_id] = StoredReview(
                        r.id,
                        r.brand,
                        r.rating,
                        r.title,
                        r.text,
                        r.edited_at,
                        r.owner_replied_at,
                        r.deleted_at,
                        r.negative,
                        r.status,
                    )
        return found

    def revise(
        self,
        mention_id: int,
        mention: Mention,
        score: Score,
        severity: Severity,
        now: datetime,
        *,
        word: str,
        note: str,
        alert: ChangeAlert | None = None,
        kind: str = "changed",
    ) -> None:
        """Keep a review's new stars and words and their new score, the change in its
        history (``word``: ``edited`` or ``improved``, with ``note``), and queue ``alert``,
        in one transaction. An owner's verdict on it stands: ``negative`` keeps following
        it, and its reason stays first.

        A review that alerts again after it was acknowledged or answered is reopened
        (``new`` again, "reopened: ..." in its history): the reviewer is unhappy again and
        nobody has answered that yet. One the owner ignored stays ignored."""
        with self.session() as s:
            row = s.get(MentionRow, mention_id)
            if row is None:
                return
            row.rating, row.title, row.text = mention.rating, mention.title, mention.text
            row.edited_at = mention.edited_at or row.edited_at
            row.engagement, row.raw = mention.engagement, mention.raw
            row.compound, row.severity = score.compound, severity
            owner = [r for r in row.reasons if r.startswith(OWNER_PREFIX)]
            row.reasons = [*owner, *score.reasons]
            if row.verdict is None:
                row.negative, row.label = score.negative, score.label
            # At the author's edit where the source says when; else when it was seen.
            at = mention.edited_at or now
            s.add(
                StatusChangeRow(
                    mention_id=mention_id, at=at, status=word, note=note, actor=REVIEWER
                )
            )
            if alert is not None and row.status in (ACKNOWLEDGED, RESOLVED):
                # Kept as the edit's time, so the reply before it does not resolve it again.
                row.edited_at = at
                was = "answered" if row.status == RESOLVED else row.status
                row.status, row.status_at = NEW, at
                row.status_note = f"reopened: {note} after it was {was}"
                s.add(
                    StatusChangeRow(
                        mention_id=mention_id,
                        at=at,
                        status=NEW,
                        note=row.status_note,
                        actor=REVIEWER,
                    )
                )
            if alert is not None and alert.channels:
                payload: dict[str, Any] = {"details": list(alert.details)}
                self._queue(s, kind, alert.key, payload, severity, alert.channels, now, mention_id)

    def note_edit_time(self, mention_id: int, edited_at: datetime) -> None:
        """A review touched without a change to its stars or words: only the time is kept."""
        with self.session() as s:
            row = s.get(MentionRow, mention_id)
            if row is not None:
                row.edited_at = edited_at

    def mark_answered(self, mention_id: int, replied_at: datetime, actor: str, note: str) -> bool:
        """The business answered the review publicly at ``replied_at``: resolved (unless the
        owner resolved or ignored it already), answered at that time. Returns whether the
        status changed."""
        with self.session() as s:
            row = s.get(MentionRow, mention_id)
            if row is None:
                return False
            row.owner_replied_at = replied_at
            if row.status in (RESOLVED, IGNORED):
                return False
            row.status, row.status_at, row.status_note = RESOLVED, replied_at, note
            if row.acked_at is None or replied_at < row.acked_at:
                row.acked_at = replied_at
            s.add(
                StatusChangeRow(
                    mention_id=mention_id, at=replied_at, status=RESOLVED, note=note, actor=actor
                )
            )
            return True

    def mark_deleted(self, source: str, external_ids: Sequence[str], now: datetime) -> list[int]:
        """Reviews the source says were deleted: marked (``deleted_at``, a ``deleted`` line
        in the history), kept with their words; the ids newly marked."""
        marked: list[int] = []
        with self.session() as s:
            for chunk in _chunks(list(external_ids), 500):
                rows = s.scalars(
                    select(MentionRow).where(
                        MentionRow.source == source,
                        MentionRow.external_id.in_(chunk),
                        MentionRow.deleted_at.is_(None),
                    )
                )
                for row in rows:
                    row.deleted_at = now
                    row.next_refresh_at = None
                    marked.append(row.id)
                    s.add(
                        StatusChangeRow(
                            mention_id=row.id,
                            at=now,
                            status=DELETED,
                            note="deleted where it was posted; kept here as it was",
                            actor=REVIEWER,
                        )
                    )
        return marked
