"""A known month of two brands, written through the real Store (ingest, the outbox's
claim and mark_sent, set_status, the spike check, recorded readings), for the tests of
monitor/store/stats.py and the brand pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from monitor.config import Config
from monitor.models import Mention, Score
from monitor.spikes import queue_spikes
from monitor.store import AlertRow, NewMention, Reading, Store

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
NEGATIVE = Score(-0.6, "negative", True, ("vader -0.60",))
HIGH = Score(-0.9, "negative", True, ("vader -0.90",))
POSITIVE = Score(0.5, "positive", False, ("vader 0.50",))
BRAND = "Acme Coffee"
OTHER = "Other <Brand>"
CONFIG = f"""
brands:
  - name: {BRAND}
    keywords: ["Acme Coffee"]
  - name: "{OTHER}"
    keywords: ["other brand"]
sources:
  hackernews: {{}}
"""


@dataclass
class Month:
    """What was written, to check the figures against."""

    ids: dict[str, int] = field(default_factory=dict)
    per_day: dict[date, tuple[int, int]] = field(default_factory=dict)  # BRAND's (all, negative)

    def count(self, day: date, negative: bool) -> None:
        n, neg = self.per_day.get(day, (0, 0))
        self.per_day[day] = (n + 1, neg + int(negative))


def add(
    store: Store,
    name: str,
    *,
    brand: str = BRAND,
    source: str = "hackernews",
    posted: datetime,
    score: Score = POSITIVE,
    text: str | None = None,
    engagement: dict[str, int] | None = None,
) -> int:
    negative = score.negative
    mention = Mention(
        source=source,
        external_id=name,
        url=f"https://example.com/{name}",
        author="someone",
        text=text or f"{brand} {'was awful' if negative else 'was lovely'} ({name})",
        created_at=posted,
        engagement=engagement if engagement is not None else {"score": 1},
    )
    severity = "high" if score is HIGH else "negative" if negative else "none"
    item = NewMention(
        mention, brand, (brand,), score, severity,  # type: ignore[arg-type]
        ("console",) if negative else (),
        track_at=posted + timedelta(minutes=5) if negative else None,
    )  # fmt: skip
    [(mention_id, _)] = store.ingest(source, brand, [item], None, now=posted + timedelta(minutes=1))
    return mention_id


def send_alert(store: Store, mention_id: int, at: datetime) -> None:
    """Deliver the mention's alert as the dispatcher does: claim it, then mark it sent."""
    with store.session() as s:
        ids = list(s.scalars(select(AlertRow.id).where(AlertRow.mention_id == mention_id)))
    claimed = [a.id for a in store.claim_many(ids, at)]
    assert claimed
    store.mark_sent(claimed, at)


def write_month(config: Config, store: Store) -> Month:
    month = Month()

    def day(n: int, hour: int = 9) -> datetime:
        return datetime.combine(TODAY - timedelta(days=n), datetime.min.time(), UTC).replace(
            hour=hour
        )

    # Outside the window (31 days back) and another brand: never counted for BRAND.
    add(store, "old", posted=day(31), score=NEGATIVE)
    add(store, "other-1", brand=OTHER, posted=day(3), score=NEGATIVE)
    add(store, "other-2", brand=OTHER, posted=day(3))
    # 29 days ago (the window's first day): one mention on reddit.
    month.ids["first"] = add(store, "first", source="reddit", posted=day(29, 0))
    month.count(TODAY - timedelta(days=29), False)
    # 10 days ago: two negatives, alerted after 10 and 30 minutes; answered 1 h and 3 h after.
    for i, (alert_after, answer_after) in enumerate(((10, 60), (30, 180))):
        posted = day(10) + timedelta(minutes=i)
        mid = month.ids[f"neg10-{i}"] = add(store, f"neg10-{i}", posted=posted, score=NEGATIVE)
        sent = posted + timedelta(minutes=alert_after)
        send_alert(store, mid, sent)
        store.set_status(mid, "acknowledged", None, sent + timedelta(minutes=answer_after))
        month.count(posted.date(), True)
    # 5 days ago: three positives on reddit, one negative never answered (alert sent).
    for i in range(3):
        add(store, f"pos5-{i}", source="reddit", posted=day(5) + timedelta(hours=i))
        month.count(TODAY - timedelta(days=5), False)
    mid = month.ids["open5"] = add(store, "open5", posted=day(5, 20), score=HIGH,
                                   engagement={"score": 40, "comments": 12})  # fmt: skip
    send_alert(store, mid, day(5, 21))
    month.count(TODAY - timedelta(days=5), True)
    # Today: six negatives within the last hour (a spike), one positive.
    for i in range(6):
        posted = NOW - timedelta(minutes=50 - 5 * i)
        month.ids[f"spike-{i}"] = add(store, f"spike-{i}", posted=posted, score=NEGATIVE)
        month.count(TODAY, True)
    add(store, "pos-today", posted=NOW - timedelta(hours=2))
    month.count(TODAY, False)
    queue_spikes(config, store, NOW)
    # A tracked mention read three times: spreading at the second reading, viral at the third.
    tracked = month.ids["open5"]
    steps = [({"score": 45, "comments": 12}, None), ({"score": 90, "comments": 30}, 1),
             ({"score": 300, "comments": 80}, 2)]  # fmt: skip
    for n, (engagement, level) in enumerate(steps):
        at = day(5, 21) + timedelta(minutes=15 * (n + 1))
        kind = {1: "spreading", 2: "viral"}.get(level or 0)
        escalation = (kind, ("console",), {"details": ["growing"]}) if kind else None
        reading = Reading(tracked, engagement, 0, at + timedelta(minutes=15), 0, level or 0,
                          escalation=escalation)  # fmt: skip
        store.record_readings([reading], at)
    return month
