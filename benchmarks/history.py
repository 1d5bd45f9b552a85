"""Does a periodic job cost more as history piles up? Times every job the scheduler runs
on databases of 1k, 100k and 1M stored mentions.

Measured: for each size a SQLite file is built by the real Store (so the schema is the
migrations'), then filled with bulk inserts in proportions like real use:

- the same recent activity at every size (the last 8 days, longer than any job's window:
  1,000 mentions, of which the last hour holds a burst of 8 negatives of one brand, so the
  spike job reads its week of baseline), and the rest spread over the two years before:
  old history;
- ~30% of mentions negative; each negative alerted on 2 channels (console, webhook);
  old alerts sent; a tracked negative has 3 engagement snapshots; half of the old
  negatives were acknowledged (one status change), the other half are still ``new``.

Then each periodic job runs against it as the service runs it: the follow-up job
(spread tracking, spikes, reminders: ``Service.watch``'s three parts), the dispatcher's
store queries, and a poll's store calls (health, cursor, known ids, ingest of 10 new
mentions, arrivals, record_success, tracked threads).

Printed: per job and size, the first run (which does the work: reminders queued, posts
read) and the best of ``--runs`` runs (ms); then a table of the best runs at each size,
and the ratio of the largest size to the smallest. A job whose cost does not grow with
history has a ratio near 1.

Run: ``.venv/bin/python benchmarks/history.py [--sizes 1000,100000,1000000] [--runs 3]``.
Seeding 1M mentions takes about a minute and ~1.5 GB of disk in the temp directory.
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

from monitor.config import Config, parse_config  # noqa: E402
from monitor.dispatcher import FLOOD_WINDOW  # noqa: E402
from monitor.followup import queue_reminders  # noqa: E402
from monitor.models import Mention, Score  # noqa: E402
from monitor.spikes import queue_spikes  # noqa: E402
from monitor.spread import Tracker  # noqa: E402
from monitor.store import NewMention, Store, stale_before  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RECENT = 1000
#: Longer than every job's window (reminders 2 days after 4 h, spikes 7 days of baseline
#: after the last hour, tracking 48 h), so all that is older is history no job needs.
RECENT_SPAN = timedelta(days=8)
TRACK_FOR = timedelta(hours=48)
HISTORY_SPAN = timedelta(days=730)
BRANDS = [f"Brand {i}" for i in range(10)]
SOURCES = ["hackernews", "reddit", "bluesky", "mastodon", "rss"]
CHANNELS = ["console", "webhook"]

CONFIG = """
database: sqlite:///unused.db
brands:
{brands}
sources:
  hackernews: {{}}
alerts:
  channels:
    - type: console
    - type: webhook
      url: http://127.0.0.1:9/hook
