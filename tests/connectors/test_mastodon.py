from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from connectors.base import MemoryState
from connectors.mastodon import (
    MastodonConfig,
    MastodonConnector,
    hashtags,
    search_queries,
    snowflake_time,
)
from monitor.errors import AuthError, ConnectorError, ParseError, RateLimited, SourceUnavailable
from monitor.http import make_client
from tests.standins import mastodon as m
from tests.standins.server import Request, Response, StandIn

TOKEN = "s3cret-token-value"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(timeout=5) as c:
        yield c


@pytest.fixture
def api() -> m.MastodonAPI:
    return m.MastodonAPI(tokens={TOKEN})


@pytest.fixture
def server(api: m.MastodonAPI) -> Iterator[StandIn]:
    with m.serve(api) as s:
        yield s


def connector(
    client: httpx.Client, state: MemoryState | None = None, **config: Any
) -> MastodonConnector:
    return MastodonConnector(MastodonConfig.model_validate(config), client, state)


def paths(server: StandIn) -> list[str]:
    return [r.path for r in server.requests]


def tag_requests(server: StandIn) -> list[Request]:
    return [r for r in server.requests if r.path.startswith("/api/v1/timelines/tag/")]


# ---------------------------------------------------------------- keywords


def test_every_keyword_becomes_one_hashtag_without_spaces_or_punctuation() -> None:
    keywords = ["Acme Coffee", "@acmecoffee", "#AcmeCoffee", "Café Olé", "Nobody-Knows", "1984"]
    assert hashtags(keywords, ["#Beans"]) == [
        "acmecoffee",
        "caféolé",
        "nobodyknows",
        "beans",
    ]  # "1984" is no hashtag on Mastodon: a tag needs a letter


def test_search_queries_drop_the_tag_and_handle_signs_and_quote_phrases() -> None:
    assert search_queries(["Acme Coffee", "@acmecoffee", "#acmecoffee", "acme  coffee"]) == [
        '"Acme Coffee"',
        "acmecoffee",
    ]


# ---------------------------------------------------------------- config


def test_base_url_alone_is_one_server_and_a_bare_host_gets_https() -> None:
    config = MastodonConfig.model_validate({"base_url": "mastodon.social/", "access_token": "x"})
    [server] = config.servers()
    assert server.url == "https://mastodon.social"
    assert server.access_token is not None
    assert MastodonConfig().servers()[0].url == "https://mastodon.social"


def test_a_top_level_token_next_to_instances_is_refused() -> None:
    with pytest.raises(ValidationError, match="give each instance its own"):
        MastodonConfig.model_validate(
            {"access_token": "x", "instances": [{"url": "https://a.example"}]}
        )


def test_tokens_never_show_in_reprs() -> None:
    config = MastodonConfig.model_validate({"access_token": TOKEN, "instances": []}).model_copy()
    multi = MastodonConfig.model_validate(
        {"instances": [{"url": "a.example", "access_token": TOKEN}]}
    )
    assert TOKEN not in repr(config) and TOKEN not in repr(multi)
    assert TOKEN not in str(multi.model_dump())


# ---------------------------------------------------------------- fetch


