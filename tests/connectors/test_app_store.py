"""The App Store source against a loopback stand-in of App Store Connect and the public feed."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from connectors.app_store import AppStoreConfig, AppStoreConnector
from monitor.cli import cli
from monitor.config import load_config
from monitor.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    ParseError,
    RateLimited,
    SourceUnavailable,
)
from monitor.redact import REDACTOR, remember_config
from tests.standins import app_store as a
from tests.standins.server import Response, StandIn

PRIVATE_KEY, PUBLIC_KEY = a.new_key()
RIVAL = a.RIVAL


@pytest.fixture
def api() -> a.AppStore:
    return a.two_apps(PUBLIC_KEY)


@pytest.fixture
def server(api: a.AppStore) -> Iterator[StandIn]:
    with StandIn(api) as s:
        yield s


def config(
    server: StandIn, apps: list[dict[str, Any]] | None = None, **extra: Any
) -> AppStoreConfig:
    keyed = {"issuer_id": a.ISSUER, "key_id": a.KEY_ID, "private_key": PRIVATE_KEY}
    return AppStoreConfig.model_validate(
        {
            "base_url": server.url,
            "feed_base_url": server.url,
            "apps": apps or [{"id": a.APP_ID, "brand": "Acme"}],
            **keyed,
            **extra,
        }
    )


def feed_only(server: StandIn, apps: list[dict[str, Any]], **extra: Any) -> AppStoreConfig:
    return AppStoreConfig.model_validate(
        {"base_url": server.url, "feed_base_url": server.url, "apps": apps, **extra}
    )


def reviews(api: a.AppStore, app: str = a.APP_ID) -> list[a.Review]:
    return api.apps[app][1]


# ---------------------------------------------------------------- with the owner's key


def test_a_review_becomes_an_own_page_mention_with_its_stars(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    review = api.add(a.Review(1, "Nice design. Crashes on launch.", "Meh", "Bob K", a.ago(hours=2)))
    mentions, cursor = AppStoreConnector(config(server), client).fetch(["Acme"], None)
    [m] = mentions
    assert (m.external_id, m.author, m.title, m.text) == (
        review.id,
        "Bob K",
        "Meh",
        "Nice design. Crashes on launch.",
    )
    assert m.rating == 1.0 and m.own_page and m.brand_hint == "Acme"
    assert m.owner_replied_at is None and m.edited_at is None
    assert m.url == f"https://apps.apple.com/app/id{a.APP_ID}?see-all=reviews"
    assert m.created_at == review.created and m.raw["territory"] == "USA"
    [asked] = server.requests
    assert asked.path == f"/v1/apps/{a.APP_ID}/customerReviews"
    assert asked.params == {"sort": "-createdDate", "limit": "200", "include": "response"}
    assert cursor and review.id in json.loads(cursor)["apps"][a.APP_ID]["seen"]


def test_the_token_is_es256_with_apples_claims_and_is_reused(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    api.add(a.Review(5, "Great"))
    conn = AppStoreConnector(config(server), client)
    _, cursor = conn.fetch([], None)
    conn.fetch([], cursor)
    token = server.requests[0].headers["authorization"].removeprefix("Bearer ")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": a.KEY_ID, "typ": "JWT"}
    claims = jwt.decode(token, PUBLIC_KEY, algorithms=["ES256"], audience="appstoreconnect-v1")
    assert claims["iss"] == a.ISSUER and 0 < claims["exp"] - claims["iat"] <= 20 * 60
    assert abs(claims["iat"] - datetime.now(UTC).timestamp()) < 60
    assert server.requests[1].headers["authorization"] == f"Bearer {token}"  # kept, not remade
    later = conn.signer.token(now=claims["exp"] - 30) if conn.signer else ""
    assert later != token  # renewed before it expires


def test_pages_are_followed_and_nothing_seen_comes_again(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    for i in range(450):
        api.add(a.Review(3, f"review {i}", created=a.ago(minutes=600 - i)))
    conn = AppStoreConnector(config(server), client)
    mentions, cursor = conn.fetch([], None)
    assert len({m.external_id for m in mentions}) == 450
    assert len(server.requests) == 3 and server.requests[2].params["cursor"] == "400"
    assert mentions == sorted(mentions, key=lambda m: m.created_at)
    again, _ = conn.fetch([], cursor)
    assert again == [] and len(server.requests) == 4  # the newest page only


def test_an_edited_review_comes_again_with_the_same_id(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    review = api.add(a.Review(4, "Works well"))
    conn = AppStoreConnector(config(server), client)
    _, cursor = conn.fetch([], None)
    review.edit(1, "Since the update it crashes")
    [m], cursor = conn.fetch([], cursor)
    assert (m.external_id, m.rating, m.text) == (review.id, 1.0, "Since the update it crashes")
    assert conn.fetch([], cursor)[0] == []


def test_only_a_published_response_is_the_owners_reply(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    review = api.add(a.Review(2, "Too many ads"))
    conn = AppStoreConnector(config(server), client)
    _, cursor = conn.fetch([], None)
    review.answer("Thanks, we removed them in 2.5", state="PENDING_PUBLISH")
    [pending], cursor = conn.fetch([], cursor)
    assert pending.owner_replied_at is None  # Apple has not shown it yet
    review.answer("Thanks, we removed them in 2.5")
    [answered], cursor = conn.fetch([], cursor)
    assert review.response is not None
    assert answered.owner_replied_at == review.response[1]


def test_the_first_poll_reaches_back_lookback_but_remembers_the_page(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    old = api.add(a.Review(5, "Old praise", created=a.ago(days=30)))
    api.add(a.Review(1, "New complaint", created=a.ago(hours=1)))
    conn = AppStoreConnector(config(server, lookback="7d"), client)
    mentions, cursor = conn.fetch([], None)
    assert [m.text for m in mentions] == ["New complaint"]
    old.edit(1, "Old praise, now a complaint")
    [edited], _ = conn.fetch([], cursor)
    assert edited.external_id == old.id and edited.rating == 1.0


def test_hostile_text_is_kept_as_text_and_a_bad_item_is_skipped(
    api: a.AppStore, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    hostile = "<script>alert(1)</script> <@channel> *bold* A\u200bcme \u202eevil"
    api.add(a.Review(1, hostile, title="<b>1/5</b>", nickname="<img src=x>"))
    broken = api.add(a.Review(1, "broken"))
    original = broken.resource
    broken.resource = lambda: {**original(), "attributes": {"rating": 1}}  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING):
        [m], _ = AppStoreConnector(config(server), client).fetch([], None)
    assert "<script>alert(1)</script>" in m.text and m.title == "<b>1/5</b>"
    assert m.author == "<img src=x>"
    assert "skipped an item" in caplog.text


def test_a_wrong_key_is_401_with_the_fix_and_no_secret_shows(
    api: a.AppStore, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    other, _ = a.new_key()
    cfg = config(server, private_key=other)
    remember_config([cfg], [], "sqlite://")
    conn = AppStoreConnector(cfg, client)
    try:
        with pytest.raises(AuthError) as info:
            conn.fetch([], None)
        token = server.requests[-1].headers["authorization"].removeprefix("Bearer ")
        server.fail_next(Response(500, {"errors": [{"detail": f"echo Bearer {token} {other}"}]}))
        with pytest.raises(ConnectorError) as echoed:
            conn.fetch([], None)
        texts = [str(info.value), str(echoed.value), repr(cfg), caplog.text]
        texts.append(REDACTOR(f"{token} {other}"))
    finally:
        REDACTOR.clear()
    assert "NOT_AUTHORIZED" in str(info.value) and info.value.hint
    assert "Issuer ID" in info.value.hint and "clock" in info.value.hint
    for text in texts:
        assert token not in text
        assert "PRIVATE KEY-----\n" not in text and other.splitlines()[1] not in text


def test_a_key_without_the_role_is_403_and_says_which_role(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    api.can_read_reviews = False
    with pytest.raises(AuthError) as info:
        AppStoreConnector(config(server), client).fetch([], None)
    assert "FORBIDDEN_ERROR" in info.value.message and "does not allow" in info.value.message
    assert info.value.hint and "Customer Support" in info.value.hint


def test_an_unknown_app_is_named_and_the_others_are_read(
    api: a.AppStore, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    api.add(a.Review(1, "awful"))
    apps = [{"id": "999999999", "brand": "Acme"}, {"id": a.APP_ID, "brand": "Acme"}]
    with caplog.at_level(logging.WARNING):
        mentions, cursor = AppStoreConnector(config(server, apps), client).fetch([], None)
    assert [m.text for m in mentions] == ["awful"]
    assert "knows no app 999999999" in caplog.text and "Apple ID" in caplog.text
    assert list(json.loads(cursor or "{}")["apps"]) == [a.APP_ID]


def test_the_hourly_limit_is_budgeted_and_a_429_waits(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    api.add(a.Review(1, "slow"))
    api.hour_limit = 102  # after the first request, 101 are left: above the reserve of 100
    conn = AppStoreConnector(config(server), client)
    _, cursor = conn.fetch([], None)
    _, cursor = conn.fetch([], cursor)  # 100 left now
    asked = len(server.requests)
    with pytest.raises(RateLimited) as info:
        conn.fetch([], cursor)
    assert len(server.requests) == asked  # no request spent
    assert info.value.retry_after == 900 and "100 App Store Connect requests" in str(info.value)
    api.served = api.hour_limit  # the next request is one too many
    with pytest.raises(RateLimited) as limited:
        AppStoreConnector(config(server, hourly_reserve=0), client).fetch([], cursor)
    assert limited.value.retry_after == 600 and "RATE_LIMIT_EXCEEDED" in str(limited.value)


def test_a_next_page_on_another_host_is_refused(server: StandIn, client: httpx.Client) -> None:
    body = {"data": [], "links": {"next": "https://elsewhere.example/v1/apps/1/customerReviews"}}
    server.fail_next(Response(200, body))
    with pytest.raises(ParseError, match="another host"):
        AppStoreConnector(config(server), client).fetch([], None)
    assert len(server.requests) == 1


# ---------------------------------------------------------------- the public feed


def test_a_competitors_feed_review_is_not_own_page(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    review = api.add(a.Review(2, "Rival crashes", "Bad", "Sam", a.ago(hours=1)), RIVAL)
    conn = AppStoreConnector(feed_only(server, [{"id": RIVAL, "brand": "Rival"}]), client)
    [m], cursor = conn.fetch([], None)
    assert (m.external_id, m.author, m.title, m.text) == (
        review.feed_id,
        "Sam",
        "Bad",
        "Rival crashes",
    )
    assert m.rating == 2.0 and not m.own_page and m.brand_hint == "Rival"
    assert m.url == f"https://apps.apple.com/us/app/id{RIVAL}?see-all=reviews"
    assert m.raw["version"] == "2.4.1" and m.created_at == review.created
    [asked] = server.requests
    assert asked.path == f"/us/rss/customerreviews/page=1/id={RIVAL}/sortby=mostrecent/json"
    assert "authorization" not in asked.headers  # the feed needs no key
    assert conn.fetch([], cursor)[0] == []


def test_the_feed_is_read_page_by_page_per_country(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    for i in range(120):
        api.add(a.Review(4, f"us {i}", created=a.ago(minutes=300 - i)), RIVAL)
    api.add(a.Review(1, "gb only", country="gb"), RIVAL)
    apps = [{"id": RIVAL, "brand": "Rival", "countries": ["us", "gb"]}]
    conn = AppStoreConnector(feed_only(server, apps), client)
    mentions, cursor = conn.fetch([], None)
    assert (
        len(mentions) == 121 and api.feed_requests == 4
    )  # 3 pages in US, one (a lone entry) in GB
    assert set(json.loads(cursor or "{}")["feeds"]) == {f"{RIVAL}/us", f"{RIVAL}/gb"}
    api.add(a.Review(1, "newest", created=a.ago(minutes=1)), RIVAL)
    [m], _ = conn.fetch([], cursor)
    assert m.text == "newest" and api.feed_requests == 6


def test_an_edited_feed_review_comes_again_with_its_edit_time(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    review = api.add(a.Review(4, "Fine", created=a.ago(hours=3)), RIVAL)
    conn = AppStoreConnector(feed_only(server, [{"id": RIVAL, "brand": "Rival"}]), client)
    _, cursor = conn.fetch([], None)
    review.edit(1, "Now it crashes")
    [m], _ = conn.fetch([], cursor)
    assert (m.external_id, m.rating, m.text) == (review.feed_id, 1.0, "Now it crashes")
    assert m.created_at == review.created and m.edited_at == review.updated


def test_own_apps_by_key_and_rivals_by_feed_in_one_source(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    api.add(a.Review(1, "ours"))
    api.add(a.Review(1, "theirs"), RIVAL)
    apps = [{"id": a.APP_ID, "brand": "Acme"}, {"id": RIVAL, "brand": "Rival", "own": False}]
    mentions, _ = AppStoreConnector(config(server, apps), client).fetch([], None)
    assert {(m.text, m.own_page) for m in mentions} == {("ours", True), ("theirs", False)}
    no_key = feed_only(server, [{"id": a.APP_ID, "brand": "Acme", "own": True}])
    [ours], _ = AppStoreConnector(no_key, client).fetch([], None)
    assert ours.own_page and ours.text == "ours"


def test_a_failing_feed_does_not_hide_the_other_app(
    api: a.AppStore, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    api.add(a.Review(1, "theirs"), RIVAL)
    apps = [{"id": "3333333333", "brand": "Rival"}, {"id": RIVAL, "brand": "Rival"}]
    server.fail_next(Response(404, b"Not Found", {"Content-Type": "text/plain"}))
    with caplog.at_level(logging.WARNING):
        mentions, _ = AppStoreConnector(feed_only(server, apps), client).fetch([], None)
    assert [m.text for m in mentions] == ["theirs"]
    assert "no reviews feed for app 3333333333 in US" in caplog.text


# ---------------------------------------------------------------- check and config


def test_check_offline_and_online(api: a.AppStore, server: StandIn, client: httpx.Client) -> None:
    apps = [{"id": a.APP_ID, "brand": "Acme"}, {"id": RIVAL, "brand": "Rival", "own": False}]
    conn = AppStoreConnector(config(server, apps), client)
    assert conn.check() == [
        f"App Store Connect key {a.KEY_ID} set; 1 app by the key, 1 by the public feed"
    ]
    assert server.requests == []
    lines = conn.check(online=True)
    assert lines[1] == f"app {a.APP_ID} (Acme App, brand Acme): Apple accepted the key"
    assert (
        lines[2]
        == f"app {RIVAL} (brand Rival): the public feed answers, 0 reviews on its first page in US"
    )
    assert server.requests[0].params == {"fields[apps]": "name"}
    assert lines[3].startswith("the key may make 3,600 requests an hour; 3,599 are left now")
    other, _ = a.new_key()
    with pytest.raises(AuthError):
        AppStoreConnector(config(server, apps, private_key=other), client).check(online=True)


def test_cli_check_online_with_a_key_file(server: StandIn, tmp_path: Path) -> None:
    key = tmp_path / "AuthKey_2X9R4HXF34.p8"
    key.write_text(PRIVATE_KEY)
    path = tmp_path / "config.yaml"
    path.write_text(
        "database: sqlite:///mentions.db\n"
        "brands:\n  - name: Acme\n    keywords: [Acme]\n"
        f"sources:\n  app_store:\n    base_url: {server.url}\n    feed_base_url: {server.url}\n"
        f"    issuer_id: {a.ISSUER}\n    key_id: {a.KEY_ID}\n    private_key_file: {key.name}\n"
        f"    apps:\n      - id: '{a.APP_ID}'\n        brand: Acme\n"
    )
    # Run from elsewhere: the key's relative path is from the config file's folder.
    result = CliRunner().invoke(cli, ["check", "-c", str(path), "--online"])
    assert result.exit_code == 0, result.output
    assert "Apple accepted the key" in result.output
    assert PRIVATE_KEY.splitlines()[1] not in result.output


def test_a_bad_or_missing_p8_is_a_clear_error_that_never_quotes_it(tmp_path: Path) -> None:
    base = {"issuer_id": a.ISSUER, "key_id": a.KEY_ID, "apps": [{"id": a.APP_ID, "brand": "A"}]}
    cut = PRIVATE_KEY[: len(PRIVATE_KEY) // 2] + "\n-----END PRIVATE KEY-----\n"
    for bad, words in [("hunter2-not-a-key", "not the contents"), (cut, "cannot be read")]:
        with pytest.raises(ValidationError) as info:
            AppStoreConfig.model_validate({**base, "private_key": bad})
        assert words in str(info.value) and bad not in str(info.value)
    with pytest.raises(ValidationError, match="there is no file"):
        AppStoreConfig.model_validate({**base, "private_key_file": str(tmp_path / "gone.p8")})
    with pytest.raises(ValidationError, match="missing: `key_id`, `private_key`"):
        AppStoreConfig.model_validate({"issuer_id": a.ISSUER, "apps": base["apps"]})
    with pytest.raises(ValidationError, match="two-letter country"):
        AppStoreConfig.model_validate(
            {"apps": [{"id": a.APP_ID, "brand": "A", "countries": ["usa"]}]}
        )


def test_a_missing_key_file_names_the_key_in_config_yaml(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "brands:\n  - name: Acme\n    keywords: [Acme]\n"
        f"sources:\n  app_store:\n    issuer_id: {a.ISSUER}\n    key_id: {a.KEY_ID}\n"
        f"    private_key_file: {tmp_path / 'AuthKey.p8'}\n"
        f"    apps:\n      - id: '{a.APP_ID}'\n        brand: Acme\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "private_key_file" in str(info.value) and "there is no file" in str(info.value)


def test_an_old_cursor_of_another_shape_reads_from_lookback(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    api.add(a.Review(1, "new", created=a.ago(hours=1)))
    [m], _ = AppStoreConnector(config(server), client).fetch([], '{"units": 1, "apps": [3]}')
    assert m.text == "new" and datetime.now(UTC) - m.created_at < timedelta(days=1)


def test_a_feed_that_turns_us_away_is_not_a_key_problem(
    api: a.AppStore, server: StandIn, client: httpx.Client
) -> None:
    server.fail_next(Response(403, b"Forbidden", {"Content-Type": "text/plain"}))
    with pytest.raises(SourceUnavailable) as info:
        AppStoreConnector(feed_only(server, [{"id": RIVAL, "brand": "Rival"}]), client).fetch(
            [], None
        )
    assert "needs no key" in str(info.value) and not isinstance(info.value, AuthError)
