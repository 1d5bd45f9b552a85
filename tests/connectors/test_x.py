from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from connectors.base import MemoryState
from connectors.x import (
    MAX_QUERY,
    TWEEPY_HOST,
    XConfig,
    XConnector,
    _ToBaseURL,
    build_queries,
    search_terms,
)
from monitor.config import BrandConfig, Config
from monitor.errors import AuthError, BudgetExhausted, ConnectorError, RateLimited
from monitor.pipeline import ALL_BRANDS, Pipeline
from monitor.sentiment import VaderScorer
from monitor.store import Store
from tests.standins import x
from tests.standins.server import StandIn

SEARCH = "/2/tweets/search/recent"


@pytest.fixture
def api() -> x.XAPI:
    return x.XAPI(users=[x.user("1001", "alice", followers=321)])


@pytest.fixture
def server(api: x.XAPI) -> Iterator[StandIn]:
    with StandIn(api) as s:
        yield s


def connector(
    server: StandIn,
    client: httpx.Client,
    state: MemoryState | None = None,
    **extra: object,
) -> XConnector:
    settings: dict[str, object] = {"base_url": server.url, "bearer_token": x.TOKEN, **extra}
    return XConnector(XConfig.model_validate(settings), client, state)


def searches(server: StandIn) -> list[dict[str, str]]:
    return [r.params for r in server.requests if r.path == SEARCH]


# ------------------------------------------------------------ queries


def test_search_terms_quote_phrases_and_keep_handles_and_tags() -> None:
    assert search_terms(
        ["Acme Coffee", "@acmecoffee", "#AcmeCoffee", "acme", "ACME", 'Say "hi"', "acme.com", "OR"]
    ) == ['"Acme Coffee"', "@acmecoffee", "#AcmeCoffee", "acme", '"Say hi"', '"acme.com"', '"OR"']


def test_queries_are_or_joined_without_retweets_and_with_lang() -> None:
    assert build_queries(["Acme Coffee", "@acmecoffee"]) == [
        '("Acme Coffee" OR @acmecoffee) -is:retweet'
    ]
    assert build_queries(["acme"], lang="de") == ["acme -is:retweet lang:de"]


def test_long_keyword_lists_split_under_the_512_character_limit() -> None:
    keywords = [f"Acme Product Number {i:03d}" for i in range(60)]
    queries = build_queries(keywords, lang="en")
    assert len(queries) > 1
    assert all(len(q) <= MAX_QUERY for q in queries)
    assert all(q.endswith(" -is:retweet lang:en") for q in queries)
    terms = [t for q in queries for t in q.split(" -is:")[0].strip("()").split(" OR ")]
    assert terms == [f'"{k}"' for k in keywords]
    with pytest.raises(ConnectorError, match="too long"):
        build_queries(["word " * 120])


def test_one_request_per_split_query_and_a_match_in_the_last_one(
    api: x.XAPI, server: StandIn, client: httpx.Client
) -> None:
    keywords = [f"Acme Product Number {i:03d}" for i in range(60)]
    api.add(x.post("Acme Product Number 059 broke on day one"))
    mentions, _ = connector(server, client).fetch(keywords, None)
    asked = searches(server)
    assert len(asked) == len(build_queries(keywords)) > 1
    assert all(len(p["query"]) <= MAX_QUERY for p in asked)
    assert [m.text for m in mentions] == ["Acme Product Number 059 broke on day one"]


# ------------------------------------------------------------ fetch


