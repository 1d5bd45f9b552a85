"""One `run` or `poll` at a time per SQLite database: an OS lock on a file beside it.

``RunLock(database_url, "run")``, entered as a context manager, takes an exclusive
``fcntl.flock`` on ``<database>.lock`` (``mentions.db.lock``) and writes who holds it there
(pid, host, command, since). The kernel drops the lock when the process ends however it ends,
``kill -9`` included, so the file left behind never blocks a restart; it is harmless and kept.

A process that finds the lock taken waits while the holder is a ``poll`` (one cycle, over
within a minute or two) for up to ``POLL_WAIT`` seconds, then takes it; a ``run`` never ends
on its own, so against one it raises AlreadyRunning at once, naming the holder and the fix.

Not guarded: an in-memory SQLite database (no other process can open it) and other databases
(PostgreSQL), where several workers share the work through the database itself: leases and
heartbeats in its tables (monitor/store/leases.py, monitor/store/workers.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from datetime import UTC, datetime
from types import TracebackType

from monitor.errors import AlreadyRunning, StorageError
from monitor.store.opening import inspect_sqlite_file, sqlite_path

#: How long a `run` or `poll` waits for a `poll` that holds the database to finish.
POLL_WAIT = 120.0
RETRY_EVERY = 0.2


def describe(holder: dict[str, object]) -> str:
    """``mention-monitor run (pid 4242 on shop-pc, since 2026-12-02 21:15 UTC)``."""
    since = str(holder.get("since") or "")
    try:
        since = f"{datetime.fromisoformat(since):%Y-%m-%d %H:%M} UTC"
    except ValueError:
        since = since or "an unknown time"
    return (
        f"`mention-monitor {holder.get('command', '?')}` (pid {holder.get('pid', '?')} "
        f"on {holder.get('host', '?')}, since {since})"
    )


class RunLock:
    """The right to poll one database, held from ``__enter__`` until ``__exit__`` or death."""

    def __init__(
        self,
        database_url: str,
        command: str,
        *,
        wait: float = POLL_WAIT,
    ) -> None:
        self.database = sqlite_path(database_url)
        self.path = self.database.with_name(self.database.name + ".lock") if self.database else None
        self.command = command
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        if self.path is None or self.database is None:
            return self
        # What is wrong with the database itself (a folder in its place, no folder for it)
        # is said in its own words before a lock file is made beside it.
        inspect_sqlite_file(self.database, write=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(
                f"cannot create the lock file {self.path} beside the database: {exc.strerror} "
                "(check that the folder exists and this user may write in it)"
            ) from exc
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = self.holder()
                if holder.get("command") == "poll" and time.monotonic() < deadline:
                    time.sleep(RETRY_EVERY)
                    continue
                os.close(fd)
                raise AlreadyRunning(self._refusal(holder)) from None
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the lock
            self._fd = None

    def holder(self) -> dict[str, object]:
        """What the process holding the lock wrote about itself (empty while it starts)."""
        if self.path is None:
            return {}
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def _refusal(self, holder: dict[str, object]) -> str:
        who = describe(holder) if holder else "another mention-monitor process"
        if holder.get("command") == "poll":
            fix = f"it has not finished in {self.wait:.0f} s; look at what it is doing, or stop it"
        else:
            pid = holder.get("pid")
            stop = f"stop it first (`kill {pid}` on {holder.get('host')})" if pid else "stop it"
            fix = f"{stop}, or give this config a `database` of its own"
            if self.command == "poll":
                fix += "; while `run` is running, `poll` from cron is not needed"
        return f"{who} is already polling {self.database}: {fix}"
