"""A crash mid-send costs at most one repeated message, and the repeat says so.

The dispatcher runs in a real subprocess against the Slack stand-in, which
accepts the roll-up and then stalls before answering; the process is killed
with SIGKILL while it waits, so the channel has the message and the database
still says "sending". After the claim lease (ten minutes) the next dispatch
sends those rows again: as one message, marked as a possible repeat.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.render import REPEAT_NOTE
from alerts.slack import SlackChannel, SlackConfig
from monitor.config import AlertsConfig
from monitor.dispatcher import Dispatcher
from monitor.http import make_client
from monitor.store import SENT, Store
from tests.monitor.test_dispatcher import statuses
from tests.monitor.test_store import item
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook, texts

ROOT = Path(__file__).resolve().parents[2]
SENDER = """
import sys
from alerts.slack import SlackChannel, SlackConfig
from monitor.config import AlertsConfig
from monitor.dispatcher import Dispatcher
from monitor.http import make_client
from monitor.store import Store

config = SlackConfig(webhook_url=sys.argv[2], name="slack", flood_limit=10)
channel = SlackChannel(config, http=make_client(timeout=120))
Dispatcher(Store(sys.argv[1]), {"slack": channel}, AlertsConfig(), strict=True).dispatch()
"""


def kill_mid_send(url: str, hook: str, webhook: SlackWebhook) -> None:
    """Run a dispatch in another process; SIGKILL it once Slack has the message."""
    webhook.stall(60)
    before = len(webhook.payloads)
    proc = subprocess.Popen([sys.executable, "-c", SENDER, url, hook], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while len(webhook.payloads) == before:
            assert proc.poll() is None, "the sender exited before Slack had the message"
            assert time.monotonic() < deadline, "Slack never got the message"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL


def dispatch_later(url: str, hook: str, minutes: int) -> None:
    store = Store(url)
    later = datetime.now(UTC) + timedelta(minutes=minutes)
    with make_client(timeout=10) as http:
        channel = SlackChannel(
            SlackConfig(webhook_url=hook, name="slack", flood_limit=10),
            http=http,
            sleep=lambda _: None,
        )
        config = AlertsConfig()
        Dispatcher(
            store, {"slack": channel}, config, clock=lambda: later, rng=random.Random(1)
        ).dispatch()
    store.close()


@pytest.mark.parametrize(
    ("sent", "n"),
    [
        (0, 50),  # a flood: one roll-up of 50
        (9, 5),  # a roll-up of 5 because 9 went out in the last minute (flood_limit 10)
        (0, 1),  # a single alert
    ],
)
def test_a_kill_mid_send_repeats_one_message_marked_as_a_repeat(
    tmp_path: Path, slack: tuple[StandIn, SlackWebhook], sent: int, n: int
) -> None:
    server, webhook = slack
    url, hook = f"sqlite:///{tmp_path / 'crash.db'}", server.url + webhook.path
    store = Store(url)
    if sent:
        store.ingest("hackernews", "Acme", [item(i, ("slack",)) for i in range(1, sent + 1)], None)
        dispatch_later(url, hook, minutes=0)
        assert len(webhook.payloads) == sent
    store.ingest("hackernews", "Acme", [item(100 + i, ("slack",)) for i in range(n)], None)
    store.close()

    kill_mid_send(url, hook, webhook)
    assert len(webhook.payloads) == sent + 1
    first = webhook.payloads[-1]
    assert REPEAT_NOTE not in " ".join(texts(first))

    dispatch_later(url, hook, minutes=5)  # the claim is younger than its lease: no resend
    assert len(webhook.payloads) == sent + 1
    dispatch_later(url, hook, minutes=11)
    assert len(webhook.payloads) == sent + 2  # the repeat costs one message, however many rows
    again = webhook.payloads[-1]
    assert again["blocks"][0] == first["blocks"][0]  # the same header: the same message
    assert again["blocks"][1]["elements"][0]["text"] == f"_{REPEAT_NOTE}_"
    assert again["text"].startswith(f"({REPEAT_NOTE.rstrip('.')}) ")
    store = Store(url)
    assert statuses(store) == {SENT: sent + n}
    dispatch_later(url, hook, minutes=30)
    assert len(webhook.payloads) == sent + 2
    store.close()
