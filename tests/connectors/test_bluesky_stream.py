"""Bluesky's Jetstream (connectors/bluesky_stream.py) against a loopback Jetstream stand-in
(tests/standins/jetstream.py): real WebSockets, the real pipeline, SQLite and a Slack
webhook stand-in.

A stream has no request to answer 200 or 401 to, so it is not in the shared HTTP contract
(tests/connectors/test_contract.py); the same faults are here: a refused upgrade (401,
429 with Retry-After, 500), silence, a dropped connection, messages that are not events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alerts.slack import SlackChannel, SlackConfig
from connectors.bluesky_stream import BlueskyStreamConfig, BlueskyStreamConnector
from monitor import streams
from monitor.config import BrandConfig, Config
from monitor.errors import AuthError, FetchTimeout, RateLimited, SourceUnavailable
from monitor.pipeline import ALL_BRANDS
from monitor.service import Service
from monitor.store import Store
from monitor.streams import StreamListener
from monitor.workers import Worker
from tests.standins.jetstream import Jetstream, Profiles
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook, texts
from tests.waiting import wait_for

ACME = BrandConfig(name="Acme Coffee", keywords=["Acme Coffee"])
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
COMPLAINT = "Acme Coffee charged me twice and the latte was cold. Terrible service."


def connector(*hosts: str, **settings: object) -> BlueskyStreamConnector:
    config = BlueskyStreamConfig(
        base_url=hosts[0],
        more_hosts=list(hosts[1:]),
        timeout="2s",
        **{"profiles_url": None, **settings},
    )
    return BlueskyStreamConnector(config, httpx.Client())


@pytest.fixture
def jetstream() -> Iterator[Jetstream]:
    with Jetstream() as js:
        yield js


# ---------------------------------------------------------------------- reading


def test_a_poll_replays_from_the_cursor_to_now(jetstream: Jetstream) -> None:
    c = connector(jetstream.url)
    mentions, cursor = c.fetch(["Acme Coffee"], None)
    assert mentions == [] and cursor is not None  # the first poll starts from now
    jetstream.post(DID, COMPLAINT, rkey="3kcomplaint")
    jetstream.post(DID, "Good morning!", rkey="3kmorning")
    jetstream.post(DID, "a like", collection="app.bsky.feed.like")
    mentions, later = c.fetch(["Acme Coffee"], cursor)
    assert [m.text for m in mentions] == [COMPLAINT, "Good morning!"]  # filtered by the host
    first = mentions[0]
    assert first.external_id == f"at://{DID}/app.bsky.feed.post/3kcomplaint"
    assert first.url == f"https://bsky.app/profile/{DID}/post/3kcomplaint"
    assert first.author == DID and first.source == "bluesky_stream"
    assert later is not None and int(later) > int(cursor)
    (query,) = jetstream.connections  # the first poll did not connect
    assert query["wantedCollections"] == ["app.bsky.feed.post"]
    assert int(query["cursor"][0]) == int(cursor) - 5_000_000  # rewound by `rewind`


def test_replies_deletes_and_strange_messages(jetstream: Jetstream) -> None:
    c = connector(jetstream.url)
    _, cursor = c.fetch([], None)
    jetstream.post(DID, "Acme Coffee? never again", reply_to="at://did:plc:x/app.bsky.feed.post/1")
    jetstream.identity(DID, "new.handle.test")
    jetstream.delete(DID, "3kgone")
    mentions, _ = c.fetch([], cursor)
    reply, gone = mentions
    assert reply.reply_to == "at://did:plc:x/app.bsky.feed.post/1"
    assert gone.deleted and gone.external_id.endswith("/3kgone")


def test_messages_that_are_not_events_are_skipped_and_the_rest_kept(
    jetstream: Jetstream,
) -> None:
    c = connector(jetstream.url)
    stop = threading.Event()
    got: list[str] = []

    def listen() -> None:
        for mentions, _ in c.listen([], None, stop):
            got.extend(m.text for m in mentions)

    thread = threading.Thread(target=listen)
    thread.start()
    assert jetstream.wait_connected()
    jetstream.send_raw("not json {")
    jetstream.send_raw('{"kind": "commit"}')  # no time_us
    jetstream.send_raw(
        '{"did": 1, "time_us": 5, "kind": "commit", "commit": {"collection":'
        ' "app.bsky.feed.post", "operation": "create", "rkey": "r", "record": 7}}'
    )
    jetstream.post(DID, "still here")
    assert wait_for(lambda: got == ["still here"])
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (429, RateLimited), (500, SourceUnavailable), (502, SourceUnavailable)],
)
def test_a_refused_subscription_is_the_right_error(
    jetstream: Jetstream, status: int, error: type[Exception]
) -> None:
    jetstream.refuse = status
    with pytest.raises(error) as raised:
        connector(jetstream.url).fetch([], "1")
    assert f"HTTP {status}" in str(raised.value)
    if status == 429:
        assert isinstance(raised.value, RateLimited) and raised.value.retry_after == 30


def test_silence_and_a_dead_host_are_errors(jetstream: Jetstream) -> None:
    jetstream.silent = True
    with pytest.raises(FetchTimeout, match="sent nothing for 2 s"):
        list(connector(jetstream.url).listen([], None, threading.Event()))
    with pytest.raises(SourceUnavailable, match="cannot connect"):
        connector("ws://127.0.0.1:9").fetch([], "1")


def test_a_dropped_connection_is_an_error(jetstream: Jetstream) -> None:
    c = connector(jetstream.url)
    errors: list[Exception] = []

    def listen() -> None:
        try:
            list(c.listen([], None, threading.Event()))
        except SourceUnavailable as exc:
            errors.append(exc)

    thread = threading.Thread(target=listen)
    thread.start()
    assert jetstream.wait_connected()
    jetstream.drop()
    thread.join(5)
    assert len(errors) == 1 and "closed the stream" in str(errors[0])


# ---------------------------------------------------------------------- in the service


def stream_config(tmp_path: Path, hosts: list[str], slack_url: str) -> Config:
    return Config(
        path=None,
        database=f"sqlite:///{tmp_path / 'stream.db'}",
        brands=[ACME],
        sources={
            "bluesky_stream": BlueskyStreamConfig(
                base_url=hosts[0], more_hosts=hosts[1:], timeout="2s", profiles_url=None
            )
        },
        channels=[SlackConfig(webhook_url=slack_url, name="slack")],
    )


class Live:
    """The service listening to a stream, with a Slack webhook stand-in."""

    def __init__(self, tmp_path: Path, hosts: list[str], slack_url: str) -> None:
        self.config = stream_config(tmp_path, hosts, slack_url)
        slack = self.config.channels[0]
        assert isinstance(slack, SlackConfig)
        self.http = httpx.Client(timeout=10)
        self.store = Store(self.config.database)
        channel = SlackChannel(slack, http=self.http, sleep=lambda _: None)
        self.service = Service(
            self.config, store=self.store, http=self.http, channels={"slack": channel}
        )
        self.stop = threading.Event()
        self.listener = StreamListener(
            self.service, "bluesky_stream", self.service.connectors["bluesky_stream"]
        )
        self.thread = self.listener.start(self.stop)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.service.close()


def sent(webhook: SlackWebhook) -> list[str]:
    return ["\n".join(texts(p)) for p in webhook.payloads]


def test_a_complaint_reaches_slack_once_across_a_dropped_connection(
    tmp_path: Path, jetstream: Jetstream, slack: tuple[StandIn, SlackWebhook]
) -> None:
    server, webhook = slack
    live = Live(tmp_path, [jetstream.url], server.url + webhook.path)
    try:
        assert jetstream.wait_connected()
        jetstream.post(DID, COMPLAINT)
        jetstream.post(DID, "Lovely morning, nothing to see")
        assert wait_for(lambda: len(webhook.payloads) == 1)
        assert "charged me twice" in sent(webhook)[0]
        assert wait_for(lambda: live.store.get_cursor("bluesky_stream", ALL_BRANDS) is not None)

        jetstream.drop()  # the network fails; posted meanwhile: found after the reconnection
        jetstream.post(DID, "Acme Coffee lost my order. Awful.")
        assert jetstream.wait_connected(2)
        assert "cursor" in jetstream.connections[1]  # resumed, rewound: the complaint comes again
        assert wait_for(lambda: len(webhook.payloads) == 2)
        time.sleep(1.0)  # a batch or two more: nothing doubled
        assert len(webhook.payloads) == 2 and "lost my order" in sent(webhook)[1]
        assert len([m for m in live.store.mentions() if m.negative]) == 2
        health = live.store.health()["bluesky_stream"]
        assert health.consecutive_failures == 0 or health.last_success_at is not None
    finally:
        live.close()


def test_a_failing_host_hands_over_and_its_health_is_told(
    tmp_path: Path, jetstream: Jetstream, slack: tuple[StandIn, SlackWebhook]
) -> None:
    server, webhook = slack
    with Jetstream() as broken:
        broken.refuse = 503
        live = Live(tmp_path, [broken.url, jetstream.url], server.url + webhook.path)
        try:
            assert jetstream.wait_connected()  # after the first host refused, the second
            jetstream.post(DID, COMPLAINT)
            assert wait_for(lambda: any("charged me twice" in t for t in sent(webhook)))
            assert wait_for(lambda: live.store.health()["bluesky_stream"].consecutive_failures == 0)
            assert "HTTP 503" in (live.store.health()["bluesky_stream"].last_error or "")
        finally:
            live.close()


def test_a_stream_down_raises_the_source_health_notice(
    tmp_path: Path, slack: tuple[StandIn, SlackWebhook]
) -> None:
    server, webhook = slack
    with Jetstream() as down:
        down.refuse = 500
        live = Live(tmp_path, [down.url], server.url + webhook.path)
        try:
            assert wait_for(
                lambda: any("bluesky_stream has stopped working" in t for t in sent(webhook)),
                timeout=20,
            )
            (notice,) = [t for t in sent(webhook) if "stopped working" in t]
            assert "HTTP 500" in notice
        finally:
            live.close()


def test_two_workers_listen_once_and_the_second_takes_over(
    tmp_path: Path,
    jetstream: Jetstream,
    slack: tuple[StandIn, SlackWebhook],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Several `run` workers on one database: the stream's lease picks one listener."""
    monkeypatch.setattr(streams, "LEASE_WAIT", 0.2)
    server, webhook = slack
    config = stream_config(tmp_path, [jetstream.url], server.url + webhook.path)
    service = Service(config, store=Store(config.database), http=httpx.Client())
    first, second = Worker(service.store), Worker(service.store)
    stops = [threading.Event(), threading.Event()]
    try:
        for worker, stop in zip((first, second), stops, strict=True):
            worker.start()
            connector = BlueskyStreamConnector(config.sources["bluesky_stream"], service.http)
            StreamListener(service, "bluesky_stream", connector, worker).start(stop)
        assert jetstream.wait_connected(1)
        time.sleep(1.0)
        assert len(jetstream.connections) == 1  # the other worker waits for the lease
        jetstream.post(DID, COMPLAINT)
        assert wait_for(lambda: len(service.store.mentions()) == 1)

        stops[0].set()  # the holder stops (its lease is freed as it says so)
        first.stop()
        jetstream.drop()
        assert jetstream.wait_connected(2)
        jetstream.post(DID, "Acme Coffee lost my order. Awful.")
        assert wait_for(lambda: len(service.store.mentions()) == 2)
        assert len(jetstream.connections) == 2
    finally:
        for stop in stops:
            stop.set()
        second.stop()
        service.close()


