from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.google_play import GooglePlayConnector, moment
from connectors.google_play_config import GooglePlayConfig
from monitor.errors import AuthError, BudgetExhausted, ConfigError, ConnectorError, RateLimited
from monitor.redact import redact, remember_config
from tests.standins import google_play as g
from tests.standins.server import Response, StandIn

HOUR = datetime(2026, 12, 3, 10, 20, tzinfo=UTC)


@pytest.fixture
def api() -> g.PlayAPI:
    return g.PlayAPI()


@pytest.fixture
def server(api: g.PlayAPI) -> Iterator[StandIn]:
    with StandIn(api) as s:
        yield s


def settings(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": url,
        "service_account_json": json.dumps(g.key_file(f"{url}/token")),
        "apps": [{"package": g.PACKAGE, "brand": "Acme App"}],
        **extra,
    }


def connector(server: StandIn, client: httpx.Client, **extra: Any) -> GooglePlayConnector:
    config = GooglePlayConfig.model_validate(settings(server.url, **extra))
    remember_config([config], [], "sqlite://")
    return GooglePlayConnector(config, client)


def pem_lines() -> list[str]:
    pem = g.key_file("https://x")["private_key"]
    return [line for line in pem.splitlines() if "PRIVATE KEY" not in line and line]


# ---------------------------------------------------------------- reviews