def test_fetch_normalises_posts(api: x.XAPI, server: StandIn, client: httpx.Client) -> None:
    now = time.time()
    long_text = "Acme Coffee " + "is slow " * 50
    api.add(
        x.post(
            "Acme Coffee & cake <3", created=now - 120, likes=5, retweets=2, replies=1, quotes=3
        ),
        x.post(long_text[:280], note=long_text, created=now - 60, author="999"),
        x.post("RT Acme Coffee is great", retweet=True),
        x.post("Nothing to see"),
    )
    before = datetime.now(UTC)
    mentions, cursor = connector(server, client, lookback="2h").fetch(["Acme Coffee"], None)
    assert len(mentions) == 2
    first, second = mentions
    assert first.text == "Acme Coffee & cake <3"
    assert first.author == "alice" and first.author_followers == 321
    assert first.url == f"https://x.com/alice/status/{first.external_id}"
    assert first.engagement == {"likes": 5, "reposts": 2, "replies": 1, "quotes": 3}
    assert first.created_at.tzinfo is not None
    assert abs(first.created_at.timestamp() - (now - 120)) < 1
    assert first.raw["tweet"]["id"] == first.external_id
    assert second.text == long_text.strip()  # the whole long post, not its first 280 characters
    assert second.url == f"https://x.com/i/web/status/{second.external_id}"  # author not expanded
    assert json.loads(cursor or "{}") == {"since_id": second.external_id}
    request = server.requests[0]
    assert request.path == SEARCH
    assert request.headers["authorization"] == f"Bearer {x.TOKEN}"
    assert "mention-monitor" in request.headers["user-agent"]
    p = request.params
    assert p["query"] == '"Acme Coffee" -is:retweet'
    assert p["sort_order"] == "recency"
    assert p["expansions"] == "author_id"
    assert p["user.fields"] == "public_metrics"
    assert {"created_at", "author_id", "public_metrics", "note_tweet"} <= set(
        p["tweet.fields"].split(",")
    )
    assert "since_id" not in p
    start = datetime.fromisoformat(p["start_time"])
    assert abs((before - timedelta(hours=2) - start).total_seconds()) < 5


def test_pages_with_next_token(api: x.XAPI, server: StandIn, client: httpx.Client) -> None:
    now = time.time()
    api.add(*(x.post(f"acme post {i}", created=now - 100 + i) for i in range(25)))
    mentions, _ = connector(server, client, max_results=10).fetch(["acme"], None)
    assert len(mentions) == 25
    asked = searches(server)
    assert [p["max_results"] for p in asked] == ["10", "10", "10"]
    assert "next_token" not in asked[0]
    assert asked[1]["next_token"] and asked[2]["next_token"] != asked[1]["next_token"]
    assert all(p["query"] == asked[0]["query"] for p in asked)


