"""Spread tracking: what re-reading 1,000 negative posts costs, and how soon a growing one alerts.

Measured on loopback with the production code, per source that can re-read engagement (HN,
X, Reddit in full mode through PRAW, Bluesky, Mastodon), each against its stand-in API
(tests/standins/) through the real connector, on a virtual clock:

1. Cost. The stand-in holds 1,000 negative posts about the brand, posted in the minute
   before t=0; the real pipeline finds them at t=0 (one poll, its pages made large enough
   to take all 1,000), so all are tracked. 95% keep flat engagement (0-3); a seeded 5%
   grow by 10 to 1,000 over 1-6 h, from some time in the first 36 h. Then
   ``Tracker.run()`` at every minute of 48 h, as the service's follow-up job runs it.
   Each request the stand-in receives is put at the virtual minute of its run: printed
   are the requests per day, in the busiest 5 and 15 minutes and in the busiest window of
   the source's documented limit, against that limit. For X, which bills every post read
   against ``monthly_read_budget``, also the reads and what its budget guard postponed.
2. Latency. One negative post at t=0 with 0 engagement, found by the source's poll every
   ``every`` (5 min) in the worst phase (the poll before ran just before it was posted),
   grows linearly to 100 over 2 h, from t=0 or, the late case, after 6 h at 0. Each
   minute: the stand-in's counter is set, the source is polled if it is its turn, then
   ``Service.watch()`` and ``Service.dispatch()`` to the console channel, whose sends are
   noted in virtual minutes.

Floor: the first escalation alert within 15 minutes of the growth starting (early growth),
and refresh cost within each source's documented limits. The late case is reported as it
is: on X, whose schedule thins out to 6 h because every read is billed, it is not held.

Not counted: finding the posts (benchmarks/api_economy.py has polling), token and session
renewals (the run lasts seconds of real time), PRAW's own pacing by Reddit's headers (it
sleeps in real seconds, so it is turned off here; it changes no count).

Run: ``.venv/bin/python benchmarks/spread.py [--jobs N]`` (about 4.5 min with two processes).
"""

from __future__ import annotations

import argparse
import io
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the loopback stand-ins in tests/

from alerts.console import ConsoleChannel, ConsoleConfig  # noqa: E402
from connectors import load_connector  # noqa: E402
from connectors.base import Connector  # noqa: E402
from connectors.reddit import RedditConnector  # noqa: E402
from connectors.x import XConfig, XConnector  # noqa: E402
from monitor.config import BrandConfig, Config, SpreadConfig, format_duration  # noqa: E402
from monitor.http import make_client  # noqa: E402
from monitor.models import SPREADING, VIRAL, Alert  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402
from monitor.sentiment import make_scorer  # noqa: E402
from monitor.service import Service  # noqa: E402
from monitor.spread import Tracker, describe_schedule, schedule_for  # noqa: E402
from monitor.store import Store, StoreState  # noqa: E402
from tests.connectors.cases import all_cases  # noqa: E402
from tests.connectors.cases.mastodon import TOKEN as MASTODON_TOKEN  # noqa: E402
from tests.standins import bluesky, hackernews, mastodon, reddit, x  # noqa: E402
from tests.standins.server import StandIn  # noqa: E402

POSTS = 1000
HOURS = 48
GROWING = 0.05
FLOOR_MIN = 15
LATE = timedelta(hours=6)
WAIT_FOR = 12 * 60  # minutes after the growth starts
BRAND = BrandConfig(name="Acme Coffee", keywords=["Acme Coffee"])
TEXTS = [
    "Acme Coffee charged me twice and support never answered, awful",
    "Acme Coffee lost my order again and nobody replies. Terrible service",
    "Cold latte, rude staff at Acme Coffee today. Never again",
    "Acme Coffee app double charged my card, still no refund after a week",
]
MINUTE = timedelta(minutes=1)

Record = dict[str, Any]


@dataclass(frozen=True)
class Limit:
    text: str
    count: int
    window: timedelta


