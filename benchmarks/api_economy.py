"""API economy: the HTTP requests one poll cycle makes per source, and per day.

Measured: a config of 5 brands x 10 keywords (phrases, @handles, #tags, words)
on every source, each pointed at its loopback stand-in API (tests/standins/,
the same ones the contract test uses). One real poll cycle per source through
the production pipeline; the stand-in counts the requests, split into search
requests (what the floor is about) and the rest (sign-in, token, comments
listing, hashtag timelines, feeds). Then the requests per day at the source's
default interval, against the API's documented free/basic limit.

Floor (issue 4): one cycle makes at most one search request per brand per
source (two where a query must be split), plus pages actually needed. The
stand-ins hold one post, so no further page is needed here.

Grouping (issue 15): X is searched once for every brand, the brands' terms OR-joined
into as few 512-character queries as they fit in, so its floor is that number of
queries (Reddit likewise); Bluesky's searchPosts has no OR (bluesky-social/atproto#3751),
so it still costs one request per distinct term of every brand together, and that is
its floor. ``--brands 100`` measures an agency's config
(brands beyond the first five are generated in the same shape).

Run: ``.venv/bin/python benchmarks/api_economy.py [--brands N] [--only a,b]``.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the loopback stand-ins in tests/

from connectors import load_connector  # noqa: E402
from connectors.bluesky import search_terms as bluesky_terms  # noqa: E402
from connectors.reddit import search_queries as reddit_queries  # noqa: E402
from connectors.x import build_queries  # noqa: E402
from monitor.config import BrandConfig, Config  # noqa: E402
from monitor.http import make_client  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402
from monitor.sentiment import VaderScorer  # noqa: E402
from monitor.store import Store, StoreState  # noqa: E402
from tests.connectors.cases import all_cases  # noqa: E402
from tests.standins.server import Request, StandIn  # noqa: E402

BRANDS = 5


@dataclass
class Rule:
    is_search: Callable[[Request], bool]
    limit: str  # the documented free/basic limit
    per_day_limit: float | None  # the same, per day, for the comparison
    note: str = ""
    #: The fewest search requests the API allows for these brands, where it groups them.
    ceiling: Callable[[list[BrandConfig]], int] | None = None


RULES = {
    "hackernews": Rule(
        lambda r: r.path.endswith("/search_by_date"),
        "10,000 requests/hour per IP (hn.algolia.com/api)",
        240_000,
        "reads every new item once for all brands: Algolia has no OR",
    ),
    "x": Rule(
        lambda r: r.path.endswith("/tweets/search/recent"),
        "450 requests/15 min per app; pay-per-use, $0.005 a post read",
        43_200,
        "every brand in OR queries of at most 512 characters (one search for all brands)",
        lambda brands: len(build_queries(_keywords(brands))),
    ),
    "reddit": Rule(
        lambda r: r.path.removesuffix(".json").rstrip("/").endswith("/search"),
        "100 queries/min per OAuth client (Reddit Data API wiki)",
        144_000,
        "one OR query for every brand; comments of listed subreddits in one listing",
        lambda brands: len(reddit_queries(_keywords(brands))),
    ),
    "bluesky": Rule(
        lambda r: r.path.endswith("app.bsky.feed.searchPosts"),
        "3,000 requests/5 min per IP; createSession 30/5 min (docs.bsky.app rate limits)",
        864_000,
        "searchPosts has no OR (bluesky-social/atproto#3751): one request per distinct term "
        "of every brand together (a term brands share, or one that covers another, asked once)",
        lambda brands: len(bluesky_terms(_keywords(brands))),
    ),
    "mastodon": Rule(
        lambda r: r.path.endswith("/api/v2/search"),
        "300 requests/5 min per IP or token; 300 paging requests/15 min",
        28_800,
        "search (opt-in) has no OR; tags: one read per 4 tags once a tag is known on the "
        "server, each unused tag alone once an hour (this first cycle is the dearest)",
    ),
    "google_reviews": Rule(
        lambda r: r.path.endswith("/reviews"),
        "300 requests/min per project (0 until Google approves the project for the API)",
        432_000,
        "not searched: the newest-changed reviews of each place, one request per place (and "
        "per further 50 changes), plus an access token about once an hour",
    ),
    "trustpilot": Rule(
        lambda r: r.path.endswith("/reviews"),
        "833 requests/5 min and 10,000/hour per API key",
        240_000,
        "not searched: the newest page of each business unit, re-read to see edits and replies",
    ),
    "youtube": Rule(
        lambda r: r.path.endswith(("/commentThreads", "/search")),
        "10,000 quota units/day per project: 1 a comment page, 100 a search",
        10_000,
        "comments on the owner's channels; the video search (100 units) is opt-in, every 6h",
    ),
    "facebook": Rule(
        lambda r: False,
        "Page token: about 4,800 calls per engaged user of the Page a day (Meta's BUC limit)",
        None,
        "not searched: per Page, its newest posts with their comments, visitor posts, tags "
        "and recommendations (4 requests); backs off at 80% of Meta's usage headers",
    ),
    "instagram": Rule(
        lambda r: False,
        "the same Meta Page token's limits",
        None,
        "not searched: per account, its newest media with comments, and media tagging it "
        "(2 requests); @mentions only come by Meta's webhooks",
    ),
    "app_store": Rule(
        lambda r: False,
        "App Store Connect: 3,600 requests/hour per key (X-Rate-Limit); the feed: none published",
        86_400,
        "not searched: the newest 200 reviews of each own app (one request), one feed page "
        "per competitor's app and country",
    ),
    "google_play": Rule(
        lambda r: r.path.endswith("/reviews"),
        "200 reads/hour per app (Play Developer API reviews quota)",
        4_800,
        "not searched: the reviews of the last week, newest-changed first, one request per app "
        "(and per further 100 changes), plus a sign-in about once an hour",
    ),
    "rss": Rule(
        lambda r: False,
        "none published; conditional GET (304) when unchanged",
        None,
        "not searched: each feed is read once per poll for every brand",
    ),
}


def _keywords(brands: list[BrandConfig]) -> list[str]:
    return [k for b in brands for k in b.keywords]


#: Settings a source needs for the benchmark's shape (e.g. Reddit's subreddits).
EXTRA: dict[str, dict[str, object]] = {"reddit": {"subreddits": ["coffee", "espresso"]}}


def brands(count: int = BRANDS) -> list[BrandConfig]:
    names = ["Acme Coffee", "Roastery Lane", "Bolt Bikes", "Harbour Bakery", "Fern Florist"]
    names += [f"Shop{i:03d} Goods" for i in range(len(names), count)]
    out = []
    for name in names[:count]:
        joined = name.replace(" ", "").lower()
        first = name.split()[0]
        keywords = [
            name,
            f"@{joined}",
            f"#{joined}",
            f"{name} app",
            f"{name} delivery",
            f"{first} Lisbon",
            f"{first} Porto",
            f"{joined}.com",
            f"#{first.lower()}fans",
            f"{name} refund",
        ]
        out.append(BrandConfig(name=name, keywords=keywords))
    return out


def main() -> int:
    count = BRANDS
    if "--brands" in sys.argv:
        count = int(sys.argv[sys.argv.index("--brands") + 1])
    only = set(sys.argv[sys.argv.index("--only") + 1].split(",")) if "--only" in sys.argv else None
    configured = brands(count)
    print(f"{len(configured)} brands x {len(configured[0].keywords)} keywords, one poll cycle:")
    print(
        f"  {'source':<15}{'search':>7}{'other':>7}{'floor':>7}  {'per day':>9}  documented limit"
    )
    failures = 0
    for name, case in sorted(all_cases().items()):
        if only is not None and name not in only:
            continue
        rule = RULES[name]
        cls = load_connector(name)
        with tempfile.TemporaryDirectory() as tmp, StandIn(case.make_api()) as server:
            raw = {**case.config(server.url), "timeout": "10s", **EXTRA.get(name, {})}
            source = cls.Config.model_validate(raw)
            config = Config(
                path=None,
                database=f"sqlite:///{Path(tmp) / 'e.db'}",
                brands=configured,
                sources={name: source},
                channels=[],
            )
            store = Store(config.database)
            with make_client() as http:
                connector = cls(source, http, StoreState(store, name))
                pipeline = Pipeline(config, store, VaderScorer(), {name: connector})
                report = pipeline.poll_source(name)
                if "--paths" in sys.argv:
                    print(name, [r.path for r in server.requests])
                connector.close()
            store.close()
            requests = list(server.requests)
        searches = sum(1 for r in requests if rule.is_search(r))
        other = len(requests) - searches
        ceiling = 2 * (len(configured) if cls.per_brand else 1)
        if rule.ceiling is not None:
            ceiling = rule.ceiling(configured)
        ok = searches <= ceiling
        failures += not ok
        per_day = len(requests) * 86400 / source.every.total_seconds()
        share = f" ({per_day / rule.per_day_limit:.1%} of it)" if rule.per_day_limit else ""
        verdict = "PASS" if ok else "FAIL"
        print(
            f"  {name:<15}{searches:>7}{other:>7}{verdict:>7}  {per_day:>9,.0f}  "
            f"{rule.limit}{share}"
        )
        if report.error:
            print(f"    poll error: {report.error}")
        if rule.note:
            print(f"    {rule.note}")
    print(
        f"floor (<= 1 search request per brand per source, 2 if split; X and Reddit: the "
        f"512-character queries every brand's terms need; Bluesky: its distinct terms): "
        f"{failures} over"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
