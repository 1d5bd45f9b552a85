from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from connectors.google_reviews import GoogleReviewsConfig, GoogleReviewsConnector, parse_time
from monitor.config import load_config
from monitor.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    ParseError,
    RateLimited,
)
from monitor.redact import remember_config
from tests.conftest import ConfigWriter
from tests.standins import google_reviews as g
from tests.standins.server import Response, StandIn

OTHER = ("111", "333")


@pytest.fixture
def api() -> g.GoogleAPI:
    return g.GoogleAPI()


@pytest.fixture
def server(api: g.GoogleAPI) -> Iterator[StandIn]:
    with StandIn(api) as s:
        yield s


def settings(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": url,
        "token_url": f"{url}/token",
        "client_id": g.CLIENT_ID,
        "client_secret": g.CLIENT_SECRET,
        "refresh_token": g.REFRESH_TOKEN,
        "locations": [{"account": g.ACCOUNT, "location": g.LOCATION, "brand": "Acme Coffee"}],
        **extra,
    }


def connector(server: StandIn, client: httpx.Client, **extra: Any) -> GoogleReviewsConnector:
    config = GoogleReviewsConfig.model_validate(settings(server.url, **extra))
    remember_config([config], [], "sqlite://")
    return GoogleReviewsConnector(config, client)


# ---------------------------------------------------------------- one review


def test_a_review_becomes_an_own_page_mention_with_its_stars(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("r1", "Nice staff. 1 star.", 1, reviewer="Dana"))
    api.add(g.review("r2", None, 5, anonymous=True))
    mentions, cursor = connector(server, client).fetch(["whatever"], None)
    by_id = {m.external_id: m for m in mentions}
    one, five = by_id["r1"], by_id["r2"]
    assert (one.rating, five.rating) == (1.0, 5.0)
    assert one.text == "Nice staff. 1 star." and five.text == ""
    assert one.author == "Dana" and five.author == "A Google user"
    assert one.own_page and one.brand_hint == "Acme Coffee" and one.source == "google_reviews"
    assert one.edited_at is None and one.owner_replied_at is None
    assert one.url == "https://www.google.com/maps/search/?api=1&query=Acme+Coffee"
    assert one.raw["name"] == "accounts/111/locations/222/reviews/r1"
    assert cursor and "111/locations/222" in cursor


def test_the_place_link_is_used_when_configured(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("r1", "ok", 3))
    link = "https://maps.app.goo.gl/AbCdEf123"
    places = [{"location": "accounts/111/locations/222", "brand": "Acme Coffee", "link": link}]
    [mention], _ = connector(server, client, locations=places).fetch([], None)
    assert mention.url == link and mention.rating == 3.0


