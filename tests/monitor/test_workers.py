"""Several workers on one database, in one process: the scheduler's jobs claim leases,
the heartbeat takes over a dead worker's work, and `status` says who is running."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import load_config
from monitor.polljobs import PollJob
from monitor.scheduler import Scheduler
from monitor.service import Service
from monitor.store import Leases, Store, Workers
from monitor.workers import Worker
from tests.clock import Clock
from tests.standins.hackernews import HackerNewsAPI, story
from tests.standins.server import StandIn

HN = PollJob("hackernews")


def searches(server: StandIn) -> int:
    return sum(1 for r in server.requests if "search" in r.path)


def test_two_workers_poll_a_source_once_per_interval(
    hn_config_path: Path, hn_api: HackerNewsAPI, hn_server: StandIn
) -> None:
    hn_api.add(story(1, "Acme Coffee burnt my toast and was rude", created=int(time.time())))
    config = load_config(hn_config_path)  # hackernews every 5m
    clock = Clock()
    one, two = Service(config, clock=clock), Service(config, clock=clock)
    try:
        first, second = Scheduler(one), Scheduler(two)
        every = config.sources["hackernews"].every
        for scheduler in (first, second, first):
            scheduler._claimed(
                "poll:hackernews", every, lambda s=scheduler: s._poll_then_dispatch(HN)
            )
        assert searches(hn_server) == 1
        clock.advance(minutes=4, seconds=59)
        second._claimed("poll:hackernews", every, lambda: second._poll_then_dispatch(HN))
        assert searches(hn_server) == 1
        clock.advance(seconds=1)  # five minutes after the first poll: the other worker polls
        second._claimed("poll:hackernews", every, lambda: second._poll_then_dispatch(HN))
        first._claimed("poll:hackernews", every, lambda: first._poll_then_dispatch(HN))
        assert searches(hn_server) == 2
        lease = Leases(one.store).get("poll:hackernews")
        assert lease is not None and lease.holder is None and lease.acquired_at == clock.now
        assert len(one.store.mentions()) == 1
    finally:
        one.close()
        two.close()


def test_the_heartbeat_takes_over_a_dead_workers_alerts(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.monitor.test_leases import _mention

    clock = Clock()
    dead = Worker(store, clock=clock)
    Workers(store).register(dead.id, dead.host, 1, "0.9", clock.now)
    store.ingest("hackernews", "Acme", [_mention(1)], None, now=clock.now)
    [row] = store.due_alerts(clock.now)
    store.claim_many([row.id], clock.now)  # claimed with the dead worker's key, then SIGKILL
    assert store.due_alerts(clock.now) == []

    clock.advance(seconds=31)
    alive = Worker(store, clock=clock, heartbeat_every=timedelta(seconds=0.05))
    with caplog.at_level(logging.WARNING):
        alive.start()
        try:
            [again] = store.due_alerts(clock.now)
            assert again.id == row.id and again.repeat_of is not None
            before = Workers(store).all()[1].heartbeat_at
            clock.advance(seconds=5)
            deadline = time.monotonic() + 10
            while Workers(store).all()[1].heartbeat_at == before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert Workers(store).all()[1].heartbeat_at == clock.now  # the thread beats
        finally:
            alive.stop()
    assert f"worker {dead.id} stopped without saying so" in caplog.text
    assert "1 alert it was sending go out again" in caplog.text
    gone, stopped = Workers(store).all()
    assert gone.gone_at is not None and not gone.stopped
    assert stopped.stopped


def test_status_lists_live_workers_what_they_hold_and_the_ones_gone(
    hn_config_path: Path,
) -> None:
    config = load_config(hn_config_path)
    store = Store(config.database)
    now = datetime.now(UTC)
    workers, leases = Workers(store), Leases(store)
    workers.register("shop-pc:4242:aaaa0001", "shop-pc", 4242, "1.2.0", now - timedelta(hours=2))
    workers.beat("shop-pc:4242:aaaa0001", now - timedelta(seconds=4))
    leases.claim(
        "poll:hackernews", "shop-pc:4242:aaaa0001", now - timedelta(seconds=3), timedelta(minutes=5)
    )
    workers.register("back-room:77:bbbb0002", "back-room", 77, "1.2.0", now - timedelta(hours=1))
    workers.register("old-pc:9:cccc0003", "old-pc", 9, "1.1.0", now - timedelta(minutes=10))
    workers.stop("old-pc:9:cccc0003", now - timedelta(minutes=5))
    workers.register(
        "lost-pc:5:dddd0004", "lost\x1b[31m-pc", 5, "1.2.0", now - timedelta(minutes=3)
    )
    store.close()

    result = CliRunner().invoke(cli, ["status", "-c", str(hn_config_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Running now: 1 worker" in out
    assert "  shop-pc (process 4242): running since" in out
    assert re.search(r"last heard from \d+ s ago, version 1\.2\.0\n", out)
    assert "    polling hackernews since" in out
    assert "back-room (process 77): not heard from since" in out  # an hour-old heartbeat
    assert "old-pc (process 9): stopped at" in out
    assert "\x1b" not in out  # a hostname is printed inert
    assert "Source health:" in out and "hackernews: not polled yet" in out
