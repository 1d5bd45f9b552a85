"""The figures of the brand pages and the mention's spread chart, as queries over the Store.

A brand page reads its window of ``ix_mentions_brand_created`` (brand, posted at) twice,
so it costs the same however much older history is stored:

- ``window_counts``: mentions, negatives and negatives still unanswered per day, and per
  source, in one query grouped by hour and source (days are cut in Python, so they can
  follow a time zone);
- ``_negatives``: the window's negatives with their first sent alert, for the response
  times (as ``mention-monitor stats`` computes them, monitor/followup.py
  ``response_stats``, for one brand) and the worst negatives;
- ``spike_days``: the days a spike alert was queued for the brand (monitor/spikes.py
  records a spike as outbox rows of kind ``spike`` keyed ``<brand>@<time>``);
- ``escalations``: when a tracked mention reached ``spreading`` and ``viral`` (the
  escalation alerts queued with the reading that found it, monitor/spread.py).

Days and times are counted by when a mention was posted (``created_at``), like the spike
check and ``stats``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Integer, Select, and_, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from monitor.followup import BrandResponse
from monitor.models import SPIKE, SPREADING, VIRAL
from monitor.store.queries import Store
from monitor.store.tables import NEW, SENT, AlertRow, MentionRow

DAYS = 30
SEVERITY_RANK = {"high": 2, "negative": 1}
NOT_COUNTED = frozenset({"upvote_ratio"})  # a percentage, not engagement (as monitor/spread.py)


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    mentions: int = 0
    negatives: int = 0
    unanswered: int = 0  # negatives still "new"


@dataclass(frozen=True, slots=True)
class SourceCount:
    source: str
    mentions: int
    negatives: int


@dataclass(frozen=True, slots=True)
class Window:
    """The last ``days`` days up to ``now``, today included, cut at midnight in ``tz``."""

    start: datetime
    end: datetime
    days: tuple[date, ...]
    tz: tzinfo

    @classmethod
    def last_days(cls, now: datetime, days: int = DAYS, tz: tzinfo = UTC) -> Window:
        today = now.astimezone(tz).date()
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, time(), tzinfo=tz).astimezone(UTC)
        return cls(start, now, tuple(first + timedelta(days=i) for i in range(days)), tz)


@dataclass
class BrandFigures:
    """What a brand page shows for one window."""

    brand: str
    window: Window
    days: list[DayCount]
    spikes: set[date]
    response: BrandResponse
    sources: list[SourceCount] = field(default_factory=list)
    top: list[MentionRow] = field(default_factory=list)  # the worst negatives

    @property
    def mentions(self) -> int:
        return sum(d.mentions for d in self.days)

    @property
    def negatives(self) -> int:
        return sum(d.negatives for d in self.days)

    @property
    def unanswered(self) -> int:
        return sum(d.unanswered for d in self.days)

    @property
    def share_negative(self) -> float | None:
        return self.negatives / self.mentions if self.mentions else None


def _hour(store: Store) -> ColumnElement[str]:
    """The hour a mention was posted, as text 'YYYY-MM-DD HH' (UTC)."""
    if store.engine.dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H", MentionRow.created_at)
    return func.to_char(func.date_trunc("hour", MentionRow.created_at), "YYYY-MM-DD HH24")


def _in_window(brand: str, window: Window) -> ColumnElement[bool]:
    return and_(
        MentionRow.brand == brand,
        MentionRow.created_at >= window.start,
        MentionRow.created_at <= window.end,
    )


def daily_query(store: Store, brand: str, window: Window, *, by_source: bool) -> Select[Any]:
    """(hour, source or "", mentions, negatives, negatives still new) of the brand's window."""
    hour = _hour(store).label("hour")
    source = MentionRow.source if by_source else literal("")
    negative = func.sum(MentionRow.negative.cast(Integer))
    unanswered = case((and_(MentionRow.negative.is_(True), MentionRow.status == NEW), 1), else_=0)
    query = select(hour, source, func.count(), negative, func.sum(unanswered))
    query = query.where(_in_window(brand, window))
    return query.group_by(hour, MentionRow.source) if by_source else query.group_by(hour)


def window_counts(
    store: Store, brand: str, window: Window, *, by_source: bool = True
) -> tuple[list[DayCount], list[SourceCount]]:
    """One DayCount for every day of the window (days without mentions too), and (with
    ``by_source``) the brand's sources by mentions, busiest first: one read of the window."""
    totals: dict[date, list[int]] = {d: [0, 0, 0] for d in window.days}
    sources: dict[str, list[int]] = {}
    query = daily_query(store, brand, window, by_source=by_source)
    with store.session() as s:
        for stamp, source, n, neg, open_ in s.execute(query):
            at = datetime.strptime(str(stamp), "%Y-%m-%d %H").replace(tzinfo=UTC)
            row = totals.get(at.astimezone(window.tz).date())
            if row is None:
                continue
            both = (row, sources.setdefault(str(source), [0, 0, 0])) if by_source else (row,)
            for counts in both:
                counts[0] += int(n)
                counts[1] += int(neg or 0)
                counts[2] += int(open_ or 0)
    busiest = sorted(sources.items(), key=lambda item: (-item[1][0], item[0]))
    return (
        [DayCount(d, *totals[d]) for d in window.days],
        [SourceCount(name, n, neg) for name, (n, neg, _) in busiest],
    )


def daily_counts(store: Store, brand: str, window: Window) -> list[DayCount]:
    return window_counts(store, brand, window, by_source=False)[0]


