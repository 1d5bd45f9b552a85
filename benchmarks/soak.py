"""Does ``mention-monitor run`` level off? Resident memory of the real service over a soak.

Measured: the service is started as in production (``.venv/bin/mention-monitor run -c
config.yaml``) with 10 brands watched on 5 sources (Hacker News, Reddit, Bluesky,
Mastodon, RSS), each a loopback stand-in from tests/standins speaking its API's format,
and alerts to the console and a Slack stand-in. Intervals are fast so that minutes stand
in for a day: every source polls every 3 s (60-100x its default), the dispatcher runs
every 5 s. While it runs, each stand-in gets 2 new posts per source every 3 s naming
random brands, a third of them complaints (about 200 mentions a minute, scored, stored,
alerted, tracked). The stand-ins keep only their newest posts, as a real API pages.

VmRSS is read from /proc/<pid>/status every ``--sample`` seconds.

Printed: the RSS curve (one line a minute), then the growth after ``--warmup`` minutes as
a least-squares slope (MB/min) and as the difference between the mean of the first and
the last minute after warm-up, and the mentions stored. Flat means a slope under
``--flat`` MB/min (0.1: 6 MB an hour at 60x speed, i.e. 0.1 MB an hour of real time).

Diagnostics (the service then runs inside this script's child process, not as
``mention-monitor run``): ``--trace`` runs it under tracemalloc and prints the allocation
sites that grew most between the end of warm-up and the end; ``--native`` prints, every
30 s, what tracemalloc cannot see: SQLite's own heap (sqlite3_memory_used) and glibc's
malloc (mallinfo2); ``--trim`` also calls malloc_trim(0) then, to tell memory that glibc
keeps freed from memory in use.

Defaults: 24 minutes (a day at 60x), the first 14 of them warm-up. Measured here (before
the inbox was served by ``run``): RSS 110 MB after a minute, 117.5 MB at the end of
warm-up, 118.2 MB at the end (4,020 mentions stored); +0.09 MB/min after warm-up: PASS.
Before SQLite's per-connection page cache was capped (monitor/store/base.py), one run grew
0.09 and the next 0.51 MB/min after warm-up, reaching about 125 MB.

Run: ``.venv/bin/python benchmarks/soak.py [--minutes 24] [--warmup 14] [--trace]``.
Linux only (/proc).
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memory import child_env  # noqa: E402  (benchmarks/memory.py, beside this script)

from tests.connectors.cases.mastodon import TOKEN as MASTODON_TOKEN  # noqa: E402
from tests.standins import bluesky, hackernews, mastodon, reddit, rss  # noqa: E402
from tests.standins.server import StandIn  # noqa: E402
from tests.standins.slack import SlackWebhook  # noqa: E402

EXECUTABLE = ROOT / ".venv" / "bin" / "mention-monitor"
BRANDS = [
    "Acme",
    "Bellweather",
    "Corvina",
    "Dunmore",
    "Elstree",
    "Farrowby",
    "Gantrix",
    "Halvard",
    "Inglenook",
    "Juniperly",
]
COMPLAINTS = [
    "{b} charged me twice and support never answered, awful",
    "{b} delivery was late again and the box was crushed. Terrible.",
]
PRAISE = [
    "Lovely morning at {b}, the staff were great",
    "Does anyone know if {b} opens on Sundays?",
]
KEEP = 200  # posts each stand-in keeps, newest first
FEED = "/feeds/reviews.xml"


def text(rng: random.Random) -> str:
    brand = rng.choice(BRANDS)
    return rng.choice(COMPLAINTS if rng.random() < 0.33 else PRAISE).format(b=brand)


class World:
    """The five source stand-ins and the Slack stand-in, fed with new posts."""

    def __init__(self) -> None:
        self.rng = random.Random(7)
        self.ids = count(1000)
        self.hn = hackernews.HackerNewsAPI()
        self.reddit = reddit.RedditAPI()
        self.bluesky = bluesky.BlueskyAPI()
        self.mastodon = mastodon.MastodonAPI(tokens={MASTODON_TOKEN})
        self.rss = rss.FeedSite()
        self.rss.add_feed(FEED)
        self.slack = SlackWebhook()
        self.servers = {
            "hackernews": StandIn(self.hn),
            "reddit": StandIn(self.reddit),
            "bluesky": bluesky.BlueskyStandIn(self.bluesky),
            "mastodon": StandIn(self.mastodon),
            "rss": StandIn(self.rss),
            "slack": StandIn(self.slack),
        }
        self._stop = threading.Event()
        self._feeder = threading.Thread(target=self._feed_forever, daemon=True)
        self.fed = 0

    def __enter__(self) -> World:
        for server in self.servers.values():
            server.__enter__()
        self.feed()
        self._feeder.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._feeder.join()
        for server in self.servers.values():
            server.__exit__(None, None, None)

    def url(self, name: str) -> str:
        return self.servers[name].url

    def feed(self) -> None:
        now = time.time()
        for _ in range(2):
            n = next(self.ids)
            self.hn.add(hackernews.story(n, text(self.rng), created=int(now) - 5))
            self.reddit.add(reddit.submission(f"s{n:x}", text(self.rng), created=now - 5))
            self.bluesky.add(bluesky.post(f"3k{n}", text(self.rng), created=now - 5))
            words = text(self.rng)
            tag = next(b.lower() for b in BRANDS if b in words)
            self.mastodon.add(mastodon.status(words, tags=(tag,), created=now - 5))
            self.rss.add(
                FEED,
                rss.Entry(
                    f"review-{n}",
                    text(self.rng),
                    f"https://reviews.example/r/{n}",
                    published=datetime.fromtimestamp(now - 5, UTC),
                ),
            )
            self.fed += 5
        for items in (
            self.hn.items,
            self.reddit.things,
            self.bluesky.posts,
            self.mastodon.statuses,
            self.rss.feeds[FEED].entries,
        ):
            del items[:-KEEP]
        for server in self.servers.values():
            with server._lock:
                server.requests.clear()

    def _feed_forever(self) -> None:
        while not self._stop.wait(3.0):
            self.feed()


def write_config(path: Path, world: World) -> None:
    brands = "\n".join(f"  - name: {b}\n    keywords: [{b}]" for b in BRANDS)
    path.write_text(
        f"""\
