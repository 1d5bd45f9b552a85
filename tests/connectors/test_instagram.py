"""The Instagram source against the loopback Graph stand-in (tests/standins/meta_graph.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.instagram import InstagramConfig, InstagramConnector
from monitor.errors import AuthError, ConnectorError
from tests.standins import meta_graph as meta
from tests.standins.server import StandIn

ACCOUNT = "17841405822304914"


@pytest.fixture
def account() -> meta.InstagramAccount:
    return meta.InstagramAccount(ACCOUNT)


@pytest.fixture
def api(account: meta.InstagramAccount) -> meta.MetaAPI:
    return meta.MetaAPI(instagram=[account])


@pytest.fixture
def server(api: meta.MetaAPI) -> Iterator[StandIn]:
    with StandIn(api) as s:
        yield s


def connector(server: StandIn, client: httpx.Client, **extra: Any) -> InstagramConnector:
    config = InstagramConfig.model_validate(
        {
            "base_url": f"{server.url}/{meta.VERSION}",
            "page_token": meta.TOKEN,
            "accounts": [{"id": ACCOUNT, "brand": "Acme Coffee"}],
            **extra,
        }
    )
    return InstagramConnector(config, client)


def test_a_comment_on_the_owners_media_is_an_own_page_mention(
    account: meta.InstagramAccount, server: StandIn, client: httpx.Client
) -> None:
    media = account.publish()
    cid = account.comment(media, "Overpriced and cold", who="grumpy_gus")
    [m], cursor = connector(server, client).fetch(["Nobody-Says-This"], None)
    assert (m.external_id, m.text, m.author) == (cid, "Overpriced and cold", "grumpy_gus")
    assert m.url == f"https://www.instagram.com/p/{media}/"
    assert m.own_page and m.brand_hint == "Acme Coffee" and m.rating is None
    assert cursor and cid in cursor
    first = server.requests[0]
    assert first.path == f"/{meta.VERSION}/{ACCOUNT}/media"
    assert "replies{id,text,username,timestamp,from}" in first.params["fields"]


def test_the_business_reply_answers_a_comment_and_its_own_comments_are_not_mentions(
    account: meta.InstagramAccount, server: StandIn, client: httpx.Client
) -> None:
    media = account.publish()
    cid = account.comment(media, "Never got my order")
    account.comment(media, "Thanks all!", who=account.username)  # the business's own
    conn = connector(server, client)
    [first], cursor = conn.fetch([], None)
    assert first.owner_replied_at is None
    account.reply(media, cid, "DM us your order number, we will fix it")
    [again], cursor = conn.fetch([], cursor)
    assert again.external_id == cid and again.owner_replied_at is not None
    assert conn.fetch([], cursor)[0] == []


def test_media_that_tag_the_account_come_with_their_caption(
    account: meta.InstagramAccount, server: StandIn, client: httpx.Client
) -> None:
    account.tags.append(
        {
            "id": "555",
            "caption": "Worst brunch ever @acmecoffee",
            "username": "foodie",
            "timestamp": meta.stamp(meta.ago(minutes=30)),
            "permalink": "https://www.instagram.com/p/555/",
        }
    )
    [m], _ = connector(server, client, read=["tags"]).fetch([], None)
    assert (m.text, m.author, m.url) == (
        "Worst brunch ever @acmecoffee",
        "foodie",
        "https://www.instagram.com/p/555/",
    )
    assert server.requests[0].path == f"/{meta.VERSION}/{ACCOUNT}/tags"


def test_many_new_comments_are_read_on_page_by_page(
    account: meta.InstagramAccount, server: StandIn, client: httpx.Client
) -> None:
    media = account.publish()
    for n in range(70):
        account.comment(media, f"comment {n}", when=meta.ago(minutes=100 - n))
    mentions, _ = connector(server, client, comments_per_post=30).fetch([], None)
    assert len(mentions) == 70
    assert len([r for r in server.requests if r.path.endswith(f"{media}/comments")]) == 2


def test_check_online_names_the_account_and_a_refusal_says_the_fix(
    api: meta.MetaAPI, server: StandIn, client: httpx.Client
) -> None:
    conn = connector(server, client)
    lines = conn.check(online=True)
    assert f"Acme Coffee ({ACCOUNT}): OK, @acmecoffee" in lines
    assert "a poll costs about 2 requests; about 192 a day" in lines[-1]
    api.granted.discard("instagram_basic")
    with pytest.raises(AuthError) as info:
        conn.fetch([], None)
    assert "instagram_basic" in info.value.message


def test_an_unknown_account_is_named(server: StandIn, client: httpx.Client) -> None:
    config = InstagramConfig.model_validate(
        {
            "base_url": f"{server.url}/{meta.VERSION}",
            "page_token": meta.TOKEN,
            "accounts": [{"id": "17840000000000000", "brand": "Acme"}],
        }
    )
    with pytest.raises(ConnectorError) as info:
        InstagramConnector(config, client).fetch([], None)
    assert "cannot read the media of Acme: the id is wrong" in info.value.message
    assert "does not exist" in info.value.message and info.value.hint
