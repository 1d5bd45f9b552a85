"""`mention-monitor web`, `run` and `demo` serving the inbox over real HTTP on loopback."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.runlock import RunLock
from tests.conftest import ConfigWriter
from tests.monitor.web.conftest import PASSWORD, config_text


class Process:
    """A command running in the background, its stderr read line by line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(
            target=lambda: [self.lines.put(x) for x in self.proc.stdout or []], daemon=True
        ).start()

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.seen:
                found = re.search(pattern, line)
                if found:
                    return found
            try:
                self.seen.append(self.lines.get(timeout=0.2))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
        raise AssertionError(f"no {pattern!r} in: {''.join(self.seen)}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code

    @property
    def output(self) -> str:
        return "".join(self.seen)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait(timeout=10)


def test_web_serves_healthz_and_pages_without_taking_the_run_lock(
    tmp_path: Path, processes: list[Process]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        config_text(tmp_path / "m.db", "web:\n  password: ${PW}\n  listen: 127.0.0.1:8080\n")
    )
    web = Process("web", "-c", str(config), "--listen", "127.0.0.1:0", env={"PW": PASSWORD})
    processes.append(web)
    url = web.wait_for(r"Inbox: (http://127\.0\.0\.1:\d+/)").group(1)
    assert "password required" in web.output
    health = httpx.get(url + "healthz", timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert "set-cookie" not in health.headers
    login = httpx.get(url, timeout=10)
    assert login.status_code == 303 and login.headers["location"] == "/login?next=%2F"
    assert "default-src 'self'" in login.headers["content-security-policy"]
    with RunLock(f"sqlite:///{tmp_path / 'm.db'}", "run"):
        pass  # `run` on the same database could start
    assert web.stop() == 0
    assert PASSWORD not in web.output


def test_behind_a_proxy_that_strips_the_prefix_links_keep_it(
    tmp_path: Path, processes: list[Process]
) -> None:
    config = tmp_path / "config.yaml"
    web_section = (
        "web:\n  listen: 127.0.0.1:0\n  public_url: https://shop.example/monitor\n"
        f"  password: {PASSWORD}\n"
    )
    config.write_text(config_text(tmp_path / "m.db", web_section))
    web = Process("web", "-c", str(config))
    processes.append(web)
    port = web.wait_for(r"served on 127\.0\.0\.1:(\d+), password required").group(1)
    base = f"http://127.0.0.1:{port}"
    # What Caddy's handle_path /monitor/* passes on: the path without the prefix.
    home = httpx.get(base + "/", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert home.status_code == 303 and home.headers["location"] == "/monitor/login?next=%2F"
    login = httpx.get(base + "/login", timeout=10)
    cookie = login.headers["set-cookie"].lower()
    assert "path=/monitor" in cookie and "secure" in cookie
    assert 'action="/monitor/login"' in login.text
    assert 'href="/monitor/static/app.css"' in login.text
    assert httpx.get(base + "/static/app.css", timeout=10).status_code == 200
    assert web.stop() == 0


def test_web_refuses_to_listen_beyond_loopback_without_a_password(
    write_config: ConfigWriter, tmp_path: Path
) -> None:
    config = write_config(config_text(tmp_path / "m.db"))
    result = CliRunner().invoke(cli, ["web", "-c", str(config), "--listen", "0.0.0.0:0"])
    assert result.exit_code == 2
    assert "--listen: 0.0.0.0:0 can be reached from other machines" in result.output
    assert "web.password" in result.output


def test_a_port_in_use_is_a_clear_error_naming_web_listen(
    tmp_path: Path, write_config: ConfigWriter
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = write_config(config_text(tmp_path / "m.db", f"web:\n  listen: 127.0.0.1:{port}\n"))
        result = CliRunner().invoke(cli, ["web", "-c", str(config)])
    assert result.exit_code == 1
    assert f"web.listen 127.0.0.1:{port}: that address is already in use" in result.output


def test_run_serves_the_inbox_beside_the_scheduler_and_stops_on_sigterm(
    hn_config_path: Path, processes: list[Process]
) -> None:
    run = Process("run", "-c", str(hn_config_path))
    processes.append(run)
    url = run.wait_for(r"inbox at (http://127\.0\.0\.1:\d+/) \(open without a password").group(1)
    run.wait_for("mention-monitor running")
    assert httpx.get(url + "healthz", timeout=10).json() == {"status": "ok"}
    assert "Needs an answer" in httpx.get(url, timeout=10).text
    assert run.stop() == 0
    assert "mention-monitor stopped" in run.output


def test_run_with_a_port_in_use_refuses_to_start(
    hn_config_path: Path, processes: list[Process]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        text = hn_config_path.read_text().replace("127.0.0.1:0", f"127.0.0.1:{port}")
        hn_config_path.write_text(text)
        run = Process("run", "-c", str(hn_config_path))
        processes.append(run)
        code = run.proc.wait(timeout=60)
        run.stop()
    assert code == 1
    assert f"web.listen 127.0.0.1:{port}: that address is already in use" in run.output
    assert "Traceback" not in run.output


def test_demo_serves_its_replay_until_ctrl_c(processes: list[Process]) -> None:
    demo = Process("demo", "--listen", "127.0.0.1:0")
    processes.append(demo)
    url = demo.wait_for(r"See them in the inbox: (http://127\.0\.0\.1:\d+/)").group(1)
    page = httpx.get(url + "?view=all", timeout=10).text
    assert "Roastery Lane" in page and "Acme Coffee" in page
    # The ack hint of the reminder (the complaint nobody answered) works as printed, from
    # another terminal, on the demo's own database; the inbox shows the answer.
    reminder = demo.output.split("Still unanswered:", 1)[1]
    hint = re.search(r"`(mention-monitor mentions ack (\d+) -c (\S+))`", reminder)
    assert hint is not None, reminder
    command = hint.group(1).split()[1:]
    acked = CliRunner().invoke(cli, command)
    assert acked.exit_code == 0, acked.output
    assert f"mention #{hint.group(2)}: new -> acknowledged" in acked.output
    shown = httpx.get(f"{url}mentions/{hint.group(2)}", timeout=10).text
    assert "acknowledged" in shown and "waited 25 min for a flat white" in shown
    demo.proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert demo.proc.wait(timeout=30) == 0
    assert not Path(hint.group(3)).exists()  # the demo's database goes with it


def test_check_describes_the_inbox(tmp_path: Path, write_config: ConfigWriter) -> None:
    config = write_config(
        config_text(
            tmp_path / "m.db",
            "web:\n  listen: 0.0.0.0:8080\n  password: ${PW}\n"
            "  public_url: https://shop.example/monitor\n",
        )
    )
    result = CliRunner().invoke(cli, ["check", "-c", str(config)], env={"PW": PASSWORD})
    assert result.exit_code == 0, result.output
    assert "served by `run` at http://0.0.0.0:8080/" in result.output
    assert "opened at https://shop.example/monitor/ (path prefix /monitor)" in result.output
    assert "password: set" in result.output and PASSWORD not in result.output


def test_mentions_ack_needs_neither_channel_nor_inbox_secrets(
    tmp_path: Path, write_config: ConfigWriter
) -> None:
    from tests.monitor.web.conftest import fill, make_config

    fill(make_config(tmp_path))
    text = config_text(
        tmp_path / "inbox.db",
        "web:\n  listen: 0.0.0.0:8080\n  password: ${MM_UNSET_PW}\n",
    ).replace("    - type: console\n", "    - type: slack\n      webhook_url: ${MM_UNSET_HOOK}\n")
    config = write_config(text, name="secretless.yaml")
    result = CliRunner().invoke(cli, ["mentions", "ack", "1", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "mention #1: new -> acknowledged" in result.output