def test_page_cap_keeps_the_newest_and_says_so(
    api: x.XAPI, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    now = time.time()
    api.add(*(x.post(f"acme post {i}", created=now - 100 + i) for i in range(25)))
    conn = connector(server, client, max_results=10, max_pages=2)
    mentions, _ = conn.fetch(["acme"], None)
    assert [m.text for m in mentions][-1] == "acme post 24"
    assert len(mentions) == 20
    assert "older ones were skipped" in caplog.text


def test_since_id_cursor_gives_no_duplicates_and_skips_nothing(
    api: x.XAPI, server: StandIn, client: httpx.Client
) -> None:
    now = time.time()
    api.add(x.post("acme one", created=now - 300), x.post("acme two", created=now - 200))
    conn = connector(server, client)
    first, cursor = conn.fetch(["acme"], None)
    assert [m.text for m in first] == ["acme one", "acme two"]
    api.add(x.post("acme three", created=now - 100))
    second, cursor2 = conn.fetch(["acme"], cursor)
    assert [m.text for m in second] == ["acme three"]
    p = searches(server)[-1]
    assert p["since_id"] == json.loads(cursor or "")["since_id"]
    assert "start_time" not in p  # X refuses since_id together with start_time
    third, cursor3 = conn.fetch(["acme"], cursor2)
    assert third == [] and cursor3 == cursor2


def test_a_cursor_older_than_seven_days_falls_back_to_start_time(
    api: x.XAPI, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    api.add(x.post("acme still here", created=time.time() - 6 * 86400))
    stale = json.dumps({"since_id": x.snowflake(time.time() - 9 * 86400)})
    mentions, cursor = connector(server, client).fetch(["acme"], stale)
    assert [m.text for m in mentions] == ["acme still here"]
    p = searches(server)[-1]
    assert "since_id" not in p and "start_time" in p
    assert "7-day search window" in caplog.text
    _, cursor = connector(server, client).fetch(["nobody"], stale)
    assert cursor is None  # nothing found: the next poll starts from `lookback`, not stale again


# ------------------------------------------------------------ budget


def test_budget_shrinks_the_page_and_is_persisted(
    api: x.XAPI, server: StandIn, client: httpx.Client
) -> None:
    now = time.time()
    api.add(*(x.post(f"acme post {i}", created=now - 100 + i) for i in range(50)))
    state = MemoryState()
    conn = connector(server, client, state, monthly_read_budget=35)
    mentions, cursor = conn.fetch(["acme"], None)
    assert len(mentions) == 35
    assert [p["max_results"] for p in searches(server)] == ["35"]
    assert cursor is None  # cut short by the budget: the cursor stays, nothing is skipped
    assert api.served == 35
    restarted = connector(server, client, state, monthly_read_budget=35)
    assert restarted.usage().used == 35
    asked = len(server.requests)
    with pytest.raises(BudgetExhausted) as info:
        restarted.fetch(["acme"], None)
    assert len(server.requests) == asked  # not one request more
    assert "monthly_read_budget" in str(info.value)


def test_budget_stops_between_pages_and_returns_what_it_read(
    api: x.XAPI, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    now = time.time()
    api.add(*(x.post(f"acme post {i}", created=now - 100 + i) for i in range(40)))
    conn = connector(server, client, max_results=10, monthly_read_budget=25)
    cursor = json.dumps({"since_id": x.snowflake(now - 3600)})
    mentions, new_cursor = conn.fetch(["acme"], cursor)
    assert len(mentions) == 20 and new_cursor == cursor
    assert [p["max_results"] for p in searches(server)] == ["10", "10"]
    assert conn.usage().used == 20 and "budget ran out" in caplog.text
    with pytest.raises(BudgetExhausted):
        conn.fetch(["acme"], cursor)


def test_the_budget_starts_again_each_month(
    api: x.XAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(x.post("acme news"))
    now = datetime.now(UTC)
    last_month_end = now.replace(day=1, hour=0, minute=0) - timedelta(minutes=1)
    state = MemoryState()
    state.set(f"reads:{last_month_end:%Y-%m}", "100")
    conn = connector(server, client, state, monthly_read_budget=100)
    conn.clock = lambda: last_month_end
    assert conn.usage().used == 100
    with pytest.raises(BudgetExhausted):
        conn.fetch(["acme"], None)
    conn.clock = lambda: datetime.now(UTC)  # the 1st of the month: a fresh budget
    assert conn.usage().used == 0 and conn.usage().period == f"{now:%Y-%m}"
    mentions, _ = conn.fetch(["acme"], None)
    assert len(mentions) == 1
    assert state.get(f"reads:{now:%Y-%m}") == "1"
    assert state.get(f"reads:{last_month_end:%Y-%m}") == "100"


def test_usage_reports_posts_read_and_cost(server: StandIn, client: httpx.Client) -> None:
    state = MemoryState()
    conn = connector(server, client, state, monthly_read_budget=10_000)
    state.set(f"reads:{datetime.now(UTC):%Y-%m}", "2000")
    usage = conn.usage()
    assert usage.period == f"{datetime.now(UTC):%Y-%m}"
    assert (usage.used, usage.limit, usage.unit) == (2000, 10_000, "posts read")
    assert usage.cost_usd == pytest.approx(10.0)
    assert usage.fraction == pytest.approx(0.2)
    assert conn.check()[-1] == f"posts read in {usage.period}: 2000 of 10000 (20%), about $10.00"


def test_budget_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="monthly_read_budget"):
        XConfig.model_validate({"bearer_token": "t", "monthly_read_budget": 0})
    with pytest.raises(ValueError, match="7 days"):
        XConfig.model_validate({"bearer_token": "t", "lookback": "8d"})


# ------------------------------------------------------------ refresh


def test_refresh_asks_100_ids_a_request_and_counts_the_reads(
    api: x.XAPI, server: StandIn, client: httpx.Client
) -> None:
    posts = [x.post(f"acme {i}", likes=i) for i in range(250)]
    api.add(*posts)
    conn = connector(server, client)
    ids = [p["id"] for p in posts] + [x.snowflake(time.time() - 5)]  # one deleted post
    engagement = conn.refresh(ids)
    lookups = [r.params["ids"].split(",") for r in server.requests if r.path == "/2/tweets"]
    assert [len(batch) for batch in lookups] == [100, 100, 51]
    assert server.requests[0].params["tweet.fields"] == "public_metrics"
    assert len(engagement) == 250
    assert engagement[posts[7]["id"]] == {"likes": 7, "reposts": 0, "replies": 0, "quotes": 0}
    assert conn.usage().used == 250 == api.served


def test_refresh_stops_at_the_budget(api: x.XAPI, server: StandIn, client: httpx.Client) -> None:
    posts = [x.post(f"acme {i}") for i in range(250)]
    api.add(*posts)
    conn = connector(server, client, monthly_read_budget=150)
    assert len(conn.refresh([p["id"] for p in posts])) == 150
    lookups = [r.params["ids"].split(",") for r in server.requests if r.path == "/2/tweets"]
    assert [len(batch) for batch in lookups] == [100, 50]
    with pytest.raises(BudgetExhausted):
        conn.refresh([posts[0]["id"]])


# ------------------------------------------------------------ credentials, limits, transport


def test_a_refused_token_is_an_auth_error_that_names_the_fix_and_hides_the_token(
    server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "AAAA-secret-bearer-token-value"
    conn = connector(server, client, bearer_token=secret)
    with pytest.raises(AuthError) as info:
        conn.fetch(["acme"], None)
    assert "X_BEARER_TOKEN" in str(info.value) and "401" in str(info.value)
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in repr(conn.config) and secret not in caplog.text
    with pytest.raises(AuthError):
        conn.check(online=True)


def test_an_empty_token_is_reported_without_a_request(
    server: StandIn, client: httpx.Client
) -> None:
    conn = connector(server, client, bearer_token="  ")
    for call in (lambda: conn.check(), lambda: conn.fetch(["acme"], None)):
        with pytest.raises(AuthError, match="X_BEARER_TOKEN"):
            call()
    assert server.requests == []


def test_check_online_reads_no_posts(api: x.XAPI, server: StandIn, client: httpx.Client) -> None:
    conn = connector(server, client)
    offline = conn.check()
    assert offline[0] == "bearer token set (X_BEARER_TOKEN)"
    assert server.requests == []
    online = conn.check(online=True)
    assert [r.path for r in server.requests] == ["/2/usage/tweets"]
    assert "X accepted the bearer token" in online[1]
    assert conn.usage().used == 0


def test_429_waits_until_x_rate_limit_reset(server: StandIn, client: httpx.Client) -> None:
    server.fail_next(x.too_many_requests(reset_in=300))
    with pytest.raises(RateLimited) as info:
        connector(server, client).fetch(["acme"], None)
    assert info.value.retry_after == pytest.approx(300, abs=5)


def test_a_bad_request_is_a_connector_error_with_x_s_reason(
    server: StandIn, client: httpx.Client
) -> None:
    server.fail_next(x.invalid("There were errors processing your request: bad operator"))
    with pytest.raises(ConnectorError) as info:
        connector(server, client).fetch(["acme"], None)
    assert type(info.value) is ConnectorError
    assert "HTTP 400" in str(info.value) and "bad operator" in str(info.value)


def test_the_adapter_sends_tweepy_s_requests_to_base_url() -> None:
    adapter = _ToBaseURL("https://api.x.com", 20, 1_000_000)
    url = f"{TWEEPY_HOST}/2/tweets?ids=1,2"
    assert adapter.rewrite(url) == "https://api.x.com/2/tweets?ids=1,2"
    assert _ToBaseURL(TWEEPY_HOST, 20, 1_000_000).rewrite(url) == url
    assert adapter.rewrite("https://api.twitter.community/x") == "https://api.twitter.community/x"
    assert adapter.timeout == (10.0, 20)


def test_requests_reach_the_stand_in_not_the_real_host(
    api: x.XAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(x.post("acme"))
    conn = connector(server, client)
    assert conn.fetch(["acme"], None)[0]
    assert conn.refresh([api.tweets[0]["id"]])
    assert [r.path for r in server.requests] == [SEARCH, "/2/tweets"]
    assert all(r.headers["host"] == server.url.removeprefix("http://") for r in server.requests)


# ------------------------------------------------------------ every brand in few queries


def test_brands_share_or_joined_queries_and_each_post_reaches_its_brand(
    api: x.XAPI, server: StandIn, client: httpx.Client, tmp_path: Path
) -> None:
    """X is searched once for every brand (queries of at most 512 characters); the matcher
    files each post under the brand it names."""
    brands = [
        BrandConfig(name=f"Shop {i}", keywords=[f"Shop {i}", f"@shop{i}", f"#shop{i}"])
        for i in range(30)
    ]
    api.add(
        x.post("Shop 3 lost my parcel, awful"),
        x.post("@shop27 thanks, the order came early"),
        x.post("Shop 3 and #shop12 both sold out"),
        x.post("Shop 99 is not watched"),
    )
    config = Config(
        path=None,
        database=f"sqlite:///{tmp_path / 'm.db'}",
        brands=brands,
        sources={"x": XConfig.model_validate({"base_url": server.url, "bearer_token": x.TOKEN})},
        channels=[],
    )
    store = Store(config.database)
    try:
        pipeline = Pipeline(
            config, store, VaderScorer(), {"x": connector(server, client)}, strict=True
        )
        assert pipeline.poll_source("x").new == 3
        filed = {row.text: row.brand for row in store.mentions()}
    finally:
        store.close()
    asked = searches(server)
    keywords = [k for b in brands for k in b.keywords]
    assert len(asked) == len(build_queries(keywords)) < len(brands) / 2
    assert all(len(p["query"]) <= MAX_QUERY for p in asked)
    assert filed == {
        "Shop 3 lost my parcel, awful": "Shop 3",
        "@shop27 thanks, the order came early": "Shop 27",
        "Shop 3 and #shop12 both sold out": "Shop 3",  # the first in config order
    }


def test_a_term_two_brands_share_is_asked_once() -> None:
    (query,) = build_queries(["Acme", "@acme", "ACME", "Acme Coffee"])
    assert query == '(Acme OR @acme OR "Acme Coffee") -is:retweet'


def test_an_upgrade_goes_on_from_the_brands_cursors_instead_of_looking_back(
    api: x.XAPI, server: StandIn, client: httpx.Client, tmp_path: Path
) -> None:
    """An older version kept a cursor per brand; the one search for every brand starts from
    the oldest of them (X bills each post read: a look back of `lookback` would cost)."""
    now = time.time()
    old, new = x.post("acme old", created=now - 300), x.post("roast new", created=now - 200)
    api.add(old, new, x.post("acme after", created=now - 100))
    brands = [
        BrandConfig(name="Acme", keywords=["acme"]),
        BrandConfig(name="Roast", keywords=["roast"]),
    ]
    conn = connector(server, client)
    config = Config(
        path=None,
        database=f"sqlite:///{tmp_path / 'x.db'}",
        brands=brands,
        sources={"x": conn.config},
        channels=[],
    )
    store = Store(config.database)
    for brand, post in (("Acme", old), ("Roast", new)):
        store.ingest("x", brand, [], json.dumps({"since_id": post["id"]}))
    report = Pipeline(config, store, VaderScorer(), {"x": conn}).poll_source("x")
    assert report.ok, report.error
    (p,) = searches(server)
    assert p["since_id"] == old["id"] and "start_time" not in p
    assert [m.text for m in store.mentions()] == ["acme after", "roast new"]
    assert store.get_cursor("x", ALL_BRANDS) is not None
    store.close()