@dataclass(frozen=True)
class Source:
    """How the benchmark plays one source: its stand-in, its posts and its limit."""

    name: str
    make_api: Callable[[], Any]
    add: Callable[[Any, int, float, int], Record]  # api, n, posted (epoch), engagement
    set_engagement: Callable[[Record, int], None]
    counter: str  # the counter that grows, in the stand-in's own words
    limit: Limit
    seed: dict[str, Any] = field(default_factory=dict)  # page sizes for the 1,000-post poll
    serve: Callable[[Any], StandIn] = StandIn


def _hn_add(api: hackernews.HackerNewsAPI, n: int, posted: float, value: int) -> Record:
    item = hackernews.story(100_000 + n, TEXTS[n % 4], created=int(posted), points=value)
    api.add(item)
    return item


def _x_api() -> x.XAPI:
    return x.XAPI(users=[x.user("42", "grumpy_customer", followers=120)])


def _x_add(api: x.XAPI, n: int, posted: float, value: int) -> Record:
    tweet = x.post(TEXTS[n % 4], author="42", created=posted, likes=value)
    api.add(tweet)
    return tweet


def _x_set(tweet: Record, value: int) -> None:
    tweet["public_metrics"]["like_count"] = value


def _reddit_add(api: reddit.RedditAPI, n: int, posted: float, value: int) -> Record:
    thing = reddit.submission(f"acme{n}", TEXTS[n % 4], subreddit="coffee", created=posted)
    _reddit_set(thing, value)
    api.add(thing)
    return thing


def _reddit_set(thing: Record, value: int) -> None:
    thing["data"]["score"] = thing["data"]["ups"] = value


def _bluesky_add(api: bluesky.BlueskyAPI, n: int, posted: float, value: int) -> Record:
    view = bluesky.post(f"3kacme{n:06d}", TEXTS[n % 4], created=posted, likes=value)
    api.add(view)
    return view


def _mastodon_add(api: mastodon.MastodonAPI, n: int, posted: float, value: int) -> Record:
    status = mastodon.status(TEXTS[n % 4], tags=("acmecoffee",), created=posted, favourites=value)
    api.add(status)
    return status


def _setter(key: str) -> Callable[[Record, int], None]:
    def set_engagement(record: Record, value: int) -> None:
        record[key] = value

    return set_engagement


SOURCES = [
    Source(
        "hackernews",
        hackernews.HackerNewsAPI,
        _hn_add,
        _setter("points"),
        "points",
        Limit("Algolia: 10,000 requests/hour per IP", 10_000, timedelta(hours=1)),
    ),
    Source(
        "x",
        _x_api,
        _x_add,
        _x_set,
        "public_metrics.like_count",
        Limit("GET /2/tweets: 3,500 requests/15 min per app", 3_500, timedelta(minutes=15)),
        {"max_pages": 10},
    ),
    Source(
        "reddit",
        reddit.RedditAPI,
        _reddit_add,
        _reddit_set,
        "score",
        Limit("100 requests/min per OAuth client", 100, timedelta(minutes=1)),
        {"max_items": 1000},
    ),
    Source(
        "bluesky",
        bluesky.BlueskyAPI,
        _bluesky_add,
        _setter("likeCount"),
        "likeCount",
        Limit("3,000 requests/5 min per IP", 3_000, timedelta(minutes=5)),
        {"max_pages": 10},
        bluesky.BlueskyStandIn,
    ),
    Source(
        "mastodon",
        lambda: mastodon.MastodonAPI(tokens={MASTODON_TOKEN}),
        _mastodon_add,
        _setter("favourites_count"),
        "favourites_count",
        Limit("300 requests/5 min per account or IP", 300, timedelta(minutes=5)),
        {"max_pages": 25},
    ),
]


