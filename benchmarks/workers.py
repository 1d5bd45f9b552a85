"""How many brands one worker carries, and what a second and third worker add.

Every source the starter offers without a paid key (Hacker News, RSS, Mastodon, Reddit's
subreddits, Bluesky) at its default ``every`` (5 minutes), each pointed at its loopback
stand-in (tests/standins, the contract test's cases), each answer delayed by ``--latency``
seconds as a real API's is. One poll cycle (every source polled once, through the
production pipeline and store) is timed for a few numbers of brands (3 keywords each);
workers are real processes sharing the sources through the leases in the database (each
with the scheduler's 4 polling threads). The cycle time grows about linearly with the
brands: fitted, the figure is the number of brands at which a cycle would take the sources'
interval, i.e. start to overrun it (with at least as many jobs as workers: give numbers of
brands over 100 per worker). Mastodon and Bluesky cost a request per brand or term:
their brands are cut into jobs of ``brands_per_job`` (50) brands (monitor/polljobs.py), which
the workers share as the scheduler does (a worker polls one job of a source at a time, up to
4 jobs of different sources at once); the other sources are one job each. A job is done by
one worker: the slowest job's poll time is printed too (it does not grow with the brands).

On SQLite there is one worker (one `run` per file); on PostgreSQL 1, 2 and 3. PostgreSQL
comes from ``MM_TEST_POSTGRES_URL`` or a throwaway cluster, as in the tests (tests/pg.py).

Run: ``.venv/bin/python benchmarks/workers.py [--brands 100,300] [--latency 0.2]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the loopback stand-ins in tests/

from connectors import load_connector  # noqa: E402
from monitor.config import BrandConfig, Config  # noqa: E402
from monitor.polljobs import PollJob, poll_jobs  # noqa: E402
from monitor.service import Service  # noqa: E402
from monitor.store import Store  # noqa: E402
from monitor.workers import Worker  # noqa: E402
from tests.connectors.cases import all_cases  # noqa: E402
from tests.standins.server import Request, Response, Route, StandIn  # noqa: E402

SOURCES = ["hackernews", "rss", "mastodon", "reddit", "bluesky"]
EXTRA: dict[str, dict[str, object]] = {"reddit": {"subreddits": ["coffee", "espresso"]}}
THREADS = 4  # the scheduler's polling threads in one worker


class Slow:
    """A stand-in route whose every answer takes ``latency`` seconds more."""

    def __init__(self, route: Route, latency: float) -> None:
        self.route, self.latency = route, latency

    def __call__(self, request: Request) -> Response:
        answer = self.route(request)
        answer.delay += self.latency
        return answer


def brands(n: int) -> list[BrandConfig]:
    out = [BrandConfig(name="Acme", keywords=["Acme", "@acme", "#acme"])]
    for i in range(1, n):
        name = f"Brand{i:04d}"
        out.append(BrandConfig(name=name, keywords=[name, f"@{name.lower()}", f"#{name.lower()}"]))
    return out


def config(database: str, urls: dict[str, str], n: int) -> Config:
    cases = all_cases()
    sources = {}
    for name in SOURCES:
        raw = {**cases[name].config(urls[name]), "timeout": "30s", **EXTRA.get(name, {})}
        sources[name] = load_connector(name).Config.model_validate(raw)
    return Config(path=None, database=database, brands=brands(n), sources=sources, channels=[])


def worker(database: str, urls: dict[str, str], n: int, ready: Any, go: Any, out: Any) -> None:
    """One worker process: poll each job whose lease for this cycle it gets, as the
    scheduler does: THREADS at a time, one job of a source at a time."""
    service = Service(config(database, urls, n))
    me = Worker(service.store)
    pending = poll_jobs(service.config, service.connectors)
    busy: set[str] = set()
    lock = threading.Lock()
    ready.put(os.getpid())
    go.wait()

    def take() -> PollJob | None:
        with lock:
            for job in pending:
                if job.source not in busy:
                    pending.remove(job)
                    busy.add(job.source)
                    return job
        return None

    def polling() -> list[tuple[str, float, float]]:
        done = []
        while pending:
            job = take()
            if job is None:
                time.sleep(0.01)  # every job left is of a source this worker polls now
                continue
            try:
                lease = me.claim(f"bench:{job.id}", timedelta(days=1), datetime.now(UTC))
                if lease.held:
                    started = time.time()
                    service.pipeline.poll_source(job.source, job)
                    done.append((job.id, started, time.time()))
            finally:
                with lock:
                    busy.discard(job.source)
        return done

    with ThreadPoolExecutor(THREADS) as pool:
        done = [r for rs in pool.map(lambda _: polling(), range(THREADS)) for r in rs]
    service.close()
    out.put(done)


def cycle(
    database: str, urls: dict[str, str], n: int, workers: int
) -> tuple[float, dict[str, float]]:
    """One poll cycle of ``workers`` processes: its wall time and each source's poll time."""
    Store(database).close()  # migrated once, before the workers start
    ctx = mp.get_context("fork")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=worker, args=(database, urls, n, ready, go, out)) for _ in range(workers)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    start = time.time()
    go.set()
    polls: dict[str, float] = {}
    end = start
    for _ in procs:
        for name, began, ended in out.get(timeout=1800):
            polls[name] = ended - began
            end = max(end, ended)
    for p in procs:
        p.join(timeout=60)
    return end - start, polls


