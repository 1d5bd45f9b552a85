"""One `run` or `poll` per SQLite database: the lock file, and real processes fighting over it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.errors import AlreadyRunning
from monitor.runlock import RunLock
from monitor.store.opening import sqlite_path


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mentions.db'}"


def test_only_sqlite_files_are_guarded(tmp_path: Path) -> None:
    assert sqlite_path(f"sqlite:///{tmp_path / 'm.db'}") == tmp_path / "m.db"
    for url in ("sqlite://", "sqlite:///:memory:", "postgresql://u:p@db/mentions", "nonsense"):
        assert sqlite_path(url) is None
        with RunLock(url, "run"), RunLock(url, "run"):  # nothing to share, nothing held
            pass


def test_a_second_holder_is_refused_naming_the_first(db: str, tmp_path: Path) -> None:
    with RunLock(db, "run"):
        with pytest.raises(AlreadyRunning) as info:
            RunLock(db, "run", wait=60).__enter__()  # a `run` is never waited for
    message = str(info.value)
    assert f"`mention-monitor run` (pid {os.getpid()} on {socket.gethostname()}, since " in message
    assert f"is already polling {tmp_path / 'mentions.db'}" in message
    assert f"`kill {os.getpid()}`" in message and "`database` of its own" in message
    assert "\n" not in message
    with RunLock(db, "run"):  # released: the next one gets it
        pass


def test_a_poll_is_told_it_is_not_needed_beside_run(db: str) -> None:
    with RunLock(db, "run"), pytest.raises(AlreadyRunning, match="`poll` from cron is not needed"):
        RunLock(db, "poll").__enter__()


def test_a_poll_in_progress_is_waited_for(db: str) -> None:
    taken: list[RunLock] = []
    holder = RunLock(db, "poll").__enter__()
    waiter = threading.Thread(target=lambda: taken.append(RunLock(db, "run", wait=60).__enter__()))
    waiter.start()
    time.sleep(0.5)  # the waiter has found the lock taken by a poll, and waits
    assert taken == []
    holder.__exit__(None, None, None)
    waiter.join(timeout=30)
    assert len(taken) == 1
    assert taken[0].holder()["command"] == "run"
    taken[0].__exit__(None, None, None)
    with RunLock(db, "poll"), pytest.raises(AlreadyRunning, match="has not finished in 0 s"):
        RunLock(db, "poll", wait=0).__enter__()


def test_a_holder_that_has_not_written_yet_is_still_refused(db: str, tmp_path: Path) -> None:
    with RunLock(db, "run"):
        (tmp_path / "mentions.db.lock").write_text("")
        with pytest.raises(AlreadyRunning, match=r"^another mention-monitor process is already"):
            RunLock(db, "run").__enter__()


# ---------------------------------------------------------------- real processes


def start_run(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_until_running(proc: subprocess.Popen[str]) -> None:
    """Until the service says it runs (its signal handlers are in place by then)."""
    assert proc.stderr is not None
    said: list[str] = []
    for line in proc.stderr:
        said.append(line)
        if "mention-monitor running" in line:
            return
    raise AssertionError(f"`run` (pid {proc.pid}) ended before running: {''.join(said)}")


@pytest.fixture
def running(hn_config_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=20)
        if proc.stderr:
            proc.stderr.close()


def test_a_second_run_refuses_and_a_killed_run_leaves_no_stale_lock(
    hn_config_path: Path, running: list[subprocess.Popen[str]]
) -> None:
    lock = hn_config_path.parent / "mentions.db.lock"
    first = start_run(hn_config_path)
    running.append(first)
    wait_until_running(first)

    for command in ("run", "poll"):
        second = subprocess.run(
            [sys.executable, "-m", "monitor", command, "-c", str(hn_config_path)],
            capture_output=True,
            text=True,
            timeout=30,  # without the lock, a second `run` would run on and on
        )
        assert second.returncode == 1, second.stderr
        [line] = second.stderr.strip().splitlines()
        assert line.startswith(f"error: `mention-monitor run` (pid {first.pid} on ")
        assert socket.gethostname() in line and f"`kill {first.pid}`" in line

    assert json.loads(lock.read_text())["pid"] == first.pid
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=20) == -signal.SIGKILL
    assert lock.exists()  # left behind, and harmless: the kernel dropped the lock

    again = start_run(hn_config_path)
    running.append(again)
    wait_until_running(again)
    assert json.loads(lock.read_text())["pid"] == again.pid
    again.send_signal(signal.SIGTERM)
    assert again.wait(timeout=20) == 0, again.stderr.read() if again.stderr else ""
