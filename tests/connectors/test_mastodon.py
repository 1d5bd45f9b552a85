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
    TagGroup,
    hashtags,
    search_queries,
    snowflake_at,
    snowflake_time,
    tag_groups,
)
from monitor.errors import AuthError, ConnectorError, ParseError, RateLimited, SourceUnavailable
from tests.standins import mastodon as m
from tests.standins.server import Request, Response, StandIn

TOKEN = "s3cret-token-value"


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


def tags_mark(cursor: str | None, url: str) -> dict[str, Any]:
    mark: dict[str, Any] = json.loads(cursor or "{}")["servers"][url]["tags"]
    return mark


def later(cursor: str | None, seconds: float) -> str:
    """The cursor as it would look ``seconds`` later: cold tags last asked that much earlier."""
    data = json.loads(cursor or "{}")
    for entry in data["servers"].values():
        entry["tags"]["t"] -= seconds
    return json.dumps(data)


# ---------------------------------------------------------------- keywords


def test_every_keyword_becomes_one_hashtag_without_spaces_or_punctuation() -> None:
    keywords = ["Acme Coffee", "@acmecoffee", "#AcmeCoffee", "Café Olé", "Nobody-Knows", "1984"]
    assert hashtags(keywords, ["#Beans"]) == [
        "acmecoffee",
        "caféolé",
        "nobodyknows",
        "beans",
    ]  # "1984" is no hashtag on Mastodon: a tag needs a letter


def test_search_queries_leave_handles_and_tags_and_drop_keywords_another_covers() -> None:
    keywords = [
        "Acme Coffee app",  # covered by "Acme Coffee": Mastodon ANDs the words
        "Acme Coffee",
        "@acmecoffee",  # handles and tags: the hashtag timelines read those
        "#acmecoffee",
        "acme  coffee",  # the same words
        "coffee, ACME delivery!",  # the same words and more, in another order
        "Acme Lisbon",
        "acmecoffee.com",
        "Acme to:go",  # "to:" would be an operator
    ]
    assert search_queries(keywords) == [
        "Acme Coffee",
        "Acme Lisbon",
        "acmecoffee.com",
        'Acme "to:go"',
    ]