class Clock:
    """Virtual time in whole minutes from ``start``."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, minute: int) -> None:
        self.now = self.start + minute * MINUTE

    @property
    def minute(self) -> int:
        return int((self.now - self.start) / MINUTE)


class Recorder(ConsoleChannel):
    """The console channel into a StringIO, noting the virtual minute of each send."""

    def __init__(self, config: ConsoleConfig, clock: Clock) -> None:
        super().__init__(config, stream=io.StringIO())
        self.clock = clock
        self.sent: list[tuple[str, int]] = []

    def send(self, alert: Alert) -> None:
        super().send(alert)
        self.sent.append((alert.kind, self.clock.minute))


def start_of_run() -> datetime:
    """t=0: this minute, since connectors and stand-ins read the real clock when searching;
    three days earlier if the 48 h would cross into a new month (X counts reads per month)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now if (now + timedelta(hours=HOURS)).month == now.month else now - timedelta(days=3)


def make_config(spec: Source, url: str, db: Path, *, channels: list[Any]) -> Config:
    raw = {**all_cases()[spec.name].config(url), "timeout": "10s", **spec.seed}
    source = load_connector(spec.name).Config.model_validate(raw)
    return Config(
        path=None,
        database=f"sqlite:///{db}",
        brands=[BRAND],
        sources={spec.name: source},
        channels=channels,
    )


def make_connector(
    config: Config, name: str, http: httpx.Client, store: Store, clock: Clock
) -> tuple[Connector, list[float]]:
    """The real connector, on virtual time where it keeps time itself.

    Also returns the waits our Reddit pace (60 requests a minute) asked for: in virtual
    time they are recorded, not slept. PRAW also paces itself by Reddit's x-ratelimit
    headers in real seconds; that pacing is turned off here (it spreads requests within a
    minute and changes no count, and the stand-in's window runs in real time).
    """
    connector = load_connector(name)(config.sources[name], http, StoreState(store, name))
    waits: list[float] = []
    if isinstance(connector, XConnector):
        connector.clock = clock  # the month its reads are counted in
    if isinstance(connector, RedditConnector):
        connector._pacer.clock = lambda: clock().timestamp()
        connector._pacer.sleep = waits.append
        praw_reddit: Any = connector._reddit
        for core in {praw_reddit._core, praw_reddit._read_only_core}:
            core._rate_limiter.delay = lambda: None
    return connector, waits


@contextmanager
def stand_in(spec: Source) -> Iterator[tuple[Any, StandIn]]:
    api = spec.make_api()
    with spec.serve(api) as server:
        yield api, server


# ---------------------------------------------------------------- 1. cost


@dataclass(frozen=True)
class Growth:
    record: Record
    base: int
    gain: int
    start: int  # minute
    length: int  # minutes

    def at(self, minute: int) -> int:
        done = min(max(minute - self.start, 0), self.length) / self.length
        return self.base + int(self.gain * done)


@dataclass
class Cost:
    tracked: int = 0
    seed_requests: int = 0
    runs: list[float] = field(default_factory=list)  # real ms of each run that read
    readings: int = 0  # posts due
    read: int = 0  # posts whose engagement came back
    requests: list[tuple[int, str]] = field(default_factory=list)  # (minute, path)
    skipped: int = 0  # readings the budget guard postponed
    failed: Counter[str] = field(default_factory=Counter)  # other reasons not to read, runs
    guard_from: int | None = None  # the minute it first did
    growers: int = 0
    levels: Counter[int] = field(default_factory=Counter)
    usage_after_seed: int = 0
    usage_end: int = 0
    pacer_waits: list[float] = field(default_factory=list)


def workload(spec: Source, api: Any, start: datetime) -> list[Growth]:
    """1,000 posts in the minute before t=0 and the 5% of them that will grow."""
    rng = random.Random(f"spread-{POSTS}")
    growing = set(rng.sample(range(POSTS), int(POSTS * GROWING)))
    growth = []
    for n in range(POSTS):
        record = spec.add(api, n, start.timestamp() - 60 - n / 20, n % 4)
        if n in growing:
            gain = rng.choice([10, 20, 40, 60, 100, 150, 300, 1000])
            begin, length = rng.randrange(36 * 60), rng.randrange(60, 361)
            growth.append(Growth(record, n % 4, gain, begin, length))
    return growth