database: sqlite:///{path.parent / "mentions.db"}
brands:
{brands}
sources:
  hackernews:
    every: 3s
    base_url: {world.url("hackernews")}{hackernews.PREFIX}
  reddit:
    every: 3s
    base_url: {world.url("reddit")}
    www_url: {world.url("reddit")}
    client_id: test-client-id
    client_secret: test-client-secret
    user_agent: "python:mention-monitor-soak:v0 (by /u/nobody)"
  bluesky:
    every: 3s
    base_url: {world.url("bluesky")}
    handle: acme.bsky.social
    app_password: abcd-efgh-ijkl-mnop
  mastodon:
    every: 3s
    base_url: {world.url("mastodon")}
    access_token: {MASTODON_TOKEN}
  rss:
    every: 3s
    base_url: {world.url("rss")}
    feeds: ["{FEED}"]
alerts:
  dispatch_every: 5s
  channels:
    - type: slack
      webhook_url: {world.url("slack")}{world.slack.path}
""",
        encoding="utf-8",
    )


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("no VmRSS")


def stored(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM mentions").fetchone()[0])
    except sqlite3.Error:
        return -1


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (minutes, MB): MB per minute."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points) or 1.0
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def trace_child(config: str, out: str, at: str) -> None:
    """The service in this process under tracemalloc; a snapshot at each of ``at`` (s)."""
    if os.environ.get("SOAK_MODE") == "trace":
        tracemalloc.start(10)
    started = time.monotonic()

    def snapshots() -> None:
        for i, when in enumerate(float(t) for t in at.split(",")):
            time.sleep(max(0.0, started + when - time.monotonic()))
            if not tracemalloc.is_tracing():
                Path(f"{out}.{i}").touch()
                continue
            snap = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            with open(f"{out}.{i}.part", "wb") as f:
                pickle.dump(snap, f)
            os.replace(f"{out}.{i}.part", f"{out}.{i}")

    def native() -> None:
        """SQLite's own heap and glibc's arenas, which tracemalloc does not see."""
        import ctypes
        import ctypes.util

        class MallInfo2(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                "uordblks", "fordblks", "keepcost")]  # fmt: skip

        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallinfo2.restype = MallInfo2
        sqlite = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
        sqlite.sqlite3_memory_used.restype = ctypes.c_int64
        while True:
            time.sleep(30)
            if os.environ.get("SOAK_TRIM"):  # --trim
                before = rss_mb(os.getpid())
                libc.malloc_trim(0)
                print(f"NATIVE trim {before:.1f} -> {rss_mb(os.getpid()):.1f} MB", file=sys.stderr)
            info = libc.mallinfo2()
            print(
                f"NATIVE t={time.monotonic() - started:.0f}s "
                f"sqlite={sqlite.sqlite3_memory_used() / 1e6:.1f}MB "
                f"malloc_in_use={info.uordblks / 1e6:.1f}MB "
                f"free_in_heap={info.fordblks / 1e6:.1f}MB "
                f"mmapped={info.hblkhd / 1e6:.1f}MB threads={threading.active_count()}",
                file=sys.stderr,
                flush=True,
            )

    threading.Thread(target=snapshots, daemon=True).start()
    threading.Thread(target=native, daemon=True).start()
    from monitor.cli import main

    sys.argv = ["mention-monitor", "run", "-c", config]
    main()


def print_growth(out: Path) -> None:
    first = pickle.loads(Path(f"{out}.0").read_bytes())
    last = pickle.loads(Path(f"{out}.1").read_bytes())
    stats = last.compare_to(first, "traceback")
    total = sum(s.size_diff for s in stats) / 1e6
    print(f"\ntracemalloc: {total:+.2f} MB traced between warm-up and end; top growth:")
    for stat in stats[:12]:
        print(f"  {stat.size_diff / 1e3:+9.1f} kB {stat.count_diff:+7d} blocks")
        for line in stat.traceback.format()[-8:]:
            print(f"      {line}")


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="mention-monitor-soak-") as tmp, World() as world:
        workdir = Path(tmp)
        config = workdir / "config.yaml"
        write_config(config, world)
        trace_out = workdir / "trace"
        child = args.trace or args.native or args.trim
        if child:
            at = f"{args.warmup * 60},{args.minutes * 60}"
            command = [sys.executable, __file__, "--child-trace", str(config), str(trace_out), at]
        else:
            command = [str(EXECUTABLE), "run", "-c", str(config)]
        log = workdir / "service.log"
        samples: list[tuple[float, float]] = []
        env = child_env()
        env["SOAK_MODE"] = "trace" if args.trace else "native"
        if args.trim:
            env["SOAK_TRIM"] = "1"
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                command,
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            started = time.monotonic()
            try:
                print(f"service pid {proc.pid}; sampling RSS every {args.sample:g} s", flush=True)
                minute = 0
                while (elapsed := time.monotonic() - started) < args.minutes * 60:
                    if proc.poll() is not None:
                        print(f"the service exited early with code {proc.returncode}:")
                        print(log.read_text(encoding="utf-8", errors="replace")[-4000:])
                        return 1
                    samples.append((elapsed / 60, rss_mb(proc.pid)))
                    if elapsed / 60 >= minute:
                        print(
                            f"  {elapsed / 60:5.1f} min  RSS {samples[-1][1]:6.1f} MB  "
                            f"mentions stored {stored(workdir / 'mentions.db'):>7}  "
                            f"posts fed {world.fed}",
                            flush=True,
                        )
                        minute += 1
                    time.sleep(args.sample)
            finally:
                deadline = time.monotonic() + 120
                while child and not Path(f"{trace_out}.1").exists():
                    if proc.poll() is not None or time.monotonic() > deadline:
                        break
                    time.sleep(1)  # the last snapshot takes a while to write
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        errors = [
            line
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
            if "ERROR" in line or "Traceback" in line or "failed" in line
        ]
        example = f", e.g. {errors[:3]}" if errors else ""
        print(f"service log: {len(errors)} error lines{example}")
        after = [(m, mb) for m, mb in samples if m >= args.warmup]
        if len(after) < 4:
            print("too few samples after warm-up: run longer")
            return 1
        growth = slope(after)
        head = [mb for m, mb in after if m < args.warmup + 1]
        tail = [mb for m, mb in after if m >= args.minutes - 1]
        print(
            f"\nRSS at start {samples[0][1]:.1f} MB, at warm-up end {after[0][1]:.1f} MB, "
            f"at the end {samples[-1][1]:.1f} MB, peak {max(mb for _, mb in samples):.1f} MB"
        )
        print(
            f"growth after {args.warmup:g} min of warm-up: {growth:+.3f} MB/min (least squares), "
            f"{sum(tail) / len(tail) - sum(head) / len(head):+.1f} MB between the first and "
            f"last minute after it; {stored(workdir / 'mentions.db')} mentions stored"
        )
        if child:
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("NATIVE"):
                    print(f"  {line}")
        if args.trace:
            print_growth(trace_out)
        flat = growth < args.flat
        print(f"flat (< {args.flat:g} MB/min): {'PASS' if flat else 'FAIL'}")
        return 0 if flat else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child-trace"]:
        trace_child(*argv[1:4])
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=24.0)
    parser.add_argument("--warmup", type=float, default=14.0)
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--flat", type=float, default=0.1, help="MB/min that still counts flat")
    parser.add_argument("--trace", action="store_true", help="find what grows (tracemalloc)")
    parser.add_argument("--native", action="store_true", help="SQLite's and malloc's heaps")
    parser.add_argument("--trim", action="store_true", help="--native, and malloc_trim(0)")
    args = parser.parse_args(argv)
    if not EXECUTABLE.exists():
        print(f"{EXECUTABLE} not found: create the virtualenv first (make run)", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