def test_hashtag_timeline_without_a_token(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    created = time.time() - 120
    api.add(
        m.status(
            "Acme Coffee burnt my latte",
            tags=("acmecoffee",),
            created=created,
            favourites=4,
            reblogs=2,
            replies=1,
            followers=321,
        ),
        m.status("unrelated", tags=("cats",)),
    )
    mentions, cursor = connector(client, base_url=server.url).fetch(["Acme Coffee"], None)
    [mention] = mentions
    raw = api.statuses[0]
    assert mention.source == "mastodon"
    assert mention.external_id == raw["uri"]
    assert mention.url == raw["url"]
    assert mention.author == "alice@127.0.0.1"  # a local account's acct gets the server's host
    assert mention.author_followers == 321
    assert mention.text == "Acme Coffee burnt my latte #acmecoffee"
    assert mention.title is None
    assert mention.engagement == {"likes": 4, "reposts": 2, "replies": 1}
    assert mention.created_at == datetime.fromtimestamp(created, UTC).replace(
        microsecond=int(created % 1 * 1000) * 1000
    )
    assert mention.raw == raw
    assert cursor
    # Only the tag timeline, anonymously: no search without a token.
    assert paths(server) == ["/api/v1/timelines/tag/acmecoffee"]
    request = server.requests[0]
    assert "authorization" not in request.headers
    assert request.params["limit"] == "40"
    assert "min_id" in request.params


def test_search_only_with_a_token_sent_as_bearer_and_never_logged(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.add(m.status("Had a coffee at Acme Coffee, never again", created=time.time() - 30))
    conn = connector(client, base_url=server.url, access_token=TOKEN)
    mentions, _ = conn.fetch(["Acme Coffee", "#acmecoffee"], None)
    assert [m_.text for m_ in mentions] == ["Had a coffee at Acme Coffee, never again"]
    assert paths(server) == [
        "/api/v1/timelines/tag/acmecoffee",
        "/api/v2/search",
        "/api/v2/search",
    ]
    searches = [r for r in server.requests if r.path == "/api/v2/search"]
    assert [r.params["q"] for r in searches] == ['"Acme Coffee"', "acmecoffee"]
    assert all(r.params["type"] == "statuses" for r in searches)
    assert all(r.params["resolve"] == "false" for r in searches)
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {TOKEN}"}
    assert TOKEN not in caplog.text


def test_search_covers_only_opted_in_accounts_on_the_server(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(m.status("Acme is great", indexable=False), m.status("Acme is fine", username="bo"))
    mentions, _ = connector(client, base_url=server.url, access_token=TOKEN).fetch(["Acme"], None)
    assert [x.text for x in mentions] == ["Acme is fine"]


def test_html_content_and_content_warning_become_plain_text(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    content = (
        '<p>Ask <span class="h-card"><a href="https://mastodon.example/@bob" '
        'class="u-url mention">@<span>bob</span></a></span> about Acme &amp; friends:<br>'
        '<a href="https://example.com/page/that/is/very/long" rel="nofollow noopener">'
        '<span class="invisible">https://</span><span class="ellipsis">example.com/page</span>'
        '<span class="invisible">/that/is/very/long</span></a></p><p>2nd &lt;para&gt; '
        + m.hashtag_html("acme")
        + "</p>"
    )
    api.add(m.status("", tags=("acme",), content=content, spoiler="rant about Acme"))
    [mention], _ = connector(client, base_url=server.url).fetch(["Acme"], None)
    assert mention.text == (
        "rant about Acme\n"
        "Ask @bob about Acme & friends:\n"
        "https://example.com/page/that/is/very/long\n\n"
        "2nd <para> #acme"
    )


def test_a_boost_is_taken_as_the_post_it_boosts(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    original = m.status("Acme lost my order", tags=("acme",), created=time.time() - 60)
    api.add(original, m.boost(original))
    mentions, _ = connector(client, base_url=server.url).fetch(["Acme"], None)
    assert [(x.external_id, x.author) for x in mentions] == [(original["uri"], "alice@127.0.0.1")]


def test_two_servers_in_one_config_and_a_status_seen_on_both_is_one_mention(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    shared = m.status("Acme ruined my morning", tags=("acme",), created=time.time() - 90)
    only_second = m.status("Acme again", tags=("acme",), username="carol", domain="b.example")
    api.add(shared)
    other_api = m.MastodonAPI([m.federated(shared), only_second], tokens={"other-token"})
    with m.serve(other_api) as other:
        conn = connector(
            client,
            instances=[{"url": server.url}, {"url": other.url, "access_token": "other-token"}],
        )
        mentions, cursor = conn.fetch(["Acme"], None)
    assert sorted(x.external_id for x in mentions) == sorted([shared["uri"], only_second["uri"]])
    assert {x.author for x in mentions} == {"alice@127.0.0.1", "carol@127.0.0.1"}
    assert "authorization" not in server.requests[0].headers  # each server its own token
    assert other.requests[0].headers["authorization"] == "Bearer other-token"
    assert {k.split(" ")[0] for k in json.loads(cursor or "{}")["timelines"]} == {
        server.url,
        other.url,
    }


def test_no_duplicates_across_polls_and_nothing_skipped_across_a_restart(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(m.status("Acme one", tags=("acme",), created=time.time() - 300))
    first, cursor = connector(client, base_url=server.url).fetch(["Acme"], None)
    assert [x.text for x in first] == ["Acme one #acme"]
    again, cursor = connector(client, base_url=server.url).fetch(["Acme"], cursor)
    assert again == []
    api.add(m.status("Acme two", tags=("acme",), created=time.time() - 5))
    # A new connector (a restart) carries on from the persisted cursor alone.
    after_restart, cursor = connector(client, base_url=server.url).fetch(["Acme"], cursor)
    assert [x.text for x in after_restart] == ["Acme two #acme"]
    assert connector(client, base_url=server.url).fetch(["Acme"], cursor)[0] == []


def test_a_status_federated_late_with_an_older_id_is_still_caught_once(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    now = time.time()
    api.add(m.status("Acme newest", tags=("acme",), created=now - 10))
    conn = connector(client, base_url=server.url, overlap="15m")
    _, cursor = conn.fetch(["Acme"], None)
    # Posted 5 minutes ago elsewhere, it reaches this server only now: its id is older.
    api.add(m.status("Acme late", tags=("acme",), created=now - 300))
    late, cursor = conn.fetch(["Acme"], cursor)
    assert [x.text for x in late] == ["Acme late #acme"]
    assert conn.fetch(["Acme"], cursor)[0] == []
    newest = json.loads(cursor or "{}")["timelines"][f"{server.url} tag:acme"]["n"]
    floor = tag_requests(server)[-1].params["min_id"]
    assert (snowflake_time(newest) or 0) - (snowflake_time(floor) or 0) == pytest.approx(900)


def test_first_poll_reaches_back_lookback(server: StandIn, client: httpx.Client) -> None:
    before = time.time()
    connector(client, base_url=server.url, lookback="2h").fetch(["Acme"], None)
    floor = snowflake_time(tag_requests(server)[0].params["min_id"])
    assert floor is not None and before - 7200 - 2 <= floor <= before - 7200 + 2


def test_pages_forward_with_min_id_from_the_link_header(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    now = time.time()
    api.add(*(m.status(f"Acme {i}", tags=("acme",), created=now - 200 + i) for i in range(95)))
    mentions, _ = connector(client, base_url=server.url).fetch(["Acme"], None)
    assert len(mentions) == 95
    assert [m_.text for m_ in mentions][:2] == ["Acme 0 #acme", "Acme 1 #acme"]
    requests = tag_requests(server)
    assert len(requests) == 3
    ordered = sorted(api.statuses, key=lambda s: int(s["id"]))
    assert [r.params["min_id"] for r in requests[1:]] == [ordered[39]["id"], ordered[79]["id"]]


def test_a_page_cap_leaves_the_rest_for_the_next_poll_without_a_gap(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    now = time.time()
    api.add(*(m.status(f"Acme {i}", tags=("acme",), created=now - 200 + i) for i in range(95)))
    conn = connector(client, base_url=server.url, limit=20, max_pages=2)
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        mentions, cursor = conn.fetch(["Acme"], cursor)
        seen += [x.external_id for x in mentions]
    assert len(seen) == len(set(seen)) == 95
    # The overlap re-read of statuses already seen does not eat into max_pages.
    assert len(tag_requests(server)) == 2 + 4 + 5 + 5


def test_a_hashtag_nobody_used_is_no_mentions_not_an_error(
    server: StandIn, client: httpx.Client
) -> None:
    mentions, cursor = connector(client, base_url=server.url).fetch(["Zebra Roasters"], None)
    assert mentions == [] and cursor
    assert paths(server) == ["/api/v1/timelines/tag/zebraroasters"]


def test_a_404_page_that_is_not_the_api_is_an_error(client: httpx.Client) -> None:
    def not_mastodon(request: Request) -> Response:
        return Response(404, b"<html>no</html>", {"Content-Type": "text/html"})

    with StandIn(not_mastodon) as wrong:
        with pytest.raises(ConnectorError, match="HTTP 404"):
            connector(client, base_url=wrong.url).fetch(["Acme"], None)


def test_a_tag_timeline_that_is_not_a_list_is_a_parse_error(
    server: StandIn, client: httpx.Client
) -> None:
    server.fail_next(Response(200, {"error": "surprise"}))
    with pytest.raises(ParseError, match=r"127\.0\.0\.1"):
        connector(client, base_url=server.url).fetch(["Acme"], None)


# ---------------------------------------------------------------- refresh


def test_refresh_asks_the_server_it_was_found_on_20_ids_a_request(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    now = time.time()
    api.add(*(m.status(f"Acme {i}", tags=("acme",), created=now - 100 + i) for i in range(25)))
    state = MemoryState()
    mentions, _ = connector(client, state, base_url=server.url).fetch(["Acme"], None)
    for s in api.statuses:
        s["favourites_count"], s["reblogs_count"] = 7, 3
    server.requests.clear()
    ids = [x.external_id for x in mentions] + ["https://elsewhere.example/unknown/1"]
    # A new connector: what it needs to know comes from its state, not from memory.
    fresh = connector(client, state, base_url=server.url).refresh(ids)
    assert set(fresh) == {x.external_id for x in mentions}
    assert all(e == {"likes": 7, "reposts": 3, "replies": 0} for e in fresh.values())
    assert paths(server) == ["/api/v1/statuses", "/api/v1/statuses"]
    assert TOKEN not in json.dumps(state.values)


def test_refresh_before_mastodon_4_3_gets_each_status_and_skips_deleted_ones(
    client: httpx.Client,
) -> None:
    api = m.MastodonAPI(batch=False)
    api.add(m.status("Acme a", tags=("acme",)), m.status("Acme b", tags=("acme",)))
    with m.serve(api) as server:
        state = MemoryState()
        conn = connector(client, state, base_url=server.url)
        mentions, _ = conn.fetch(["Acme"], None)
        deleted = api.statuses.pop()
        server.requests.clear()
        fresh = conn.refresh([x.external_id for x in mentions])
        assert set(fresh) == {x.external_id for x in mentions} - {deleted["uri"]}
        assert len(server.requests) == 3  # the batch method once (404), then one per status
        server.requests.clear()
        conn.refresh([x.external_id for x in mentions])
        assert all(r.path.startswith("/api/v1/statuses/") for r in server.requests)


# ---------------------------------------------------------------- errors


def test_a_refused_token_is_an_auth_error_with_the_fix_and_without_the_token(
    server: StandIn, client: httpx.Client
) -> None:
    conn = connector(client, base_url=server.url, access_token="wrong-" + TOKEN)
    with pytest.raises(AuthError) as info:
        conn.fetch(["Acme"], None)
    message = str(info.value)
    assert "wrong, revoked" in message and "Preferences > Development" in message
    assert "127.0.0.1" in message
    assert TOKEN not in message


def test_a_server_that_closed_hashtag_feeds_to_anonymous_readers_asks_for_a_token(
    client: httpx.Client,
) -> None:
    with m.serve(m.MastodonAPI(feeds_need_login=True)) as server:
        with pytest.raises(AuthError, match="only to apps with a token"):
            connector(client, base_url=server.url).fetch(["Acme"], None)


def test_429_waits_until_x_ratelimit_reset(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    api.rate_limit = 0
    api.reset_at = datetime.now(UTC) + timedelta(seconds=120)
    with pytest.raises(RateLimited) as info:
        connector(client, base_url=server.url).fetch(["Acme"], None)
    assert info.value.retry_after is not None and 100 < info.value.retry_after <= 120
    assert "127.0.0.1" in str(info.value)


def test_a_failing_server_fails_the_poll_and_names_it(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(m.status("Acme fine", tags=("acme",)))
    conn = connector(client, instances=[{"url": server.url}, {"url": "http://127.0.0.1:9"}])
    with pytest.raises(SourceUnavailable, match=r"cannot reach 127\.0\.0\.1"):
        conn.fetch(["Acme"], None)


# ---------------------------------------------------------------- check


def test_check_says_what_each_server_can_do_offline_and_tests_tokens_online(
    server: StandIn, client: httpx.Client
) -> None:
    conn = connector(
        client,
        instances=[{"url": server.url, "access_token": TOKEN}, {"url": "https://b.example"}],
    )
    offline = conn.check()
    assert server.requests == []
    assert offline[0] == "127.0.0.1: access token set: hashtag timelines and search"
    assert offline[1].startswith("b.example: no access token: hashtag timelines only")
    online = connector(client, base_url=server.url, access_token=TOKEN).check(online=True)
    assert online[-1] == "127.0.0.1: the token works (account @shop)"
    assert paths(server) == ["/api/v1/accounts/verify_credentials"]
    with pytest.raises(AuthError):
        connector(client, base_url=server.url, access_token="nope").check(online=True)
