"""How fast is a page of the inbox with a million mentions stored? Times the listing
queries (monitor/store/listing.py) the inbox, the API and the exports make.

Measured: a SQLite file built by the real Store (so the schema and indexes are the
migrations'), filled by bulk inserts (executemany, not the pipeline) with ``--size``
mentions over one year of ``first_seen_at``, in a mix like real use: 10 brands, 6 sources,
~8% negative (a quarter of those ``high``), 1 in 40 negatives spreading and 1 in 200 viral;
negatives older than three days mostly answered (acknowledged, resolved or ignored), recent
ones mostly still ``new``; texts of 10-30 words from a small vocabulary, a few with
"refund".

Then each typical request runs ``--runs`` times through ``list_mentions`` (50 rows a page)
and ``count_mentions``; printed: the first run and the best run (ms of server time: the
query and building the rows, no HTTP), the rows returned, and the EXPLAIN QUERY PLAN of
every statement the request sent. Each figure should be under 300 ms.

With ``--export``, every mention is also streamed through ``/export.csv``'s generator:
the time, the CSV's size and the process's peak RSS before and after (it should not grow
with the number of rows).

Run: ``.venv/bin/python benchmarks/inbox.py [--size 1000000] [--runs 5] [--db FILE] [--export]``.
With ``--db`` an existing file of the right size is reused (seeding 1M takes about a
minute and ~600 MB).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from monitor.store import Store  # noqa: E402
from monitor.store.listing import (  # noqa: E402
    NEWEST,
    URGENT,
    MentionFilter,
    MentionPage,
    count_mentions,
    list_mentions,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=365)
BRANDS = [f"Brand {i}" for i in range(10)]
SOURCES = ["hackernews", "reddit", "bluesky", "mastodon", "rss", "x"]
WORDS = (
    "coffee beans order shipping late cold great love awful never again support answered "
    "delivery box broken taste fresh morning shop staff friendly slow price cheap expensive "
    "cup latte espresso roast dark light blend package arrived today week wait email phone"
).split()


def _ts(when: datetime) -> str:
    """The form SQLAlchemy stores in SQLite (always with microseconds): comparable as text."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def seed(store: Store, size: int, rng: random.Random) -> None:
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        rows: list[tuple[Any, ...]] = []
        for i in range(1, size + 1):
            seen = NOW - SPAN * ((size - i) / size) - timedelta(seconds=rng.randint(0, 59))
            created = seen - timedelta(minutes=rng.randint(1, 90))
            negative = rng.random() < 0.08
            severity = ("high" if rng.random() < 0.25 else "negative") if negative else "info"
            roll = rng.random()
            level = (2 if roll < 0.005 else 1 if roll < 0.025 else 0) if negative else 0
            old = seen < NOW - timedelta(days=3)
            status = "new"
            if negative and old and rng.random() < 0.9:
                status = rng.choice(["acknowledged", "resolved", "resolved", "ignored"])
            elif not negative and rng.random() < 0.01:
                status = "ignored"
            source = SOURCES[rng.randrange(len(SOURCES))]
            brand = BRANDS[min(int(rng.expovariate(0.4)), len(BRANDS) - 1)]
            words = rng.choices(WORDS, k=rng.randint(10, 30))
            if rng.random() < 0.003:
                words.insert(rng.randrange(len(words)), "refund")
            body = f"{brand} " + " ".join(words)
            answered = _ts(seen + timedelta(hours=5)) if status != "new" else None
            rows.append(
                (
                    i,
                    source,
                    f"{source}-{i}",
                    brand,
                    json.dumps([brand]),
                    f"https://example.org/{source}/{i}",
                    f"user{rng.randrange(50_000)}",
                    rng.randint(0, 20_000),
                    "A title" if source in ("reddit", "hackernews", "rss") else None,
                    body,
                    _ts(created),
                    _ts(seen),
                    json.dumps({"likes": rng.randint(0, 40), "replies": rng.randint(0, 9)}),
                    -0.6 if negative else 0.4,
                    "negative" if negative else "positive",
                    negative,
                    severity,
                    json.dumps(["angry words: awful"] if negative else []),
                    "{}",
                    status,
                    answered,
                    answered,
                    level,
                )
            )
            if len(rows) >= 50_000 or i == size:
                cur.executemany(
                    "INSERT INTO mentions (id, source, external_id, brand, matched_terms, url, "
                    "author, author_followers, title, text, created_at, first_seen_at, "
                    "engagement, compound, label, negative, severity, reasons, raw, status, "
                    "status_at, acked_at, level, refresh_step, negative_replies) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0)",
                    rows,
                )
                rows.clear()
        raw.commit()  # no ANALYZE: the service never runs it, so the planner has no statistics
    finally:
        raw.close()


