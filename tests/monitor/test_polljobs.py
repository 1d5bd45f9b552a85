"""A source whose poll costs a request per brand or term is polled in jobs of
``brands_per_job`` brands, so that several workers share it (monitor/polljobs.py): each
job asks for its own brands, keeps its own cursor, has its failures counted without
another job's success hiding them, and `poll` leaves to a running worker the job that
worker is doing now. Bluesky's stand-in answers over loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from alerts.console import ConsoleConfig
from connectors import load_connector
from monitor.cli import cli
from monitor.config import BrandConfig, Config
from monitor.polljobs import PollJob, describe_lease, poll_jobs
from monitor.scheduler import Scheduler
from monitor.service import Service
from monitor.store import Leases, Store, Workers
from monitor.workers import Worker
from tests.clock import Clock
from tests.standins import bluesky as b
from tests.standins.server import Request, Response


class Failing:
    """Bluesky's stand-in, whose searches for the terms in ``fail`` answer 500."""

    def __init__(self, api: b.BlueskyAPI) -> None:
        self.api = api
        self.fail: set[str] = set()

    def __call__(self, request: Request) -> Response:
        if request.path.endswith("searchPosts") and request.params.get("q") in self.fail:
            return Response(500, {"error": "InternalServerError", "message": "shard down"})
        return self.api(request)


@pytest.fixture
def api() -> b.BlueskyAPI:
    return b.BlueskyAPI()


@pytest.fixture
def route(api: b.BlueskyAPI) -> Failing:
    return Failing(api)


@pytest.fixture
def server(route: Failing) -> Iterator[b.BlueskyStandIn]:
    with b.BlueskyStandIn(route) as s:
        yield s


def make_config(tmp: Path, url: str, brands: int = 5, per_job: int = 2) -> Config:
    raw = {
        "base_url": url,
        "handle": "acme.bsky.social",
        "app_password": "abcd-efgh-ijkl-mnop",
        "timeout": "2s",
        "brands_per_job": per_job,
    }
    return Config(
        path=None,
        database=f"sqlite:///{tmp / 'mentions.db'}",
        brands=[
            BrandConfig(name=f"Brand{i}", keywords=[f"Brand{i}"]) for i in range(1, brands + 1)
        ],
        sources={"bluesky": load_connector("bluesky").Config.model_validate(raw)},
        channels=[ConsoleConfig.model_validate({"type": "console"})],
    )


def notices(service: Service) -> list[tuple[str, str]]:
    now = datetime.now(UTC)
    due = service.store.due_alerts(now + timedelta(days=1))
    return [(a.title or "", a.text) for a in service.store.claim_many([d.id for d in due], now)]


def searched(server: b.BlueskyStandIn) -> list[str]:
    return [r.params["q"] for r in server.requests if r.path.endswith("searchPosts")]


def test_a_source_with_more_brands_than_a_job_carries_is_cut_into_jobs(
    tmp_path: Path, server: b.BlueskyStandIn
) -> None:
    service = Service(make_config(tmp_path, server.url))
    try:
        jobs = poll_jobs(service.config, service.connectors)
    finally:
        service.close()
    assert [j.id for j in jobs] == ["poll:bluesky#1", "poll:bluesky#2", "poll:bluesky#3"]
    assert [j.describe() for j in jobs] == [
        "bluesky (brands 1-2 of 5)",
        "bluesky (brands 3-4 of 5)",
        "bluesky (brands 5-5 of 5)",
    ]
    whole = Service(make_config(tmp_path, server.url, per_job=5))
    try:
        assert [j.id for j in poll_jobs(whole.config, whole.connectors)] == ["poll:bluesky"]
    finally:
        whole.close()
    assert describe_lease("poll:bluesky#2") == "polling bluesky (brand group 2)"
    assert describe_lease("poll:hackernews") == "polling hackernews"
    assert describe_lease("stream:bluesky_stream") == "listening to bluesky_stream"