def busiest_sources(store: Store, brand: str, window: Window, limit: int = 5) -> list[SourceCount]:
    return window_counts(store, brand, window)[1][:limit]


def spike_days(store: Store, brand: str, window: Window) -> set[date]:
    """The days of the window on which a spike alert was queued for ``brand``."""
    query = select(AlertRow.dedupe_key, AlertRow.created_at).where(
        AlertRow.kind == SPIKE,
        AlertRow.created_at >= window.start,
        AlertRow.created_at <= window.end,
        AlertRow.dedupe_key.startswith(f"{brand}@", autoescape=True),
    )
    with store.session() as s:
        rows = list(s.execute(query))
    days = set()
    for key, at in rows:
        # A brand whose name holds "@" must not take another brand's spikes.
        if str(key).rpartition("@")[0] == brand:
            days.add(at.astimezone(window.tz).date())
    return days & set(window.days)


def _negatives(store: Store, brand: str, since: datetime) -> list[Any]:
    """Each negative of the brand posted since ``since``: (id, status, posted, first
    answer, first alert sent, severity, engagement, score). One statement: the brand's
    window of the brand index, each negative's sent alerts by ``ix_alerts_mention``."""
    sent = and_(AlertRow.mention_id == MentionRow.id, AlertRow.kind == "mention")
    query = (
        select(
            MentionRow.id,
            MentionRow.status,
            MentionRow.created_at,
            MentionRow.acked_at,
            func.min(AlertRow.sent_at),
            MentionRow.severity,
            MentionRow.engagement,
            MentionRow.compound,
        )
        .join(AlertRow, and_(sent, AlertRow.status == SENT), isouter=True)
        .where(
            MentionRow.brand == brand,
            MentionRow.created_at >= since,
            MentionRow.negative.is_(True),
        )
        .group_by(MentionRow.id)
    )
    with store.session() as s:
        return list(s.execute(query))


def _response(negatives: list[Any]) -> BrandResponse:
    """As followup.response_stats adds up one brand's negatives."""
    out = BrandResponse()
    for mention_id, status, created_at, acked_at, alerted_at, *_ in negatives:
        out.negatives += 1
        out.by_status[status] = out.by_status.get(status, 0) + 1
        if alerted_at is not None:
            alerted_at = _aware(alerted_at)
            out.alerted += 1
            out.post_to_alert.append(max(0.0, (alerted_at - created_at).total_seconds()))
            if acked_at is not None:
                out.alert_to_ack.append(max(0.0, (acked_at - alerted_at).total_seconds()))
        if status == NEW:
            out.unanswered += 1
            out.unanswered_ids.append(mention_id)
    return out


def response_times(store: Store, brand: str, since: datetime) -> BrandResponse:
    """The brand's negatives posted since ``since``: posted -> first alert sent, alert ->
    first answer, still unanswered; the same figures as followup.response_stats."""
    return _response(_negatives(store, brand, since))


def engagement_total(engagement: dict[str, int]) -> int:
    return sum(v for k, v in engagement.items() if k not in NOT_COUNTED)


def _worst(store: Store, negatives: list[Any], limit: int) -> list[MentionRow]:
    ranked = sorted(
        negatives,
        key=lambda r: (-SEVERITY_RANK.get(r[5], 0), -engagement_total(r[6] or {}), r[7], r[0]),
    )[:limit]
    order = {int(r[0]): i for i, r in enumerate(ranked)}
    if not order:
        return []
    with store.session() as s:
        rows = list(s.scalars(select(MentionRow).where(MentionRow.id.in_(list(order)))))
    return sorted(rows, key=lambda r: order[r.id])


def top_negatives(store: Store, brand: str, since: datetime, limit: int = 5) -> list[MentionRow]:
    """The brand's worst negatives posted since ``since``: high severity first, then the
    most engagement, then the most negative score (as the spike alert lists them). Only
    the columns that rank them are read for the whole window, full rows for those kept."""
    return _worst(store, _negatives(store, brand, since), limit)


def brand_figures(
    store: Store, brand: str, now: datetime, *, days: int = DAYS, tz: tzinfo = UTC, top: int = 5
) -> BrandFigures:
    """The figures of one brand over the last ``days`` days: two reads of its window (all
    its mentions by hour and source; its negatives with their alerts), and its spikes."""
    window = Window.last_days(now, days, tz)
    counts, sources = window_counts(store, brand, window)
    negatives = _negatives(store, brand, window.start)
    return BrandFigures(
        brand,
        window,
        counts,
        spike_days(store, brand, window),
        _response(negatives),
        sources[:5],
        _worst(store, negatives, top),
    )


def escalations(store: Store, mention_id: int) -> list[tuple[str, datetime]]:
    """(level, when) for each level a mention escalated to, in order: ``spreading``,
    ``viral``. When is the reading that found it (its alert was queued then); a level
    reached with no channel to alert is not known here."""
    query = (
        select(AlertRow.kind, func.min(AlertRow.created_at))
        .where(AlertRow.mention_id == mention_id, AlertRow.kind.in_([SPREADING, VIRAL]))
        .group_by(AlertRow.kind)
    )
    with store.session() as s:
        found = [(str(kind), _aware(at)) for kind, at in s.execute(query) if at is not None]
    return sorted(found, key=lambda k: (k[1], k[0] == VIRAL))


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def has_mentions(store: Store, brand: str) -> bool:
    """Whether any mention of ``brand`` is stored (one read of the brand index)."""
    with store.session() as s:
        return s.scalar(select(MentionRow.id).where(MentionRow.brand == brand).limit(1)) is not None
