"""The outbox delivery rules, against a real SQLite file and controlled time.

``Recorder`` is a channel written for the tests (the console channel is the
only real one so far): it keeps what it was given and fails on command.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.base import Channel, ChannelConfig
from monitor.config import AlertsConfig
from monitor.dispatcher import Dispatcher, backoff
from monitor.errors import AlertError
from monitor.models import Alert
from monitor.store import DEAD, SENT, AlertRow, Store
from tests.monitor.test_store import item

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Recorder(Channel):
    name = "recorder"
    Config = ChannelConfig

    def __init__(self, name: str, failures: list[AlertError] | None = None) -> None:
        super().__init__(ChannelConfig(type="recorder", name=name))
        self.failures = deque(failures or [])
        self.delivered: list[Alert] = []
        self.lock = threading.Lock()

    def send(self, alert: Alert) -> None:
        if self.failures:
            raise self.failures.popleft()
        with self.lock:
            self.delivered.append(alert)


def setup(store: Store, n: int = 1, channels: tuple[str, ...] = ("a",)) -> None:
    store.ingest(
        "hackernews", "Acme", [item(i, channels) for i in range(1, n + 1)], None, now=START
    )


def make(store: Store, *channels: Recorder, clock: Clock, give_up: str = "24h") -> Dispatcher:
    config = AlertsConfig.model_validate({"give_up_after": give_up})
    return Dispatcher(
        store,
        {c.config.name: c for c in channels},
        config,
        clock=clock,
        rng=random.Random(1),
        strict=True,
    )


def statuses(store: Store) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (_, status), n in store.alert_counts().items():
        counts[status] = counts.get(status, 0) + n
    return counts


def test_sends_each_pending_alert_once(store: Store) -> None:
    setup(store, 3)
    a, clock = Recorder("a"), Clock()
    d = make(store, a, clock=clock)
    assert d.dispatch().sent == 3
    assert d.dispatch().sent == 0
    assert [x.text for x in a.delivered] == [f"Acme coffee was cold #{i}" for i in (1, 2, 3)]
    assert statuses(store) == {SENT: 3}


def test_transient_failure_is_retried_with_backoff_until_it_works(store: Store) -> None:
    setup(store)
    down = AlertError("a", "connection refused")
    a, clock = Recorder("a", [down, down]), Clock()
    d = make(store, a, clock=clock)
    first = d.dispatch()
    assert (first.sent, first.retrying) == (0, 1)
    assert d.dispatch().sent == 0  # not due yet
    clock.advance(seconds=37)  # 30 s +- 20 %
    assert d.dispatch().retrying == 1
    clock.advance(seconds=73)  # 60 s +- 20 %
    assert d.dispatch().sent == 1
    assert len(a.delivered) == 1
    with store.session() as s:
        row = s.get(AlertRow, 1)
        assert row is not None and row.attempts == 3 and row.last_error is None


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(0)
    delays = [backoff(n, rng).total_seconds() for n in range(1, 12)]
    assert 24 <= delays[0] <= 36 and 48 <= delays[1] <= 72
    assert all(d <= 3600 * 1.2 for d in delays) and delays[-1] >= 3600 * 0.8


def test_permanent_failure_is_dead_at_once_and_reported(store: Store) -> None:
    setup(store)
    a, clock = (
        Recorder("a", [AlertError("a", "webhook revoked (404 no_service)", permanent=True)]),
        Clock(),
    )
    report = make(store, a, clock=clock).dispatch()
    assert (report.dead, report.retrying) == (1, 0)
    assert "no_service" in report.errors[0]
    clock.advance(hours=2)
    assert make(store, a, clock=clock).dispatch().sent == 0
    assert statuses(store) == {DEAD: 1}
    assert "no_service" in (store.dead_alerts()[0].last_error or "")


def test_gives_up_after_the_configured_time(store: Store) -> None:
    setup(store)
    a, clock = Recorder("a", [AlertError("a", "timeout")] * 100), Clock()
    d = make(store, a, clock=clock, give_up="10m")
    for _ in range(30):
        d.dispatch()
        clock.advance(minutes=2)
    assert statuses(store) == {DEAD: 1}
    assert "gave up after" in (store.dead_alerts()[0].last_error or "")


def test_a_down_channel_does_not_hold_up_the_others(store: Store) -> None:
    setup(store, 3, ("a", "b"))
    a = Recorder("a", [AlertError("a", "refused")] * 10)
    b, clock = Recorder("b"), Clock()
    report = make(store, a, b, clock=clock).dispatch()
    assert report.sent == 3 and report.retrying == 1  # one try at a, then a waits its turn
    assert len(b.delivered) == 3 and a.delivered == []


def test_an_alert_for_a_removed_channel_is_dead_not_stuck(store: Store) -> None:
    setup(store, 1, ("gone",))
    report = make(store, Recorder("a"), clock=Clock()).dispatch()
    assert report.dead == 1 and "no longer configured" in report.errors[0]


def test_a_send_interrupted_by_a_crash_is_retried_after_ten_minutes(store: Store) -> None:
    setup(store)
    clock = Clock()
    ((alert_id, _),) = store.due_alerts(START)
    store.claim(alert_id, START)  # a process claimed it and died before recording the send
    a = Recorder("a")
    d = make(store, a, clock=clock)
    assert d.dispatch().sent == 0
    clock.advance(minutes=11)
    assert d.dispatch().sent == 1


def test_two_dispatchers_on_one_database_never_send_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    writer = Store(url)
    setup(writer, 60)
    a = Recorder("a")
    stores = [Store(url), Store(url)]
    dispatchers = [make(s, a, clock=Clock()) for s in stores]
    threads = [threading.Thread(target=d.dispatch) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(x.id for x in a.delivered) == list(range(1, 61))
    for s in [writer, *stores]:
        s.close()