def test_each_job_asks_for_its_own_brands_and_keeps_its_own_cursor(
    tmp_path: Path, api: b.BlueskyAPI, server: b.BlueskyStandIn
) -> None:
    two_hours_ago = time.time() - 2 * 3600
    api.add(
        b.post("3kb1", "Brand1 lost my parcel again", created=two_hours_ago),
        b.post("3kb3", "Brand3 charged me twice, terrible", created=two_hours_ago),
        b.post("3kb5", "Brand5 is fine", created=two_hours_ago),
    )
    service = Service(make_config(tmp_path, server.url))
    try:
        first, second, _ = poll_jobs(service.config, service.connectors)
        report = service.pipeline.poll_source("bluesky", second)
        assert report.ok and report.new == 1
        assert sorted(searched(server)) == ["Brand3", "Brand4"]
        assert set(service.store.cursors_of("bluesky")) == {"*2"}
        [stored] = service.store.mentions()
        assert stored.brand == "Brand3"

        # The first job's first poll looks back as a new source's does: it does not go on
        # from the second job's cursor, which has never asked for its brands.
        server.requests.clear()
        assert service.pipeline.poll_source("bluesky", first).new == 1
        assert sorted(searched(server)) == ["Brand1", "Brand2"]
        assert set(service.store.cursors_of("bluesky")) == {"*1", "*2"}
        assert {m.brand for m in service.store.mentions()} == {"Brand1", "Brand3"}
    finally:
        service.close()


def test_jobs_go_on_from_the_cursor_kept_before_the_brands_were_split(
    tmp_path: Path, api: b.BlueskyAPI, server: b.BlueskyStandIn
) -> None:
    ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
    api.add(b.post("3kold", "Brand1 was awful", created=time.time() - 3600))
    service = Service(make_config(tmp_path, server.url))
    try:
        cursor = json.dumps({"since": b.iso(ten_minutes_ago.timestamp()), "seen": {}})
        service.store.ingest("bluesky", "*", [], cursor, now=datetime.now(UTC))
        first = poll_jobs(service.config, service.connectors)[0]
        assert service.pipeline.poll_source("bluesky", first).new == 0  # an hour old: seen then
        since = [b._normal(r.params["since"]) for r in server.requests if "since" in r.params]
        # From the kept cursor (less Bluesky's overlap), not `lookback` (a day) back.
        overlap = timedelta(minutes=10)  # Bluesky's default `overlap`
        assert since == [b.iso((ten_minutes_ago - overlap).timestamp())] * 2
    finally:
        service.close()


def test_a_failing_job_is_not_hidden_by_the_others_succeeding(
    tmp_path: Path, route: Failing, server: b.BlueskyStandIn
) -> None:
    route.fail = {"Brand3"}
    service = Service(make_config(tmp_path, server.url))
    try:
        first, second, third = poll_jobs(service.config, service.connectors)
        for _ in range(3):  # alerts.health_after: 3
            for job in (first, second, third):
                report = service.pipeline.poll_source("bluesky", job)
                assert report.ok == (job is not second)
        health = service.store.health()["bluesky"]
        assert health.consecutive_failures == 3
        assert "(polling bluesky (brands 3-4 of 5))" in (health.last_error or "")
        ((title, text),) = notices(service)
        assert title == "bluesky has stopped working"
        assert "failed 3 polls in a row" in text and "brands 3-4 of 5" in text
        route.fail = set()
        assert service.pipeline.poll_source("bluesky", second).ok
        assert service.store.health()["bluesky"].consecutive_failures == 0
        ((title, text),) = notices(service)
        assert title == "bluesky works again"
    finally:
        service.close()


def test_poll_leaves_to_a_running_worker_the_job_it_is_doing_now(
    tmp_path: Path, api: b.BlueskyAPI, server: b.BlueskyStandIn
) -> None:
    api.add(b.post("3kb1", "Brand1 lost my parcel again"), b.post("3kb3", "Brand3 was rude"))
    service = Service(make_config(tmp_path, server.url))
    now = datetime.now(UTC)
    busy = "back-room:77:bbbb0002"
    Workers(service.store).register(busy, "back-room", 77, "1.2.0", now)
    Leases(service.store).claim("poll:bluesky#2", busy, now, timedelta(minutes=5))
    me = Worker(service.store)
    try:
        [report] = service.poll(["bluesky"], me)
    finally:
        service.close()
    assert sorted(searched(server)) == ["Brand1", "Brand2", "Brand5"]  # not 3 and 4
    assert report.source == "bluesky" and report.ok and report.new == 1
    assert report.busy == busy