def test_hostile_text_is_kept_as_text(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    nasty = "<script>alert(1)</script> \ud83d \u202egnp.exe {{ 7*7 }} \x00"
    api.add(g.review("r1", nasty, 2, reviewer="<b>Evil</b>"))
    [mention], _ = connector(server, client).fetch([], None)
    assert "<script>alert(1)</script>" in mention.text  # escaped where shown, not here
    assert "\ud83d" not in mention.text and "\x00" not in mention.text
    assert mention.author == "<b>Evil</b>"
    mention.text.encode("utf-8")  # storable


def test_an_unreadable_review_is_skipped_not_the_page(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("good", "fine", 4))
    broken = g.review("bad", "x", 1)
    broken["createTime"] = "yesterday"
    api.add(broken)
    mentions, _ = connector(server, client).fetch([], None)
    assert [m.external_id for m in mentions] == ["good"]


def test_google_timestamps_with_nanoseconds() -> None:
    when = parse_time("2026-12-03T08:00:01.123456789Z")
    assert when is not None and when.microsecond == 123456 and when.utcoffset() is not None
    assert parse_time("2026-12-03T08:00:01Z") is not None


# ---------------------------------------------------------------- paging and the cursor


def test_pages_of_50_newest_updated_first_then_only_changes(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    now = time.time()
    for n in range(120):
        api.add(g.review(f"r{n}", f"review {n}", 1 + n % 5, created=now - 3600 - n * 60))
    conn = connector(server, client)
    mentions, cursor = conn.fetch([], None)
    assert len(mentions) == 120
    asked = [r for r in server.requests if "/reviews" in r.path]
    assert [r.params.get("pageToken") for r in asked] == [None, "50", "100"]
    assert {r.params["pageSize"] for r in asked} == {"50"}
    assert {r.params["orderBy"] for r in asked} == {"updateTime desc"}
    again, cursor2 = conn.fetch([], cursor)
    assert again == [] and cursor2 == cursor
    assert len([r for r in server.requests if "/reviews" in r.path]) == 4  # one page


def test_an_edited_review_comes_again_with_its_new_stars(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("r1", "Cold coffee, rude staff", 1, created=time.time() - 600))
    api.add(g.review("r2", "Lovely", 5, created=time.time() - 500))
    conn = connector(server, client)
    _, cursor = conn.fetch([], None)
    api.edit("r1", "They called me and fixed it. Better now.", 4)
    [edited], cursor = conn.fetch([], cursor)
    assert edited.external_id == "r1" and edited.rating == 4.0
    assert edited.edited_at is not None and edited.edited_at > edited.created_at
    assert "fixed it" in edited.text
    assert conn.fetch([], cursor)[0] == []


def test_an_owner_reply_brings_the_review_again_answered(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("r1", "Waited 40 minutes", 1, created=time.time() - 600))
    conn = connector(server, client)
    [first], cursor = conn.fetch([], None)
    assert first.owner_replied_at is None
    api.reply("r1", "So sorry, Jo: next coffee is on us.")
    [answered], cursor = conn.fetch([], cursor)
    assert answered.external_id == "r1" and answered.owner_replied_at is not None
    assert answered.raw["reply"].startswith("So sorry")
    assert conn.fetch([], cursor)[0] == []  # the same reply once


def test_a_review_with_the_cursors_update_time_is_not_lost(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    moment = time.time() - 300
    api.add(g.review("r1", "first", 2, created=moment))
    conn = connector(server, client)
    _, cursor = conn.fetch([], None)
    api.add(g.review("r2", "same moment", 1, created=moment))
    mentions, _ = conn.fetch([], cursor)
    assert [m.external_id for m in mentions] == ["r2"]


def test_the_first_poll_reaches_back_lookback_only(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("old", "from last year", 1, created=time.time() - 400 * 86400))
    api.add(g.review("new", "this week", 1, created=time.time() - 2 * 86400))
    mentions, _ = connector(server, client, lookback="7d").fetch([], None)
    assert [m.external_id for m in mentions] == ["new"]


def test_each_location_is_its_own_step_and_brand(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("a1", "main street review", 1))
    api.add(g.review("b1", "station review", 2, location=OTHER), OTHER)
    places = [
        {"account": "111", "location": "222", "brand": "Acme Coffee"},
        {"account": "111", "location": "333", "brand": "Acme Bakery", "name": "Station"},
    ]
    steps = list(connector(server, client, locations=places).fetch_pages([], None))
    assert [[m.brand_hint for m in ms] for ms, _ in steps] == [["Acme Coffee"], ["Acme Bakery"]]
    assert set(json.loads(steps[1][1])["locations"]) == {
        "accounts/111/locations/222",
        "accounts/111/locations/333",
    }


def test_a_wrong_location_does_not_hide_the_others(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("a1", "review", 1))
    places = [
        {"account": "111", "location": "999", "brand": "Acme Coffee", "name": "Typo"},
        {"account": "111", "location": "222", "brand": "Acme Coffee"},
    ]
    conn = connector(server, client, locations=places)
    mentions, _ = conn.fetch([], None)
    assert [m.external_id for m in mentions] == ["a1"]
    only_bad = connector(server, client, locations=places[:1])
    with pytest.raises(ConnectorError) as info:
        only_bad.fetch([], None)
    assert "accounts/111/locations/999" in info.value.message
    assert info.value.hint and "`account` and `location` of 'Typo'" in info.value.hint


def test_a_place_without_reviews_answers_nothing(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.places[(g.ACCOUNT, g.LOCATION)] = []
    mentions, cursor = connector(server, client).fetch([], None)
    assert mentions == [] and cursor


def test_a_reviews_answer_of_another_shape_is_a_parse_error(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("r1", "x", 1))
    conn = connector(server, client)
    conn.fetch([], None)  # the token is held now: the fault meets the reviews call
    server.fail_next(Response(200, {"items": []}))
    with pytest.raises(ParseError):
        conn.fetch([], None)
    server.fail_next(Response(200, {"reviews": "none"}))
    with pytest.raises(ParseError):
        conn.fetch([], None)


# ---------------------------------------------------------------- OAuth


def test_the_access_token_is_kept_and_renewed_once_on_401(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("r1", "x", 1))
    conn = connector(server, client)
    _, cursor = conn.fetch([], None)
    conn.fetch([], cursor)
    assert api.token_requests == 1
    token_call = next(r for r in server.requests if r.path == "/token")
    assert b"grant_type=refresh_token" in token_call.body
    api.expire_tokens()  # Google revoked or expired the access token early
    conn.fetch([], cursor)
    assert api.token_requests == 2


def test_a_401_after_a_new_token_is_an_auth_error(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("r1", "x", 1))
    api.token_life = -10  # every access token Google gives is refused at once
    with pytest.raises(AuthError) as info:
        connector(server, client).fetch([], None)
    assert "business.manage" in (info.value.hint or "")
    assert api.token_requests == 2


def test_a_revoked_refresh_token_is_explained_without_showing_it(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.revoked = True
    conn = connector(server, client)
    server.fail_next(
        Response(
            400,
            {"error": "invalid_grant", "error_description": f"bad token {g.REFRESH_TOKEN}"},
        )
    )
    with pytest.raises(AuthError) as info:
        conn.fetch([], None)
    text = str(info.value)
    assert "no longer accepts the refresh token" in text
    assert "GOOGLE_REFRESH_TOKEN" in text and "In production" in text
    assert g.REFRESH_TOKEN not in text and g.CLIENT_SECRET not in text and "[secret]" in text
    with pytest.raises(AuthError) as again:
        conn.fetch([], None)
    assert "Token has been expired or revoked." in str(again.value)


def test_a_wrong_client_secret_is_explained(server: StandIn, client: httpx.Client) -> None:
    conn = connector(server, client, client_secret="GOCSPX-wrong-secret-0000")
    with pytest.raises(AuthError) as info:
        conn.fetch([], None)
    assert "does not accept the OAuth client" in info.value.message
    assert info.value.hint and "Credentials" in info.value.hint
    assert "GOCSPX-wrong-secret-0000" not in str(info.value)


# ---------------------------------------------------------------- Google's refusals


def test_an_api_not_enabled_says_where_to_enable_it(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.disabled = True
    with pytest.raises(AuthError) as info:
        connector(server, client).fetch([], None)
    assert "not enabled" in info.value.message
    assert info.value.hint and "Google My Business API" in info.value.hint


def test_an_unapproved_project_is_told_about_the_access_form(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("r1", "x", 1))
    api.approved = False
    with pytest.raises(RateLimited) as info:
        connector(server, client).fetch([], None)
    assert info.value.retry_after == 60  # Google sends no Retry-After; its quota is per minute
    assert "RESOURCE_EXHAUSTED" in info.value.message
    assert info.value.hint and "Application for Basic API Access" in info.value.hint


def test_a_location_the_account_cannot_manage(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("r1", "x", 1))
    api.forbidden.add((g.ACCOUNT, g.LOCATION))
    with pytest.raises(AuthError) as info:
        connector(server, client).fetch([], None)
    assert "PERMISSION_DENIED" in info.value.message
    assert info.value.hint and "owner or manager" in info.value.hint


# ---------------------------------------------------------------- check


def test_check_offline_touches_nothing(server: StandIn, client: httpx.Client) -> None:
    lines = connector(server, client).check()
    assert lines == [f"OAuth client {g.CLIENT_ID}; refresh token set; 1 location"]
    assert server.requests == []


def test_check_online_reads_one_review_per_location(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add(g.review("r1", "x", 1))
    api.add(g.review("r2", "y", 4))
    lines = connector(server, client).check(online=True)
    assert (
        lines[1] == "Acme Coffee (accounts/111/locations/222): OK, 2 reviews, 2.5 stars on average"
    )
    assert [r.params.get("pageSize") for r in server.requests if "/reviews" in r.path] == ["1"]


def test_check_online_explains_a_refusal(
    api: g.GoogleAPI, server: StandIn, client: httpx.Client
) -> None:
    api.revoked = True
    with pytest.raises(AuthError) as info:
        connector(server, client).check(online=True)
    assert "refresh token" in info.value.message


# ---------------------------------------------------------------- config


def test_location_forms_and_mistakes() -> None:
    def places(*items: dict[str, Any]) -> GoogleReviewsConfig:
        return GoogleReviewsConfig.model_validate(settings("http://x", locations=list(items)))

    whole = places({"location": "accounts/12/locations/34", "brand": "A"})
    assert whole.locations[0].parent == "accounts/12/locations/34"
    assert places({"account": "12", "location": "locations/34", "brand": "A"}).locations[0].parent
    for bad, words in [
        ({"account": "12", "location": "Main Street", "brand": "A"}, "digits only"),
        ({"location": "34", "brand": "A"}, "which account"),
        ({"account": "12", "location": "34", "brand": "A", "link": "maps/x"}, "https://"),
    ]:
        with pytest.raises(ValidationError, match=words):
            places(bad)
    with pytest.raises(ValidationError, match="listed twice"):
        places(
            {"location": "accounts/1/locations/2", "brand": "A"},
            {"account": "1", "location": "2", "brand": "A"},
        )


def test_a_location_must_name_a_configured_brand(
    write_config: ConfigWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", g.CLIENT_SECRET)
    monkeypatch.setenv("GOOGLE_REFRESH_TOKEN", g.REFRESH_TOKEN)
    path = write_config(
        """
        database: sqlite:///mentions.db
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          google_reviews:
            client_id: 1234-test.apps.googleusercontent.com
            client_secret: ${GOOGLE_CLIENT_SECRET}
            refresh_token: ${GOOGLE_REFRESH_TOKEN}
            locations:
              - {account: "111", location: "222", brand: Acme Cofee}
        alerts:
          channels:
            - type: console
        """
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "unknown brand 'Acme Cofee' (did you mean 'Acme Coffee'?)" in str(info.value)
    assert g.REFRESH_TOKEN not in str(info.value)
