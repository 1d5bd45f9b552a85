"""Pressing the Slack app's buttons: over Socket Mode (a real WebSocket stand-in that sends
``hello`` and envelopes and checks our acks) and over HTTP (the inbox's signed
``/slack/actions``). Each press goes through the real ``monitor.actions.answer`` on a real
SQLite store, and the messages are redrawn through the Web API stand-in."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from alerts.slack import SlackChannel
from monitor.actions import Answered, Press, answer
from monitor.config import Config, parse_config
from monitor.errors import ChannelMisconfigured
from monitor.store import Store
from monitor.store.records import Reading
from monitor.web.app import create_app
from monitor.web.slack_actions import signature
from tests.monitor.test_dispatcher import START, Clock, make, setup
from tests.standins.slack_api import SlackAPI, running

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@dataclass
class World:
    api: SlackAPI
    store: Store
    config: Config
    channel: SlackChannel
    clock: Clock
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    failure: list[BaseException] = field(default_factory=list)

    def on_press(self, press: Press) -> Answered:
        return answer(self.config, self.store, press, self.clock())

    def dispatch(self) -> None:
        make(self.store, self.channel, clock=self.clock).dispatch()  # type: ignore[arg-type]

    def listen(self) -> None:
        def run() -> None:
            try:
                self.channel.listen(self.on_press, self.stop)
            except BaseException as exc:
                self.failure.append(exc)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.api.socket is not None and self.api.socket.wait_connected()

    def press(self, ts: str, label: str, user: str = "U0MARIA") -> str:
        assert self.api.socket is not None
        return self.api.socket.press(self.api.press(ts, label, user))

    def ts(self, index: int = 0) -> str:
        return str(self.api.messages()[index]["ts"])


def make_config(api: SlackAPI, tmp_path: Path, extra: str = "") -> Config:
    return parse_config(
        f"""
database: sqlite:///{tmp_path / "store.db"}
brands: [{{name: Acme, keywords: [Acme]}}]
sources: {{hackernews: {{}}}}
alerts:
  console: false
  channels:
    - type: slack
      bot_token: {api.bot_token}
      channel: "#mentions"
      base_url: {api.url}/api
{extra}""",
        base_dir=tmp_path,
    )


@pytest.fixture
def world(tmp_path: Path, store: Store) -> Iterator[World]:
    with running() as api:
        config = make_config(api, tmp_path, f"      app_token: {api.app_token}\n")
        channel = SlackChannel(config.channels[0], clock=lambda: 0.0, sleep=lambda s: None)
        w = World(api, store, config, channel, Clock())
        setup(store, 1, channels=("slack",))
        w.dispatch()
        yield w
        w.stop.set()
        if w.thread is not None:
            w.thread.join(10)
            assert not w.thread.is_alive(), "listen did not return when stopped"
        assert api.problems == [] and (api.socket is None or api.socket.problems == [])


def escalate(store: Store, mention_id: int) -> None:
    """The spread tracker's record of a mention taking off, queued for the slack channel."""
    growth = {"details": ["12 -> 47 points in 35 min"]}
    reading = Reading(
        mention_id, {"score": 50}, 0, START + timedelta(hours=1), 1, 1,
        escalation=("spreading", ("slack",), growth),
    )  # fmt: skip
    store.record_readings([reading], START + timedelta(minutes=30))


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["text"]["text"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "url" not in e
    ]


def contexts(message: dict[str, Any]) -> list[str]:
    return [e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]


# ------------------------------------------------------------------ Socket Mode


def test_a_members_press_is_acked_answered_and_the_message_redrawn(world: World) -> None:
    world.listen()
    envelope = world.press(world.ts(), "Acknowledge")
    assert world.api.socket is not None
    ack = world.api.socket.wait_ack(envelope)
    assert ack is not None, "the envelope was not acknowledged"
    assert wait_for(lambda: len(world.api.updates) == 1)
    assert ack.at <= world.api.updates[0]["at"], "the ack waited for the answer"
    (row,) = world.store.mentions()
    assert row.status == "acknowledged"
    assert [c.actor for c in world.store.status_changes(row.id)] == ["@maria on Slack"]
    (message,) = world.api.messages()
    assert "Acknowledged by @maria on Slack at 12:00 UTC" in contexts(message)
    assert buttons(message) == ["Resolve", "Ignore", "Not negative"]
    assert world.api.ephemerals == []


