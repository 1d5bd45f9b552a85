"""What the inbox reads and does beside the mentions: a mention's alerts, recent alerts,
the latest health notices of each source, and "send again" for an undeliverable alert.

Plain functions over a Store (its sessions), so that the Store's classes stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from monitor.errors import MonitorError
from monitor.store.queries import Store
from monitor.store.tables import DEAD, PENDING, AlertRow, ChannelStateRow


class AlertNotFound(MonitorError):
    """No such alert, or it is not one that can be sent again."""


@dataclass(frozen=True)
class Notice:
    """A health notice about a source (failing, behind, silent, budget), as it was sent."""

    source: str
    title: str
    text: str
    at: datetime
    kind: str


def mention_alerts(store: Store, mention_id: int) -> list[AlertRow]:
    """Every alert queued for a mention (first alert, escalations, reminders), oldest first."""
    with store.session() as s:
        return list(
            s.scalars(
                select(AlertRow).where(AlertRow.mention_id == mention_id).order_by(AlertRow.id)
            )
        )


def recent_alerts(
    store: Store, *, status: str | None = None, channel: str | None = None, limit: int = 100
) -> list[AlertRow]:
    """The newest outbox rows, newest first (by the primary key: no scan beyond ``limit``)."""
    query = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)
    if status is not None:
        query = query.where(AlertRow.status == status)
    if channel is not None:
        query = query.where(AlertRow.channel == channel)
    with store.session() as s:
        return list(s.scalars(query))


def source_notices(store: Store, limit: int = 200) -> dict[str, list[Notice]]:
    """The latest health notices per source, newest first, once each (not per channel)."""
    with store.session() as s:
        rows = s.execute(
            select(AlertRow.dedupe_key, AlertRow.payload, AlertRow.created_at)
            .where(AlertRow.kind == "health")
            .order_by(AlertRow.id.desc())
            .limit(limit)
        )
        seen: set[str] = set()
        found: dict[str, list[Notice]] = {}
        for key, payload, at in rows:
            data: dict[str, Any] = payload or {}
            if key in seen or not data.get("source"):
                continue
            seen.add(key)
            found.setdefault(str(data["source"]), []).append(
                Notice(
                    source=str(data["source"]),
                    title=str(data.get("title") or ""),
                    text=str(data.get("text") or ""),
                    at=at,
                    kind=str(key).split(":", 1)[0],
                )
            )
        return found


def retry_alert(store: Store, alert_id: int, now: datetime) -> AlertRow:
    """Send an undeliverable (dead) alert again: it goes back to the outbox as if new, and
    its channel, if paused, is resumed (the owner says it is fixed; a channel that still
    fails pauses again). Returns the row as it is now."""
    with store.session() as s:
        row = s.get(AlertRow, alert_id)
        if row is None:
            raise AlertNotFound(f"no alert #{alert_id} in the database")
        if row.status != DEAD:
            raise AlertNotFound(
                f"alert #{alert_id} is {row.status}, not undeliverable: nothing to send again"
            )
        s.execute(
            update(AlertRow)
            .where(AlertRow.id == alert_id, AlertRow.status == DEAD)
            .values(
                status=PENDING,
                attempts=0,
                # Counted from now, so that ``give_up_after`` gives the new try its full time.
                created_at=now,
                next_attempt_at=now,
                claimed_at=None,
                claimed_by=None,
                possible_repeat=False,
            )
        )
        state = s.get(ChannelStateRow, row.channel)
        if state is not None and state.paused_at is not None:
            state.paused_at = state.paused_reason = None
        s.flush()
        s.refresh(row)
        return row
