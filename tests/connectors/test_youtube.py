from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from connectors.base import MemoryState
from connectors.youtube import YouTubeConfig, YouTubeConnector, search_query
from connectors.youtube_api import units_for_poll
from monitor.cli import cli
from monitor.config import BrandConfig, Config
from monitor.errors import AuthError, BudgetExhausted, ConnectorError, FetchTimeout
from monitor.pipeline import Pipeline
from monitor.redact import REDACTOR
from monitor.sentiment import VaderScorer
from monitor.store import Store
from monitor.store.queries import StoreState
from tests.conftest import ConfigWriter
from tests.standins import youtube
from tests.standins.server import Response, StandIn
from tests.standins.youtube import KEY, PREFIX, Thread, comment, video

OWNER = "UCacmeacmeacmeacmeacmeac"
OTHER = "UCbeanbeanbeanbeanbeanbe"
NOW = datetime.now(UTC).replace(microsecond=0)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def thread(cid: str, text: str, *, channel: str = OWNER, **kw: object) -> Thread:
    return Thread(comment(cid, text, channel=channel, **kw))  # type: ignore[arg-type]


@pytest.fixture
def api() -> youtube.YouTubeAPI:
    return youtube.YouTubeAPI({OWNER: [], OTHER: []})


@pytest.fixture
def server(api: youtube.YouTubeAPI) -> Iterator[StandIn]:
    with StandIn(api) as s:
        yield s


def connector(
    server: StandIn,
    client: httpx.Client,
    state: MemoryState | None = None,
    **extra: object,
) -> YouTubeConnector:
    settings: dict[str, object] = {
        "base_url": server.url + PREFIX,
        "api_key": KEY,
        "channels": [{"id": OWNER, "brand": "Acme Coffee"}],
        **extra,
    }
    conn = YouTubeConnector(YouTubeConfig.model_validate(settings), client, state)
    conn.clock = lambda: NOW
    return conn


def calls(server: StandIn, method: str) -> list[dict[str, str]]:
    return [r.params for r in server.requests if r.path == f"{PREFIX}/{method}"]


# ------------------------------------------------------------ comments on the owner's channel


def test_comments_become_own_page_mentions_of_the_channel_s_brand(
    api: youtube.YouTubeAPI, server: StandIn, client: httpx.Client
) -> None:
    complaint = Thread(
        comment(
            "UgxA1",
            "Cold coffee & rude staff <b>never again</b>",
            channel=OWNER,
            video="vidAAAAAAAA",
            published=ago(hours=2),
            updated=ago(hours=1),
            likes=7,
        ),
        [
            comment(
                "UgxA1.r1",
                "Sorry! Please DM us.",
                channel=OWNER,
                author="Acme Coffee",
                author_channel=OWNER,
                published=ago(minutes=30),
                parent="UgxA1",
            ),
            comment("UgxA1.r2", "same here", channel=OWNER, published=ago(minutes=20)),
        ],
    )
    own = thread("UgxOWN", "New roast out today!", author_channel=OWNER, published=ago(hours=1))
    api.threads[OWNER] = [complaint, own]
    mentions, cursor = connector(server, client).fetch(["Acme Coffee"], None)

    (m,) = mentions  # the owner's own top-level comment is not a mention
    assert m.external_id == "UgxA1" and m.source == "youtube"
    assert m.own_page and m.brand_hint == "Acme Coffee" and m.rating is None
    assert m.text == "Cold coffee & rude staff <b>never again</b>"  # plain text, as written
    assert m.author == "Unhappy Customer"
    assert m.url == "https://www.youtube.com/watch?v=vidAAAAAAAA&lc=UgxA1"
    assert m.created_at == ago(hours=2) and m.edited_at == ago(hours=1)
    assert m.owner_replied_at == ago(minutes=30)
    assert m.engagement == {"likes": 7, "replies": 2}
    assert cursor and json.loads(cursor)["v"] == 1
    (params,) = calls(server, "commentThreads")
    assert params == {
        "part": "snippet,replies",
        "allThreadsRelatedToChannelId": OWNER,
        "order": "time",
        "maxResults": "100",
        "textFormat": "plainText",
        "key": KEY,
    }


def test_a_comment_never_edited_has_no_edited_at(
    api: youtube.YouTubeAPI, server: StandIn, client: httpx.Client
) -> None:
    api.threads[OWNER] = [thread("Ugx1", "fine", published=ago(hours=1))]
    (m,), _ = connector(server, client).fetch([], None)
    assert m.edited_at is None and m.owner_replied_at is None


