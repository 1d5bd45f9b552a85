"""Three real `mention-monitor run` workers on one PostgreSQL database, against loopback
stand-ins of Hacker News and Slack; one is killed with SIGKILL in the middle of a poll.

Every negative story is stored once and reaches Slack once (one message may repeat: the
one the killed worker may have been sending), and the stand-in's own record of request
times shows the source polled no more often than its `every` across the three workers.
Then three workers share a Bluesky whose brands are cut into jobs (``brands_per_job``).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.store import Leases, Store, Workers
from tests.conftest import ConfigWriter
from tests.pg import PgServer
from tests.standins import bluesky
from tests.standins.hackernews import PREFIX, HackerNewsAPI, story
from tests.standins.server import Request, Response, StandIn
from tests.standins.slack import SlackWebhook, texts

EVERY = 4.0  # seconds: the source's `every`
SEARCH = PREFIX + "/search_by_date"


class TimedHackerNews:
    """The Hacker News stand-in, noting when each search arrived; each answer takes a
    while, as a real API's does, so that a worker can be killed in the middle of a poll."""

    def __init__(self, api: HackerNewsAPI) -> None:
        self.api = api
        self.searches: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        if request.path == SEARCH:
            with self.lock:
                self.searches.append(time.monotonic())
        answer = self.api(request)
        answer.delay = 0.8
        return answer