def fit(points: list[tuple[int, float]], interval: float) -> float:
    """Brands at which the fitted line a + b*n reaches ``interval``."""
    (n1, t1), (n2, t2) = points[0], points[-1]
    slope = (t2 - t1) / (n2 - n1) if n2 != n1 else t2 / n2
    if slope <= 0:
        return float("inf")
    return n1 + (interval - t1) / slope


def pg_database() -> tuple[Any, Any]:
    """(server, cluster or None): PostgreSQL from the environment or a throwaway cluster."""
    from tests.pg import ENV, Cluster, PgServer, find_binaries

    given = os.environ.get(ENV)
    if given:
        return PgServer(given), None
    binaries = find_binaries()
    if binaries is None:
        return None, None
    cluster = Cluster(binaries)
    return PgServer(cluster.start()), cluster


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brands", default="100,300", help="numbers of brands to time")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per API answer")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    counts = [int(x) for x in args.brands.split(",")]
    cases = all_cases()
    interval = min(
        load_connector(s).Config.model_validate(cases[s].config("http://x")).every.total_seconds()
        for s in SOURCES
    )
    print(
        f"Sources: {', '.join(SOURCES)}, every {interval / 60:.0f} min; stand-ins answering "
        f"in {args.latency:.2f} s; {THREADS} polling threads a worker; 3 keywords a brand."
    )
    print(f"{'database':<11}{'workers':>8}{'brands':>8}{'cycle s':>9}  slowest job (s)")
    summary: list[tuple[str, int, float, float]] = []
    server = cluster = None
    try:
        for db in args.databases.split(","):
            if db == "postgresql":
                server, cluster = pg_database()
                if server is None:
                    print("postgresql: no server (set MM_TEST_POSTGRES_URL or install it)")
                    continue
            for workers in [1] if db == "sqlite" else [1, 2, 3]:
                points: list[tuple[int, float]] = []
                slowest: list[tuple[int, float]] = []
                for n in counts:
                    apis = {s: StandIn(Slow(cases[s].make_api(), args.latency)) for s in SOURCES}
                    with tempfile.TemporaryDirectory() as tmp:
                        for api in apis.values():
                            api.__enter__()
                        try:
                            urls = {s: a.url for s, a in apis.items()}
                            url = (
                                f"sqlite:///{Path(tmp) / 'bench.db'}"
                                if db == "sqlite"
                                else server.create(migrated=True)
                            )
                            took, polls = cycle(url, urls, n, workers)
                            if db != "sqlite":
                                server.drop(url)
                        finally:
                            for api in apis.values():
                                api.__exit__()
                    name, worst = max(polls.items(), key=lambda kv: kv[1])
                    points.append((n, took))
                    slowest.append((n, worst))
                    print(f"{db:<11}{workers:>8}{n:>8}{took:>9.1f}  {name} {worst:.1f}")
                summary.append((db, workers, fit(points, interval), slowest[-1][1]))
    finally:
        if server is not None:
            server.cleanup()
        if cluster is not None:
            cluster.stop()
    print(f"Brands carried before a cycle overruns {interval / 60:.0f} min (fitted):")
    base = {db: carried for db, w, carried, _ in summary if w == 1}
    for db, workers, carried, slowest_job in summary:
        ratio = f", x{carried / base[db]:.2f} of one worker" if db in base and workers > 1 else ""
        print(
            f"  {db:<11} {workers} worker{'s' if workers > 1 else ' '}: {carried:>7,.0f} brands"
            f"{ratio} (its slowest job took {slowest_job:.1f} s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