def test_a_post_that_names_a_brand_is_shown_with_its_authors_handle(
    jetstream: Jetstream,
) -> None:
    """Jetstream sends only the account id: the handle and followers of a likely match's
    author come from the AppView, once per author; chatter costs no request."""
    hostile = "evil\u202e/../x\x00<b>"  # an AppView answering with a poisoned handle
    profiles = Profiles({DID: ("maria.bsky.social", 4200), "did:plc:evil": (hostile, 1)})
    with StandIn(profiles) as appview:
        c = connector(jetstream.url, profiles_url=appview.url)
        _, cursor = c.fetch(["Acme Coffee"], None)
        jetstream.post(DID, COMPLAINT, rkey="3kone")
        jetstream.post(DID, "Acme Coffee again: cold", rkey="3ktwo")
        jetstream.post("did:plc:other", "nice weather today")
        jetstream.post("did:plc:unknown", "Acme Coffee is fine")
        jetstream.post("did:plc:evil", "Acme Coffee sucks", rkey="3kevil")
        mentions, _ = c.fetch(["Acme Coffee", "@acmecoffee"], cursor)
        by = {m.text: (m.author, m.author_followers, m.url) for m in mentions}
        assert by[COMPLAINT] == (
            "maria.bsky.social",
            4200,
            "https://bsky.app/profile/maria.bsky.social/post/3kone",
        )
        assert by["nice weather today"][0] == "did:plc:other"  # not looked up
        assert by["Acme Coffee is fine"][0] == "did:plc:unknown"  # the AppView does not know it
        assert profiles.asked == [[DID, "did:plc:unknown", "did:plc:evil"]]
        author, _, url = by["Acme Coffee sucks"]
        assert "\x00" not in author  # storable here; each channel escapes it for display
        assert url.startswith("https://bsky.app/profile/") and "/../" not in url
