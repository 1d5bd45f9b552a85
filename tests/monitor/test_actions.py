"""Buttons in alerts, the core half: messages kept with their alerts, later alerts threaded
under the first, a press answered through the inbox's own store calls, with who pressed.

``Threader`` is a channel written for these tests, as tests/monitor/test_dispatcher.py's
Recorder: it numbers the messages it was given. The Slack app and the Telegram bot meet
their stand-ins in tests/alerts/.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.actions import ACKNOWLEDGE, Answered, Press, answer, buttons_for
from monitor.config import parse_config
from monitor.errors import ChannelMisconfigured, StatusError
from monitor.models import Alert, Digest, Posted
from monitor.service import Service
from monitor.store import Store
from monitor.store.messages import messages_about, thread_roots
from monitor.store.records import Reading
from tests.monitor.test_dispatcher import START, Clock, Recorder, make, setup


class Threader(Recorder):
    """A channel that threads: each message gets a reference, like Slack's ts."""

    interactive = True

    def __init__(self, name: str, **cfg: Any) -> None:
        super().__init__(name, **cfg)
        self.presses: list[Answered] = []

    def send(self, alert: Alert) -> Posted:  # type: ignore[override]
        self._take(alert)
        return Posted(f"C1:{len(self.messages)}")

    def send_digest(self, digest: Digest) -> Posted:  # type: ignore[override]
        self._take(digest)
        return Posted(f"C1:{len(self.messages)}")


def escalate(store: Store, mention_id: int, kind: str = "spreading") -> None:
    reading = Reading(
        mention_id, {"score": 50}, 0, START + timedelta(hours=1), 1, 1,
        escalation=(kind, ("t",), {"details": ["12 -> 47 points in 35 min"]}),
    )  # fmt: skip
    store.record_readings([reading], START + timedelta(minutes=30))


def config(tmp_path: Path) -> Any:
    return parse_config(
        f"""
database: sqlite:///{tmp_path / "store.db"}
brands:
  - name: Acme
    keywords: [Acme]
sources:
  hackernews: {{}}
alerts:
  console: false
  channels:
    - type: console
""",
        base_dir=tmp_path,
    )


def test_the_first_message_is_kept_and_later_alerts_go_in_its_thread(store: Store) -> None:
    clock = Clock()
    channel = Threader("t")
    setup(store, channels=("t",))
    make(store, channel, clock=clock).dispatch()
    first = channel.messages[0]
    assert isinstance(first, Alert) and first.thread_ref is None
    assert first.mention_id is not None
    assert thread_roots(store, "t", [first.mention_id]) == {first.mention_id: "C1:1"}

    escalate(store, first.mention_id)
    clock.advance(minutes=31)
    make(store, channel, clock=clock).dispatch()
    second = channel.messages[1]
    assert isinstance(second, Alert) and second.kind == "spreading"
    assert second.thread_ref == "C1:1", "the escalation did not go under the first message"
    refs = [m.ref for m in messages_about(store, first.mention_id)]
    assert refs == ["C1:1", "C1:2"]


def test_a_channel_that_does_not_thread_keeps_no_messages(store: Store) -> None:
    channel = Recorder("a")
    setup(store)
    make(store, channel, clock=Clock()).dispatch()
    first = channel.messages[0]
    assert isinstance(first, Alert) and first.mention_id is not None
    assert messages_about(store, first.mention_id) == []


def test_a_press_answers_as_the_inbox_does_and_says_who(tmp_path: Path, store: Store) -> None:
    channel = Threader("t")
    setup(store, channels=("t",))
    make(store, channel, clock=Clock()).dispatch()
    sent = channel.messages[0]
    assert isinstance(sent, Alert) and sent.mention_id is not None
    n = sent.mention_id
    press = Press("t", n, ACKNOWLEDGE, "@maria on Slack", "C1:1")

    done = answer(config(tmp_path), store, press, START + timedelta(minutes=42))
    assert done.changed and done.status == "acknowledged"
    assert done.summary() == "Acknowledged by @maria on Slack at 12:42 UTC"
    assert done.buttons == ("resolve", "ignore", "not_negative")
    assert [u.ref for u in done.updates] == ["C1:1"]
    (update,) = done.updates
    assert update.alerts[0].status == "acknowledged", "the message would show the old status"
    history = store.status_changes(n)
    assert [(c.status, c.actor) for c in history] == [("acknowledged", "@maria on Slack")]

    again = answer(config(tmp_path), store, press, START + timedelta(minutes=43))
    assert not again.changed and "already" in again.summary()
    assert len(store.status_changes(n)) == 1


def test_not_negative_leaves_only_the_way_back(tmp_path: Path, store: Store) -> None:
    setup(store, channels=("t",))
    (row,) = store.mentions()
    done = answer(
        config(tmp_path), store, Press("t", row.id, "not_negative", "@jo on Slack"), START
    )
    assert done.verdict == "not_negative" and done.buttons == ("negative",)
    assert store.status_changes(row.id)[-1].actor == "@jo on Slack"
    assert buttons_for("resolved", None) == ()


@pytest.mark.parametrize(("mention", "action"), [(999, ACKNOWLEDGE), (1, "delete_everything")])
def test_a_press_on_no_mention_or_an_unknown_button_is_refused(
    tmp_path: Path, store: Store, mention: int, action: str
) -> None:
    setup(store)
    with pytest.raises(StatusError):
        answer(config(tmp_path), store, Press("t", mention, action, "@x on Slack"), START)


class Flaky(Threader):
    """Fails to listen once (a revoked token), then takes one press and stops."""

    def __init__(self, mention_id: int) -> None:
        super().__init__("t")
        self.mention_id = mention_id
        self.tries = 0
        self.answered = threading.Event()

    def listen(self, on_press: Any, stop: threading.Event) -> None:
        self.tries += 1
        if self.tries == 1:
            raise ChannelMisconfigured("t", "the token was revoked")
        self.presses.append(on_press(Press("t", self.mention_id, ACKNOWLEDGE, "@maria on Slack")))
        self.answered.set()
        stop.wait()


def test_the_service_listens_again_after_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("monitor.service.LISTEN_PAUSE", 0.05)
    cfg = config(tmp_path)
    store = Store(cfg.database)
    setup(store)
    (row,) = store.mentions()
    channel = Flaky(row.id)
    service = Service(cfg, store=store, connectors={}, channels={"t": channel})
    stop = threading.Event()
    try:
        threads = service.listen(stop)
        assert channel.answered.wait(5), "the channel was not asked to listen again"
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        service.close()
    assert channel.tries == 2
    assert channel.presses[0].status == "acknowledged"
    assert "cannot receive button presses: " in caplog.text and "revoked" in caplog.text