def test_a_review_becomes_an_own_page_mention_with_its_stars(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add("gp:1", "Crashes on login\tSince the update it closes at once.", 1, author="Dana")
    api.add("gp:2", "Love it", 5, author="")
    mentions, cursor = connector(server, client).fetch(["ignored"], None)
    by_id = {m.external_id: m for m in mentions}
    one, five = by_id["gp:1"], by_id["gp:2"]
    assert (one.rating, five.rating) == (1.0, 5.0)
    assert one.title == "Crashes on login" and one.text == "Since the update it closes at once."
    assert five.title is None and five.text == "Love it"
    assert one.author == "Dana" and five.author == "A Google user"
    assert one.own_page and one.brand_hint == "Acme App" and one.source == "google_play"
    assert one.url == "https://play.google.com/store/apps/details?id=com.acme.app"
    assert one.edited_at is None and one.owner_replied_at is None
    assert one.raw["appVersionName"] == "2.4.1" and one.raw["thumbsUpCount"] == 2
    assert abs(one.created_at.timestamp() - (time.time() - 60)) < 5
    assert cursor and g.PACKAGE in cursor
    # The JWT was signed with the key, for the key's account, the scope and the endpoint.
    (claims,) = api.assertions
    assert claims["iss"] == g.EMAIL and claims["scope"] == g.SCOPE
    assert claims["aud"] == f"{server.url}/token" and claims["exp"] - claims["iat"] <= 3600


def test_pages_are_followed_and_a_quiet_poll_costs_one_request(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    for i in range(250):
        api.add(f"r{i}", f"review {i}", 3, ago=600 + i)
    conn = connector(server, client)
    mentions, cursor = conn.fetch([], None)
    assert len(mentions) == 250 and api.list_requests == 3
    assert [r.params["maxResults"] for r in server.requests if "reviews" in r.path] == ["100"] * 3
    again, _ = conn.fetch([], cursor)
    assert again == [] and api.list_requests == 4
    assert api.token_requests == 1, "the access token is kept until it nearly expires"


def test_an_edit_comes_again_with_its_first_time_and_a_reply_marks_it_answered(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add("r1", "Great app", 5, ago=3600)
    api.add("r2", "Fine", 4, ago=1800)
    conn = connector(server, client)
    [first, _], cursor = conn.fetch([], None)
    api.edit("r1", "Lost all my data", 1)
    [edited], cursor = conn.fetch([], cursor)
    assert edited.external_id == "r1" and edited.rating == 1.0
    assert edited.created_at == next(m for m in [first] if m.external_id == "r1").created_at
    assert edited.edited_at is not None and edited.edited_at > edited.created_at
    api.reply("r1", "Sorry! Fixed in 2.4.2")
    [answered], cursor = conn.fetch([], cursor)
    assert answered.owner_replied_at is not None and answered.raw["reply"].startswith("Sorry")
    assert conn.fetch([], cursor)[0] == []


def test_the_first_poll_reports_only_lookback_but_remembers_the_rest(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add("old", "Meh", 2, ago=3 * 86_400)
    api.add("new", "Broken", 1, ago=600)
    conn = connector(server, client, lookback="1d")
    mentions, cursor = conn.fetch([], None)
    assert [m.external_id for m in mentions] == ["new"]
    api.edit("old", "Worse now", 1)
    [edited], _ = conn.fetch([], cursor)
    assert edited.external_id == "old" and edited.edited_at is not None


def test_a_review_first_seen_long_ago_and_changed_lately_is_kept_as_an_edit(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add("r1", "Now it crashes", 1, ago=2 * 86_400)
    long_ago = time.time() - 9 * 86_400
    state = {"v": 1, "at": time.time() - 600, "apps": {g.PACKAGE: {"newest": time.time() - 600}}}
    state["apps"][g.PACKAGE]["seen"] = {"r1": [long_ago, "00000000", long_ago], "gone": [1, "x", 1]}
    [mention], cursor = connector(server, client).fetch([], json.dumps(state))
    assert mention.created_at.timestamp() == pytest.approx(long_ago)
    assert mention.edited_at is not None and mention.rating == 1.0
    assert set(json.loads(cursor or "")["apps"][g.PACKAGE]["seen"]) == {"r1"}


def test_hostile_text_is_kept_as_text(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    nasty = "<script>alert(1)</script> <!channel> \ud83d \u202egnp.exe \x00"
    api.add("r1", nasty, 1, author="<b>Eve</b>")
    [mention], _ = connector(server, client).fetch([], None)
    assert "<script>alert(1)</script>" in mention.text
    assert "\ud83d" not in mention.text and "\x00" not in mention.text
    assert mention.author == "<b>Eve</b>"


def test_an_unreadable_review_is_skipped_not_the_page(
    api: g.PlayAPI, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    api.add("ok", "Fine", 4)
    api.add("bad", "x", 1)
    original = g.Review.json

    def broken(self: g.Review) -> dict[str, Any]:
        item = original(self)
        if self.rid == "bad":
            item["comments"] = [{"developerComment": {"text": "only a reply"}}]
        return item

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(g.Review, "json", broken)
        mentions, _ = connector(server, client).fetch([], None)
    assert [m.external_id for m in mentions] == ["ok"]
    assert "skipped an item" in caplog.text


def test_moment_reads_a_protobuf_timestamp() -> None:
    when = moment({"seconds": "1443676826", "nanos": 713000000})
    assert when == datetime(2015, 10, 1, 5, 20, 26, 713000, tzinfo=UTC)


# ---------------------------------------------------------------- the week


def test_a_gap_longer_than_the_week_raises_one_notice(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    conn = connector(server, client)
    _, cursor = conn.fetch([], None)
    assert conn.take_notices() == []
    state = json.loads(cursor or "")
    state["at"] -= 8 * 86_400
    conn.fetch([], json.dumps(state))
    (notice,) = conn.take_notices()
    assert notice.key.startswith("gap:") and "Play Console" in notice.text
    assert "7 days" in notice.text


def test_polling_less_than_daily_is_warned_once_and_in_check(
    server: StandIn, client: httpx.Client
) -> None:
    conn = connector(server, client, every="2d")
    _, cursor = conn.fetch([], None)
    conn.fetch([], cursor)
    (notice,) = conn.take_notices()
    assert notice.key == "every:172800" and "`sources.google_play.every`" in notice.text
    assert any("too rare" in line for line in conn.check())


# ---------------------------------------------------------------- quota


def test_the_hourly_budget_stops_reading_and_then_refuses(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    for i in range(350):
        api.add(f"r{i}", f"review {i}", 3, ago=600 + i)
    conn = connector(server, client, hourly_quota=2)
    conn.clock = lambda: HOUR
    mentions, cursor = conn.fetch([], None)
    assert len(mentions) == 200 and api.list_requests == 2
    usage = conn.usage()
    assert (usage.used, usage.limit, usage.fraction) == (2, 2, 1.0)
    assert usage.setting == "hourly_quota" and "10:00 UTC" in usage.period
    with pytest.raises(BudgetExhausted) as info:
        conn.fetch([], cursor)
    assert "hourly_quota" in (info.value.hint or "") and api.list_requests == 2
    conn.clock = lambda: HOUR + timedelta(hours=1)
    assert conn.usage().used == 0


def test_googles_429_waits_for_the_next_hour_and_counts_it_used(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    api.hourly = 0
    conn = connector(server, client)
    with pytest.raises(RateLimited) as info:
        conn.fetch([], None)
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 3600
    assert conn.usage().used == 200


# ---------------------------------------------------------------- refusals


def test_a_service_account_not_invited_is_told_where_to_invite_it(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    api.invited.clear()
    with pytest.raises(AuthError) as info:
        connector(server, client).fetch([], None)
    assert "The caller does not have permission" in str(info.value)
    assert g.EMAIL in (info.value.hint or "") and "Users and permissions" in (info.value.hint or "")
    assert "Reply to reviews" in (info.value.hint or "")


def test_the_api_not_enabled_says_so(api: g.PlayAPI, server: StandIn, client: httpx.Client) -> None:
    api.disabled = True
    with pytest.raises(AuthError) as info:
        connector(server, client).fetch([], None)
    assert "not enabled" in str(info.value)
    assert "Google Play Android Developer API" in (info.value.hint or "")


def test_an_unknown_package_names_it(server: StandIn, client: httpx.Client) -> None:
    apps = [{"package": "com.acme.typo", "brand": "Acme App"}]
    with pytest.raises(ConnectorError) as info:
        connector(server, client, apps=apps).fetch([], None)
    assert "com.acme.typo" in str(info.value) and "package" in (info.value.hint or "")


def test_a_key_google_does_not_know_asks_for_a_new_one(
    server: StandIn, client: httpx.Client
) -> None:
    key = json.dumps(g.key_file(f"{server.url}/token", key=g.OTHER_KEY))
    with pytest.raises(AuthError) as info:
        connector(server, client, service_account_json=key).fetch([], None)
    assert "Invalid JWT Signature" in str(info.value) and "Create new key" in (
        info.value.hint or ""
    )
    assert not any(line in str(info.value) for line in pem_lines())


def test_a_deleted_service_account_is_named(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    api.emails.clear()
    with pytest.raises(AuthError) as info:
        connector(server, client).fetch([], None)
    assert g.EMAIL in str(info.value) and "deleted" in (info.value.hint or "")


def test_androidpublishers_401_permission_denied_is_the_invitation_not_the_token(
    server: StandIn, client: httpx.Client
) -> None:
    said = "The current user has insufficient permissions to perform the requested operation."
    body = {
        "error": {
            "code": 401,
            "message": said,
            "errors": [
                {"domain": "androidpublisher", "message": said, "reason": "permissionDenied"}
            ],
        }
    }
    conn = connector(server, client)
    conn.fetch([], None)  # signed in
    server.fail_next(Response(401, body))
    with pytest.raises(AuthError) as info:
        conn.fetch([], None)
    assert said in str(info.value) and "Users and permissions" in (info.value.hint or "")
    assert len([r for r in server.requests if "reviews" in r.path]) == 2, "no second try"


def test_the_translation_language_is_asked_for(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add("r1", "ok", 3)
    connector(server, client, translation_language="de-DE").fetch([], None)
    assert {
        r.params.get("translationLanguage") for r in server.requests if "reviews" in r.path
    } == {"de-DE"}


def test_an_expired_access_token_is_renewed_once(
    api: g.PlayAPI, server: StandIn, client: httpx.Client
) -> None:
    api.add("r1", "ok", 3)
    conn = connector(server, client)
    _, cursor = conn.fetch([], None)
    api.tokens.clear()
    conn.fetch([], cursor)
    assert api.token_requests == 2 and api.list_requests == 3  # one refused, asked again


# ---------------------------------------------------------------- check


def test_check_offline_and_online(api: g.PlayAPI, server: StandIn, client: httpx.Client) -> None:
    api.add("r1", "ok", 3)
    conn = connector(server, client)
    offline = conn.check()
    assert g.EMAIL in offline[0] and "1 app" in offline[0]
    assert any("7 days only" in line for line in offline) and api.token_requests == 0
    online = conn.check(online=True)
    assert "Acme App (com.acme.app): OK, reviews listed" in online
    assert [r.params.get("maxResults") for r in server.requests if "reviews" in r.path] == ["1"]
    api.invited.clear()
    with pytest.raises(AuthError):
        connector(server, client).check(online=True)


# ---------------------------------------------------------------- the key


def _config(write: Any, source: str, app: str = "{package: com.acme.app, brand: Acme App}") -> Path:
    return write(
        f"""
        database: sqlite:///mentions.db
        brands:
          - name: Acme App
            keywords: ["Acme"]
        sources:
          google_play:
{source}
            apps:
              - {app}
        alerts:
          channels:
            - type: console
        """
    )


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "there is no file"),
        ("{not json", "is not JSON"),
        (json.dumps({"type": "authorized_user", "client_id": "x"}), "not a service account's key"),
        (
            json.dumps(
                {
                    **g.key_file("https://x"),
                    "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                }
            ),
            "cannot be read",
        ),
    ],
)
def test_a_bad_key_file_is_an_owner_error_naming_the_key(
    write_config: Any, tmp_path: Path, content: str | None, said: str
) -> None:
    from monitor.config import load_config

    key = tmp_path / "play-key.json"
    if content is not None:
        key.write_text(content, encoding="utf-8")
    path = _config(write_config, f"            service_account_file: {key}")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "service_account_file" in text and said in text
    assert "AAAA" not in text


def test_one_key_is_needed_and_only_one(write_config: Any, tmp_path: Path) -> None:
    from monitor.config import load_config

    with pytest.raises(ConfigError) as info:
        load_config(_config(write_config, "            every: 30m"))
    assert "service_account_file" in str(info.value)


def test_the_private_key_never_leaks(
    api: g.PlayAPI, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    conn = connector(server, client)
    lines = pem_lines()
    assert not any(line in repr(conn.config) for line in lines)
    assert not any(line in repr(conn.api.tokens.account) for line in lines)
    echoed = f"bad key: {lines[3]}"  # a server that quotes part of what we sent
    assert lines[3] not in redact(echoed)
    api.invited.clear()
    with pytest.raises(AuthError) as info:
        conn.fetch([], None)
    assert not any(line in str(info.value) + caplog.text for line in lines)


def test_wrong_app_settings_are_said_in_owner_words(write_config: Any, tmp_path: Path) -> None:
    from monitor.config import load_config

    key = tmp_path / "play-key.json"
    key.write_text(json.dumps(g.key_file("https://oauth2.googleapis.com/token")), "utf-8")
    source = (
        f'            service_account_file: {key}\n            translation_language: "english!"'
    )
    path = _config(write_config, source, "{package: acme, brand: Acme Ap, link: www.acme.com}")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "'english!' is not a language code" in text
    assert "'acme' is not a package name" in text and "starting with https://" in text
    fixed = path.read_text().replace('"english!"', "en").replace("package: acme,", "package: a.b,")
    path.write_text(fixed.replace(", link: www.acme.com", ""))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "unknown brand 'Acme Ap' (did you mean 'Acme App'?)" in str(info.value)
