"""Listing mentions for the inbox, the API and the exports: filters, two orders, keyset pages.

``list_mentions`` hands out one page at a time with an opaque cursor for the next one. Pages
are keyset pages (no OFFSET): the cursor holds the sort key of the last row shown, so page 20
costs what page 1 costs and a mention arriving meanwhile neither repeats nor hides a row.

Two orders:

- ``NEWEST``: first seen, newest first (ties by id, newest first);
- ``URGENT``: severity (high, then negative, then info), then spread level (viral, spreading,
  none), then the oldest first, so the complaint waiting longest comes first among equals.

The urgent order is walked bucket by bucket, one (severity, level) pair at a time, each an
index range in first-seen order (ix_mentions_urgent, migration 0008): sorting by a ranked
severity in SQL would sort every matching row on every page.

A text search (``MentionFilter.text``) is a case-insensitive substring match, which no index
helps; it looks at the newest ``TEXT_SCAN`` mentions only (``MentionPage.searched_newest``
then says so), so that a search stays fast with a million mentions stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select
from sqlalchemy.orm import Session

from monitor.errors import MonitorError
from monitor.store.queries import Store
from monitor.store.tables import STATUSES, MentionRow

URGENT = "urgent"
NEWEST = "newest"
ORDERS = (URGENT, NEWEST)

#: Severities, most urgent first, and spread levels, highest first (monitor/spread.py).
SEVERITY_RANK = ("high", "negative", "info")
LEVEL_RANK = (2, 1, 0)
#: The urgent order's buckets; the last (None) holds anything else, should any appear.
BUCKETS: tuple[tuple[str, int] | None, ...] = (
    *((s, lvl) for s in SEVERITY_RANK for lvl in LEVEL_RANK),
    None,
)
#: A text search looks at this many of the newest mentions.
TEXT_SCAN = 100_000
MAX_LIMIT = 1000


class ListingError(MonitorError, ValueError):
    """A filter, order or page that cannot be listed; the message is for the owner.

    A ValueError (bad input) and a MonitorError (the inbox shows it as it shows others)."""


class CursorError(ListingError):
    """A page cursor that was not made by ``list_mentions`` (edited, cut, or from another order)."""


@dataclass(frozen=True)
class MentionFilter:
    brand: str | None = None
    source: str | None = None
    status: str | None = None  # new|acknowledged|resolved|ignored
    negative: bool | None = None
    since: datetime | None = None  # first_seen_at >= since
    until: datetime | None = None  # first_seen_at < until
    text: str | None = None  # case-insensitive substring of title, text or author


@dataclass(frozen=True)
class MentionPage:
    rows: list[MentionRow]
    next_cursor: str | None  # opaque string for the next page; None on the last page
    #: Set when a text search looked only at the newest this many mentions.
    searched_newest: int | None = None


def parse_since(value: str, now: datetime) -> datetime:
    """``24h``, ``7d``, ``30m`` or ``1h30m`` before ``now`` (as config durations are
    written); ListingError otherwise."""
    from monitor.config import parse_duration

    try:
        return now - parse_duration((value or "").strip())
    except (ValueError, OverflowError):
        raise ListingError(
            f"since={value!r} is not a time span: write a number and m, h or d "
            "(24h is the last 24 hours, 7d the last 7 days)"
        ) from None


def list_mentions(
    store: Store,
    flt: MentionFilter,
    *,
    order: str = NEWEST,
    limit: int = 50,
    cursor: str | None = None,
) -> MentionPage:
    """One page of the mentions ``flt`` selects, in ``order``, after ``cursor``."""
    _check(flt, order, limit)
    key = _decode(cursor, order) if cursor else None
    with store.session() as s:
        where, searched = _where(s, flt)
        if order == NEWEST:
            rows = _newest(s, where, limit + 1, key)
            more = len(rows) > limit
            rows = rows[:limit]
            nxt = _encode(NEWEST, [_ts(rows[-1].first_seen_at), rows[-1].id]) if more else None
        else:
            rows = _urgent(s, flt, where, limit + 1, key)
            more = len(rows) > limit
            rows = rows[:limit]
            last = rows[-1] if more else None
            nxt = None
            if last is not None:
                nxt = _encode(URGENT, [_bucket_of(last), _ts(last.first_seen_at), last.id])
    return MentionPage(rows, nxt, searched)


def count_mentions(store: Store, flt: MentionFilter, *, cap: int = 10_000) -> int:
    """How many mentions ``flt`` selects, counting no further than ``cap``."""
    _check(flt, NEWEST, 1)
    with store.session() as s:
        where, _ = _where(s, flt)
        inner = select(MentionRow.id).where(*where).limit(max(cap, 0)).subquery()
        return int(s.scalar(select(func.count()).select_from(inner)) or 0)


# ------------------------------------------------------------------ the queries


def _check(flt: MentionFilter, order: str, limit: int) -> None:
    if order not in ORDERS:
        raise ListingError(f"order {order!r} is not one of: {', '.join(ORDERS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ListingError(f"limit {limit} is not between 1 and {MAX_LIMIT}")
    if flt.status is not None and flt.status not in STATUSES:
        raise ListingError(f"status {flt.status!r} is not one of: {', '.join(STATUSES)}")
    for name in ("since", "until"):
        value = getattr(flt, name)
        if value is not None and value.tzinfo is None:
            raise ListingError(f"{name} must be a UTC-aware time")


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(s: Session, flt: MentionFilter) -> tuple[list[ColumnElement[bool]], int | None]:
    where: list[ColumnElement[bool]] = []
    if flt.brand is not None:
        where.append(MentionRow.brand == flt.brand)
    if flt.source is not None:
        where.append(MentionRow.source == flt.source)
    if flt.status is not None:
        where.append(MentionRow.status == flt.status)
    if flt.negative is not None:
        where.append(MentionRow.negative.is_(flt.negative))
    if flt.since is not None:
        where.append(MentionRow.first_seen_at >= flt.since)
    if flt.until is not None:
        where.append(MentionRow.first_seen_at < flt.until)
    searched: int | None = None
    if flt.text:
        pattern = _like(flt.text)
        columns = (MentionRow.text, MentionRow.title, MentionRow.author)
        if s.get_bind().dialect.name == "sqlite":
            # SQLite's LIKE ignores case already (ASCII, as its lower() does): no lower()
            # of every text read.
            where.append(or_(*(c.like(pattern, escape="\\") for c in columns)))
        else:
            where.append(or_(*(c.ilike(pattern, escape="\\") for c in columns)))
        # Bound the scan to the newest TEXT_SCAN mentions (an index-only read to find where).
        oldest = s.scalar(
            select(MentionRow.first_seen_at)
            .order_by(MentionRow.first_seen_at.desc())
            .offset(TEXT_SCAN - 1)
            .limit(1)
        )
        if oldest is not None and (flt.since is None or flt.since < oldest):
            where.append(MentionRow.first_seen_at >= oldest)
            searched = TEXT_SCAN
    return where, searched


def _newest(
    s: Session, where: list[ColumnElement[bool]], limit: int, key: list[Any] | None
) -> list[MentionRow]:
    seen, ident = MentionRow.first_seen_at, MentionRow.id
    query = select(MentionRow).where(*where)
    if key is not None:
        ts, last_id = key
        query = query.where(seen <= ts, or_(seen < ts, ident < last_id))
    return list(s.scalars(query.order_by(seen.desc(), ident.desc()).limit(limit)))


def _in_bucket(bucket: int) -> ColumnElement[bool]:
    pair = BUCKETS[bucket]
    if pair is None:
        return not_(and_(MentionRow.severity.in_(SEVERITY_RANK), MentionRow.level.in_(LEVEL_RANK)))
    return and_(MentionRow.severity == pair[0], MentionRow.level == pair[1])


def _bucket_of(row: MentionRow) -> int:
    pair = (row.severity, row.level)
    return BUCKETS.index(pair) if pair in BUCKETS else len(BUCKETS) - 1


def _urgent(
    s: Session,
    flt: MentionFilter,
    where: list[ColumnElement[bool]],
    limit: int,
    key: list[Any] | None,
) -> list[MentionRow]:
    """Up to ``limit`` rows in urgent order after ``key``.

    Within a bucket, each (status, negative) pair the filter leaves open is its own index
    range (ix_mentions_urgent), merged here by first seen: one query over every status
    would have SQLite read the whole bucket to sort it. (A status outside STATUSES, which
    Store.set_status never writes, is not listed in this order.)
    """
    seen, ident = MentionRow.first_seen_at, MentionRow.id
    statuses = STATUSES if flt.status is None else (flt.status,)
    negatives = (True, False) if flt.negative is None else (flt.negative,)
    start = key[0] if key is not None else 0
    rows: list[MentionRow] = []
    for bucket in range(start, len(BUCKETS)):
        want = limit - len(rows)
        streams: list[list[MentionRow]] = []
        for status in statuses:
            for negative in negatives:
                query = select(MentionRow).where(
                    *where,
                    MentionRow.status == status,
                    MentionRow.negative.is_(negative),
                    _in_bucket(bucket),
                )
                if key is not None and bucket == start:
                    _, ts, last_id = key
                    query = query.where(seen >= ts, or_(seen > ts, ident > last_id))
                streams.append(list(s.scalars(query.order_by(seen, ident).limit(want))))
        merged = heapq.merge(*streams, key=lambda r: (r.first_seen_at, r.id))
        rows.extend(itertools.islice(merged, want))
        if len(rows) >= limit:
            break
    return rows


# ------------------------------------------------------------------ cursors

_BAD_CURSOR = (
    "this page link is damaged or out of date (its cursor was changed or cut); "
    "start again from the first page"
)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _sign(body: str) -> str:
    return hashlib.sha256(b"mention-monitor cursor\0" + body.encode()).hexdigest()[:12]


def _encode(order: str, key: list[Any]) -> str:
    body = json.dumps([order, *key], separators=(",", ":"))
    raw = f"{body}|{_sign(body)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, order: str) -> list[Any]:
    """The key a cursor holds: [first_seen_at, id] or [bucket, first_seen_at, id]."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        body, _, check = raw.rpartition("|")
        if not body or check != _sign(body):
            raise CursorError(_BAD_CURSOR)
        made_for, *key = json.loads(body)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        if isinstance(exc, CursorError):
            raise
        raise CursorError(_BAD_CURSOR) from None
    if made_for not in ORDERS:
        raise CursorError(_BAD_CURSOR)
    if made_for != order:
        raise CursorError(
            f"this page link was made for the {made_for!r} order, not {order!r}; "
            "start again from the first page"
        )
    if order == URGENT:
        if len(key) != 3 or not isinstance(key[0], int) or not 0 <= key[0] < len(BUCKETS):
            raise CursorError(_BAD_CURSOR)
        return [key[0], *_key_tail(key[1:])]
    if len(key) != 2:
        raise CursorError(_BAD_CURSOR)
    return _key_tail(key)


def _key_tail(key: list[Any]) -> list[Any]:
    ts, last_id = key
    if not isinstance(ts, str) or not isinstance(last_id, int) or isinstance(last_id, bool):
        raise CursorError(_BAD_CURSOR)
    try:
        when = datetime.fromisoformat(ts)
    except ValueError:
        raise CursorError(_BAD_CURSOR) from None
    if when.tzinfo is None:
        raise CursorError(_BAD_CURSOR)
    return [when, last_id]
