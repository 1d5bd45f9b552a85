from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx

from connectors.hackernews import HackerNewsConfig, HackerNewsConnector
from monitor.http import USER_AGENT
from tests.standins.hackernews import HackerNewsAPI, comment, story
from tests.standins.server import StandIn


def connector(url: str, client: httpx.Client, **extra: object) -> HackerNewsConnector:
    return HackerNewsConnector(HackerNewsConfig.model_validate({"base_url": url, **extra}), client)


def window(request: object) -> tuple[int, int]:
    filters = request.params["numericFilters"].split(",")  # type: ignore[attr-defined]
    return int(filters[0].split(">")[1]), int(filters[1].split("<=")[1])


def test_fetch_normalises_stories_and_comments(
    hn_api: HackerNewsAPI, hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    now = int(time.time())
    hn_api.add(
        story(
            101,
            "Acme Coffee raises prices again",
            text="<p>Why &amp; how?</p>",
            created=now - 60,
            points=42,
            comments=7,
            author="alice",
        ),
        comment(102, "I love <i>Acme Coffee</i>&#x27;s beans.<p>Second para", created=now - 30),
    )
    mentions, cursor = connector(hn_url, client).fetch(["Acme Coffee"], None)
    by_id = {m.external_id: m for m in mentions}
    assert set(by_id) == {"101", "102"}
    s, c = by_id["101"], by_id["102"]
    assert s.title == "Acme Coffee raises prices again"
    assert s.text == "Why & how?"
    assert s.engagement == {"score": 42, "comments": 7}
    assert s.url == "https://news.ycombinator.com/item?id=101"
    assert s.author == "alice"
    assert c.title is None  # a comment's story title is context, not its text
    assert c.text == "I love Acme Coffee's beans.\nSecond para"
    assert c.engagement == {}
    assert json.loads(cursor or "{}")["covered_until"] >= now
    request = hn_server.requests[0]
    assert "query" not in request.params  # everything new is read; matching is local
    assert request.params["tags"] == "(story,comment)"
    assert request.headers["user-agent"] == USER_AGENT


def test_one_request_per_poll_for_every_brand_and_keyword(
    hn_api: HackerNewsAPI, hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    now = int(time.time())
    hn_api.add(
        story(1, "Acme Coffee is cold", created=now - 5),
        comment(2, "loving #boltbikes", created=now - 4),
        comment(3, "nothing to see here", story_id=1, created=now - 3),
        story(4, "Show HN: something else", created=now - 2),
    )
    keywords = ["Acme Coffee", "@acmecoffee", "#acmecoffee", "Bolt Bikes", "@boltbikes"]
    mentions, _ = connector(hn_url, client).fetch(keywords, None)
    # "4" has no keyword's word. Comments all come back, naming their story, so that
    # negative replies in a tracked story's thread add to its heat; the pipeline
    # stores only those that name a brand.
    assert sorted(m.external_id for m in mentions) == ["1", "2", "3"]
    assert {m.external_id: m.reply_to for m in mentions} == {"1": None, "2": "1", "3": "1"}
    assert len(hn_server.requests) == 1


def test_cursor_reaches_back_by_overlap_and_first_poll_by_lookback(
    hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    conn = connector(hn_url, client, overlap="10m", lookback="2h")
    before = int(time.time())
    _, cursor = conn.fetch(["acme"], None)
    start, end = window(hn_server.requests[-1])
    assert before - 7200 - 2 <= start <= before - 7200 + 2 and end >= before
    covered = json.loads(cursor or "{}")["covered_until"]
    conn.fetch(["acme"], cursor)
    assert window(hn_server.requests[-1])[0] == covered - 600


def test_an_outage_is_caught_up_newest_first_across_polls_without_gaps(
    hn_api: HackerNewsAPI, hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    now = int(time.time())
    hn_api.add(*(comment(1000 + i, f"acme {i}", created=now - 3600 + i * 10) for i in range(300)))
    conn = connector(hn_url, client, hits_per_page=100, lookback="2h", max_requests=2)
    mentions, cursor = conn.fetch(["acme"], None)
    # The newest first (the second answer repeats the oldest second of the first, which
    # may hold more items than the answer had room for); the cursor keeps the rest.
    first = {int(m.external_id) for m in mentions}
    assert len(first) == 199 and min(first) == 1101
    assert conn.behind is not None and conn.behind > timedelta(hours=1)
    gap = json.loads(cursor or "{}")["gap"]
    more, cursor = conn.fetch(["acme"], cursor)
    assert conn.behind is None
    assert first | {int(m.external_id) for m in more} == set(range(1000, 1300))
    # The second poll asked only below what the first had read.
    assert all(window(r)[1] <= gap[0] for r in hn_server.requests[2:3])
    assert json.loads(cursor or "{}")["covered_until"] >= now
    assert len(hn_server.requests) <= 4


def test_refresh_reads_story_points_100_ids_a_request(
    hn_api: HackerNewsAPI, hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    hn_api.add(*(story(i, f"story {i}", points=i, comments=2 * i) for i in range(1, 251)))
    found = connector(hn_url, client).refresh([str(i) for i in range(1, 251)] + ["99999"])
    assert len(hn_server.requests) == 3
    assert found["7"] == {"score": 7, "comments": 14} and len(found) == 250
    assert hn_server.requests[0].path.endswith("/search")
    assert hn_server.requests[0].params["tags"].startswith("story,(story_1,story_2,")


def test_a_hit_without_id_is_skipped_not_fatal(
    hn_api: HackerNewsAPI, hn_url: str, client: httpx.Client
) -> None:
    broken = story(8, "acme broken")
    del broken["objectID"]
    hn_api.add(broken, story(9, "acme fine"))
    mentions, _ = connector(hn_url, client).fetch(["acme"], None)
    assert [m.external_id for m in mentions] == ["9"]


def test_an_old_style_cursor_is_still_understood(
    hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    connector(hn_url, client, overlap="1m").fetch(["acme"], json.dumps({"created_at_i": 5000}))
    assert window(hn_server.requests[-1])[0] == 5000 - 60


def test_rate_limit_reset_headers_when_there_is_no_retry_after() -> None:
    from monitor.http import parse_reset

    now = 1_700_000_000.0
    assert parse_reset("1700000060", now=now) == 60  # epoch (X, Bluesky)
    assert parse_reset("42", now=now) == 42  # seconds (Reddit)
    assert parse_reset("2023-11-14T22:14:20Z", now=now) == 60  # ISO (Mastodon)
    assert parse_reset("soon", now=now) is None
