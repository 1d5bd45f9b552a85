from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from connectors.base import MemoryState
from connectors.bluesky import BlueskyConfig, BlueskyConnector, search_terms
from monitor.config import BrandConfig, Config, load_config
from monitor.errors import AuthError, RateLimited
from monitor.http import USER_AGENT
from monitor.pipeline import Pipeline
from monitor.sentiment import VaderScorer
from monitor.service import Service
from monitor.store import Store, StoreState
from tests.conftest import ConfigWriter
from tests.standins.bluesky import RAW_QUERY, BlueskyAPI, BlueskyStandIn, post
from tests.standins.server import Request, Response

HANDLE = "acme.bsky.social"
PASSWORD = "abcd-efgh-ijkl-mnop"
LOGIN = "com.atproto.server.createSession"
REFRESH = "com.atproto.server.refreshSession"
SEARCH = "app.bsky.feed.searchPosts"


@pytest.fixture
def api() -> BlueskyAPI:
    return BlueskyAPI(handle=HANDLE, password=PASSWORD)


@pytest.fixture
def server(api: BlueskyAPI) -> Iterator[BlueskyStandIn]:
    with BlueskyStandIn(api) as s:
        yield s


def connector(
    server: BlueskyStandIn,
    client: httpx.Client,
    state: MemoryState | None = None,
    **extra: object,
) -> BlueskyConnector:
    settings: dict[str, object] = {"handle": HANDLE, "app_password": PASSWORD, **extra}
    return BlueskyConnector(BlueskyConfig(base_url=server.url, **settings), client, state)


def searches(server: BlueskyStandIn) -> list[Request]:
    return [r for r in server.requests if r.path == f"/xrpc/{SEARCH}"]


def test_search_terms_fold_handles_and_tags_into_one_query() -> None:
    assert search_terms(["Acme Coffee", "@acmecoffee", "#acmecoffee", "#AcmeCoffee"]) == [
        '"Acme Coffee"',
        "acmecoffee",
    ]


