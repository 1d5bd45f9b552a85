"""The Facebook source, and the Meta Graph client under it, against a loopback Graph stand-in."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from connectors.base import MemoryState
from connectors.facebook import FacebookConfig, FacebookConnector
from monitor.cli import cli
from monitor.errors import AuthError, ConnectorError, RateLimited
from monitor.redact import REDACTOR
from tests.standins import meta_graph as meta
from tests.standins.server import Response, StandIn

PAGE = "104455782266871"


@pytest.fixture
def page() -> meta.FacebookPage:
    return meta.FacebookPage(PAGE)


@pytest.fixture
def api(page: meta.FacebookPage) -> meta.MetaAPI:
    return meta.MetaAPI([page])


@pytest.fixture
def server(api: meta.MetaAPI) -> Iterator[StandIn]:
    with StandIn(api) as s:
        yield s


def connector(
    server: StandIn, client: httpx.Client, state: MemoryState | None = None, **extra: Any
) -> FacebookConnector:
    config = FacebookConfig.model_validate(
        {
            "base_url": f"{server.url}/{extra.pop('version', meta.VERSION)}",
            "page_token": meta.TOKEN,
            "pages": [{"id": PAGE, "brand": "Acme Coffee"}],
            **extra,
        }
    )
    return FacebookConnector(config, client, state)


# ---------------------------------------------------------------- what is read


def test_a_doesnt_recommend_is_one_star_and_a_recommendation_five(
    page: meta.FacebookPage, server: StandIn, client: httpx.Client
) -> None:
    bad = page.recommend(False, "Waited 40 minutes for a cold latte", who="Sam Smith")
    page.recommend(True, "Lovely staff")
    mentions, _ = connector(server, client).fetch(["Nobody-Says-This"], None)
    by_text = {m.text: m for m in mentions}
    m = by_text["Waited 40 minutes for a cold latte"]
    assert (m.rating, m.title, m.author) == (1.0, "Doesn't recommend Acme Coffee", "Sam Smith")
    assert m.external_id == bad and m.own_page and m.brand_hint == "Acme Coffee"
    assert m.url == f"https://www.facebook.com/{PAGE}/reviews"
    assert by_text["Lovely staff"].rating == 5.0
    ratings = [r for r in server.requests if r.path.endswith("/ratings")]
    assert "recommendation_type" in ratings[0].params["fields"]


def test_comments_visitor_posts_and_tags_are_own_page_mentions(
    page: meta.FacebookPage, server: StandIn, client: httpx.Client
) -> None:
    post = page.post()
    page.comment(post, "Cold coffee again", who="Jane Doe")
    page.comment(post, "We are hiring!", who=page.name, who_id=PAGE)  # the Page's own
    page.visitor_posts.append(
        {
            "id": f"{PAGE}_77",
            "message": "Where is my refund?",
            "created_time": meta.stamp(meta.ago(minutes=3)),
            "from": {"id": "5", "name": "Bob"},
            "permalink_url": "https://www.facebook.com/77",
            "comments": [],
        }
    )
    page.tagged.append(
        {
            "id": "88_99",
            "message": "Brunch at Acme",
            "created_time": meta.stamp(meta.ago(minutes=2)),
            "permalink_url": "https://www.facebook.com/88_99",
        }
    )
    mentions, _ = connector(server, client).fetch([], None)
    assert {(m.text, m.author) for m in mentions} == {
        ("Cold coffee again", "Jane Doe"),
        ("Where is my refund?", "Bob"),
        ("Brunch at Acme", "a Facebook user"),  # /tagged gives `from` only to its author
    }
    comment = next(m for m in mentions if m.text == "Cold coffee again")
    assert comment.url.startswith(f"https://www.facebook.com/{post}?comment_id=")
    first = server.requests[0]
    assert first.path == f"/{meta.VERSION}/{PAGE}/published_posts"
    assert (
        "comments.filter(stream).order(reverse_chronological).limit(50)" in first.params["fields"]
    )


def test_the_pages_reply_marks_the_comment_answered_and_brings_it_again(
    page: meta.FacebookPage, server: StandIn, client: httpx.Client
) -> None:
    post = page.post()
    cid = page.comment(post, "The croissant was stale")
    conn = connector(server, client)
    [first], cursor = conn.fetch([], None)
    assert first.owner_replied_at is None
    assert conn.fetch([], cursor)[0] == []
    page.reply(post, cid, "So sorry, come by for a fresh one on us")
    [again], cursor = conn.fetch([], cursor)
    assert again.external_id == cid and again.owner_replied_at is not None
    assert again.edited_at is None  # a reply is not an edit
    assert conn.fetch([], cursor)[0] == []


def test_an_edited_comment_comes_again_with_an_edit_time(
    page: meta.FacebookPage, server: StandIn, client: httpx.Client
) -> None:
    post = page.post()
    cid = page.comment(post, "Great coffee")
    conn = connector(server, client)
    _, cursor = conn.fetch([], None)
    page.edit(post, cid, "Great coffee, but they overcharged me")
    [m], cursor = conn.fetch([], cursor)
    assert m.external_id == cid and m.text == "Great coffee, but they overcharged me"
    assert m.edited_at is not None


def test_a_new_comment_on_an_older_post_is_found_within_max_posts(
    page: meta.FacebookPage, server: StandIn, client: httpx.Client
) -> None:
    old = page.post("Summer menu", when=meta.ago(days=60))
    for n in range(3):
        page.post(f"post {n}", when=meta.ago(days=n + 1))
    conn = connector(server, client, max_posts=4)
    _, cursor = conn.fetch([], None)
    page.comment(old, "Still waiting for my order from this promo")
    [m], _ = conn.fetch([], cursor)
    assert m.text == "Still waiting for my order from this promo"
    page.post("one more")  # `old` is now the fifth post: beyond max_posts
    page.comment(old, "Hello?")
    assert connector(server, client, max_posts=4).fetch([], cursor)[0] == []


def test_a_busy_post_is_read_on_page_by_page(
    page: meta.FacebookPage, server: StandIn, client: httpx.Client
) -> None:
    post = page.post()
    for n in range(120):
        page.comment(post, f"comment {n}", when=meta.ago(minutes=200 - n))
    mentions, _ = connector(server, client, comments_per_post=50).fetch([], None)
    assert len(mentions) == 120
    more = [r for r in server.requests if r.path.endswith(f"{post}/comments")]
    assert len(more) == 2 and all(r.params["filter"] == "stream" for r in more)
    assert "after" in more[0].params and "access_token" not in more[0].params


def test_the_first_poll_reaches_back_lookback_only(
    page: meta.FacebookPage, server: StandIn, client: httpx.Client
) -> None:
    post = page.post(when=meta.ago(days=30))
    page.comment(post, "old complaint", when=meta.ago(days=10))
    page.comment(post, "new complaint", when=meta.ago(hours=1))
    mentions, _ = connector(server, client).fetch([], None)
    assert [m.text for m in mentions] == ["new complaint"]


def test_hostile_text_is_kept_as_text_and_a_broken_comment_is_skipped(
    page: meta.FacebookPage, server: StandIn, client: httpx.Client
) -> None:
    post = page.post()
    page.comment(post, "<script>alert(1)</script> <!channel> *bold* \u202eevil")
    broken = page.comment(post, "no date")
    next(c for c in page.posts[0]["comments"] if c["id"] == broken)["created_time"] = "soon"
    mentions, _ = connector(server, client, read=["comments"]).fetch([], None)
    assert [m.text for m in mentions] == ["<script>alert(1)</script> <!channel> *bold* \u202eevil"]


# ---------------------------------------------------------------- refusals and limits


def test_an_expired_token_says_how_to_make_a_new_one(
    api: meta.MetaAPI, server: StandIn, client: httpx.Client
) -> None:
    api.expired = True
    with pytest.raises(AuthError) as info:
        connector(server, client).fetch([], None)
    assert "expired" in info.value.message and "Session has expired" in info.value.message
    assert info.value.hint and "long-lived Page token" in info.value.hint
    assert "META_PAGE_TOKEN" in info.value.hint


def test_a_missing_permission_is_named(
    api: meta.MetaAPI, server: StandIn, client: httpx.Client
) -> None:
    api.granted.discard("pages_read_user_content")
    with pytest.raises(AuthError) as info:
        connector(server, client, read=["visitor_posts"]).fetch([], None)
    assert "pages_read_user_content" in info.value.message
    assert "visitor posts of Acme Coffee" in info.value.message


def test_meta_throttling_waits_what_meta_estimates(
    api: meta.MetaAPI, server: StandIn, client: httpx.Client
) -> None:
    api.throttled = True
    state = MemoryState()
    with pytest.raises(RateLimited) as info:
        connector(server, client, state).fetch([], None)
    assert info.value.retry_after == pytest.approx(17 * 60)
    asked = len(server.requests)
    api.throttled = False
    with pytest.raises(RateLimited):
        connector(server, client, state).fetch([], None)
    assert len(server.requests) == asked  # still waiting: no request


def test_usage_past_80_percent_pauses_the_source_and_says_so(
    page: meta.FacebookPage,
    api: meta.MetaAPI,
    server: StandIn,
    client: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    page.recommend(False, "Rude")
    api.usage = 85
    state = MemoryState()
    with caplog.at_level(logging.WARNING):
        mentions, _ = connector(server, client, state, read=["recommendations"]).fetch([], None)
    assert [m.text for m in mentions] == ["Rude"]  # the answer that said 85% is kept
    assert "85% of its rate limit allowance" in caplog.text
    asked = len(server.requests)
    with pytest.raises(RateLimited) as info:
        connector(server, client, state).fetch([], None)
    assert len(server.requests) == asked
    assert "85%" in info.value.message and info.value.retry_after


def test_recommendations_gone_in_v22_leave_the_rest(
    page: meta.FacebookPage, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    server.route.version = "v22.0"  # type: ignore[attr-defined]
    post = page.post()
    page.comment(post, "Where is my order?")
    with caplog.at_level(logging.WARNING):
        mentions, _ = connector(server, client, version="v22.0").fetch([], None)
    assert [m.text for m in mentions] == ["Where is my order?"]
    assert "no longer offers the recommendations" in caplog.text


def test_the_token_never_travels_in_an_address_nor_shows_in_errors(
    server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    echo = {"error": {"message": f"bad token {meta.TOKEN}", "type": "OAuthException", "code": 190}}
    server.fail_next(Response(400, echo))
    try:
        with pytest.raises(AuthError) as info:
            connector(server, client).fetch([], None)
        server.fail_next(Response(500, f"<pre>access_token={meta.TOKEN}</pre>"))
        with pytest.raises(ConnectorError) as failed:
            connector(server, client).fetch([], None)
    finally:
        REDACTOR.clear()
    for text in (str(info.value), str(failed.value), caplog.text):
        assert meta.TOKEN not in text
    assert "[secret]" in str(info.value)
    assert all("access_token" not in r.params for r in server.requests)
    assert all(r.headers["authorization"] == f"Bearer {meta.TOKEN}" for r in server.requests)


def test_check_offline_and_online(server: StandIn, client: httpx.Client) -> None:
    conn = connector(server, client)
    lines = conn.check()
    assert lines[0].startswith("reading comments, visitor_posts, tagged, recommendations")
    assert "a poll costs about 4 requests; about 384 a day" in lines[-1]
    assert server.requests == []
    online = conn.check(online=True)
    assert f"Acme Coffee ({PAGE}): OK, Meta knows it as 'Acme Coffee'" in online
    assert server.requests[-1].params == {"fields": "id,name"}


def test_a_page_listed_twice_or_a_bad_id_is_refused() -> None:
    base = {"page_token": "t", "pages": [{"id": PAGE, "brand": "A"}] * 2}
    with pytest.raises(ValidationError, match="listed twice"):
        FacebookConfig.model_validate(base)
    with pytest.raises(ValidationError, match="pattern"):
        FacebookConfig.model_validate({"page_token": "t", "pages": [{"id": "acme", "brand": "A"}]})


def test_the_cursor_keeps_what_was_seen_per_page(
    page: meta.FacebookPage, server: StandIn, client: httpx.Client
) -> None:
    post = page.post()
    cid = page.comment(post, "meh")
    _, cursor = connector(server, client).fetch([], None)
    kept = json.loads(cursor or "{}")["accounts"][PAGE]
    assert cid in kept["seen"] and kept["last"] > 0


def test_cli_check_online_explains_an_expired_token_without_showing_it(
    api: meta.MetaAPI, server: StandIn, tmp_path: Path
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "database: sqlite:///mentions.db\n"
        "brands:\n  - name: Acme Coffee\n    keywords: [Acme]\n"
        f"sources:\n  facebook:\n    base_url: {server.url}/{meta.VERSION}\n"
        "    page_token: ${META_PAGE_TOKEN}\n"
        f"    pages:\n      - id: '{PAGE}'\n        brand: Acme Coffee\n"
    )
    args = ["check", "-c", str(path), "--online"]
    accepted = CliRunner().invoke(cli, args, env={"META_PAGE_TOKEN": meta.TOKEN})
    assert accepted.exit_code == 0, accepted.output
    assert "Meta knows it as 'Acme Coffee'" in accepted.output
    api.expired = True
    refused = CliRunner().invoke(cli, args, env={"META_PAGE_TOKEN": meta.TOKEN})
    assert refused.exit_code == 1, refused.output
    assert "the Page token expired" in refused.output
    assert "long-lived Page token" in refused.output
    assert meta.TOKEN not in refused.output and meta.TOKEN not in accepted.output