def test_someone_outside_the_channel_is_told_privately_and_nothing_changes(
    world: World,
) -> None:
    world.listen()
    world.press(world.ts(), "Resolve", user="U0STRANGER")
    assert wait_for(lambda: len(world.api.responses) == 1)
    (said,) = world.api.responses
    assert said["response_type"] == "ephemeral" and said["replace_original"] is False
    assert "Only members of #mentions can answer" in said["text"]
    assert world.store.mentions()[0].status == "new"
    assert world.api.updates == [] and world.store.status_changes(1) == []


def test_with_allowed_users_a_member_not_listed_may_not_press(tmp_path: Path) -> None:
    with running() as api:
        config = make_config(api, tmp_path, "      allowed_users: [U0JOJO1]\n")
        channel = SlackChannel(config.channels[0], clock=lambda: 0.0, sleep=lambda s: None)
        store = Store(config.database)
        try:
            w = World(api, store, config, channel, Clock())
            setup(store, 1, channels=("slack",))
            w.dispatch()
            payload = api.press(w.ts(), "Ignore", user="U0MARIA")
            channel.app.handle(payload, w.on_press)  # type: ignore[union-attr]
            (told,) = api.ephemerals
            assert told["user"] == "U0MARIA" and "allowed_users" in told["text"]
            assert store.mentions()[0].status == "new"
            channel.app.handle(api.press(w.ts(), "Ignore", user="U0JOJO1"), w.on_press)  # type: ignore[union-attr]
            assert store.mentions()[0].status == "ignored"
            assert buttons(api.messages()[0]) == [], "an ignored mention has nothing left to do"
            assert "conversations.members" not in api.calls
        finally:
            store.close()


def test_not_negative_leaves_only_the_way_back(world: World) -> None:
    world.listen()
    world.press(world.ts(), "Not negative", user="U0JOJO1")
    assert wait_for(lambda: len(world.api.updates) == 1)
    assert world.store.mentions()[0].verdict == "not_negative"
    assert buttons(world.api.messages()[0]) == ["Negative after all"]
    world.press(world.ts(), "Negative after all", user="U0JOJO1")
    assert wait_for(lambda: len(world.api.updates) == 2)
    assert world.store.mentions()[0].verdict == "negative"
    assert "Marked negative by @jo on Slack at 12:00 UTC" in contexts(world.api.messages()[0])


def test_a_press_in_the_thread_redraws_every_message_about_the_mention(world: World) -> None:
    escalate(world.store, 1)
    world.clock.advance(minutes=31)
    world.dispatch()
    first, reply = world.api.messages()
    assert reply["thread_ts"] == first["ts"]
    world.listen()
    world.press(reply["ts"], "Resolve")
    assert wait_for(lambda: len(world.api.updates) == 2)
    assert {u["ts"] for u in world.api.updates} == {first["ts"], reply["ts"]}
    for message in world.api.messages():
        assert buttons(message) == []
        assert any(c.startswith("Resolved by @maria on Slack") for c in contexts(message))


def test_a_press_on_a_message_never_recorded_tells_the_presser_what_was_done(
    world: World,
) -> None:
    (row,) = world.store.mentions()
    lost = world.store.alert_counts()  # the store knows one message; post one it never saw
    assert lost
    from tests.alerts.factories import make_alert

    assert world.channel.send(make_alert(mention_id=row.id, channel="slack")) is not None
    world.listen()
    world.press(world.ts(1), "Acknowledge")
    assert wait_for(lambda: len(world.api.ephemerals) == 1)
    assert "Acknowledged by @maria on Slack" in world.api.ephemerals[0]["text"]
    assert [u["ts"] for u in world.api.updates] == [world.ts(0)], "the recorded one is redrawn"


def test_the_listener_reconnects_when_slack_asks_and_when_the_line_drops(world: World) -> None:
    world.listen()
    socket = world.api.socket
    assert socket is not None
    socket.ask_to_reconnect()
    assert socket.wait_connected(connections=2), "no new connection after a disconnect"
    socket.drop()
    assert socket.wait_connected(connections=3, timeout=20), "no new connection after a drop"
    world.press(world.ts(), "Acknowledge")
    assert wait_for(lambda: world.store.mentions()[0].status == "acknowledged")
    assert world.api.calls.count("apps.connections.open") == 3