@contextmanager
def capture(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def before(*args: Any) -> None:
        seen.append((args[2], args[3]))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def plans(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    lines: list[str] = []
    with engine.connect() as conn:
        for statement, params in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor()
            found = cur.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
            lines += [str(row[3]) for row in found]
    return lines


def cursor_for_page(store: Store, flt: MentionFilter, order: str, page: int) -> str | None:
    cursor = None
    for _ in range(page - 1):
        cursor = list_mentions(store, flt, order=order, cursor=cursor).next_cursor
    return cursor


def measure_export(store: Store) -> None:
    """The whole table through /export.csv's generator: time, size, and the peak RSS."""
    from monitor.web.export import _csv

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    size = 0
    for chunk in _csv(store, MentionFilter(), NEWEST):
        size += len(chunk)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = count_mentions(store, MentionFilter(), cap=10**9)
    print(
        f"export.csv of {rows:,} mentions: {took:.1f} s, {size / 1e6:.0f} MB of CSV, "
        f"peak RSS {before / 1024:.0f} MB before, {after / 1024:.0f} MB after"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, help="reuse (or create) this SQLite file")
    parser.add_argument(
        "--export", action="store_true", help="also stream every mention as CSV (/export.csv)"
    )
    args = parser.parse_args()
    workdir = tempfile.TemporaryDirectory()
    path = args.db or Path(workdir.name) / "inbox.db"
    store = Store(f"sqlite:///{path}")
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM mentions")).scalar() or 0
    if stored != args.size:
        if stored:
            sys.exit(f"{path} holds {stored} mentions, not {args.size}: use another --db")
        started = time.perf_counter()
        seed(store, args.size, random.Random(11))
        print(f"seeded {args.size:,} mentions in {time.perf_counter() - started:.0f} s")
    needs = MentionFilter(negative=True, status="new")
    everything = MentionFilter()
    week = NOW - timedelta(days=7)
    page20 = cursor_for_page(store, everything, NEWEST, 20)
    needs20 = cursor_for_page(store, needs, URGENT, 20)
    Request = Callable[[], MentionPage | int]
    requests: list[tuple[str, Request]] = [
        ("needs answer, urgent, page 1", lambda: list_mentions(store, needs, order=URGENT)),
        (
            "needs answer, urgent, page 20",
            lambda: list_mentions(store, needs, order=URGENT, cursor=needs20),
        ),
        ("needs answer, count (cap 10k)", lambda: count_mentions(store, needs)),
        ("all, newest, page 1", lambda: list_mentions(store, everything)),
        ("all, newest, page 20", lambda: list_mentions(store, everything, cursor=page20)),
        ("brand 'Brand 7', newest", lambda: list_mentions(store, MentionFilter(brand="Brand 7"))),
        (
            "source 'mastodon', newest",
            lambda: list_mentions(store, MentionFilter(source="mastodon")),
        ),
        (
            "negative, since 7d, newest",
            lambda: list_mentions(store, MentionFilter(negative=True, since=week)),
        ),
        (
            "unflagged (not negative), newest",
            lambda: list_mentions(store, MentionFilter(negative=False)),
        ),
        ("all, urgent, page 1", lambda: list_mentions(store, everything, order=URGENT)),
        (
            "status ignored, newest",
            lambda: list_mentions(store, MentionFilter(status="ignored")),
        ),
        ("search 'Refund', newest", lambda: list_mentions(store, MentionFilter(text="Refund"))),
        (
            "search 'no such words' (worst case)",
            lambda: list_mentions(store, MentionFilter(text="no such words")),
        ),
        (
            "brand 'Brand 9', needs answer, urgent",
            lambda: list_mentions(
                store, MentionFilter(brand="Brand 9", negative=True, status="new"), order=URGENT
            ),
        ),
    ]
    print(f"{'request':40} {'first':>8} {'best':>8} {'rows':>6}")
    worst = 0.0
    for name, request in requests:
        times: list[float] = []
        with capture(store.engine) as statements:
            for run in range(args.runs):
                started = time.perf_counter()
                result = request()
                times.append((time.perf_counter() - started) * 1000)
                if run == 0:
                    first_statements = list(statements)
        worst = max(worst, min(times))
        if isinstance(result, int):
            got = str(result)
        else:
            got = str(len(result.rows))
            if result.searched_newest:
                got += f" (searched the newest {result.searched_newest:,})"
        print(f"{name:40} {times[0]:8.1f} {min(times):8.1f} {got:>6}")
        for line in dict.fromkeys(plans(store.engine, first_statements)):
            print(f"    {line}")
    print(f"slowest request (best of {args.runs}): {worst:.1f} ms (floor: 300 ms)")
    if args.export:
        measure_export(store)
    store.close()
    workdir.cleanup()


if __name__ == "__main__":
    main()