def test_fetch_normalises_posts(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    created = time.time() - 120
    api.add(
        post(
            "3kxyzabc",
            "Acme Coffee burnt my latte",
            handle="bob.bsky.social",
            did="did:plc:bob",
            created=created,
            likes=12,
            reposts=3,
            replies=4,
            quotes=1,
        )
    )
    mentions, cursor = connector(server, client, lang="en").fetch(["Acme Coffee"], None)
    [m] = mentions
    assert m.source == "bluesky"
    assert m.external_id == "at://did:plc:bob/app.bsky.feed.post/3kxyzabc"
    assert m.url == "https://bsky.app/profile/bob.bsky.social/post/3kxyzabc"
    assert m.author == "bob.bsky.social"
    assert m.author_followers is None and m.title is None
    assert m.text == "Acme Coffee burnt my latte"
    assert m.engagement == {"likes": 12, "reposts": 3, "replies": 4, "quotes": 1}
    assert abs(m.created_at - datetime.fromtimestamp(created, UTC)) < timedelta(milliseconds=2)
    assert json.loads(json.dumps(m.raw))["cid"] == "bafyreib3kxyzabc"
    assert cursor and json.loads(cursor)["seen"] == {m.external_id: m.raw["record"]["createdAt"]}
    login, search = server.requests
    assert json.loads(login.body) == {"identifier": HANDLE, "password": PASSWORD}
    assert search.params["q"] == '"Acme Coffee"'
    assert search.params["sort"] == "latest"
    assert (search.params["limit"], search.params["lang"]) == ("100", "en")
    assert search.headers["authorization"].startswith("Bearer eyJ.access-")
    assert {r.headers["user-agent"] for r in server.requests} == {USER_AGENT}


def test_a_handle_that_does_not_resolve_links_by_did(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    api.add(post("3kaaa", "acme again", handle="handle.invalid", did="did:plc:zzz"))
    [m], _ = connector(server, client).fetch(["acme"], None)
    assert m.url == "https://bsky.app/profile/did:plc:zzz/post/3kaaa"


def test_one_session_across_many_polls(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    api.add(post("3k1", "acme is fine"), post("3k2", "globex is fine"))
    conn = connector(server, client)
    for _ in range(5):
        conn.fetch(["acme"], None)
        conn.fetch(["globex", "#globex"], None)
    assert api.calls[LOGIN] == 1
    assert api.calls[SEARCH] == 10


@pytest.mark.parametrize("status", [400, 401])
def test_an_expired_access_token_is_refreshed_not_logged_in_again(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client, status: int
) -> None:
    api.expired_status = status
    api.add(post("3k1", "acme"))
    conn = connector(server, client)
    conn.fetch(["acme"], None)
    api.expire_access_tokens()
    mentions, _ = conn.fetch(["acme"], None)
    assert len(mentions) == 1
    assert (api.calls[LOGIN], api.calls[REFRESH]) == (1, 1)
    refresh = next(r for r in server.requests if r.path.endswith(REFRESH))
    assert refresh.headers["authorization"] == "Bearer eyJ.refresh-1.sig"


def test_a_failed_refresh_logs_in_once_more(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    api.add(post("3k1", "acme"))
    conn = connector(server, client)
    conn.fetch(["acme"], None)
    api.expire_access_tokens()
    api.revoke_refresh_tokens()
    mentions, _ = conn.fetch(["acme"], None)
    assert len(mentions) == 1
    assert (api.calls[LOGIN], api.calls[REFRESH]) == (2, 1)


def test_a_wrong_app_password_is_one_clear_auth_error(
    server: BlueskyStandIn, client: httpx.Client, api: BlueskyAPI
) -> None:
    secret = "wxyz-wxyz-wxyz-wxyz"
    conn = connector(server, client, app_password=secret)
    with pytest.raises(AuthError) as info:
        conn.fetch(["acme"], None)
    message = str(info.value)
    assert secret not in message and secret not in repr(conn.config)
    assert "BLUESKY_APP_PASSWORD" in message and "App passwords" in message
    with pytest.raises(AuthError):
        conn.fetch(["acme"], None)
    assert api.calls[LOGIN] == 1  # not tried again with the same password


def test_missing_credentials_fail_before_any_request(
    server: BlueskyStandIn, client: httpx.Client
) -> None:
    conn = connector(server, client, handle=None, app_password="")
    with pytest.raises(AuthError, match="BLUESKY_APP_PASSWORD"):
        conn.check()  # offline: no request either
    with pytest.raises(AuthError, match="BLUESKY_APP_PASSWORD"):
        conn.fetch(["acme"], None)
    assert server.requests == []


def test_the_session_is_kept_sealed_in_the_state(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    state = MemoryState()
    connector(server, client, state).fetch(["acme"], None)
    assert set(state.values) == {"logins", "session"}
    kept = json.dumps(state.values)
    for clear in ("eyJ", "access-", "refresh-", PASSWORD, api.did):
        assert clear not in kept


def test_a_restart_goes_on_with_the_saved_session(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    state = MemoryState()
    for _ in range(3):  # three processes in a row, each with a new connector
        conn = connector(server, client, state)
        conn.fetch(["acme"], None)
        conn.close()
    assert (api.calls[LOGIN], api.calls[REFRESH], api.calls[SEARCH]) == (1, 0, 3)


def test_a_saved_session_whose_access_token_expired_is_refreshed(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    state = MemoryState()
    connector(server, client, state).fetch(["acme"], None)
    api.advance(2 * 3600 + 1)  # the access token lives 2 hours, the refresh token 90 days
    connector(server, client, state).fetch(["acme"], None)
    connector(server, client, state).fetch(["acme"], None)  # the refreshed one was saved
    assert (api.calls[LOGIN], api.calls[REFRESH], api.calls[SEARCH]) == (1, 1, 4)


def test_a_session_another_process_refreshed_is_taken_up_not_refreshed_again(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    state = MemoryState()  # one database, two processes (a `run` and a `check --online`)
    first, second = connector(server, client, state), connector(server, client, state)
    first.fetch(["acme"], None)
    second.fetch(["acme"], None)
    api.expire_access_tokens()
    first.fetch(["acme"], None)  # refreshes: the refresh token both held is spent
    second.fetch(["acme"], None)  # finds first's new session in the state
    assert (api.calls[LOGIN], api.calls[REFRESH]) == (1, 1)


def test_a_new_app_password_cannot_open_the_old_session_and_logs_in_afresh(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    state = MemoryState()
    connector(server, client, state).fetch(["acme"], None)
    api.password = "qrst-uvwx-yz23-4567"
    mentions, _ = connector(server, client, state, app_password=api.password).fetch(["acme"], None)
    assert mentions == []
    assert (api.calls[LOGIN], api.calls[REFRESH]) == (2, 0)
    assert [r.headers["authorization"] for r in searches(server)][-1] == "Bearer eyJ.access-2.sig"
    # ... and a changed handle (same password) cannot open it either.
    other = connector(server, client, state, handle="other.bsky.social", app_password=api.password)
    with pytest.raises(AuthError):
        other.fetch(["acme"], None)  # the stand-in knows only acme: logging in is refused
    assert api.calls[LOGIN] == 3


def test_logins_are_capped_across_restarts(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'mentions.db'}"
    for _ in range(5):  # five processes in a row whose sessions Bluesky has ended
        api.expire_access_tokens()
        api.revoke_refresh_tokens()
        store = Store(url)
        connector(server, client, StoreState(store, "bluesky")).fetch(["acme"], None)
        store.close()
    store = Store(url)
    api.revoke_refresh_tokens()
    api.expire_access_tokens()
    with pytest.raises(RateLimited, match="not logging in to Bluesky again yet") as info:
        connector(server, client, StoreState(store, "bluesky")).fetch(["acme"], None)
    store.close()
    assert api.calls[LOGIN] == 5
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 300


def test_blueskys_own_login_429_is_honoured_and_remembered(
    server: BlueskyStandIn, client: httpx.Client
) -> None:
    state = MemoryState()
    reset = int(time.time()) + 240
    server.fail_next(
        Response(
            429,
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            {"RateLimit-Limit": "30", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)},
        )
    )
    with pytest.raises(RateLimited) as info:
        connector(server, client, state).fetch(["acme"], None)
    assert info.value.retry_after == pytest.approx(240, abs=3)
    with pytest.raises(RateLimited):
        connector(server, client, state).fetch(["acme"], None)
    assert len(server.requests) == 1


def test_search_429_gives_retry_after_from_ratelimit_reset(
    server: BlueskyStandIn, client: httpx.Client
) -> None:
    conn = connector(server, client)
    conn.fetch(["acme"], None)
    server.fail_next(
        Response(
            429,
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            {"RateLimit-Policy": "3000;w=300", "RateLimit-Reset": str(int(time.time()) + 90)},
        )
    )
    with pytest.raises(RateLimited) as info:
        conn.fetch(["acme"], None)
    assert info.value.retry_after == pytest.approx(90, abs=3)


def test_pages_through_the_search_cursor(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    now = time.time()
    api.add(*(post(f"3k{i:03d}", f"acme post {i}", created=now - 60 - i) for i in range(250)))
    mentions, _ = connector(server, client).fetch(["acme"], None)
    assert len(mentions) == 250
    assert [r.params.get("cursor") for r in searches(server)] == [None, "100", "200"]


def test_page_cap_keeps_the_newest_and_says_so(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    now = time.time()
    api.add(*(post(f"3k{i:03d}", f"acme post {i}", created=now - 60 - i) for i in range(30)))
    mentions, _ = connector(server, client, limit=10, max_pages=2).fetch(["acme"], None)
    assert len(mentions) == 20
    assert min(m.created_at for m in mentions).timestamp() == pytest.approx(now - 79, abs=0.01)
    assert "older ones were skipped" in caplog.text


def test_cursor_no_duplicates_across_polls_nothing_skipped_across_a_restart(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    now = time.time()
    api.add(post("3ka", "acme one", created=now - 300), post("3kb", "acme two", created=now - 200))
    first = connector(server, client)
    mentions, cursor = first.fetch(["acme"], None)
    assert [m.text for m in mentions] == ["acme one", "acme two"]
    again, same = first.fetch(["acme"], cursor)
    assert again == [] and same == cursor
    newest = datetime.fromisoformat(json.loads(cursor or "")["since"])
    asked = datetime.fromisoformat(searches(server)[-1].params["since"])
    assert newest - asked == timedelta(minutes=10)  # reaches back by `overlap`
    # Meanwhile: a new post, and one written before "acme two" but indexed only now.
    api.add(post("3kc", "acme three", created=now - 100))
    api.add(post("3kd", "acme late", created=now - 250, indexed=now - 10))
    restarted = connector(server, client)
    mentions, cursor = restarted.fetch(["acme"], cursor)
    assert sorted(m.text for m in mentions) == ["acme late", "acme three"]
    assert restarted.fetch(["acme"], cursor)[0] == []


def test_empty_answer_keeps_the_cursor(server: BlueskyStandIn, client: httpx.Client) -> None:
    cursor = json.dumps({"since": "2026-01-01T00:00:00.000Z", "seen": {}})
    assert connector(server, client).fetch(["nothing here"], cursor) == ([], cursor)


def test_refresh_reads_engagement_25_posts_a_call(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    api.add(*(post(f"3k{i:02d}", f"acme {i}", likes=i, quotes=1) for i in range(60)))
    uris = [p["uri"] for p in api.posts]
    current = connector(server, client).refresh([*uris, "at://did:plc:gone/app.bsky.feed.post/x"])
    assert current[uris[7]] == {"likes": 7, "reposts": 0, "replies": 0, "quotes": 1}
    assert set(current) == set(uris)
    calls = [r for r in server.requests if r.path.endswith("getPosts")]
    assert [len(parse_qs(r.headers[RAW_QUERY])["uris"]) for r in calls] == [25, 25, 11]


def test_check_offline_and_online(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client
) -> None:
    conn = connector(server, client)
    assert conn.check() == [f"handle {HANDLE}, app password set"]
    assert server.requests == []
    assert "logged in as acme.bsky.social (did:plc:acmeowner)" in conn.check(online=True)[1]
    with pytest.raises(AuthError):
        connector(server, client, app_password="nope-nope-nope-nope").check(online=True)


def test_a_keyword_containing_another_is_not_searched_again() -> None:
    terms = search_terms(["Acme Coffee", "Acme Coffee app", "acme coffee refund", "Coffee Acme"])
    assert terms == ['"Acme Coffee"', '"Coffee Acme"']
    assert search_terms(["acmecoffee", "acmecoffee.com"]) == ["acmecoffee", "acmecoffee.com"]


def test_twelve_polls_of_separate_processes_log_in_once_and_keep_no_secret_in_clear(
    api: BlueskyAPI,
    server: BlueskyStandIn,
    write_config: ConfigWriter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cron `poll` every 5 minutes for an hour, each a new Service and Store on one file."""
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", PASSWORD)
    path = write_config(
        f"""
        database: sqlite:///mentions.db
        brands:
          - name: Acme Coffee
            keywords: ["acme"]
        sources:
          bluesky:
            base_url: {server.url}
            handle: {HANDLE}
            app_password: ${{BLUESKY_APP_PASSWORD}}
            timeout: 2s
        alerts:
          channels:
            - type: console
        """
    )
    api.add(post("3k1", "acme burnt my latte, awful"))
    for n in range(12):
        if n == 6:
            api.advance(2 * 3600 + 1)  # the access token has expired meanwhile
        service = Service(load_config(path))
        try:
            [report] = service.poll()
        finally:
            service.close()
        assert report.ok, report.error
    # 12 searches, and the one refused with ExpiredToken before the refresh
    assert (api.calls[LOGIN], api.calls[REFRESH], api.calls[SEARCH]) == (1, 1, 13)
    files = sorted(tmp_path.glob("mentions.db*"))
    data = b"".join(f.read_bytes() for f in files)
    assert b"acme burnt my latte" in data  # the bytes really are the database's
    for clear in (b"eyJ", b"access-", b"refresh-", PASSWORD.encode()):
        assert clear not in data, (clear, [f.name for f in files])


def test_brands_are_searched_together_and_each_post_reaches_its_brand(
    api: BlueskyAPI, server: BlueskyStandIn, client: httpx.Client, tmp_path: Path
) -> None:
    """searchPosts has no OR, but one round for every brand asks a shared or covered term
    once ("Acme Roastery" is covered by the other brand's "Acme"); the matcher files each
    post under the brand it names."""
    brands = [
        BrandConfig(name="Acme", keywords=["Acme", "@acme"]),
        BrandConfig(name="Roastery", keywords=["Roastery", "Acme Roastery", "#acme"]),
    ]
    api.add(
        post("3kaaa", "Acme lost my parcel", did="did:plc:bob"),
        post("3kbbb", "the roastery was closed again", did="did:plc:bob"),
        post("3kccc", "Acme Roastery beans are stale", did="did:plc:bob"),
    )
    config = Config(
        path=None,
        database=f"sqlite:///{tmp_path / 'm.db'}",
        brands=brands,
        sources={
            "bluesky": BlueskyConfig(base_url=server.url, handle=HANDLE, app_password=PASSWORD)
        },
        channels=[],
    )
    store = Store(config.database)
    try:
        pipeline = Pipeline(
            config, store, VaderScorer(), {"bluesky": connector(server, client)}, strict=True
        )
        assert pipeline.poll_source("bluesky").new == 3
        filed = {row.text: row.brand for row in store.mentions()}
    finally:
        store.close()
    assert sorted(r.params["q"] for r in searches(server)) == ["Acme", "Roastery"]
    assert filed == {
        "Acme lost my parcel": "Acme",
        "the roastery was closed again": "Roastery",
        "Acme Roastery beans are stale": "Acme",  # names both: the first in config order
    }


def test_an_upgrade_carries_the_brands_cursors_over(
    server: BlueskyStandIn, client: httpx.Client
) -> None:
    """Older versions kept a cursor per brand: the one for every brand starts at the oldest
    and keeps every post they had seen, so nothing is read as new twice."""
    conn = connector(server, client)
    acme = json.dumps(
        {"since": "2026-12-01T10:00:00.000Z", "seen": {"at://a": "2026-12-01T09:59:00.000Z"}}
    )
    roast = json.dumps(
        {"since": "2026-12-01T09:00:00.000Z", "seen": {"at://r": "2026-12-01T08:58:00.000Z"}}
    )
    carried = json.loads(conn.carry_cursors([acme, roast, "not json"]) or "")
    assert carried["since"].startswith("2026-12-01T09:00:00")
    assert set(carried["seen"]) == {"at://a", "at://r"}
    assert conn.carry_cursors(["not json"]) is None