def test_a_worker_polls_one_job_of_a_source_at_a_time(
    tmp_path: Path, server: b.BlueskyStandIn
) -> None:
    config = make_config(tmp_path, server.url)
    clock = Clock()
    one, two = Service(config, clock=clock), Service(config, clock=clock)
    try:
        a, b_ = Scheduler(one), Scheduler(two)
        first, second, _ = poll_jobs(config, one.connectors)
        every = config.sources["bluesky"].every

        def run(scheduler: Scheduler, job: PollJob) -> None:
            scheduler._claimed(
                job.id, every, lambda: scheduler._poll_then_dispatch(job), job.source
            )

        a._polling["bluesky"] = lock = threading.Lock()
        lock.acquire()  # worker A is polling bluesky's first job right now
        run(a, second)
        assert searched(server) == []  # A leaves the second job for later, unclaimed
        assert Leases(one.store).get(second.id) is None
        run(b_, second)  # B takes it
        assert sorted(searched(server)) == ["Brand3", "Brand4"]
        lock.release()
        run(a, second)  # done within its interval by B: A does not poll it again
        assert len(searched(server)) == 2
        run(a, first)
        assert sorted(searched(server)) == ["Brand1", "Brand2", "Brand3", "Brand4"]
    finally:
        one.close()
        two.close()


def test_the_poll_command_says_what_it_left_to_a_running_worker(hn_config_path: Path) -> None:
    from monitor.config import load_config
    from monitor.store import Store

    config = load_config(hn_config_path)
    store = Store(config.database)
    now = datetime.now(UTC)
    busy = "shop-pc:4242:aaaa0001"
    Workers(store).register(busy, "shop-pc", 4242, "1.2.0", now)
    Leases(store).claim("poll:hackernews", busy, now, timedelta(minutes=5))
    Leases(store).claim("watch", busy, now, timedelta(minutes=1))
    store.close()
    result = CliRunner().invoke(cli, ["poll", "-c", str(hn_config_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (
        "hackernews: 0 fetched, 0 new, 0 negative (left to the worker on shop-pc "
        "(process 4242), which was polling it at that moment)"
    ) in result.output
    assert "follow-up: left to a running worker" in result.output
    store = Store(config.database)
    try:
        assert [w.id for w in Workers(store).all()] == [busy]  # `poll` left no line behind
    finally:
        store.close()


def test_workers_writing_a_sources_state_and_health_at_once_do_not_collide(
    store: Store,
) -> None:
    """Two workers polling two groups of one source's brands log in, count failures and
    successes at the same moment: neither fails on a key the other just wrote."""
    threads, rounds = 6, 10
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for r in range(rounds):
                start.wait(timeout=30)
                store.state_set("bluesky", f"logins-{r}", str(i))
                if i % 2:
                    store.record_failure(f"src-{r}", "down", datetime.now(UTC))
                else:
                    store.record_success(f"src-{r}", 1, datetime.now(UTC))
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert errors == []
    assert store.state_get("bluesky", "logins-0") in {str(i) for i in range(threads)}
    health = store.health()
    assert sorted(health) == [f"src-{r}" for r in range(rounds)]
    assert all(h.total_count == threads // 2 for h in health.values())


def test_the_poll_command_prints_another_workers_host_inert(hn_config_path: Path) -> None:
    from monitor.config import load_config

    config = load_config(hn_config_path)
    store = Store(config.database)
    busy = "evil\x1b[31m\u202epc:66:aaaa0009"  # a host name is another machine's text
    Workers(store).register(busy, "evil", 66, "1.2.0", datetime.now(UTC))
    Leases(store).claim("poll:hackernews", busy, datetime.now(UTC), timedelta(minutes=5))
    store.close()
    result = CliRunner().invoke(cli, ["poll", "-c", str(hn_config_path)], catch_exceptions=False)
    assert "left to the worker on evilpc (process 66)" in result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
