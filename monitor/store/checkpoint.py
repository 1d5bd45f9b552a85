"""SQLite's checkpoints, off the writers' path.

In WAL mode SQLite writes each commit to the ``-wal`` file and copies it back into the
database (a checkpoint) once the log is past 1,000 pages: inside the commit that found
it so, with an fsync of both files. A poll storing 500 mentions waited for that on most
commits; it was a fifth to a third of the time storing them took (benchmarks/pipeline.py).

So the store's connections do not checkpoint (``PRAGMA wal_autocheckpoint=0``), and a
``Checkpointer`` does it on a thread and a connection of its own, as SQLite's own
documentation suggests: woken after each transaction, and every ``PERIOD`` seconds in
any case, it checkpoints once the log is past ``LOG_BYTES``, in PASSIVE mode (it
never waits for, nor holds up, a reader or a writer). The log's size is what has been
written since the last checkpoint because the store's connections also say
``journal_size_limit=0``: SQLite restarts the log after a checkpoint, and so cuts the file
back too. (Without it the file kept its largest size, and every transaction was followed
by a checkpoint with two fsyncs.) The thread starts with the first transaction, so a
command that only opens the store starts none; it stops, after a last checkpoint, when
the store closes. SQLite itself checkpoints when the last connection to the file closes,
so a process that never got that far leaves nothing behind either.

A checkpoint that fails (a full disk) is logged once while it keeps failing and tried
again; the writers are not affected, the log only grows until it can be copied back.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

#: The log's size past which it is copied back: SQLite's own automatic threshold (1,000
#: pages of 4 KiB).
LOG_BYTES = 4096 * 1000
#: Seconds between looks when no transaction wakes the thread.
PERIOD = 30.0
#: Seconds the thread's connection waits for a lock (the store's connections wait as long).
BUSY_WAIT = 10.0
#: Seconds ``stop`` waits for a checkpoint under way.
STOP_WAIT = 10.0


class Checkpointer:
    """Checkpoints of one SQLite file's write-ahead log (module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._wal = path.with_name(path.name + "-wal")
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._failing = False
        #: Checkpoints done (for tests and benchmarks).
        self.done = 0

    def nudge(self) -> None:
        """A transaction has ended: look at the log's size soon (starts the thread)."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._stop = threading.Event()
                    self._thread = threading.Thread(
                        target=self._run, args=(self._stop,), name="sqlite-checkpoint", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def stop(self, wait: bool = True) -> None:
        """Stop the thread after a last checkpoint (no-op if none runs); with ``wait``,
        until it has stopped. A later transaction starts another."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        self._wake.set()
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(STOP_WAIT)

    def _run(self, stop: threading.Event) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait(PERIOD)
                self._wake.clear()
                stopping = stop.is_set()
                if stopping or self._log_bytes() >= LOG_BYTES:
                    conn = self._checkpoint(conn)
                if stopping:
                    return
        except Exception:  # never expected: logged, and the next transaction starts another
            log.exception("the checkpoint thread of %s stopped", self.path.name)
            with self._lock:
                if self._stop is stop:
                    self._thread = None
        finally:
            if conn is not None:
                conn.close()

    def _log_bytes(self) -> int:
        try:
            return self._wal.stat().st_size
        except OSError:  # no log (yet, or any more)
            return 0

    def _checkpoint(self, conn: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """One checkpoint; the connection to keep (None after a failure: opened afresh
        next time, in case the file was replaced)."""
        try:
            conn = conn or sqlite3.connect(self.path, timeout=BUSY_WAIT)
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            if not self._failing:
                log.warning(
                    "could not copy the database's recent changes from %s into it (%s); "
                    "nothing is lost, the -wal file grows until this works again",
                    self._wal.name,
                    exc,
                )
            self._failing = True
            return None
        if self._failing:
            log.info("the database's recent changes are copied into it again")
        self._failing = False
        self.done += 1
        return conn
