"""Mastodon's streaming API (connectors/mastodon_stream.py) against loopback stand-ins of a
server's REST API (tests/standins/mastodon.py) and its streaming server
(tests/standins/mastodon_streaming.py): real WebSockets, the real pipeline, SQLite and a
Slack webhook stand-in. Like Jetstream, it is not in the shared HTTP contract (no request
to answer 200 or 401 to): its refusals are here."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from alerts.slack import SlackChannel, SlackConfig
from connectors.mastodon_stream import MastodonStreamConfig, MastodonStreamConnector
from monitor.config import BrandConfig, Config
from monitor.errors import AuthError
from monitor.service import Service
from monitor.store import Store
from monitor.streams import StreamListener
from tests.standins.mastodon import MastodonAPI, serve, status
from tests.standins.mastodon_streaming import MastodonStreaming
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook, texts
from tests.waiting import wait_for

TOKEN = "tok-stream-4f2a"
ACME = BrandConfig(name="Acme Coffee", keywords=["Acme Coffee", "#acmecoffee"])


@pytest.fixture
def api() -> MastodonAPI:
    return MastodonAPI(tokens={TOKEN})


@pytest.fixture
def servers(api: MastodonAPI) -> Iterator[tuple[StandIn, MastodonStreaming]]:
    with serve(api) as rest, MastodonStreaming(api) as streaming:
        yield rest, streaming


def source(rest_url: str, token: str = TOKEN, **settings: object) -> MastodonStreamConfig:
    return MastodonStreamConfig(
        base_url=rest_url, access_token=SecretStr(token), timeout="2s", **settings
    )


def test_a_server_without_a_token_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="streams only to a signed-in account"):
        MastodonStreamConfig(base_url="https://mastodon.example")


def test_a_refused_token_says_how_to_make_one(
    servers: tuple[StandIn, MastodonStreaming],
) -> None:
    rest, _ = servers
    c = MastodonStreamConnector(source(rest.url, token="revoked"), httpx.Client())
    with pytest.raises(AuthError, match=r"HTTP 401.*read:statuses") as raised:
        list(c.listen(["Acme Coffee"], None, threading.Event()))
    assert "revoked" not in str(raised.value)


def test_it_subscribes_to_the_brands_hashtags_and_reads_new_and_edited_posts(
    servers: tuple[StandIn, MastodonStreaming],
) -> None:
    rest, streaming = servers
    c = MastodonStreamConnector(source(rest.url, public=True), httpx.Client())
    stop, got = threading.Event(), []

    def listen() -> None:
        for batch, _ in c.listen(["Acme Coffee", "#acmecoffee", "@acme"], None, stop):
            got.append([(m.text, m.edited_at is not None) for m in batch])

    thread = threading.Thread(target=listen)
    thread.start()
    assert streaming.wait_subscribed(3)
    assert streaming.subscriptions[-1] == [
        {"type": "subscribe", "stream": "hashtag", "tag": "acmecoffee"},
        {"type": "subscribe", "stream": "hashtag", "tag": "acme"},
        {"type": "subscribe", "stream": "public"},
    ]
    post = status("Acme Coffee is fine", tags=("AcmeCoffee",))
    streaming.publish(post)
    streaming.send_raw("not json")
    streaming.edit(
        {**post, "content": "<p>Acme Coffee: awful</p>", "edited_at": post["created_at"]}
    )
    assert wait_for(lambda: sum(len(b) for b in got) >= 3)
    stop.set()
    thread.join(5)
    assert got[0] == []  # connected: the moment to read the gap
    seen = [item for batch in got for item in batch]
    assert ("Acme Coffee is fine #AcmeCoffee", False) in seen  # once per stream it matched
    assert ("Acme Coffee: awful", True) in seen


class Live:
    def __init__(self, tmp_path: Path, rest_url: str, slack_url: str) -> None:
        slack = SlackConfig(webhook_url=slack_url, name="slack")
        self.config = Config(
            path=None,
            database=f"sqlite:///{tmp_path / 'stream.db'}",
            brands=[ACME],
            sources={"mastodon_stream": source(rest_url)},
            channels=[slack],
        )
        self.http = httpx.Client(timeout=10)
        self.store = Store(self.config.database)
        channel = SlackChannel(slack, http=self.http, sleep=lambda _: None)
        self.service = Service(
            self.config, store=self.store, http=self.http, channels={"slack": channel}
        )
        self.stop = threading.Event()
        connector = self.service.connectors["mastodon_stream"]
        self.thread = StreamListener(self.service, "mastodon_stream", connector).start(self.stop)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.service.close()


def test_complaints_live_and_while_down_each_reach_slack_once(
    tmp_path: Path,
    servers: tuple[StandIn, MastodonStreaming],
    slack: tuple[StandIn, SlackWebhook],
) -> None:
    rest, streaming = servers
    server, webhook = slack
    api = streaming.api
    # Posted before the service starts: the first gap poll reads it (the lookback).
    api.add(status("Acme Coffee charged me twice. Terrible.", tags=("acmecoffee",)))
    live = Live(tmp_path, rest.url, server.url + webhook.path)

    def sent() -> list[str]:
        return ["\n".join(texts(p)) for p in webhook.payloads]

    try:
        assert streaming.wait_subscribed(1)
        assert wait_for(lambda: any("charged me twice" in t for t in sent())), webhook.problems
        streaming.publish(status("Acme Coffee lost my order, awful service", tags=("acmecoffee",)))
        assert wait_for(lambda: any("lost my order" in t for t in sent()))

        streaming.drop()
        # Posted while the connection is down: only the REST timeline has it.
        api.add(status("Acme Coffee: cold latte, rude staff, never again", tags=("acmecoffee",)))
        assert streaming.wait_subscribed(1, connections=2)
        assert wait_for(lambda: any("cold latte" in t for t in sent()))

        # A post edited into a complaint alerts as a change.
        post = status("Acme Coffee, first visit today", tags=("acmecoffee",))
        streaming.publish(post)
        assert wait_for(lambda: len(live.store.mentions()) == 4)
        edited = {
            **post,
            "content": "<p>Acme Coffee, first visit today: they charged me twice. Awful.</p>",
            "edited_at": post["created_at"],
        }
        streaming.edit(edited)
        assert wait_for(lambda: len(sent()) == 4)
        assert "changed" in sent()[3] and "charged me twice. Awful" in sent()[3]
        time.sleep(1.0)
        complaints = [t for t in sent() if "charged me twice. Terrible" in t]
        assert len(complaints) == 1 and len(sent()) == 4
    finally:
        live.close()