def start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def wait_for(what: str, done: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(300)
def test_three_workers_share_one_source_and_survive_a_sigkill(
    pg_server: PgServer,
    write_config: ConfigWriter,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    url = pg_server.create(migrated=True)
    api, webhook = HackerNewsAPI(), SlackWebhook()
    hn = TimedHackerNews(api)
    with StandIn(hn) as hn_server, StandIn(webhook) as slack:
        config = write_config(
            f"""
            database: {url}
            brands:
              - name: Acme Coffee
                keywords: ["Acme Coffee"]
            sources:
              hackernews:
                every: {EVERY:.0f}s
                base_url: {hn_server.url + PREFIX}
                overlap: 1s
            alerts:
              console: false
              channels:
                - type: slack
                  webhook_url: {slack.url + webhook.path}
                  flood_limit: 1000
            web:
              enabled: false
            """
        )
        negatives: list[int] = []
        stop_posting = threading.Event()

        def post() -> None:
            n = 1000
            while not stop_posting.wait(0.7):
                n += 1
                now = int(time.time())
                if n % 3:
                    negatives.append(n)
                    title = f"Acme Coffee charged me twice, cold latte, terrible service #{n}."
                else:
                    title = f"Acme Coffee opens a new roastery #{n}"
                api.add(story(n, title, created=now))

        poster = threading.Thread(target=post, daemon=True)
        poster.start()
        store = Store(url)
        try:
            for _ in range(3):
                workers.append(start(config))
            wait_for(
                "three workers",
                lambda: sum(w.alive(datetime.now(UTC)) for w in Workers(store).all()) == 3,
                90,
            )
            wait_for("a few polls", lambda: len(hn.searches) >= 3, 60)

            # Kill the worker holding the poll, in the middle of it (the search answers slowly).
            victim: subprocess.Popen[bytes] | None = None

            def polling() -> bool:
                nonlocal victim
                for lease in Leases(store).held(datetime.now(UTC)):
                    if lease.name == "poll:hackernews" and lease.holder:
                        pid = int(lease.holder.split(":")[-2])
                        victim = next((w for w in workers if w.pid == pid), None)
                return victim is not None

            wait_for("a worker in the middle of a poll", polling, 60)
            assert victim is not None
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            killed_at = time.monotonic()

            # The others carry on: the source is polled again within the lease's 30 s.
            wait_for(
                "a poll after the kill",
                lambda: any(t > killed_at + 1 for t in hn.searches),
                60,
            )
            time.sleep(3)
            stop_posting.set()
            poster.join()
            wanted = set(negatives)

            def alerted() -> set[int]:
                return {
                    n for n in wanted for p in webhook.payloads if f"#{n}" in " ".join(texts(p))
                }

            wait_for("every negative story on Slack", lambda: alerted() == wanted, 90)
            time.sleep(EVERY * 2)  # a few more polls: nothing more may be sent
            for worker in workers:
                if worker is not victim:
                    worker.send_signal(signal.SIGTERM)
            for worker in workers:
                if worker is not victim:
                    assert worker.wait(timeout=60) == 0

            # Every negative story stored once, and on Slack once (at most one repeat).
            stored = [m.external_id for m in store.mentions(negative=True, limit=10_000)]
            assert sorted(stored) == sorted(str(n) for n in wanted)
            # The alerts about one mention each (a spike alert also quotes the latest ones).
            said = [
                text
                for text in (" ".join(texts(p)) for p in webhook.payloads)
                if "mention of Acme Coffee on Hacker News" in text
            ]
            times = {n: sum(f"#{n}." in text for text in said) for n in wanted}
            assert all(c >= 1 for c in times.values())
            assert sum(c - 1 for c in times.values()) <= 1, times
            # The stand-in's record: never two polls within `every`, whichever worker.
            starts = sorted(hn.searches)
            gaps = [b - a for a, b in itertools.pairwise(starts)]
            # The claim is taken a moment before the request (a moment that varies under load);
            # without leases, three workers poll about every EVERY / 3 s.
            assert min(gaps) >= EVERY - 1, gaps
            listed = {w.pid: w for w in Workers(store).all()}
            assert listed[victim.pid].gone_at is not None and not listed[victim.pid].stopped
            assert sum(w.stopped for w in listed.values()) == 2
        finally:
            stop_posting.set()
            store.close()


class TimedBluesky:
    """Bluesky's stand-in, noting each search's term and start, and how many searches
    were answered at once (each takes a while, as a real API's does)."""

    def __init__(self, api: bluesky.BlueskyAPI) -> None:
        self.api = api
        self.searches: list[tuple[str, float]] = []
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        if not request.path.endswith("searchPosts"):
            return self.api(request)
        with self.lock:
            self.searches.append((request.params.get("q", ""), time.monotonic()))
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.6)
            return self.api(request)
        finally:
            with self.lock:
                self.running -= 1


@pytest.mark.timeout(300)
def test_three_workers_share_the_brands_of_a_source_asked_once_per_term(
    pg_server: PgServer,
    write_config: ConfigWriter,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    url = pg_server.create(migrated=True)
    timed = TimedBluesky(bluesky.BlueskyAPI())
    indent = " " * 14
    brands = "\n".join(f"{indent}- {{name: Brand{i}, keywords: [Brand{i}]}}" for i in range(1, 7))
    with bluesky.BlueskyStandIn(timed) as server:
        config = write_config(
            f"""
            database: {url}
            brands:
{brands}
            sources:
              bluesky:
                every: {EVERY:.0f}s
                base_url: {server.url}
                handle: acme.bsky.social
                app_password: abcd-efgh-ijkl-mnop
                brands_per_job: 2
            alerts:
              channels:
                - type: console
            web:
              enabled: false
            """
        )
        store = Store(url)
        try:
            for _ in range(3):
                workers.append(start(config))

            def polled(times: int) -> bool:
                terms = [q for q, _ in timed.searches]
                return all(terms.count(f"Brand{i}") >= times for i in range(1, 7))

            wait_for("three polls of every brand", lambda: polled(3), 120)
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                assert worker.wait(timeout=60) == 0
        finally:
            store.close()
    # Three jobs of two brands: polled by more than one worker at once (one worker polls one
    # job of a source at a time), each job never more often than `every`.
    assert 2 <= timed.most <= 3, timed.most
    for i in range(1, 7):
        starts = sorted(t for q, t in timed.searches if q == f"Brand{i}")
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert min(gaps) >= EVERY - 1, (i, gaps)