def cost(spec: Source, http: httpx.Client, tmp: Path) -> Cost:
    result = Cost()
    clock = Clock(start_of_run())
    with stand_in(spec) as (api, server):
        growth = workload(spec, api, clock.start)
        result.growers = len(growth)
        config = make_config(spec, server.url, tmp / f"cost-{spec.name}.db", channels=[])
        store = Store(config.database)
        connector, result.pacer_waits = make_connector(config, spec.name, http, store, clock)
        scorer = make_scorer(config.sentiment, config.brands)
        pipeline = Pipeline(config, store, scorer, {spec.name: connector}, clock=clock, strict=True)
        for _ in range(10):  # one poll finds them all; more only if a page cap stops it
            pipeline.poll_source(spec.name)
            result.tracked = sum(1 for m in store.mentions(limit=2 * POSTS) if m.next_refresh_at)
            if result.tracked >= POSTS:
                break
        result.seed_requests = len(server.requests)
        usage = connector.usage()
        result.usage_after_seed = usage.used if usage else 0
        tracker = Tracker(config, store, {spec.name: connector}, clock=clock)
        while clock.minute < HOURS * 60:
            for g in growth:
                spec.set_engagement(g.record, g.at(clock.minute))
            before = len(server.requests)
            began = time.perf_counter()
            report = tracker.run()
            if report.due:
                result.runs.append((time.perf_counter() - began) * 1000)
            result.requests += [(clock.minute, r.path) for r in server.requests[before:]]
            result.readings += report.due
            result.read += report.read
            if "used in" in report.skipped.get(spec.name, ""):  # the budget guard's words
                result.skipped += report.due
                if result.guard_from is None:
                    result.guard_from = clock.minute
            elif spec.name in report.skipped:
                result.failed[report.skipped[spec.name]] += 1
            clock.at(clock.minute + 1)
        result.levels = Counter(m.level for m in store.mentions(limit=2 * POSTS))
        usage = connector.usage()
        result.usage_end = usage.used if usage else 0
        connector.close()
        store.close()
    return result


def busiest(minutes: list[int], window: timedelta) -> int:
    """The most requests in any ``window`` (minutes sorted)."""
    span, best, low = int(window / MINUTE), 0, 0
    for high, minute in enumerate(minutes):
        while minutes[low] <= minute - span:
            low += 1
        best = max(best, high - low + 1)
    return best


