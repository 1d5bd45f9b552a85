"""How long does ``mention-monitor mentions --limit 50`` take as the store grows? The whole
process, as an owner runs it (start, config, opening the database, the query, printing),
with 100k and 1M mentions stored, on SQLite and on PostgreSQL (issue 15: 2.1 s with 100k
and 4.0 s with 1M before the page had an index of its own).

Measured: for each database and size a database is built by the real Store (so the schema
is the migrations') and filled by benchmarks/history.py's ``seed`` (bulk inserts on SQLite,
COPY on PostgreSQL, then ANALYZE as autovacuum would): 2 years of history, 10 brands, ~30%
negative, their alerts, snapshots and answers. Then ``python -m monitor mentions --limit 50``
runs ``--runs`` times (after one run not counted, which warms the machine's cache) with the
schema as it is ("after"), and again with the page's index (ix_mentions_created, migration
0012) dropped ("before"); printed: the median and the best run (s), and for reference the
same page's query alone in a warm process (ms). The rest of the whole process (starting
Python, importing, reading the config, opening the database) is the same before and after:
"empty" is the same command on the same database before it was filled.

PostgreSQL: ``MM_TEST_POSTGRES_URL`` (a server where the user may CREATE DATABASE), else a
throwaway cluster like the tests' (tests/pg.py: PostgreSQL's programs on PATH or under
/usr/lib/postgresql/*/bin; as root it runs as ``nobody``).

Run: ``.venv/bin/python benchmarks/mentions_page.py [--sizes 100000,1000000] [--runs 5]
[--databases sqlite,postgresql]``. Seeding 1M takes a minute or two and ~1.5 GB of disk.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from history import BRANDS, seed  # noqa: E402
from sqlalchemy import text  # noqa: E402

from monitor.store import Store  # noqa: E402

CONFIG = """
database: {url}
brands:
{brands}
sources:
  hackernews: {{}}
alerts:
  channels:
    - type: console
"""


@contextmanager
def postgres() -> Iterator[object]:
    """A PgServer (tests/pg.py): the one given, or a throwaway cluster."""
    from tests.pg import ENV, Cluster, PgServer, find_binaries

    given = os.environ.get(ENV)
    if given:
        yield PgServer(given)
        return
    binaries = find_binaries()
    if binaries is None:
        raise SystemExit(f"no PostgreSQL here: apt-get install postgresql, or set {ENV}")
    cluster = Cluster(binaries)
    try:
        yield PgServer(cluster.start())
    finally:
        cluster.stop()


def run_cli(config: Path, runs: int) -> list[float]:
    """``runs`` timings, after one run not counted (that reads the database into the
    machine's cache, as an owner's second look finds it)."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "monitor", "mentions", "--limit", "50", "-c", str(config)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - started)
    return times[1:]


def query_ms(store: Store, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        rows = store.mentions(limit=50)
        best = min(best, time.perf_counter() - started)
    assert len(rows) == 50
    return best * 1000


def measure(url: str, size: int, runs: int, folder: Path) -> dict[str, tuple[float, float, float]]:
    store = Store(url)
    brands = "\n".join(f'  - name: "{b}"\n    keywords: ["{b}"]' for b in BRANDS)
    config = folder / f"config-{size}.yaml"
    config.write_text(CONFIG.format(url=url, brands=brands), encoding="utf-8")
    found: dict[str, tuple[float, float, float]] = {}
    # What the process costs without the page: the same command on the empty database.
    times = run_cli(config, runs)
    found["empty"] = (statistics.median(times), min(times), 0.0)
    print(f"    empty   mentions --limit 50: median {found['empty'][0]:.2f} s", flush=True)
    started = time.perf_counter()
    seed(store, size, random.Random(size))
    print(f"  {size:>9,} mentions seeded in {time.perf_counter() - started:.0f} s", flush=True)
    if store.engine.dialect.name == "sqlite":
        # As a running service leaves it: the bulk load's write-ahead log folded back in.
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    for label in ("after", "before"):
        if label == "before":
            with store.engine.begin() as conn:
                conn.execute(text("DROP INDEX ix_mentions_created"))
        times = run_cli(config, runs)
        found[label] = (statistics.median(times), min(times), query_ms(store, runs))
        median, best, query = found[label]
        print(
            f"    {label:<7} mentions --limit 50: median {median:.2f} s, best {best:.2f} s "
            f"(the query alone: {query:.1f} ms)",
            flush=True,
        )
    store.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--tmp", type=Path, default=None, help="where to build SQLite files")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[tuple[str, int], dict[str, tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="mm-page-", dir=args.tmp) as tmp:
        folder = Path(tmp)
        for database in args.databases.split(","):
            print(f"{database}:", flush=True)
            if database == "sqlite":
                for size in sizes:
                    path = folder / f"page-{size}.db"
                    results[database, size] = measure(f"sqlite:///{path}", size, args.runs, folder)
                    path.unlink()
            else:
                with postgres() as server:
                    for size in sizes:
                        url = server.create()  # type: ignore[attr-defined]
                        try:
                            results[database, size] = measure(url, size, args.runs, folder)
                        finally:
                            server.drop(url)  # type: ignore[attr-defined]
    print(f"\nmentions --limit 50, whole process, median of {args.runs} runs (s)")
    print(f"{'database':<12}{'stored':>11}{'empty':>10}{'before':>10}{'after':>10}")
    for (database, size), found in results.items():
        print(
            f"{database:<12}{size:>11,}{found['empty'][0]:>10.2f}"
            f"{found['before'][0]:>10.2f}{found['after'][0]:>10.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
