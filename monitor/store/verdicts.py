"""The owner's verdicts in the store: one write per verdict, and what the scorer learns from.

A verdict is kept three ways, in one transaction: on the mention (``verdict``,
``verdict_at``, and ``negative``, ``label``, ``reasons`` following it), as one record in
``status_changes`` (the mention's one timeline of the owner's answers), and as a bump of
the ``feedback``/``verdicts`` marker in ``source_state``: every process that scores reads
that one row per poll and learns again only when it moved (a verdict from the web page,
the CLI or another machine).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor.errors import StatusError
from monitor.store.base import StoreBase
from monitor.store.tables import (
    NEGATIVE,
    PENDING,
    VERDICTS,
    AlertRow,
    MentionRow,
    SourceStateRow,
    StatusChangeRow,
)

#: Where the "verdicts changed" marker lives in ``source_state``.
MARKER = ("feedback", "verdicts")
#: Verdicts read as a range, so SQLite reads them from ix_mentions_verdict_at.
GIVEN = MentionRow.verdict_at >= datetime(2000, 1, 1, tzinfo=UTC)
#: Reasons that said what the owner's verdict was, replaced by the next one.
OWNER_PREFIX = "you marked this "


@dataclass(frozen=True)
class VerdictChange:
    """What a verdict did to a mention."""

    mention_id: int
    brand: str
    previous: str | None
    verdict: str
    #: The mention's negative flag before and after.
    was_negative: bool
    negative: bool
    reasons: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.previous != self.verdict


@dataclass(frozen=True)
class VerdictText:
    """One verdict as the scorer learns it: the text, the scorer's figure, the owner's word."""

    mention_id: int
    brand: str
    text: str
    compound: float
    negative: bool


def mention_or_error(s: Session, mention_id: int) -> MentionRow:
    """The mention an owner's answer is about, or the error every door shows."""
    row = s.get(MentionRow, mention_id)
    if row is None:
        raise StatusError(
            f"no mention #{mention_id} in the database (list them with `mention-monitor mentions`)"
        )
    return row


class VerdictStore(StoreBase):
    """StoreBase plus the owner's verdicts (Store inherits this)."""

    def set_verdict(
        self,
        mention_id: int,
        verdict: str,
        now: datetime,
        *,
        reason: str,
        note: str | None,
        actor: str | None = None,
    ) -> VerdictChange:
        """Keep the owner's verdict on a mention; see the module docstring.

        ``reason`` leads the mention's reasons (earlier verdicts' lines are dropped).
        The verdict the mention already has changes nothing and is not kept again. A
        mention found not negative is not a complaint: its spread tracking stops and
        its alerts, reminders and escalations not sent yet are dropped.
        """
        if verdict not in VERDICTS:
            raise StatusError(f"'{verdict}' is not a verdict (use negative or not_negative)")
        with self.session() as s:
            row = mention_or_error(s, mention_id)
            previous, was_negative = row.verdict, row.negative
            if previous != verdict:
                negative = verdict == NEGATIVE
                kept = [r for r in row.reasons if not r.startswith(OWNER_PREFIX)]
                row.verdict, row.verdict_at = verdict, now
                row.negative, row.reasons = negative, [reason, *kept]
                if negative:
                    row.label = "negative"
                    if row.severity == "info":
                        row.severity = "negative"
                else:
                    row.label = "positive" if row.compound >= 0.05 else "neutral"
                    row.severity = "info"
                    row.next_refresh_at = None
                    s.execute(
                        delete(AlertRow).where(
                            AlertRow.mention_id == mention_id, AlertRow.status == PENDING
                        )
                    )
                s.add(
                    StatusChangeRow(
                        mention_id=mention_id, at=now, status=verdict, note=note, actor=actor
                    )
                )
                marker = s.get(SourceStateRow, MARKER)
                if marker is None:
                    source, key = MARKER
                    s.add(SourceStateRow(source=source, key=key, value="1", updated_at=now))
                else:
                    marker.value, marker.updated_at = str(int(marker.value or 0) + 1), now
            return VerdictChange(
                mention_id,
                row.brand,
                previous,
                verdict,
                was_negative,
                row.negative,
                tuple(row.reasons),
            )

    def verdict_marker(self) -> str | None:
        """Moves whenever a verdict is given, by any process (None: never one)."""
        return self.state_get(*MARKER)

    def verdict_texts(self) -> list[VerdictText]:
        """Every verdict given, oldest mention first, for the scorer to learn from."""
        query = select(
            MentionRow.id,
            MentionRow.brand,
            MentionRow.title,
            MentionRow.text,
            MentionRow.compound,
            MentionRow.verdict,
        ).where(GIVEN)
        with self.session() as s:
            rows = sorted(s.execute(query))  # by id here: ORDER BY id made SQLite scan them all
            return [
                VerdictText(
                    id_, brand, f"{title}\n{text}" if title else text, compound, v == NEGATIVE
                )
                for id_, brand, title, text, compound, v in rows
            ]