def test_a_refused_app_token_stops_listening_with_the_fix(world: World) -> None:
    world.api.revoke(world.api.app_token)
    with pytest.raises(ChannelMisconfigured) as raised:
        world.channel.listen(world.on_press, world.stop)
    assert "app-level token (app_token) was revoked" in raised.value.message
    assert world.api.app_token not in str(raised.value)


# ------------------------------------------------------------------ HTTP interactivity


@pytest.fixture
def web(tmp_path: Path, store: Store) -> Iterator[tuple[SlackAPI, TestClient, Clock]]:
    with running() as api:
        config = make_config(
            api, tmp_path, f"      signing_secret: {SECRET}\nweb:\n  password: hunter2-hunter2\n"
        )
        clock = Clock(START + timedelta(minutes=1))
        channel = SlackChannel(config.channels[0], clock=lambda: 0.0, sleep=lambda s: None)
        setup(store, 1, channels=("slack",))
        make(store, channel, clock=clock).dispatch()  # type: ignore[arg-type]
        with TestClient(create_app(config, store, clock=clock)) as client:
            yield api, client, clock


def signed(
    payload: dict[str, Any], at: float, secret: str = SECRET
) -> tuple[bytes, dict[str, str]]:
    import json

    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(at))
    headers = {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(secret, stamp, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return body, headers


def test_a_signed_press_over_http_is_answered_without_a_login(
    web: tuple[SlackAPI, TestClient, Clock], store: Store
) -> None:
    api, client, clock = web
    ts = api.messages()[0]["ts"]
    body, headers = signed(api.press(ts, "Acknowledge"), clock().timestamp())
    response = client.post("/slack/actions", content=body, headers=headers)
    assert response.status_code == 200 and response.text == ""
    assert store.mentions()[0].status == "acknowledged"
    assert store.status_changes(1)[0].actor == "@maria on Slack"
    assert len(api.updates) == 1 and buttons(api.messages()[0]) == [
        "Resolve",
        "Ignore",
        "Not negative",
    ]


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("wrong secret", "bad signature"),
        ("body changed", "bad signature"),
        ("stale", "stale"),
        ("from the future", "stale"),
        ("unsigned", "stale"),
    ],
)
def test_a_press_whose_signature_fails_changes_nothing(
    web: tuple[SlackAPI, TestClient, Clock], store: Store, how: str, said: str
) -> None:
    api, client, clock = web
    payload = api.press(api.messages()[0]["ts"], "Resolve")
    now = clock().timestamp()
    at = {"stale": now - 301, "from the future": now + 301}.get(how, now)
    body, headers = signed(payload, at, "another-secret" if how == "wrong secret" else SECRET)
    if how == "body changed":
        body = body.replace(b"Resolve", b"Ignore!")
    if how == "unsigned":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    calls = len(api.calls)
    response = client.post("/slack/actions", content=body, headers=headers)
    assert response.status_code == 401 and said in response.text
    assert store.mentions()[0].status == "new" and len(api.calls) == calls


def test_without_a_signing_secret_the_endpoint_is_off(tmp_path: Path, store: Store) -> None:
    with running() as api:
        config = make_config(api, tmp_path)
        with TestClient(create_app(config, store)) as client:
            response = client.post("/slack/actions", content=b"payload=%7B%7D")
    assert response.status_code == 404 and "signing_secret" in response.text


def test_the_signature_is_computed_as_in_slacks_worked_example() -> None:
    # The example on https://docs.slack.dev/authentication/verifying-requests-from-slack
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
        b"-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977"
        b"00885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10"
        b"d2c447fce8b6703c"
    )
    assert signature(SECRET, "1531420618", body) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


def test_a_link_button_or_a_gone_mention_changes_nothing(world: World) -> None:
    app = world.channel.app
    assert app is not None
    payload = world.api.press(world.ts(), "Resolve")
    link = {**payload, "actions": [{**payload["actions"][0], "action_id": "open", "value": None}]}
    app.handle(link, world.on_press)
    assert world.api.updates == [] and world.api.ephemerals == []
    gone = {**payload, "actions": [{**payload["actions"][0], "value": "999"}]}
    app.handle(gone, world.on_press)
    (told,) = world.api.ephemerals
    assert "999" in told["text"] and world.api.updates == []
    assert world.store.mentions()[0].status == "new"
