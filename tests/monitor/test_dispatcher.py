"""The outbox delivery rules, against a real SQLite file and controlled time.

``Recorder`` is a channel written for these tests: it keeps the messages it was
given and fails on command. The real channels meet real peers in tests/alerts/.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.base import Channel, ChannelConfig
from monitor.config import AlertsConfig
from monitor.dispatcher import Dispatcher, backoff
from monitor.errors import AlertError, ChannelMisconfigured
from monitor.models import Alert, Digest
from monitor.store import DEAD, PENDING, SENT, AlertRow, Store
from tests.monitor.test_store import item

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Recorder(Channel):
    name = "recorder"
    Config = ChannelConfig

    def __init__(self, name: str, failures: list[AlertError] | None = None, **cfg: Any) -> None:
        super().__init__(ChannelConfig.model_validate({"type": "recorder", "name": name, **cfg}))
        self.failures = deque(failures or [])
        self.messages: list[Alert | Digest] = []
        self.lock = threading.Lock()

    def _take(self, message: Alert | Digest) -> None:
        if self.failures:
            raise self.failures.popleft()
        with self.lock:
            self.messages.append(message)

    def send(self, alert: Alert) -> None:
        self._take(alert)

    def send_digest(self, digest: Digest) -> None:
        self._take(digest)

    @property
    def delivered(self) -> list[Alert]:
        out: list[Alert] = []
        for m in self.messages:
            out.extend(m.alerts if isinstance(m, Digest) else [m])
        return out


def setup(
    store: Store,
    n: int = 1,
    channels: tuple[str, ...] = ("a",),
    at: datetime = START,
    first: int = 1,
) -> None:
    items = [item(i, channels) for i in range(first, first + n)]
    store.ingest("hackernews", "Acme", items, None, now=at)


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


def test_retry_after_from_the_channel_wins_over_backoff(store: Store) -> None:
    setup(store)
    a, clock = Recorder("a", [AlertError("a", "429", retry_after=300)]), Clock()
    d = make(store, a, clock=clock)
    d.dispatch()
    clock.advance(seconds=299)
    assert d.dispatch().sent == 0
    clock.advance(seconds=2)
    assert d.dispatch().sent == 1


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(0)
    delays = [backoff(n, rng).total_seconds() for n in range(1, 12)]
    assert 24 <= delays[0] <= 36 and 48 <= delays[1] <= 72
    assert all(d <= 3600 * 1.2 for d in delays) and delays[-1] >= 3600 * 0.8


def test_a_message_refused_for_good_is_dead_at_once(store: Store) -> None:
    setup(store, 2)
    bad = AlertError("a", "Slack answered 400 invalid_blocks", permanent=True)
    a, clock = Recorder("a", [bad]), Clock()
    report = make(store, a, clock=clock).dispatch()
    assert (report.dead, report.sent) == (1, 1)  # only that message; the channel goes on
    assert "invalid_blocks" in (store.dead_alerts()[0].last_error or "")


def test_a_misconfigured_channel_is_paused_reported_once_and_resumed(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    setup(store, 3)
    broken = ChannelMisconfigured("a", "Slack answered 404 no_service")
    a, clock = Recorder("a", [broken]), Clock()
    d = make(store, a, clock=clock)
    report = d.dispatch()
    assert report.sent == 0 and report.dead == 0
    assert list(store.paused_channels()) == ["a"]
    for _ in range(3):
        clock.advance(minutes=5)
        assert d.dispatch().sent == 0
    assert caplog.text.count("channel a is paused") == 1
    assert statuses(store) == {PENDING: 3}  # nothing dropped, nothing retried blindly
    assert store.resume_channel("a") == ["a"]
    assert d.dispatch().sent == 3


def test_a_paused_channel_gives_up_only_after_give_up_after(store: Store) -> None:
    setup(store)
    a = Recorder("a", [ChannelMisconfigured("a", "403 invalid_token")])
    clock = Clock()
    d = make(store, a, clock=clock, give_up="2h")
    d.dispatch()
    clock.advance(hours=1)
    d.dispatch()
    assert statuses(store) == {PENDING: 1}
    clock.advance(hours=1, minutes=1)
    d.dispatch()
    assert statuses(store) == {DEAD: 1}
    assert "paused" in (store.dead_alerts()[0].last_error or "")


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
    (due,) = store.due_alerts(START)
    store.claim_many([due.id], START)  # a process claimed it and died before recording the send
    a = Recorder("a")
    d = make(store, a, clock=clock)
    assert d.dispatch().sent == 0
    clock.advance(minutes=11)
    assert d.dispatch().sent == 1


def test_two_dispatchers_on_one_database_never_send_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    writer = Store(url)
    setup(writer, 60)
    a = Recorder("a", flood_limit=1000)
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


# ---------------------------------------------------------------- flood control


def test_under_the_limit_each_alert_is_its_own_message(store: Store) -> None:
    setup(store, 5)
    a = Recorder("a", flood_limit=5)
    assert make(store, a, clock=Clock()).dispatch().messages == 5
    assert all(isinstance(m, Alert) for m in a.messages)


def test_a_flood_becomes_one_rollup(store: Store) -> None:
    setup(store, 25)
    a, clock = Recorder("a", flood_limit=5), Clock()
    report = make(store, a, clock=clock).dispatch()
    assert report.sent == 25 and report.messages == 1
    (rollup,) = a.messages
    assert isinstance(rollup, Digest) and rollup.kind == "rollup" and len(rollup.alerts) == 25
    # Within the same minute, the next alerts are rolled up too; a minute later, singles again.
    setup(store, 2, first=100)
    clock.advance(seconds=20)
    make(store, a, clock=clock).dispatch()
    assert isinstance(a.messages[-1], Digest) and len(a.messages[-1].alerts) == 2
    setup(store, 1, first=200)
    clock.advance(seconds=61)
    make(store, a, clock=clock).dispatch()
    assert isinstance(a.messages[-1], Alert)


def test_a_failed_rollup_keeps_every_item_for_the_retry(store: Store) -> None:
    setup(store, 12)
    a, clock = Recorder("a", flood_limit=1), Clock()
    d = make(store, a, clock=clock)
    d.dispatch()  # one roll-up of 12
    assert len(a.delivered) == 12 and len(a.messages) == 1
    setup(store, 12, first=50)
    a.failures.append(AlertError("a", "503"))
    clock.advance(seconds=5)
    d.dispatch()
    assert statuses(store)[PENDING] == 12
    clock.advance(seconds=40)
    d.dispatch()
    assert len(a.delivered) == 24 and statuses(store) == {SENT: 24}


# ---------------------------------------------------------------- quiet hours


def quiet(**cfg: Any) -> Recorder:
    return Recorder(
        "a", quiet_hours={"from": "22:00", "to": "07:00"}, timezone="Europe/London", **cfg
    )


def test_quiet_hours_hold_all_but_high_alerts_until_morning(store: Store) -> None:
    night = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 23:30 in London (GMT in November)
    clock = Clock(night)
    setup(store, 2, at=night)  # both "negative"; make the second one "high"
    with store.session() as s:
        row = s.get(AlertRow, 2)
        assert row is not None
        row.severity = "high"
    a = quiet()
    d = make(store, a, clock=clock)
    report = d.dispatch()
    assert [x.id for x in a.delivered] == [2] and report.held == 1
    clock.now = datetime(2026, 11, 24, 6, 59, tzinfo=UTC)
    assert d.dispatch().sent == 0
    clock.now = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert d.dispatch().sent == 1
    assert [x.id for x in a.delivered] == [2, 1]


def test_quiet_hours_window_and_timezone() -> None:
    cfg = quiet().config
    # 21:59 and 07:00 London time are outside; 22:00 and 06:59 inside.
    assert cfg.quiet_until(datetime(2026, 7, 1, 20, 59, tzinfo=UTC)) is None  # 21:59 BST
    assert cfg.quiet_until(datetime(2026, 7, 1, 21, 0, tzinfo=UTC)) == datetime(
        2026, 7, 2, 6, 0, tzinfo=UTC
    )
    assert cfg.quiet_until(datetime(2026, 7, 2, 5, 59, tzinfo=UTC)) == datetime(
        2026, 7, 2, 6, 0, tzinfo=UTC
    )
    assert cfg.quiet_until(datetime(2026, 7, 2, 6, 0, tzinfo=UTC)) is None


# ---------------------------------------------------------------- digests


def test_a_daily_digest_goes_out_once_at_its_time_in_its_timezone(store: Store) -> None:
    clock = Clock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    a = Recorder("a", mode="digest", digest_at="08:00", timezone="America/New_York")
    d = make(store, a, clock=clock)
    setup(store, 3, at=clock.now)
    assert d.dispatch().held == 3 and a.messages == []
    clock.now = datetime(2026, 11, 23, 12, 59, tzinfo=UTC)  # 07:59 in New York
    assert d.dispatch().sent == 0
    clock.now = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 08:00 in New York
    report = d.dispatch()
    assert report.sent == 3 and report.messages == 1
    (digest,) = a.messages
    assert isinstance(digest, Digest) and digest.kind == "digest" and len(digest.alerts) == 3
    assert d.dispatch().sent == 0


def test_an_empty_digest_is_not_sent_and_items_wait_for_delivery(store: Store) -> None:
    clock = Clock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    a = Recorder("a", [AlertError("a", "down")], mode="digest", every="1h")
    d = make(store, a, clock=clock)
    assert d.dispatch().messages == 0  # nothing queued: no message
    setup(store, 2, at=clock.now)
    clock.now = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    d.dispatch()  # the digest fails: items stay pending
    assert statuses(store) == {PENDING: 2} and a.messages == []
    clock.advance(minutes=2)
    assert d.dispatch().sent == 2
    assert len(a.messages) == 1


def test_digest_slots() -> None:
    hourly = Recorder("a", mode="digest", every="1h").config
    assert hourly.last_digest_time(datetime(2026, 1, 1, 10, 59, tzinfo=UTC)) == datetime(
        2026, 1, 1, 10, 0, tzinfo=UTC
    )
    daily = Recorder("b", mode="digest", digest_at="08:00", timezone="Europe/Paris").config
    assert daily.last_digest_time(datetime(2026, 1, 1, 6, 59, tzinfo=UTC)) == datetime(
        2025, 12, 31, 7, 0, tzinfo=UTC
    )
    assert daily.last_digest_time(datetime(2026, 1, 1, 7, 0, tzinfo=UTC)) == datetime(
        2026, 1, 1, 7, 0, tzinfo=UTC
    )


# ---------------------------------------------------------------- a crash mid-send


def test_rows_sent_together_before_a_crash_go_again_together_marked(store: Store) -> None:
    setup(store, 8)
    clock = Clock()
    store.claim_many([1, 2, 3, 4, 5], START)  # a roll-up of five, then the process died
    store.claim_many([6], START)  # and a single alert, claimed by another process
    clock.advance(minutes=11)
    a = Recorder("a", flood_limit=50)  # five is well under the limit: still one message
    report = make(store, a, clock=clock).dispatch()
    assert (report.sent, report.messages) == (8, 4)
    rollup, single, *fresh = a.messages
    assert isinstance(rollup, Digest) and [x.id for x in rollup.alerts] == [1, 2, 3, 4, 5]
    assert rollup.possible_repeat and rollup.kind == "rollup"
    assert isinstance(single, Alert) and single.id == 6 and single.possible_repeat
    assert [x.id for x in fresh if isinstance(x, Alert) and not x.possible_repeat] == [7, 8]