def test_pages_until_the_lookback_and_counts_one_unit_a_page(
    api: youtube.YouTubeAPI, server: StandIn, client: httpx.Client
) -> None:
    api.threads[OWNER] = [
        thread(f"Ugx{i:03}", f"comment {i}", published=ago(minutes=5 * i + 1)) for i in range(400)
    ]  # 5 minutes apart: 288 fall in the first poll's 24 hours
    conn = connector(server, client)
    mentions, _ = conn.fetch([], None)
    assert len(mentions) == 288 and conn.behind is None
    assert [p.get("pageToken") for p in calls(server, "commentThreads")] == [None, "P100", "P200"]
    assert conn.usage().used == 3
    assert conn.usage().unit == "quota units (a poll costs about 1, 96 a day)"


def test_the_page_cap_stops_a_poll_and_says_so(
    api: youtube.YouTubeAPI,
    server: StandIn,
    client: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api.threads[OWNER] = [
        thread(f"Ugx{i:03}", "c", published=ago(seconds=i + 1)) for i in range(300)
    ]
    conn = connector(server, client, max_pages=2)
    mentions, _ = conn.fetch([], None)
    assert len(mentions) == 200 and len(calls(server, "commentThreads")) == 2
    assert conn.behind == timedelta(seconds=200)  # the oldest comment read
    assert "older ones were skipped" in caplog.text


def test_the_next_poll_returns_only_new_edited_or_answered_threads(
    api: youtube.YouTubeAPI, server: StandIn, client: httpx.Client
) -> None:
    first = thread("Ugx1", "The beans were stale", published=ago(hours=3))
    other = thread("Ugx2", "Lovely latte", published=ago(hours=2))
    api.threads[OWNER] = [first, other]
    conn = connector(server, client)
    mentions, cursor = conn.fetch([], None)
    assert {m.external_id for m in mentions} == {"Ugx1", "Ugx2"}
    assert conn.fetch([], cursor)[0] == []  # nothing changed: nothing again

    # An edit (new text, later updatedAt), an owner's reply and a new comment.
    first.top["snippet"].update(
        textOriginal="Stale beans AND burnt toast", updatedAt=youtube.stamp(ago(minutes=10))
    )
    other.replies.append(
        comment(
            "Ugx2.r", "Thank you!", channel=OWNER, author_channel=OWNER, published=ago(minutes=5)
        )
    )
    api.threads[OWNER].append(thread("Ugx3", "Where is my order?", published=ago(minutes=1)))
    mentions, cursor = conn.fetch([], cursor)
    got = {m.external_id: m for m in mentions}
    assert set(got) == {"Ugx1", "Ugx2", "Ugx3"}
    assert got["Ugx1"].text == "Stale beans AND burnt toast"
    assert got["Ugx1"].edited_at == ago(minutes=10)
    assert got["Ugx2"].owner_replied_at == ago(minutes=5)
    assert conn.fetch([], cursor)[0] == []


def test_the_first_poll_skips_comments_older_than_the_lookback(
    api: youtube.YouTubeAPI, server: StandIn, client: httpx.Client
) -> None:
    api.threads[OWNER] = [
        thread("UgxOld", "old complaint", published=ago(days=5)),
        thread("UgxNew", "new complaint", published=ago(hours=5)),
    ]
    mentions, cursor = connector(server, client).fetch([], None)
    assert [m.external_id for m in mentions] == ["UgxNew"]
    seen = json.loads(cursor)["channels"][OWNER]["seen"]
    assert "UgxNew" in seen and "UgxOld" not in seen  # older than `recheck`: not re-read


def test_hostile_and_broken_items_skip_only_themselves(
    api: youtube.YouTubeAPI, server: StandIn, client: httpx.Client
) -> None:
    good = thread("UgxOK", "<script>alert(1)</script>\ud83d \x00 bad", published=ago(hours=1))
    broken = thread("UgxBAD", "x", published=ago(hours=1))
    broken.top["snippet"]["publishedAt"] = "yesterday"
    api.threads[OWNER] = [good, broken]
    (m,), _ = connector(server, client).fetch([], None)
    assert m.external_id == "UgxOK" and m.text.startswith("<script>")  # escaped where shown
    m.text.encode("utf-8")  # storable: the lone surrogate is gone


# ------------------------------------------------------------ search


def test_search_is_one_or_query_not_own_page_and_unescaped(
    api: youtube.YouTubeAPI, server: StandIn, client: httpx.Client
) -> None:
    api.videos = [
        video(
            "vidREVIEW01",
            "Acme Coffee: don't go there",
            published=ago(hours=2),
            channel_title="Tom & Jerry's",
        ),
        video("vidOWN00001", "Acme Coffee new menu", published=ago(hours=1), channel=OWNER),
        video("vidOTHER001", "Cats", published=ago(hours=1)),
    ]
    conn = connector(server, client, search=True)
    mentions, cursor = conn.fetch(["Acme Coffee", "acmecoffee", "ACME COFFEE"], None)
    (m,) = mentions  # the owner's own video is not a mention
    assert m.external_id == "vidREVIEW01" and not m.own_page and m.brand_hint is None
    assert m.title == "Acme Coffee: don't go there" and m.author == "Tom & Jerry's"
    assert m.url == "https://www.youtube.com/watch?v=vidREVIEW01"
    (params,) = calls(server, "search")
    assert params["q"] == '"Acme Coffee"|acmecoffee'
    assert params["type"] == "video" and params["order"] == "date"
    assert params["maxResults"] == "50" and params["part"] == "snippet"
    assert params["publishedAfter"] == youtube.stamp(ago(hours=24))
    assert conn.usage().used == 101  # one comment page and one search

    # Within search_every no search is made; after it, only newer videos are asked for.
    conn.fetch(["Acme Coffee"], cursor)
    assert len(calls(server, "search")) == 1
    conn.clock = lambda: NOW + timedelta(hours=6)
    conn.fetch(["Acme Coffee"], cursor)
    assert calls(server, "search")[-1]["publishedAfter"] > youtube.stamp(ago(hours=2))


def test_search_query_quotes_phrases_and_drops_operators() -> None:
    assert search_query(['Acme "Best" Coffee', "a|b", "Acme"]) == '"Acme Best Coffee"|"a b"|Acme'


def test_search_stops_at_80_percent_keeping_the_rest_for_comments(
    server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    state = MemoryState()
    conn = connector(server, client, state, search=True, daily_quota=1000)
    state.set(f"units:{conn._day()}", "750")
    conn.fetch(["Acme"], None)
    assert calls(server, "search") == [] and len(calls(server, "commentThreads")) == 1
    assert "the video search is skipped" in caplog.text


# ------------------------------------------------------------ the daily quota


def test_the_budget_stops_polling_and_resets_on_the_pacific_day(
    server: StandIn, client: httpx.Client
) -> None:
    state = MemoryState()
    conn = connector(server, client, state, daily_quota=2)
    conn.fetch([], None)
    conn.fetch([], None)
    with pytest.raises(BudgetExhausted) as info:
        conn.fetch([], None)
    assert "2 of 2 units" in str(info.value) and "midnight Pacific time" in str(info.value)
    assert len(calls(server, "commentThreads")) == 2
    # 08:00 UTC is midnight in Los Angeles in winter: a new day for Google's quota.
    conn.clock = lambda: datetime(2026, 12, 4, 7, 59, tzinfo=UTC)
    assert conn.usage().period == "the Pacific day 2026-12-03"
    conn.clock = lambda: datetime(2026, 12, 4, 8, 1, tzinfo=UTC)
    assert conn.usage().period == "the Pacific day 2026-12-04" and conn.usage().used == 0
    # what the 80% / 100% notices tell the owner to change, and when it starts again
    assert (conn.usage().setting, conn.usage().resets) == ("daily_quota", "midnight Pacific time")


def test_google_s_quota_exceeded_uses_up_the_day_without_further_requests(
    api: youtube.YouTubeAPI, server: StandIn, client: httpx.Client
) -> None:
    api.quota = 0  # another app spent the project's quota
    conn = connector(server, client)
    with pytest.raises(BudgetExhausted, match="today's YouTube quota is used up"):
        conn.fetch([], None)
    assert conn.usage().used == conn.config.daily_quota
    asked = len(server.requests)
    with pytest.raises(BudgetExhausted):
        conn.fetch([], None)
    assert len(server.requests) == asked


def test_units_per_poll_and_per_day() -> None:
    config = YouTubeConfig.model_validate(
        {
            "api_key": "k",
            "channels": [{"id": OWNER, "brand": "A"}, {"id": OTHER, "brand": "B"}],
            "search": True,
        }
    )
    assert units_for_poll(config) == (102, 2 * 96 + 4 * 100)
    minute = config.model_copy(update={"every": timedelta(minutes=1), "search": False})
    assert units_for_poll(minute) == (2, 2 * 1440)


# ------------------------------------------------------------ errors and the key


@pytest.mark.parametrize(
    ("reason", "status", "words"),
    [
        ("accessNotConfigured", 403, "not enabled"),
        ("ipRefererBlocked", 403, "restricted"),
        ("forbidden", 403, "refused the API key"),
    ],
)
def test_refusals_are_auth_errors_with_their_fix(
    server: StandIn, client: httpx.Client, reason: str, status: int, words: str
) -> None:
    server.fail_next(youtube.google_error(status, reason, "no", "usageLimits"))
    with pytest.raises(AuthError, match=words) as info:
        connector(server, client).fetch([], None)
    assert info.value.hint and "console.cloud.google.com" in info.value.hint


def test_a_wrong_key_is_named_and_never_shown(
    server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "AIzaSyWRONG-secret-key-98765432101234"
    REDACTOR.add(secret)  # as loading config.yaml does for every SecretStr
    conn = connector(server, client, api_key=secret)
    with pytest.raises(AuthError, match="not valid") as info:
        conn.fetch([], None)
    assert "YOUTUBE_API_KEY" in str(info.value)
    assert secret not in str(info.value) and secret not in caplog.text
    assert secret not in repr(conn.config)


def test_an_echoed_key_and_a_timeout_do_not_leak_it(server: StandIn, client: httpx.Client) -> None:
    REDACTOR.add(KEY)
    echo = f"Bad request to /commentThreads?key={KEY}&part=snippet"
    server.fail_next(youtube.google_error(400, "invalidParameter", echo))
    with pytest.raises(ConnectorError) as info:
        connector(server, client).fetch([], None)
    assert KEY not in str(info.value) and "[secret]" in str(info.value)
    server.fail_next(Response(200, {"items": []}, delay=1.0))
    with pytest.raises(FetchTimeout) as slow:
        connector(server, client, timeout="0.3s").fetch([], None)
    assert KEY not in str(slow.value) and "key=" not in str(slow.value)


def test_comments_turned_off_skip_that_channel_only(
    api: youtube.YouTubeAPI, server: StandIn, client: httpx.Client
) -> None:
    api.disabled.add(OWNER)
    api.threads[OTHER] = [thread("UgxB", "bitter", channel=OTHER, published=ago(hours=1))]
    conn = connector(
        server,
        client,
        channels=[{"id": OWNER, "brand": "Acme Coffee"}, {"id": OTHER, "brand": "Bean"}],
    )
    (m,), _ = conn.fetch([], None)
    assert m.brand_hint == "Bean"


def test_an_unknown_channel_is_named(server: StandIn, client: httpx.Client) -> None:
    missing = "UCnonenonenonenonenonen0"
    conn = connector(server, client, channels=[{"id": missing, "brand": "Acme Coffee"}])
    with pytest.raises(ConnectorError, match=f"no channel {missing}") as info:
        conn.fetch([], None)
    assert info.value.hint and "channels" in info.value.hint


# ------------------------------------------------------------ check and config


def test_check_online_proves_the_key_and_the_channels_for_one_unit(
    server: StandIn, client: httpx.Client
) -> None:
    conn = connector(server, client)
    offline = conn.check()
    assert offline[0] == "API key set (YOUTUBE_API_KEY)" and server.requests == []
    assert "a poll costs about 1 unit; about 96 units a day" in offline[1]
    online = conn.check(online=True)
    assert online[1] == "Google accepted the API key; found 1 of your channels"
    assert calls(server, "channels") == [{"part": "id", "id": OWNER, "key": KEY}]
    assert "quota units used in the Pacific day" in online[-1] and ": 1 of 10,000" in online[-1]
    missing = connector(server, client, channels=[{"id": "UCnonenonenonenonenonen0", "brand": "A"}])
    with pytest.raises(ConnectorError, match="no channel UCnone"):
        missing.check(online=True)
    with pytest.raises(AuthError, match="not valid"):
        connector(server, client, api_key="wrong-key").check(online=True)


def test_an_empty_key_is_reported_without_a_request(server: StandIn, client: httpx.Client) -> None:
    conn = connector(server, client, api_key=" ")
    for call in (conn.check, lambda: conn.fetch([], None)):
        with pytest.raises(AuthError, match="YOUTUBE_API_KEY"):
            call()
    assert server.requests == []


def test_config_needs_channels_or_search_and_well_formed_ids() -> None:
    with pytest.raises(ValidationError, match="give `channels:`"):
        YouTubeConfig.model_validate({"api_key": "k"})
    with pytest.raises(ValidationError, match=r"channels\.0\.id"):
        YouTubeConfig.model_validate({"api_key": "k", "channels": [{"id": "acme", "brand": "A"}]})
    with pytest.raises(ValidationError, match="listed twice"):
        YouTubeConfig.model_validate(
            {"api_key": "k", "channels": [{"id": OWNER, "brand": "A"}, {"id": OWNER, "brand": "B"}]}
        )
    assert YouTubeConfig.model_validate({"api_key": "k", "search": True}).daily_quota == 10_000


# ------------------------------------------------------------ config.yaml and the command line


def _yaml(write_config: ConfigWriter, url: str, brand: str = "Acme Coffee") -> Path:
    return write_config(
        f"""
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          youtube:
            base_url: "{url}{PREFIX}"
            api_key: ${{YOUTUBE_API_KEY}}
            channels:
              - {{id: {OWNER}, brand: {brand}}}
        """
    )


def test_a_channel_s_brand_must_be_a_configured_brand(
    write_config: ConfigWriter, server: StandIn
) -> None:
    result = CliRunner().invoke(
        cli,
        ["check", "-c", str(_yaml(write_config, server.url, "Acme Cofee"))],
        env={"YOUTUBE_API_KEY": KEY},
    )
    assert result.exit_code == 2, result.output
    assert "sources.youtube.channels[0].brand" in result.output
    assert "unknown brand 'Acme Cofee' (did you mean 'Acme Coffee'?)" in result.output


def test_check_online_from_the_command_line(write_config: ConfigWriter, server: StandIn) -> None:
    path = _yaml(write_config, server.url)
    refused = CliRunner().invoke(
        cli, ["check", "-c", str(path), "--online"], env={"YOUTUBE_API_KEY": "AIzaWrongWrong1234"}
    )
    assert refused.exit_code == 1, refused.output
    assert (
        "youtube credentials:\n    FAILED: Google says the API key is not valid" in refused.stdout
    )
    assert "fix: create a new key in console.cloud.google.com" in refused.stdout
    assert "AIzaWrongWrong1234" not in refused.output
    accepted = CliRunner().invoke(
        cli, ["check", "-c", str(path), "--online"], env={"YOUTUBE_API_KEY": KEY}
    )
    assert accepted.exit_code == 0, accepted.output
    assert "Google accepted the API key; found 1 of your channels" in accepted.stdout
    assert "a poll costs about 1 unit; about 96 units a day" in accepted.stdout


def test_search_only_waits_for_its_time_without_a_request(
    server: StandIn, client: httpx.Client
) -> None:
    state = MemoryState()
    conn = connector(server, client, state, channels=[], search=True, daily_quota=150)
    _, cursor = conn.fetch(["Acme"], None)
    assert len(calls(server, "search")) == 1
    assert conn.fetch(["Acme"], cursor) == ([], cursor)  # not due: nothing asked, no error
    conn.clock = lambda: NOW + timedelta(hours=7)
    with pytest.raises(BudgetExhausted):  # due, but 50 units left of 150: no search
        conn.fetch(["Acme"], cursor)
    assert len(calls(server, "search")) == 1


# ------------------------------------------------------------ through a real poll


def test_a_real_poll_stores_a_complaint_once_and_counts_its_units_in_the_database(
    api: youtube.YouTubeAPI, server: StandIn, client: httpx.Client, tmp_path: Path
) -> None:
    api.threads[OWNER] = [
        # under the owner's own video: a complaint that never names the shop is still its
        thread("UgxBad", "Awful, cold and late. Never again", published=ago(minutes=30))
    ]
    settings = {
        "base_url": server.url + PREFIX,
        "api_key": KEY,
        "channels": [{"id": OWNER, "brand": "Acme Coffee"}],
    }
    config = Config(
        path=None,
        database=f"sqlite:///{tmp_path / 'm.db'}",
        brands=[BrandConfig(name="Acme Coffee", keywords=["Acme Coffee"])],
        sources={"youtube": YouTubeConfig.model_validate(settings)},
        channels=[],
    )
    store = Store(config.database)
    try:
        conn = YouTubeConnector(config.sources["youtube"], client, StoreState(store, "youtube"))
        pipeline = Pipeline(config, store, VaderScorer(), {"youtube": conn}, strict=True)
        first = pipeline.poll_source("youtube")
        again = pipeline.poll_source("youtube")
        used = YouTubeConnector(config.sources["youtube"], client, StoreState(store, "youtube"))
        assert used.usage().used == 2  # one page a poll, kept in the database
    finally:
        store.close()
    assert first.ok and first.new == 1 and first.negative == 1
    assert again.ok and again.fetched == 0 and again.new == 0