def test_tag_groups_are_four_tags_a_request_led_by_tags_known_to_exist() -> None:
    tags = ["acme", "acmecoffee", "acmelisbon", "acmeporto", "acmefans", "acmeapp"]
    assert tag_groups(tags, set()) == []
    assert tag_groups(tags[:4], {"acmeporto"}) == [
        TagGroup("acmeporto", ("acme", "acmecoffee", "acmelisbon"))
    ]
    assert tag_groups(tags, {"acme", "acmeporto"}) == [
        TagGroup("acme", ("acmecoffee", "acmelisbon", "acmefans")),
        TagGroup("acmeporto", ("acmeapp",)),
    ]
    # One known tag for six: it leads twice, the second time without its own posts.
    assert tag_groups(tags, {"acme"}) == [
        TagGroup("acme", ("acmecoffee", "acmelisbon", "acmeporto")),
        TagGroup("acme", ("acmefans", "acmeapp"), exclude=("acme",)),
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
    # Only the tag timeline, anonymously: no search without a token. A tag not yet known to
    # exist is asked for its newest page (no min_id: not a paging request).
    assert paths(server) == ["/api/v1/timelines/tag/acmecoffee"]
    request = server.requests[0]
    assert "authorization" not in request.headers
    assert request.params == {"limit": "40"}
    assert tags_mark(cursor, server.url)["k"] == ["acmecoffee"]


def test_a_brands_tags_are_one_request_with_any_once_one_is_known(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    keywords = ["Acme Coffee", "@acmecoffee", "#AcmeFans", "Acme Lisbon"]
    api.add(m.status("Acme Coffee opens", tags=("acmecoffee",), created=time.time() - 600))
    conn = connector(client, base_url=server.url)
    first, cursor = conn.fetch(keywords, None)
    assert [x.text for x in first] == ["Acme Coffee opens #acmecoffee"]
    assert len(server.requests) == 3  # the first poll asks each tag alone
    server.requests.clear()
    api.add(
        m.status("cold latte", tags=("acmefans",), created=time.time() - 20),
        m.status("rude staff", tags=("acmelisbon",), created=time.time() - 10),
    )
    second, cursor = conn.fetch(keywords, cursor)
    assert [x.text for x in second] == ["cold latte #acmefans", "rude staff #acmelisbon"]
    [request] = server.requests
    assert request.path == "/api/v1/timelines/tag/acmecoffee"
    assert request.multi["any[]"] == ["acmefans", "acmelisbon"]
    assert "min_id" in request.params and "none[]" not in request.multi
    server.requests.clear()
    assert conn.fetch(keywords, cursor)[0] == []
    assert len(server.requests) == 1


def test_the_tag_in_the_path_is_one_that_exists_on_that_server(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    # Mastodon answers [] for a path tag nobody there has used, whatever any[] says: leading
    # with the brand's first tag (#acmecoffee) would read nothing here.
    keywords = ["Acme Coffee", "Acme Lisbon"]
    api.add(m.status("Acme in Lisbon", tags=("acmelisbon",), created=time.time() - 600))
    conn = connector(client, base_url=server.url)
    _, cursor = conn.fetch(keywords, None)
    server.requests.clear()
    api.add(m.status("Acme Lisbon was closed", tags=("acmelisbon",), created=time.time() - 20))
    api.add(m.status("first ever #acmecoffee", tags=("acmecoffee",), created=time.time() - 10))
    mentions, cursor = conn.fetch(keywords, cursor)
    assert [x.text for x in mentions] == [
        "Acme Lisbon was closed #acmelisbon",
        "first ever #acmecoffee #acmecoffee",
    ]
    [request] = server.requests
    assert request.path == "/api/v1/timelines/tag/acmelisbon"
    assert request.multi["any[]"] == ["acmecoffee"]


def test_more_than_four_tags_take_as_few_requests_as_mastodon_allows(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    keywords = ["Acme", "Acme Coffee", "Acme Lisbon", "Acme Porto", "Acme Fans", "Acme App"]
    api.add(m.status("Acme", tags=("acme",), created=time.time() - 600))
    conn = connector(client, base_url=server.url)
    _, cursor = conn.fetch(keywords, None)
    server.requests.clear()
    both = m.status("Acme app crashed", tags=("acme", "acmeapp"), created=time.time() - 30)
    api.add(both, m.status("Acme fans", tags=("acmefans",), created=time.time() - 20))
    mentions, cursor = conn.fetch(keywords, cursor)
    assert sorted(x.text for x in mentions) == [
        "Acme app crashed #acme #acmeapp",
        "Acme fans #acmefans",
    ]
    assert [
        (r.path.rsplit("/", 1)[1], r.multi["any[]"], r.multi.get("none[]")) for r in server.requests
    ] == [
        ("acme", ["acmecoffee", "acmelisbon", "acmeporto"], None),
        ("acme", ["acmefans", "acmeapp"], ["acme"]),  # #acme's posts came in the first
    ]
    # Each request's answer: the second did not carry the status tagged #acme and #acmeapp.
    assert tags_mark(cursor, server.url)["k"] == ["acme", "acmefans", "acmeapp"]
    server.requests.clear()
    assert conn.fetch(keywords, cursor)[0] == []
    assert [r.path.rsplit("/", 1)[1] for r in server.requests] == ["acme", "acmefans"]


def test_tags_nobody_has_used_are_asked_alone_once_per_unused_tags_every(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    conn = connector(client, base_url=server.url, unused_tags_every="1h")
    keywords = ["Zebra Roasters", "#zebrabeans"]
    assert conn.fetch(keywords, None)[0] == []
    assert [(r.path, r.params) for r in server.requests] == [
        ("/api/v1/timelines/tag/zebraroasters", {"limit": "40"}),
        ("/api/v1/timelines/tag/zebrabeans", {"limit": "40"}),
    ]
    _, cursor = conn.fetch(keywords, None)
    server.requests.clear()
    nothing, cursor = conn.fetch(keywords, cursor)
    api.add(m.status("Zebra Roasters, never again", tags=("zebrabeans",), created=time.time() - 5))
    nothing_yet, cursor = conn.fetch(keywords, cursor)
    assert nothing == nothing_yet == [] and server.requests == []  # not asked again so soon
    # An hour on, they are asked again; what was posted meanwhile comes now, not lost.
    found, cursor = conn.fetch(keywords, later(cursor, 3600))
    assert [x.text for x in found] == ["Zebra Roasters, never again #zebrabeans"]
    assert len(server.requests) == 2
    server.requests.clear()
    assert conn.fetch(keywords, cursor)[0] == []
    [request] = server.requests  # now one is known: both in one request, every poll
    assert request.path.endswith("/zebrabeans") and request.multi["any[]"] == ["zebraroasters"]


def test_search_only_with_a_token_sent_as_bearer_and_never_logged(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.add(m.status("Had a coffee at Acme Coffee, never again", created=time.time() - 30))
    api.add(m.status("Acme Porto, slow", tags=("acmeporto",), created=time.time() - 20))
    conn = connector(client, base_url=server.url, access_token=TOKEN, search=True)
    mentions, _ = conn.fetch(["Acme Coffee", "#acmecoffee", "Acme Coffee app", "Acme Porto"], None)
    # The #acmeporto post is found by its tag and by search: one mention.
    assert [m_.text for m_ in mentions] == [
        "Had a coffee at Acme Coffee, never again",
        "Acme Porto, slow #acmeporto",
    ]
    assert paths(server) == [
        "/api/v1/timelines/tag/acmecoffee",
        "/api/v1/timelines/tag/acmecoffeeapp",
        "/api/v1/timelines/tag/acmeporto",
        "/api/v2/search",
        "/api/v2/search",
    ]
    searches = [r for r in server.requests if r.path == "/api/v2/search"]
    assert [r.params["q"] for r in searches] == ["Acme Coffee", "Acme Porto"]
    assert all(r.params["type"] == "statuses" for r in searches)
    assert all(r.params["resolve"] == "false" for r in searches)
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {TOKEN}"}
    assert TOKEN not in caplog.text


def test_search_is_off_by_default_even_with_a_token(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(m.status("Acme is fine", created=time.time() - 30))
    conn = connector(client, base_url=server.url, access_token=TOKEN)
    assert conn.fetch(["Acme"], None)[0] == []
    assert paths(server) == ["/api/v1/timelines/tag/acme"]


def test_search_true_needs_a_token_somewhere() -> None:
    with pytest.raises(ValidationError, match="`search: true` needs an `access_token`"):
        MastodonConfig.model_validate({"search": True})
    config = MastodonConfig.model_validate(
        {
            "search": True,
            "instances": [{"url": "a.example", "access_token": "x"}, {"url": "b.example"}],
        }
    )
    assert config.search  # searched where there is a token, tags only elsewhere


def test_search_covers_only_opted_in_accounts_on_the_server(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(m.status("Acme is great", indexable=False), m.status("Acme is fine", username="bo"))
    conn = connector(client, base_url=server.url, access_token=TOKEN, search=True)
    mentions, _ = conn.fetch(["Acme"], None)
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
    assert set(json.loads(cursor or "{}")["servers"]) == {server.url, other.url}


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
    newest = tags_mark(cursor, server.url)["n"]
    floor = tag_requests(server)[-1].params["min_id"]
    assert (snowflake_time(newest) or 0) - (snowflake_time(floor) or 0) == pytest.approx(900)


def test_first_poll_reaches_back_lookback(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    now = time.time()
    api.add(m.status("Acme 3h ago", tags=("acme",), created=now - 3 * 3600))
    api.add(m.status("Acme 1h ago", tags=("acme",), created=now - 3600))
    mentions, cursor = connector(client, base_url=server.url, lookback="2h").fetch(["Acme"], None)
    assert [x.text for x in mentions] == ["Acme 1h ago #acme"]
    assert tags_mark(cursor, server.url)["n"] == api.statuses[1]["id"]


def test_pages_forward_with_min_id_from_the_link_header(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    now = time.time()
    api.add(m.status("Acme before", tags=("acme",), created=now - 300))
    conn = connector(client, base_url=server.url)
    _, cursor = conn.fetch(["Acme"], None)
    server.requests.clear()
    api.add(*(m.status(f"Acme {i}", tags=("acme",), created=now - 200 + i) for i in range(95)))
    mentions, _ = conn.fetch(["Acme"], cursor)
    assert len(mentions) == 95
    assert [m_.text for m_ in mentions][:2] == ["Acme 0 #acme", "Acme 1 #acme"]
    requests = tag_requests(server)
    assert len(requests) == 3
    ordered = sorted(api.statuses, key=lambda s: int(s["id"]))
    assert [r.params["min_id"] for r in requests[1:]] == [ordered[39]["id"], ordered[79]["id"]]


def test_a_new_tag_with_more_than_a_page_is_read_forward_from_the_floor(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    now = time.time()
    api.add(*(m.status(f"Acme {i}", tags=("acme",), created=now - 200 + i) for i in range(45)))
    mentions, _ = connector(client, base_url=server.url).fetch(["Acme"], None)
    assert len(mentions) == 45
    # The newest page was all new: the rest was read forward from the lookback floor.
    assert [("min_id" in r.params) for r in tag_requests(server)] == [False, True, True]


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
    # The overlap re-read of statuses already seen does not eat into max_pages. (The first
    # poll asks the tag for its newest page first, then 2 pages forward from the floor.)
    assert len(tag_requests(server)) == 1 + 2 + 4 + 5 + 5


def test_a_hashtag_nobody_used_is_no_mentions_not_an_error(
    server: StandIn, client: httpx.Client
) -> None:
    mentions, cursor = connector(client, base_url=server.url).fetch(["Zebra Roasters"], None)
    assert mentions == [] and cursor
    assert paths(server) == ["/api/v1/timelines/tag/zebraroasters"]


def test_the_documented_404_for_an_unused_hashtag_is_no_mentions_too(
    client: httpx.Client,
) -> None:
    api = m.MastodonAPI([m.status("Acme", tags=("acme",))], missing_tag_404=True)
    with m.serve(api) as server:
        mentions, _ = connector(client, base_url=server.url).fetch(["Acme", "Zebra"], None)
    assert [x.text for x in mentions] == ["Acme #acme"]


def test_a_version_1_cursor_is_carried_over_without_gaps_or_repeats(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    now = time.time()
    older = m.status("Acme older", tags=("acme",), created=now - 3600)
    last = m.status("Acme last seen", tags=("acme",), created=now - 1800)
    api.add(older, last)
    old_cursor = json.dumps(
        {
            "timelines": {
                f"{server.url} tag:acme": {"n": last["id"], "s": [last["id"]]},
                f"{server.url} tag:acmecoffee": {"n": snowflake_at(now - 86400), "s": []},
                f'{server.url} search:"Acme Coffee"': {"n": last["id"], "s": []},
            }
        }
    )
    api.add(m.status("Acme new", tags=("acme",), created=now - 60))
    api.add(m.status("Acme Coffee new", tags=("acmecoffee",), created=now - 30))
    conn = connector(client, base_url=server.url)
    mentions, cursor = conn.fetch(["Acme", "Acme Coffee"], old_cursor)
    assert [x.text for x in mentions] == ["Acme new #acme", "Acme Coffee new #acmecoffee"]
    assert len(server.requests) == 2  # each tag asked alone, from where it had got to
    server.requests.clear()
    assert conn.fetch(["Acme", "Acme Coffee"], cursor)[0] == []
    assert len(server.requests) == 1
    # An unreadable cursor is no crash: the poll reaches back `lookback`.
    again, _ = conn.fetch(["Acme"], '{"timelines": {"x tag:acme": {"n": []}}}')
    assert [x.text for x in again] == ["Acme older #acme", "Acme last seen #acme", "Acme new #acme"]


def test_the_standin_reads_any_all_and_none_like_mastodon(
    api: m.MastodonAPI, server: StandIn, client: httpx.Client
) -> None:
    names = {"a": ("a",), "ab": ("a", "b"), "c": ("c",), "d": ("d",), "e": ("e",)}
    api.add(*(m.status(k, tags=v) for k, v in names.items()))

    def texts(tag: str, **params: list[str]) -> list[str]:
        query = {f"{k}[]": v for k, v in params.items()}
        body = client.get(f"{server.url}/api/v1/timelines/tag/{tag}", params=query).json()
        return sorted(s["content"].split(" ")[0].removeprefix("<p>") for s in body)

    assert texts("a") == ["a", "ab"]
    assert texts("a", any=["c", "nosuchtag"]) == ["a", "ab", "c"]
    assert texts("a", any=["b", "c", "d", "e"]) == ["a", "ab", "c", "d"]  # 4 with the path
    assert texts("a", all=["b"]) == ["ab"]
    assert texts("a", any=["c"], none=["b"]) == ["a", "c"]
    assert texts("nosuchtag", any=["a"]) == []  # no path tag: any[] is not looked at


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
    with pytest.raises(SourceUnavailable, match=r"127\.0\.0\.1 refused the connection"):
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
    assert offline == [
        "127.0.0.1: access token set: hashtag timelines (word search is off; "
        "`search: true` turns it on)",
        "b.example: no access token: hashtag timelines only",
    ]
    searching = connector(
        client,
        search=True,
        instances=[{"url": server.url, "access_token": TOKEN}, {"url": "https://b.example"}],
    ).check()
    assert searching[0] == "127.0.0.1: access token set: hashtag timelines and word search"
    assert searching[1].startswith("b.example: no access token: hashtag timelines only (word")
    online = connector(client, base_url=server.url, access_token=TOKEN).check(online=True)
    assert online[-1] == "127.0.0.1: the token works (account @shop)"
    assert paths(server) == ["/api/v1/accounts/verify_credentials"]
    with pytest.raises(AuthError):
        connector(client, base_url=server.url, access_token="nope").check(online=True)
