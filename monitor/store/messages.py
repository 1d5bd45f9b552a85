"""The messages channels posted (monitor/store/tables.py ``MessageRow``): the thread a
mention's later alerts go under, and the messages a button press updates.

Plain functions over a Store, like monitor/store/answers.py. The rows are written by
``Store.mark_sent(..., posted=)`` in the transaction that marks the alerts sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from monitor.models import Alert
from monitor.store.queries import Store
from monitor.store.records import _alert
from monitor.store.tables import AlertRow, MentionRow, MessageRow


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """One message on one channel, and the alert it carried."""

    channel: str
    ref: str
    alert_id: int
    mention_id: int | None


def thread_roots(store: Store, channel: str, mention_ids: Iterable[int]) -> dict[int, str]:
    """The first message ``channel`` posted about each mention (mention id -> ref)."""
    ids = sorted(set(mention_ids))
    if not ids:
        return {}
    first = (
        select(MessageRow.mention_id, func.min(MessageRow.id).label("first"))
        .where(MessageRow.channel == channel, MessageRow.mention_id.in_(ids))
        .group_by(MessageRow.mention_id)
        .subquery()
    )
    query = select(MessageRow.mention_id, MessageRow.ref).join(
        first, MessageRow.id == first.c.first
    )
    with store.session() as s:
        return {int(m): str(ref) for m, ref in s.execute(query) if m is not None}


def messages_about(
    store: Store, mention_id: int, channel: str | None = None
) -> list[PostedMessage]:
    """Every message posted about a mention (on ``channel``, or on every channel), oldest
    first: a button press updates them."""
    query = select(MessageRow).where(MessageRow.mention_id == mention_id).order_by(MessageRow.id)
    if channel is not None:
        query = query.where(MessageRow.channel == channel)
    with store.session() as s:
        return [PostedMessage(r.channel, r.ref, r.alert_id, r.mention_id) for r in s.scalars(query)]


def alerts_of_message(store: Store, channel: str, ref: str) -> list[Alert]:
    """The alerts one message carried, with their mentions as they are now (their status
    after a press), in one query: what a channel re-renders when it updates the message."""
    query = (
        select(AlertRow, MentionRow)
        .join(MessageRow, MessageRow.alert_id == AlertRow.id)
        .join(MentionRow, AlertRow.mention_id == MentionRow.id, isouter=True)
        .where(MessageRow.channel == channel, MessageRow.ref == ref)
        .order_by(MessageRow.id)
    )
    with store.session() as s:
        return [_alert(row, mention) for row, mention in s.execute(query)]