def print_cost(spec: Source, c: Cost) -> bool:
    minutes = sorted(m for m, _ in c.requests)
    days = [sum(1 for m in minutes if m // 1440 == d) for d in range(HOURS // 24)]
    per_day_limit = spec.limit.count * (timedelta(days=1) / spec.limit.window)
    peak = busiest(minutes, spec.limit.window)
    ok = peak <= spec.limit.count and c.tracked == POSTS and not c.failed
    share = f"{peak} ({peak / spec.limit.count:.1%})"
    print(
        f"  {spec.name:<11}{c.tracked:>6,}{len(minutes):>9,}{days[0]:>7,}{days[1]:>7,}"
        f"{c.read / (HOURS / 24):>10,.0f}{busiest(minutes, timedelta(minutes=5)):>7}"
        f"{busiest(minutes, timedelta(minutes=15)):>8}{share:>15}"
        f"{max(days) / per_day_limit:>9.2%}  {'PASS' if ok else 'FAIL'}"
    )
    paths = ", ".join(f"{p} {n:,}" for p, n in Counter(p for _, p in c.requests).items())
    print(f"      limit: {spec.limit.text}; requests: {paths or 'none'}")
    runs = sorted(c.runs)
    print(
        f"      {len(runs)} tracker runs read ({runs[len(runs) // 2]:.0f} ms median, "
        f"{runs[-1]:.0f} ms max, real time); {c.readings:,} readings due, {c.read:,} posts "
        f"read; of {c.growers} growing posts {c.levels[1] + c.levels[2]} escalated "
        f"({c.levels[2]} viral)"
    )
    print(f"      finding the posts at t=0 took {c.seed_requests} requests (not counted above)")
    if c.tracked != POSTS:
        print(f"      only {c.tracked} of {POSTS} posts were tracked")
    for why, count in c.failed.items():
        print(f"      {count} runs did not read: {why}")
    if c.pacer_waits:
        print(
            f"      our Reddit pace (60 a minute) held back {len(c.pacer_waits)} requests, "
            f"{sum(c.pacer_waits):.0f} s in all"
        )
    if spec.name == "x":
        budget, price = XConfig.model_fields["monthly_read_budget"].default, 0.005
        guard = (
            f"from t+{c.guard_from // 60}h{c.guard_from % 60:02d} it postponed {c.skipped:,} "
            f"readings: reads had reached {SpreadConfig().budget_share:.0%} of the budget"
            if c.guard_from is not None
            else "it never had to postpone a reading"
        )
        print(
            f"      monthly_read_budget {budget:,} posts: the poll read {c.usage_after_seed:,}, "
            f"re-reading {c.read:,} more: {c.usage_end:,} in 48 h ({c.usage_end / budget:.0%}, "
            f"about ${c.usage_end * price:,.2f}); budget guard: {guard}"
        )
    return ok


# ---------------------------------------------------------------- 2. latency


@dataclass
class Latency:
    found: int | None = None  # minute of the poll that found the post
    first: tuple[str, int] | None = None  # the first escalation sent: kind, minutes after growth
    viral: int | None = None  # minutes after growth
    readings: int = 0


def latency(spec: Source, http: httpx.Client, tmp: Path, grow_at: timedelta) -> Latency:
    result = Latency()
    clock = Clock(start_of_run())
    growth_start = int(grow_at / MINUTE)
    with stand_in(spec) as (api, server):
        record = spec.add(api, 0, clock.start.timestamp(), 0)
        console = ConsoleConfig.model_validate({"type": "console"})
        db = tmp / f"latency-{spec.name}-{growth_start}.db"
        config = make_config(spec, server.url, db, channels=[console])
        store = Store(config.database)
        connector, _ = make_connector(config, spec.name, http, store, clock)
        channel = Recorder(console, clock)
        service = Service(
            config,
            store=store,
            http=http,
            clock=clock,
            channels={console.name: channel},
            connectors={spec.name: connector},
            strict=True,
        )
        every = int(config.sources[spec.name].every / MINUTE)
        for minute in range(growth_start + WAIT_FOR + 1):
            clock.at(minute)
            grown = min(max(minute - growth_start, 0), 120)
            spec.set_engagement(record, 100 * grown // 120)
            # Posted just after a poll: the next poll is a whole `every` later.
            if minute and minute % every == 0 and service.poll()[0].new and not result.found:
                result.found = minute
            result.readings += service.watch().track.read
            service.dispatch()
            for kind, at in channel.sent:
                if kind in (SPREADING, VIRAL) and result.first is None:
                    result.first = (kind, at - growth_start)
                if kind == VIRAL and result.viral is None:
                    result.viral = at - growth_start
            if result.viral is not None or (result.first and minute > growth_start + 150):
                break
        service.close()
    return result


def print_latency(spec: Source, early: Latency, late: Latency) -> bool:
    def show(r: Latency) -> str:
        first = "none" if r.first is None else f"{r.first[1]} ({r.first[0]})"
        return f"{first:>15}{'-' if r.viral is None else r.viral:>7}"

    ok = early.first is not None and early.first[1] <= FLOOR_MIN
    held = late.first is not None and late.first[1] <= FLOOR_MIN
    print(
        f"  {spec.name:<11}{early.found or '-':>6}{show(early)}  {'PASS' if ok else 'FAIL':<6}"
        f"{show(late)}  {'held' if held else 'not held'}"
    )
    return ok


# ---------------------------------------------------------------- the report


def job(kind: str, name: str) -> Any:
    """One source's cost, or its two latency runs, in a process of its own."""
    spec = next(s for s in SOURCES if s.name == name)
    with tempfile.TemporaryDirectory(prefix="mm-spread-") as tmp, make_client() as http:
        if kind == "cost":
            return cost(spec, http, Path(tmp))
        return tuple(latency(spec, http, Path(tmp), grow_at) for grow_at in (timedelta(0), LATE))


def assumptions() -> None:
    shared = SpreadConfig()
    print(
        f"virtual time: {HOURS} h from t=0 (this minute); the follow-up job ticks each minute; "
        f"track_for {format_duration(shared.track_for)}, a moving post goes back to the first "
        f"step; X is re-read only below {shared.budget_share:.0%} of its monthly read budget"
    )
    print("thresholds: engagement per hour since posting, since first seen or since the last")
    print("reading (spans under 15 min count as 15), with a minimum gain over that span:")
    config = Config(path=None, database="sqlite://", brands=[BRAND], sources={}, channels=[])
    with make_client() as http:
        for spec in SOURCES:
            source = load_connector(spec.name).Config.model_validate(
                all_cases()[spec.name].config("http://127.0.0.1:9")
            )
            connector = load_connector(spec.name)(source, http)
            rule = source.spread
            assert rule is not None
            reach = f", or {rule.followers:,} followers" if rule.followers else ""
            print(
                f"  {spec.name:<11}spreading {rule.spreading:g}/h, viral {rule.viral:g}/h, "
                f"gain >= {rule.min_gain}{reach}; readings after "
                f"{describe_schedule(schedule_for(config, connector))}; polled every "
                f"{format_duration(source.every)}; grown: {spec.counter}"
            )
            connector.close()
    print(
        f"cost workload: {POSTS:,} negative posts per source found by one poll at t=0; "
        f"{1 - GROWING:.0%} stay at 0-3, {GROWING:.0%} grow by 10-1,000 over 1-6 h from "
        "a time in the first 36 h (seeded)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="processes to run the sources in")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    began = time.perf_counter()
    names = [s.name for s in SOURCES]
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("fork")) as pool:
        costs = [pool.submit(job, "cost", n) for n in names]
        latencies = [pool.submit(job, "latency", n) for n in names]
        assumptions()
        print()
        print(f"1. Cost: re-reading {POSTS:,} tracked posts for {HOURS} h of virtual time")
        print(
            f"  {'source':<11}{'posts':>6}{'requests':>9}{'day 1':>7}{'day 2':>7}"
            f"{'read/day':>10}{'max 5m':>7}{'max 15m':>8}{'limit window':>15}"
            f"{'per day':>9}  verdict"
        )
        within = [print_cost(spec, f.result()) for spec, f in zip(SOURCES, costs, strict=True)]
        print(
            "  (limit window: requests in the busiest window as long as the limit's, and their "
            "share of it; per day: the busier day against the limit kept up all day)"
        )
        print()
        print(
            f"2. Latency: minutes from the start of growth (0 -> 100 in 2 h) to the escalation "
            f"alert; floor {FLOOR_MIN} min"
        )
        print(
            f"  {'source':<11}{'found':>6}{'first alert':>15}{'viral':>7}  {'floor':<6}"
            f"{'after 6 h at 0':>15}{'viral':>7}  floor"
        )
        fast = [
            print_latency(spec, *f.result()) for spec, f in zip(SOURCES, latencies, strict=True)
        ]
    print(
        "  (found: the minute of the poll that found the post, posted at t=0 just after a "
        f"poll; none: no escalation within {WAIT_FOR // 60} h of the growth starting)"
    )
    print()
    verdict = "PASS" if all(within) and all(fast) else "FAIL"
    print(
        f"floor: refresh cost within the limits on {sum(within)}/{len(within)} sources, early "
        f"growth alerted within {FLOOR_MIN} min on {sum(fast)}/{len(fast)}: {verdict}"
    )
    print(f"({time.perf_counter() - began:.0f} s with {args.jobs} processes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