"""


def make_config() -> Config:
    brands = "\n".join(f'  - name: "{b}"\n    keywords: ["{b}"]' for b in BRANDS)
    return parse_config(CONFIG.format(brands=brands))


def _ts(when: datetime) -> str:
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def seed(store: Store, size: int, rng: random.Random) -> None:
    """Fill an empty, migrated database (SQLite or PostgreSQL) with ``size`` mentions and
    their history."""
    postgres = store.engine.dialect.name == "postgresql"
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if not postgres:
            cur.execute("PRAGMA synchronous=OFF")
        mention_rows: list[tuple[Any, ...]] = []
        alert_rows: list[tuple[Any, ...]] = []
        snapshot_rows: list[tuple[Any, ...]] = []
        change_rows: list[tuple[Any, ...]] = []
        recent = min(size, RECENT)
        burst = 8
        for i in range(1, size + 1):
            old = i <= size - recent
            if old:
                seen = NOW - RECENT_SPAN - HISTORY_SPAN * ((size - recent - i) / max(1, size))
            elif i > size - burst:
                seen = NOW - timedelta(minutes=5 * (size - i) + 1)
            else:
                seen = NOW - RECENT_SPAN * ((size - i) / recent)
            created = seen - timedelta(minutes=rng.randint(1, 30))
            burst_row = i > size - burst
            negative = burst_row or rng.random() < 0.3
            brand = BRANDS[0] if burst_row else BRANDS[i % len(BRANDS)]
            source = SOURCES[i % len(SOURCES)]
            tracked = negative and seen > NOW - TRACK_FOR and source != "rss"
            acked = negative and old and i % 2 == 0
            status = "acknowledged" if acked else "new"
            engagement = json.dumps({"score": rng.randint(0, 50), "comments": rng.randint(0, 9)})
            mention_rows.append(
                (
                    i,
                    source,
                    f"{source}-{i}",
                    brand,
                    json.dumps([brand]),
                    f"https://example.org/{source}/{i}",
                    f"user{i % 5000}",
                    None,
                    None,
                    f"{brand} was {'awful' if negative else 'fine'} today #{i}",
                    _ts(created),
                    _ts(seen),
                    engagement,
                    -0.6 if negative else 0.4,
                    "negative" if negative else "positive",
                    negative,
                    "negative" if negative else "none",
                    "[]",
                    "{}",
                    status,
                    _ts(seen + timedelta(hours=1)) if acked else None,
                    _ts(seen + timedelta(hours=1)) if acked else None,
                    _ts(NOW + timedelta(minutes=rng.randint(-10, 15))) if tracked else None,
                    2 if tracked else 0,
                )
            )
            if negative:
                for channel in CHANNELS:
                    alert_rows.append(
                        (
                            i,
                            channel,
                            "mention",
                            f"{source}:{source}-{i}",
                            "negative",
                            "sent",
                            1,
                            _ts(seen),
                            _ts(seen),
                            _ts(seen + timedelta(seconds=2)),
                        )
                    )
                if source != "rss":
                    for k in range(3):
                        snapshot_rows.append(
                            (i, _ts(seen + timedelta(minutes=5 * k)), engagement, 0)
                        )
                if acked:
                    change_rows.append((i, _ts(seen + timedelta(hours=1)), "acknowledged"))
            if len(mention_rows) >= 50_000 or i == size:
                flush = _copy if postgres else _flush
                flush(cur, mention_rows, alert_rows, snapshot_rows, change_rows)
        if postgres:
            # The ids were given: each table's sequence goes on after them, and the planner
            # gets its statistics (autovacuum would take them a while later).
            for table in ("mentions", "alerts", "snapshots", "status_changes"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
        raw.commit()
        if postgres:
            raw.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            cur = raw.cursor()
            cur.execute("VACUUM ANALYZE")
            raw.dbapi_connection.autocommit = False  # type: ignore[union-attr]
    finally:
        raw.close()


def _flush(
    cur: Any,
    mentions: list[tuple[Any, ...]],
    alerts: list[tuple[Any, ...]],
    snapshots: list[tuple[Any, ...]],
    changes: list[tuple[Any, ...]],
) -> None:
    cur.executemany(
        "INSERT INTO mentions (id, source, external_id, brand, matched_terms, url, author, "
        "author_followers, title, text, created_at, first_seen_at, engagement, compound, "
        "label, negative, severity, reasons, raw, status, status_at, acked_at, "
        "next_refresh_at, refresh_step, level, negative_replies) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0)",
        mentions,
    )
    cur.executemany(
        "INSERT INTO alerts (mention_id, channel, kind, dedupe_key, severity, status, "
        "attempts, created_at, next_attempt_at, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        alerts,
    )
    cur.executemany(
        "INSERT INTO snapshots (mention_id, taken_at, engagement, negative_replies) "
        "VALUES (?,?,?,?)",
        snapshots,
    )
    cur.executemany("INSERT INTO status_changes (mention_id, at, status) VALUES (?,?,?)", changes)
    for rows in (mentions, alerts, snapshots, changes):
        rows.clear()


#: The columns ``_flush`` and ``_copy`` fill, table by table.
COLUMNS = {
    "mentions": "id, source, external_id, brand, matched_terms, url, author, author_followers, "
    "title, text, created_at, first_seen_at, engagement, compound, label, negative, severity, "
    "reasons, raw, status, status_at, acked_at, next_refresh_at, refresh_step",
    "alerts": "mention_id, channel, kind, dedupe_key, severity, status, attempts, created_at, "
    "next_attempt_at, sent_at",
    "snapshots": "mention_id, taken_at, engagement, negative_replies",
    "status_changes": "mention_id, at, status",
}


def _copy(
    cur: Any,
    mentions: list[tuple[Any, ...]],
    alerts: list[tuple[Any, ...]],
    snapshots: list[tuple[Any, ...]],
    changes: list[tuple[Any, ...]],
) -> None:
    """PostgreSQL: the rows by COPY (psycopg 3), many times faster than INSERTs."""
    for table, rows in zip(COLUMNS, (mentions, alerts, snapshots, changes), strict=True):
        with cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        rows.clear()


def new_items(n: int, start: int) -> list[NewMention]:
    score = Score(-0.5, "negative", True, ("vader -0.50",))
    return [
        NewMention(
            Mention(
                source="hackernews",
                external_id=f"fresh-{start + k}",
                url=f"https://example.org/fresh/{start + k}",
                author="someone",
                text=f"{BRANDS[1]} was awful, fresh #{start + k}",
                created_at=NOW - timedelta(minutes=1),
                engagement={"score": 1},
            ),
            BRANDS[1],
            (BRANDS[1],),
            score,
            "negative",
            tuple(CHANNELS),
            track_at=NOW + timedelta(minutes=5),
        )
        for k in range(n)
    ]


def jobs(config: Config, store: Store) -> dict[str, Callable[[], object]]:
    tracker = Tracker(config, store, {}, clock=lambda: NOW)
    fresh = iter(range(0, 10**9, 10))
    recent_ids = [f"hackernews-{i}" for i in range(5, 5000, 5)][:50]
    return {
        "watch: spread tracking (Tracker.run)": tracker.run,
        "watch: spikes (queue_spikes)": lambda: queue_spikes(config, store, NOW),
        "watch: reminders (queue_reminders)": lambda: queue_reminders(config, store, NOW),
        "dispatch: release_stale_claims": lambda: store.release_stale_claims(stale_before(NOW)),
        "dispatch: due_alerts": lambda: store.due_alerts(NOW),
        "dispatch: paused_channels": store.paused_channels,
        "dispatch: sent_since (x2 channels)": lambda: [
            store.sent_since(c, NOW - FLOOD_WINDOW) for c in CHANNELS
        ],
        "poll: health": store.health,
        "poll: get_cursor": lambda: store.get_cursor("hackernews", "*"),
        "poll: known_ids (50)": lambda: store.known_ids("hackernews", recent_ids),
        "poll: ingest (10 new)": lambda: store.ingest(
            "hackernews", "*", new_items(10, next(fresh)), "c", now=NOW
        ),
        "poll: arrivals": lambda: store.arrivals("hackernews"),
        "poll: record_success": lambda: store.record_success("hackernews", 10, NOW),
        "poll: tracked_threads (50)": lambda: store.tracked_threads("hackernews", recent_ids),
    }


def measure(size: int, runs: int, tmp: Path) -> dict[str, float]:
    path = tmp / f"history-{size}.db"
    store = Store(f"sqlite:///{path}")
    started = time.perf_counter()
    seed(store, size, random.Random(size))
    seeded = time.perf_counter() - started
    mb = path.stat().st_size / 1e6
    print(f"  {size:>9,} mentions seeded in {seeded:.1f} s ({mb:.0f} MB)", flush=True)
    config = make_config()
    best: dict[str, float] = {}
    for name, job in jobs(config, store).items():
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            job()
            times.append((time.perf_counter() - t0) * 1000)
        best[name] = min(times)
        print(f"    {name:<40} first {times[0]:>9.1f} ms, best {best[name]:>9.1f} ms", flush=True)
    store.close()
    path.unlink()
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tmp", type=Path, default=None, help="where to build the databases")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="mm-history-", dir=args.tmp) as tmp:
        for size in sizes:
            results[size] = measure(size, args.runs, Path(tmp))
    names = list(results[sizes[0]])
    header = "".join(f"{f'{s:,}':>12}" for s in sizes)
    print(f"\nbest of {args.runs} runs, ms{' ' * 30}{header}   ratio")
    for name in names:
        row = "".join(f"{results[s][name]:>12.1f}" for s in sizes)
        ratio = results[sizes[-1]][name] / max(results[sizes[0]][name], 0.01)
        print(f"{name:<46}{row}   {ratio:5.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
