"""How fast are the brand pages with a million mentions stored? Times the queries of
monitor/store/stats.py and the drawing of the charts (monitor/web/charts.py).

Measured: a SQLite file built by the real Store (so the schema and indexes are the
migrations'), filled by bulk inserts with ``--size`` mentions posted over one year across
``--brands`` brands and 5 sources, ~25% negative, each negative alerted on one channel and
sent a few minutes after posting, half of the negatives answered an hour or so after, and
a spike alert for the first brand on a few days of the last month.

Then, ``--runs`` times each, for the first brand: every query of a brand page (30 days)
and the whole of it (``brand_figures`` + ``top_negatives`` + the chart), and the list page
(every brand's days, spikes and small chart). Printed: the first and the best run (ms of
server time, no HTTP), the rows each covers, and the EXPLAIN QUERY PLAN of the daily query.

Run: ``.venv/bin/python benchmarks/brand_pages.py [--size 1000000] [--brands 10] [--runs 5]
[--db FILE]``. With ``--db`` an existing file is reused. Seeding 1M takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.store import Store  # noqa: E402
from monitor.store.stats import (  # noqa: E402
    Window,
    brand_figures,
    busiest_sources,
    daily_counts,
    daily_query,
    response_times,
    spike_days,
    top_negatives,
)
from monitor.web.charts import daily_chart  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=365)
SOURCES = ["hackernews", "reddit", "bluesky", "mastodon", "rss"]


def _ts(when: datetime) -> str:
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def seed(store: Store, size: int, brands: list[str], rng: random.Random) -> None:
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        mentions: list[tuple[Any, ...]] = []
        alerts: list[tuple[Any, ...]] = []
        for i in range(1, size + 1):
            created = NOW - SPAN * (1 - i / size) - timedelta(seconds=rng.randint(0, 600))
            seen = created + timedelta(minutes=2)
            negative = rng.random() < 0.25
            brand = rng.choice(brands)
            source = rng.choice(SOURCES)
            answered = negative and rng.random() < 0.5
            acked = seen + timedelta(minutes=rng.randint(20, 180)) if answered else None
            engagement = json.dumps({"score": rng.randint(0, 50), "comments": rng.randint(0, 9)})
            mentions.append(
                (
                    i, source, f"{source}-{i}", brand, json.dumps([brand]),
                    f"https://example.org/{source}/{i}", f"user{i % 5000}", None, None,
                    f"{brand} was {'awful' if negative else 'fine'} today #{i}",
                    _ts(created), _ts(seen), engagement, -0.6 if negative else 0.4,
                    "negative" if negative else "positive", negative,
                    ("high" if i % 7 == 0 else "negative") if negative else "none", "[]", "{}",
                    "acknowledged" if answered else "new",
                    _ts(acked) if acked else None, _ts(acked) if acked else None,
                )
            )  # fmt: skip
            if negative:
                sent = seen + timedelta(minutes=rng.randint(1, 10))
                alerts.append(
                    (i, "console", "mention", f"{source}:{source}-{i}", "negative", "sent",
                     1, _ts(seen), _ts(seen), _ts(sent))
                )  # fmt: skip
            if len(mentions) >= 50_000 or i == size:
                _flush(cur, mentions, alerts)
        for day in (3, 11, 12, 25):
            at = NOW - timedelta(days=day)
            alerts.append(
                (None, "console", "spike", f"{brands[0]}@{at:%Y%m%dT%H%M}", "high", "sent", 1,
                 _ts(at), _ts(at), _ts(at))
            )  # fmt: skip
        _flush(cur, mentions, alerts)
        raw.commit()
    finally:
        raw.close()


def _flush(cur: Any, mentions: list[tuple[Any, ...]], alerts: list[tuple[Any, ...]]) -> None:
    cur.executemany(
        "INSERT INTO mentions (id, source, external_id, brand, matched_terms, url, author, "
        "author_followers, title, text, created_at, first_seen_at, engagement, compound, "
        "label, negative, severity, reasons, raw, status, status_at, acked_at, "
        "next_refresh_at, refresh_step, level, negative_replies) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,0,0,0)",
        mentions,
    )
    cur.executemany(
        "INSERT INTO alerts (mention_id, channel, kind, dedupe_key, severity, status, "
        "attempts, created_at, next_attempt_at, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        alerts,
    )
    mentions.clear()
    alerts.clear()


def timed(name: str, runs: int, work: Callable[[], Any], note: Callable[[Any], str]) -> None:
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - start) * 1000)
    print(f"  {name:<34}{times[0]:>9.1f}{min(times):>9.1f}   {note(result)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--brands", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    brands = [f"Brand {i}" for i in range(args.brands)]
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "brands.db"
        fresh = not path.exists()
        store = Store(f"sqlite:///{path}")
        try:
            if fresh:
                start = time.perf_counter()
                seed(store, args.size, brands, random.Random(7))
                print(f"seeded {args.size:,} mentions in {time.perf_counter() - start:.0f} s")
            run(store, brands, args.runs)
        finally:
            store.close()


def run(store: Store, brands: list[str], runs: int) -> None:
    brand = brands[0]
    window = Window.last_days(NOW)
    print(f"{brand}, last 30 days; ms: first run, best of {runs}")

    def days_note(days: Any) -> str:
        return (
            f"{sum(x.mentions for x in days):,} mentions, {sum(x.negatives for x in days):,} neg."
        )

    timed("daily_counts", runs, lambda: daily_counts(store, brand, window), days_note)
    timed("spike_days", runs, lambda: spike_days(store, brand, window), lambda s: f"{len(s)} days")
    timed(
        "response_times",
        runs,
        lambda: response_times(store, brand, window.start),
        lambda r: f"{r.negatives:,} negatives, {len(r.alert_to_ack):,} answered",
    )
    timed(
        "busiest_sources",
        runs,
        lambda: busiest_sources(store, brand, window),
        lambda s: f"{len(s)} sources",
    )
    timed(
        "top_negatives",
        runs,
        lambda: top_negatives(store, brand, window.start),
        lambda t: f"{len(t)} rows",
    )

    def page() -> int:
        figures = brand_figures(store, brand, NOW)
        return len(daily_chart(brand, figures.days, figures.spikes))

    timed("a brand page (brand_figures, chart)", runs, page, lambda n: f"{n:,} bytes of SVG")

    def listing() -> int:
        size = 0
        for name in brands:
            days = daily_counts(store, name, window)
            size += len(daily_chart(name, days, spike_days(store, name, window), compact=True))
        return size

    timed(f"the brands page ({len(brands)} brands)", runs, listing, lambda n: f"{n:,} bytes")
    query = daily_query(store, brand, window, by_source=True)
    compiled = query.compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    print("daily query plan: " + "; ".join(str(row[-1]) for row in plan))


if __name__ == "__main__":
    main()
