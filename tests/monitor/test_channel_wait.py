"""A channel that says "wait" is waited for as a whole, whichever alert is next.

A real SQLite file, the real Slack channel and the Slack stand-in on loopback, and a
virtual clock for the dispatcher: each round (every 5 s) queues a new alert of another
kind, and the requests Slack received are counted against the virtual time.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from alerts.slack import SlackChannel, SlackConfig
from monitor.config import AlertsConfig
from monitor.dispatcher import Dispatcher
from monitor.http import make_client
from monitor.store import DEAD, PENDING, SENT, Store
from tests.monitor.test_dispatcher import Clock, statuses
from tests.monitor.test_store import item
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
KINDS = ("mention", "health", "reminder", "spike")


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with make_client(timeout=5) as client:
        yield client


class Rig:
    """A store, the Slack stand-in, and dispatchers over them on one virtual clock."""

    def __init__(self, path: Path, server: StandIn, webhook: SlackWebhook, http: httpx.Client):
        self.path, self.server, self.webhook, self.http = path, server, webhook, http
        self.clock = Clock(START)
        self.store = Store(f"sqlite:///{path}")
        self.n = itertools.count(1)
        self.requests: list[float] = []  # virtual seconds since START of each request received
        self.dispatcher = self.make()

    def make(self, give_up: str = "24h") -> Dispatcher:
        config = SlackConfig(webhook_url=self.server.url + self.webhook.path, name="slack")
        ticks = itertools.count(0, 10.0)  # the channel's own pacing never sleeps here
        channel = SlackChannel(
            config, http=self.http, clock=lambda: next(ticks), sleep=lambda _: None
        )
        alerts = AlertsConfig.model_validate({"give_up_after": give_up})
        return Dispatcher(
            self.store,
            {"slack": channel},
            alerts,
            clock=self.clock,
            rng=random.Random(7),
            strict=True,
        )

    def queue(self) -> None:
        """One new alert, of the next kind in turn."""
        n = next(self.n)
        kind = KINDS[n % len(KINDS)]
        now = self.clock.now
        if kind == "mention":
            self.store.ingest("hackernews", "Acme", [item(n, ("slack",))], None, now=now)
        else:
            payload = {"title": f"{kind} notice {n}", "text": f"about {n}", "source": "hackernews"}
            self.store.queue_notice(kind, str(n), payload, "negative", ["slack"], now)

    def round(self, dispatcher: Dispatcher | None = None) -> None:
        before = len(self.server.requests)
        (dispatcher or self.dispatcher).dispatch()
        at = (self.clock.now - START).total_seconds()
        self.requests += [at] * (len(self.server.requests) - before)

    def run(self, seconds: int, step: int = 5) -> None:
        for _ in range(seconds // step):
            self.queue()
            self.round()
            self.clock.advance(seconds=step)


@pytest.fixture
def rig(tmp_path: Path, slack: tuple[StandIn, SlackWebhook], http: httpx.Client) -> Iterator[Rig]:
    server, webhook = slack
    rig = Rig(tmp_path / "wait.db", server, webhook, http)
    yield rig
    rig.store.close()


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_a_429_retry_after_is_honoured_for_every_kind_of_alert(rig: Rig) -> None:
    rig.webhook.rate_limit(20)
    rig.run(200)  # 40 rounds, 40 new alerts of four kinds
    assert rig.requests == [0, 20, 40, 60, 80, 100, 120, 140, 160, 180]  # one per 20 s, no more
    assert rig.webhook.payloads == []
    rig.webhook.recover()
    rig.clock.now = START + timedelta(seconds=200)
    rig.round()
    assert statuses(rig.store) == {SENT: 40}  # nothing lost: all of it, in one roll-up
    assert len(rig.webhook.payloads) == 1 and rig.requests[-1] == 200


def test_a_channel_answering_500_is_backed_off_as_a_whole(rig: Rig) -> None:
    rig.webhook.fail(500)
    rig.run(600)  # 120 rounds in 10 minutes
    waits = gaps(rig.requests)
    # One probe at a time, each wait about twice the last (30 s, 1 min, 2 min, ... +-20%).
    assert len(rig.requests) <= 5, rig.requests
    assert 24 <= waits[0] <= 36 and all(b > a * 1.3 for a, b in itertools.pairwise(waits))
    assert statuses(rig.store) == {PENDING: 120}


def test_the_wait_outlives_a_restart(rig: Rig) -> None:
    rig.webhook.rate_limit(300)
    rig.queue()
    rig.round()
    assert rig.requests == [0]
    rig.clock.advance(seconds=60)
    rig.store.close()
    rig.store = Store(f"sqlite:///{rig.path}")  # the service restarted
    restarted = rig.make()
    rig.queue()
    rig.round(restarted)
    assert rig.requests == [0]  # still waiting: Slack asked for 300 s
    rig.webhook.recover()
    rig.clock.advance(seconds=240)
    rig.round(restarted)
    assert rig.requests == [0, 300, 300] and statuses(rig.store) == {SENT: 2}


def test_a_success_ends_the_backoff(rig: Rig) -> None:
    rig.webhook.fail(503)
    rig.run(100)
    rig.webhook.recover()
    rig.run(300)
    # The backoff running when Slack recovered is served (the probe at ~212 s), then
    # every round sends again (one message per alert, or a roll-up): no waits left.
    first = next(t for t in rig.requests if t >= 100)
    assert 180 <= first <= 260
    assert [t for t in rig.requests if t >= first] == list(range(int(first), 400, 5))


def test_alerts_waiting_for_a_channel_are_given_up_after_give_up_after(rig: Rig) -> None:
    rig.webhook.rate_limit(3600)
    rig.dispatcher = rig.make(give_up="10m")
    rig.run(20)
    rig.clock.advance(minutes=11)
    rig.round()
    assert statuses(rig.store) == {DEAD: 4}
