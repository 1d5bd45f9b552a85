"""When no source can be reached, the service says once that it is this machine's
connection; over real sockets (a name under .invalid, a closed loopback port), real
SQLite, and the console channel's real output."""

from __future__ import annotations

import io
import logging
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from alerts.console import ConsoleChannel, ConsoleConfig
from connectors.hackernews import HackerNewsConfig, HackerNewsConnector
from monitor.config import BrandConfig, Config
from monitor.http import make_client
from monitor.offline import OFFLINE
from monitor.service import Service
from monitor.store import Store
from monitor.store.answers import recent_alerts
from tests.standins.hackernews import PREFIX, HackerNewsAPI, story
from tests.standins.server import Response, StandIn

NOWHERE = "http://mention-monitor-test.invalid/api/v1"  # .invalid never resolves (RFC 2606)
CLOSED = "http://127.0.0.1:9/api/v1"  # discard port: nothing listens on loopback


class Rig:
    def __init__(self, tmp_path: Path, urls: dict[str, str]) -> None:
        self.out = io.StringIO()
        sources = {n: HackerNewsConfig(base_url=u, timeout="2s") for n, u in urls.items()}
        config = Config(
            path=None,
            database=f"sqlite:///{tmp_path / 'offline.db'}",
            brands=[BrandConfig(name="Acme Coffee", keywords=["Acme Coffee"])],
            sources=dict(sources),
            channels=[ConsoleConfig()],
        )
        self.http = make_client(timeout=2)
        self.connectors = {n: HackerNewsConnector(c, self.http) for n, c in sources.items()}
        self.service = Service(
            config,
            store=Store(config.database),
            http=self.http,
            connectors=dict(self.connectors),
            channels={"console": ConsoleChannel(ConsoleConfig(), stream=self.out)},
        )

    def cycle(self) -> str:
        """Poll every source once, dispatch, and return what the console printed."""
        start = self.out.tell()
        self.service.poll()
        self.service.dispatch()
        return self.out.getvalue()[start:]

    def move(self, source: str, url: str) -> None:
        connector = self.connectors[source]
        connector.config = connector.config.model_copy(update={"base_url": url})


MakeRig = Callable[[dict[str, str]], Rig]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[MakeRig]:
    made: list[Rig] = []

    def make(urls: dict[str, str]) -> Rig:
        made.append(Rig(tmp_path, urls))
        return made[-1]

    yield make
    for r in made:
        r.service.close()
        r.http.close()


def test_no_source_reachable_is_said_once_as_this_machine_s_connection(
    rig: MakeRig, caplog: pytest.LogCaptureFixture
) -> None:
    r = rig({"hackernews": NOWHERE, "hn-mirror": CLOSED})
    with caplog.at_level(logging.WARNING, logger="monitor"):
        printed = r.cycle()
        again = r.cycle()
    assert printed.count(OFFLINE) == 1 and OFFLINE not in again
    assert "cannot find mention-monitor-test.invalid: the name does not resolve" in printed
    assert "127.0.0.1 refused the connection" in printed
    said = [rec for rec in caplog.records if OFFLINE in rec.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.ERROR
    health = r.service.store.health()
    # Each source's health keeps its own reason, then the machine's.
    assert health["hackernews"].last_error.startswith("hackernews: cannot find")
    assert "127.0.0.1 refused the connection" in health["hn-mirror"].last_error
    assert all(h.last_error.endswith(OFFLINE) for h in health.values())


def test_one_source_that_answers_even_badly_means_the_machine_is_online(rig: MakeRig) -> None:
    with StandIn(lambda request: Response(503, b"down")) as server:
        r = rig({"hackernews": NOWHERE, "hn-mirror": server.url + PREFIX})
        printed = r.cycle() + r.cycle()
    assert OFFLINE not in printed
    assert OFFLINE not in (r.service.store.health()["hackernews"].last_error or "")


def test_when_a_source_connects_again_it_is_said_once_and_polling_goes_on(rig: MakeRig) -> None:
    api = HackerNewsAPI([story(1, "Acme Coffee lost my order, awful service")])
    with StandIn(api) as server:
        r = rig({"hackernews": NOWHERE})
        assert OFFLINE in r.cycle()
        r.move("hackernews", server.url + PREFIX)
        back = r.cycle()
    assert "Acme Coffee lost my order" in back  # the mention came through
    notices = [
        row.payload["title"] for row in recent_alerts(r.service.store) if row.kind == "health"
    ]
    assert notices == ["mention-monitor reaches the internet again", OFFLINE]  # newest first
    r.move("hackernews", NOWHERE)
    assert OFFLINE in r.cycle()  # down again: a new episode, said again


def test_run_on_a_machine_that_cannot_reach_its_sources_says_so_at_start(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            database: sqlite:///mentions.db
            brands:
              - name: Acme Coffee
                keywords: ["Acme Coffee"]
            sources:
              hackernews:
                base_url: {NOWHERE}
            web:
              enabled: false
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    for stream in (proc.stdout, proc.stderr):
        threading.Thread(
            target=lambda s=stream: [lines.put(x) for x in s or []], daemon=True
        ).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60  # the promise: within a minute
        while time.monotonic() < deadline and sum(OFFLINE in x for x in seen) < 2:
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                pass
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    assert code == 0
    said = [x for x in seen if OFFLINE in x]
    # Once in the log (stderr) and once as the console channel's notice (stdout).
    assert any("ERROR" in x for x in said) and any(x.startswith("[SOURCE PROBLEM]") for x in said)
    assert not any("ConnectError" in x or "Traceback" in x for x in seen)
