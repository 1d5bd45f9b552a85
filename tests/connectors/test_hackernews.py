from __future__ import annotations

import json
import time

import httpx
import pytest

from connectors.hackernews import HackerNewsConfig, HackerNewsConnector, search_terms
from monitor.http import USER_AGENT, make_client
from tests.standins.hackernews import HackerNewsAPI, comment, story
from tests.standins.server import StandIn


@pytest.fixture
def client() -> httpx.Client:
    with make_client(timeout=5) as c:
        yield c


def connector(url: str, client: httpx.Client, **extra: object) -> HackerNewsConnector:
    return HackerNewsConnector(HackerNewsConfig(base_url=url, **extra), client)


def test_search_terms_fold_handles_and_tags_into_one_query() -> None:
    assert search_terms(["Acme Coffee", "@acmecoffee", "#acmecoffee", "#AcmeCoffee"]) == [
        '"Acme Coffee"',
        "acmecoffee",
    ]


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
    assert json.loads(cursor or "{}") == {"created_at_i": now - 30}
    request = hn_server.requests[0]
    assert request.params["query"] == '"Acme Coffee"'
    assert request.params["tags"] == "(story,comment)"
    assert request.headers["user-agent"] == USER_AGENT


def test_cursor_reaches_back_by_overlap_and_first_poll_by_lookback(
    hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    conn = connector(hn_url, client, overlap="10m", lookback="2h")
    before = int(time.time())
    conn.fetch(["acme"], None)
    first = int(hn_server.requests[-1].params["numericFilters"].split(">")[1])
    assert before - 7200 - 2 <= first <= before - 7200 + 2
    conn.fetch(["acme"], json.dumps({"created_at_i": 1_000_000}))
    assert hn_server.requests[-1].params["numericFilters"] == f"created_at_i>{1_000_000 - 600}"


def test_pages_until_the_last_page(
    hn_api: HackerNewsAPI, hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    now = int(time.time())
    hn_api.add(*(story(1000 + i, f"acme story {i}", created=now - i) for i in range(25)))
    mentions, _ = connector(hn_url, client, hits_per_page=10).fetch(["acme"], None)
    assert len(mentions) == 25
    assert [r.params["page"] for r in hn_server.requests] == ["0", "1", "2"]


def test_page_cap_keeps_the_newest_and_says_so(
    hn_api: HackerNewsAPI, hn_url: str, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    now = int(time.time())
    hn_api.add(*(story(1000 + i, f"acme story {i}", created=now - i) for i in range(25)))
    mentions, _ = connector(hn_url, client, hits_per_page=10, max_pages=2).fetch(["acme"], None)
    assert len(mentions) == 20
    assert min(m.external_id for m in mentions) == "1000"
    assert "older ones were skipped" in caplog.text


def test_one_request_per_distinct_term_and_no_duplicates(
    hn_api: HackerNewsAPI, hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    hn_api.add(story(7, "Acme Coffee aka acmecoffee on socials"))
    mentions, _ = connector(hn_url, client).fetch(
        ["Acme Coffee", "@acmecoffee", "#acmecoffee"], None
    )
    assert [m.external_id for m in mentions] == ["7"]
    assert len(hn_server.requests) == 2


def test_a_hit_without_id_is_skipped_not_fatal(
    hn_api: HackerNewsAPI, hn_url: str, client: httpx.Client
) -> None:
    broken = story(8, "acme broken")
    del broken["objectID"]
    hn_api.add(broken, story(9, "acme fine"))
    mentions, _ = connector(hn_url, client).fetch(["acme"], None)
    assert [m.external_id for m in mentions] == ["9"]


def test_empty_answer_keeps_the_cursor(hn_url: str, client: httpx.Client) -> None:
    cursor = json.dumps({"created_at_i": int(time.time())})
    mentions, new_cursor = connector(hn_url, client).fetch(["nothing here"], cursor)
    assert mentions == []
    assert new_cursor == cursor


def test_rate_limit_reset_headers_when_there_is_no_retry_after() -> None:
    from monitor.http import parse_reset

    now = 1_700_000_000.0
    assert parse_reset("1700000060", now=now) == 60  # epoch (X, Bluesky)
    assert parse_reset("42", now=now) == 42  # seconds (Reddit)
    assert parse_reset("2023-11-14T22:14:20Z", now=now) == 60  # ISO (Mastodon)
    assert parse_reset("soon", now=now) is None
