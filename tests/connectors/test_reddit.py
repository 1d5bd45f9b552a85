from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from connectors.reddit import (
    MAX_QUERY,
    RedditConfig,
    RedditConnector,
    _Pacer,
    search_queries,
)
from monitor.errors import AuthError, ParseError, RateLimited
from tests.standins.reddit import RedditAPI, comment, submission
from tests.standins.server import Response, StandIn

UA = "python:mention-monitor-tests:v0 (by /u/nobody)"
SECRET = "test-client-secret"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every connection (PRAW's requests, httpx) must stay on loopback; checked after each test,
    because prawcore turns any error inside a request into one of its own."""
    connect = socket.socket.connect
    escaped: list[object] = []

    def guarded(sock: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            escaped.append(address)
            raise OSError(f"a request tried to leave loopback: {address!r}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield
    assert escaped == []


@pytest.fixture
def api() -> RedditAPI:
    return RedditAPI(client_secret=SECRET)


@pytest.fixture
def server(api: RedditAPI) -> Iterator[StandIn]:
    with StandIn(api) as s:
        yield s


def connector(
    server: StandIn, client: httpx.Client, *, credentials: bool = True, **extra: Any
) -> RedditConnector:
    keys: dict[str, Any] = {"base_url": server.url, "www_url": server.url, "user_agent": UA}
    if credentials:
        keys |= {"client_id": "test-client-id", "client_secret": SECRET}
    return RedditConnector(RedditConfig.model_validate(keys | extra), client)


def paths(server: StandIn) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.requests]


# ------------------------------------------------------------------ queries and config


def test_search_queries_or_join_keywords_in_reddits_syntax() -> None:
    assert search_queries(["Acme Coffee", "@acmecoffee", "#AcmeCoffee", "acme.co", "or"]) == [
        '"Acme Coffee" OR acmecoffee OR "acme.co" OR "or"'
    ]


def test_search_queries_split_above_512_characters_and_keep_every_term() -> None:
    keywords = [f"brandname{i:03d}" for i in range(120)]
    queries = search_queries(keywords)
    assert len(queries) > 1
    assert all(len(q) <= MAX_QUERY for q in queries)
    assert [t for q in queries for t in q.split(" OR ")] == keywords


def test_config_needs_both_credentials_or_subreddits() -> None:
    with pytest.raises(ValidationError, match="client_secret is missing"):
        RedditConfig.model_validate({"client_id": "x", "subreddits": ["coffee"]})
    with pytest.raises(ValidationError, match="RSS feeds of `subreddits`"):
        RedditConfig.model_validate({})
    with pytest.raises(ValidationError, match="not a subreddit name"):
        RedditConfig.model_validate({"subreddits": ["coffee shops"]})
    config = RedditConfig.model_validate({"subreddits": ["r/Coffee", "/r/coffee/", "espresso"]})
    assert config.subreddits == ["Coffee", "espresso"]
    secret = RedditConfig.model_validate({"client_id": "id-123", "client_secret": SECRET})
    assert SECRET not in repr(secret) and SECRET not in str(secret.model_dump())


# ------------------------------------------------------------------ full mode


def test_fetch_normalises_posts_and_comments(
    api: RedditAPI, server: StandIn, client: httpx.Client
) -> None:
    now = int(time.time())
    post = submission(
        "p1",
        "Acme Coffee raised prices again",
        selftext="Why & how?",
        subreddit="Coffee",
        created=now - 60,
        score=42,
        upvote_ratio=0.87,
        num_comments=7,
    )
    api.add(
        post,
        comment(
            "c1", "Acme Coffee's beans are stale", link=post, subreddit="Coffee", created=now - 30
        ),
        comment("c2", "unrelated chatter", subreddit="espresso", created=now - 20, author=None),
        comment("c3", "a sub we do not watch", subreddit="tea", created=now - 10),
    )
    conn = connector(server, client, subreddits=["Coffee", "espresso"])
    mentions, cursor = conn.fetch(["Acme Coffee", "#acmecoffee"], None)
    by_id = {m.external_id: m for m in mentions}
    assert list(by_id) == ["t3_p1", "t1_c1", "t1_c2"]  # oldest first; matched locally later
    p, c = by_id["t3_p1"], by_id["t1_c1"]
    assert (p.title, p.text, p.author) == ("Acme Coffee raised prices again", "Why & how?", "alice")
    assert p.url == "https://www.reddit.com/r/Coffee/comments/p1/acme_coffee_raised_prices_again/"
    assert p.engagement == {"score": 42, "comments": 7, "upvote_ratio": 87}
    assert p.created_at.timestamp() == now - 60 and p.created_at.tzinfo is not None
    assert (c.title, c.text, c.engagement) == (None, "Acme Coffee's beans are stale", {"score": 1})
    assert c.url == p.url + "c1/"
    assert by_id["t1_c2"].author == "[deleted]"
    assert json.loads(json.dumps(p.raw))["author"] == "alice"
    assert p.raw["subreddit"] == "Coffee" and "comment_limit" not in p.raw
    assert cursor and set(json.loads(cursor)) == {"search", "comments"}

    token, search, comments = server.requests
    expected = base64.b64encode(f"test-client-id:{SECRET}".encode()).decode()
    assert token.method == "POST" and token.headers["authorization"] == f"Basic {expected}"
    assert search.path == "/r/all/search/"
    assert search.params["q"] == '"Acme Coffee" OR acmecoffee'
    assert (search.params["sort"], search.params["limit"]) == ("new", "100")
    assert search.headers["user-agent"].startswith(UA)
    assert comments.path == "/r/Coffee+espresso/comments/"


def test_one_search_and_one_comment_listing_per_cycle(
    api: RedditAPI, server: StandIn, client: httpx.Client
) -> None:
    conn = connector(server, client, subreddits=["a1", "b2", "c3"])
    keywords = [f"brand{i}" for i in range(30)]
    _, cursor = conn.fetch(keywords, None)
    api.add(submission("n1", "brand7 is great"))
    conn.fetch(keywords, cursor)
    assert paths(server) == [
        "POST /api/v1/access_token",  # one token, kept for a day
        "GET /r/all/search/",
        "GET /r/a1+b2+c3/comments/",
        "GET /r/all/search/",
        "GET /r/a1+b2+c3/comments/",
    ]


def test_no_duplicates_across_polls_and_none_skipped_across_a_restart(
    api: RedditAPI, server: StandIn, client: httpx.Client
) -> None:
    now = int(time.time())
    api.add(
        submission("a", "acme one", created=now - 100),
        submission("b", "acme two", created=now - 50),
    )
    conn = connector(server, client, subreddits=["smallbusiness"])
    first, cursor = conn.fetch(["acme"], None)
    assert [m.external_id for m in first] == ["t3_a", "t3_b"]
    again, cursor = conn.fetch(["acme"], cursor)
    assert again == []

    # Posted in the same second as the newest seen, older than the overlap, and new.
    api.add(
        submission("c", "acme three", created=now - 50),
        submission("d", "acme four", created=now - 1000),
        submission("e", "acme five", created=now - 10),
        comment("k", "acme in a comment", created=now - 5),
    )
    restarted = connector(server, client, subreddits=["smallbusiness"])
    later, cursor2 = restarted.fetch(["acme"], cursor)
    assert [m.external_id for m in later] == ["t3_c", "t3_e", "t1_k"]
    assert connector(server, client, subreddits=["smallbusiness"]).fetch(["acme"], cursor2)[0] == []


def test_overlap_reaches_back_for_posts_the_search_indexed_late(
    api: RedditAPI, server: StandIn, client: httpx.Client
) -> None:
    now = int(time.time())
    api.add(submission("a", "acme", created=now - 10))
    conn = connector(server, client, overlap="2m")
    _, cursor = conn.fetch(["acme"], None)
    api.add(submission("late", "acme late", created=now - 100))
    api.add(submission("old", "acme too old", created=now - 200))
    mentions, _ = conn.fetch(["acme"], cursor)
    assert [m.external_id for m in mentions] == ["t3_late"]


def test_pages_with_after_until_the_cursor(
    api: RedditAPI, server: StandIn, client: httpx.Client
) -> None:
    now = int(time.time())
    api.add(
        *(submission(f"s{i:03d}", f"acme {i}", created=now - 2000 - 10 * i) for i in range(150))
    )
    conn = connector(server, client, max_items=500)
    mentions, cursor = conn.fetch(["acme"], None)
    assert len(mentions) == 150
    searches = [r for r in server.requests if r.path == "/r/all/search/"]
    assert [r.params.get("after") for r in searches] == [None, "t3_s099"]

    api.add(submission("new", "acme new", created=now))
    mentions, _ = conn.fetch(["acme"], cursor)
    assert [m.external_id for m in mentions] == ["t3_new"]
    assert len([r for r in server.requests if r.path == "/r/all/search/"]) == 3  # one page


def test_max_items_keeps_the_newest_and_says_so(
    api: RedditAPI, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    now = int(time.time())
    api.add(*(submission(f"s{i}", f"acme {i}", created=now - i) for i in range(25)))
    mentions, _ = connector(server, client, max_items=10).fetch(["acme"], None)
    assert len(mentions) == 10 and max(m.external_id for m in mentions) == "t3_s9"
    assert "older ones may have been skipped" in caplog.text


def test_refresh_reads_engagement_in_batches_of_100(
    api: RedditAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(*(submission(f"r{i}", "acme", score=i, num_comments=2) for i in range(250)))
    api.add(comment("c1", "acme", score=5))
    ids = [f"t3_r{i}" for i in range(250)] + ["t1_c1", "t3_gone", "not-a-fullname"]
    found = connector(server, client).refresh(ids)
    assert found["t3_r7"] == {"score": 7, "comments": 2, "upvote_ratio": 100}
    assert found["t1_c1"] == {"score": 5}
    assert len(found) == 251
    batches = [r.params["id"].split(",") for r in server.requests if r.path == "/api/info/"]
    assert [len(b) for b in batches] == [100, 100, 52]


def test_a_refused_secret_is_an_auth_error_that_names_the_fix_not_the_secret(
    server: StandIn, client: httpx.Client
) -> None:
    wrong = "wrong-secret-9f8e7d"
    conn = connector(server, client, client_secret=wrong)
    with pytest.raises(AuthError) as info:
        conn.fetch(["acme"], None)
    text = f"{info.value} {info.value.hint} {info.value!r}"
    assert "REDDIT_CLIENT_ID" in text and "https://www.reddit.com/prefs/apps" in text
    assert wrong not in text and SECRET not in text
    assert paths(server) == ["POST /api/v1/access_token"]
    with pytest.raises(AuthError):
        conn.check(online=True)


def test_an_oauth_error_in_a_200_answer_is_an_auth_error(
    server: StandIn, client: httpx.Client
) -> None:
    server.fail_next(Response(200, {"error": "unauthorized_client"}))
    with pytest.raises(AuthError, match="unauthorized_client"):
        connector(server, client).fetch(["acme"], None)


def test_429_is_rate_limited_with_retry_after_or_the_window_reset(
    server: StandIn, client: httpx.Client
) -> None:
    conn = connector(server, client)
    _, cursor = conn.fetch(["acme"], None)
    server.fail_next(Response(429, {"message": "Too Many Requests"}, {"Retry-After": "30"}))
    with pytest.raises(RateLimited) as info:
        conn.fetch(["acme"], cursor)
    assert info.value.retry_after == pytest.approx(30)
    server.fail_next(Response(429, {"message": "Too Many Requests"}, {"x-ratelimit-reset": "42"}))
    with pytest.raises(RateLimited) as info:
        conn.fetch(["acme"], cursor)
    assert info.value.retry_after == pytest.approx(42)


def test_a_listing_in_the_wrong_shape_is_a_parse_error(
    server: StandIn, client: httpx.Client
) -> None:
    conn = connector(server, client)
    conn.fetch(["acme"], None)
    server.fail_next(Response(200, {"unexpected": True}))
    with pytest.raises(ParseError):
        conn.fetch(["acme"], None)


def test_check_offline_and_online_in_full_mode(server: StandIn, client: httpx.Client) -> None:
    conn = connector(server, client, subreddits=["Coffee"])
    assert conn.check()[0].startswith("full mode") and "r/Coffee" in conn.check()[0]
    assert server.requests == []
    assert "token granted" in conn.check(online=True)[-1]
    assert paths(server) == ["POST /api/v1/access_token"]


def test_pacer_waits_when_a_minute_is_full() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = _Pacer(3, clock=lambda: now[0], sleep=sleep)
    for step in (0.0, 1.0, 1.0, 1.0):
        now[0] += step
        pacer.wait()
    assert slept == [pytest.approx(57.0)]
    now[0] += 120
    pacer.wait()
    assert len(slept) == 1


# ------------------------------------------------------------------ reduced mode (RSS)


def test_reduced_mode_reads_the_subreddits_feeds(
    api: RedditAPI, server: StandIn, client: httpx.Client
) -> None:
    now = int(time.time())
    post = submission(
        "p1",
        "Acme & friends",
        selftext="Our <b>Acme</b> order is late",
        subreddit="Coffee",
        created=now - 60,
    )
    api.add(
        post, comment("c1", "Acme was rude to me", link=post, subreddit="Coffee", created=now - 30)
    )
    api.add(submission("p2", "elsewhere", subreddit="tea", created=now - 10))
    conn = connector(server, client, credentials=False, subreddits=["Coffee", "espresso"])
    mentions, cursor = conn.fetch(["Acme"], None)
    assert [m.external_id for m in mentions] == ["t3_p1", "t1_c1"]
    p, c = mentions
    assert (p.title, p.text, p.author) == (
        "Acme & friends",
        "Our <b>Acme</b> order is late",
        "alice",
    )
    assert p.url == "https://www.reddit.com/r/Coffee/comments/p1/acme_friends/"
    assert (c.title, c.text, c.author) == (None, "Acme was rude to me", "bob")
    assert p.engagement == {} and json.dumps(p.raw)
    assert p.created_at.timestamp() == now - 60
    assert paths(server) == [
        "GET /r/Coffee+espresso/new/.rss",
        "GET /r/Coffee+espresso/comments/.rss",
    ]
    assert all(r.headers["user-agent"] == UA for r in server.requests)
    assert set(json.loads(cursor or "{}")) == {"posts", "comments"}
    assert conn.refresh(["t3_p1"]) == {}


def test_reduced_mode_polls_politely_and_never_twice(
    api: RedditAPI, server: StandIn, client: httpx.Client
) -> None:
    now = int(time.time())
    api.add(submission("p1", "acme", subreddit="Coffee", created=now - 60))
    conn = connector(server, client, credentials=False, subreddits=["Coffee"], feed_interval="10m")
    clock = [1000.0]
    conn.clock = lambda: clock[0]
    first, cursor = conn.fetch(["acme"], None)
    assert len(first) == 1
    clock[0] += 60
    assert conn.fetch(["acme"], cursor) == ([], cursor)
    assert len(server.requests) == 2  # not due yet: no request at all
    api.add(submission("p2", "acme again", subreddit="Coffee", created=now - 60))
    clock[0] += 600
    second, _ = conn.fetch(["acme"], cursor)
    assert [m.external_id for m in second] == ["t3_p2"]


def test_reduced_mode_backs_off_on_429(server: StandIn, client: httpx.Client) -> None:
    conn = connector(server, client, credentials=False, subreddits=["Coffee"], feed_interval="10m")
    server.fail_next(Response(429, b"Too Many Requests", {"Retry-After": "90"}))
    with pytest.raises(RateLimited) as info:
        conn.fetch(["acme"], None)
    assert info.value.retry_after == pytest.approx(90)
    waits = []
    for _ in range(2):
        server.fail_next(Response(429, b"Too Many Requests", {"Content-Type": "text/plain"}))
        with pytest.raises(RateLimited) as info:
            conn.fetch(["acme"], None)
        waits.append(info.value.retry_after)
    assert waits == [pytest.approx(1200), pytest.approx(2400)]


def test_reduced_mode_says_so_and_how_to_apply(server: StandIn, client: httpx.Client) -> None:
    conn = connector(server, client, credentials=False, subreddits=["Coffee"])
    lines = conn.check()
    assert lines[0].startswith("reduced mode") and "r/Coffee" in lines[0]
    assert "approves each new API app by hand" in lines[1]
    assert "https://www.reddit.com/prefs/apps" in lines[1] and "REDDIT_CLIENT_ID" in lines[1]
    assert server.requests == []
    assert conn.check(online=True)[-1] == "the RSS feeds answer"


def test_reduced_mode_rejects_what_is_not_a_feed(server: StandIn, client: httpx.Client) -> None:
    server.fail_next(Response(200, {"kind": "Listing"}))
    conn = connector(server, client, credentials=False, subreddits=["Coffee"])
    with pytest.raises(ParseError):
        conn.fetch(["acme"], None)
