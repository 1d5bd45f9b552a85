"""SQLite's checkpoints run on the store's own thread, not inside commits
(monitor/store/checkpoint.py): real files, real SQLite, a real thread."""

from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.models import Mention, Score
from monitor.store import NewMention, Store
from monitor.store.checkpoint import LOG_BYTES, Checkpointer
from tests.waiting import wait_for

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def items(start: int, count: int) -> list[NewMention]:
    """``count`` mentions of about 4 KB each (their raw records are big)."""
    out = []
    for n in range(start, start + count):
        mention = Mention(
            source="hackernews",
            external_id=str(n),
            url=f"https://news.ycombinator.com/item?id={n}",
            author="someone",
            text=f"Acme coffee was cold #{n}",
            created_at=NOW - timedelta(seconds=n),
            raw={"objectID": str(n), "comment_text": f"cold coffee {n} " * 250},
        )
        score = Score(-0.4, "negative", True, ("vader -0.40",))
        out.append(NewMention(mention, "Acme", ("Acme",), score, "negative", ()))
    return out


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def test_commits_leave_checkpoints_to_the_thread(tmp_path: Path) -> None:
    db = tmp_path / "mentions.db"
    wal = tmp_path / "mentions.db-wal"
    store = Store(f"sqlite:///{db}")
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        checkpointer = store._checkpointer
        assert checkpointer is not None
        # 24 MB written, 1 MB a transaction: copied back as it goes, so the log stays
        # near SQLite's own threshold instead of holding all of it.
        largest = 0
        for batch in range(24):
            store.ingest("hackernews", "Acme", items(batch * 250, 250), None, now=NOW)
            largest = max(largest, size(wal))
            wait_for(lambda: checkpointer.done > 0 and size(wal) < 2 * LOG_BYTES, 2.0)
        assert wait_for(lambda: checkpointer.done >= 3)
        assert size(db) > 20_000_000  # the rows are in the database file itself
        assert largest < 3 * LOG_BYTES, largest

        # The log restarted after a checkpoint is cut back, so its size is what has been
        # written since: a small transaction leaves a small log, and no checkpoint. (It
        # stayed at its largest, and every transaction was followed by a checkpoint with
        # two fsyncs: a third of a poll's time.)
        def complete() -> bool:  # every frame of the log copied back (by the thread or us)
            with closing(sqlite3.connect(db)) as conn:
                _, logged, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                return bool(logged == copied)

        assert wait_for(complete)
        time.sleep(0.3)
        done = checkpointer.done
        for batch in range(3):
            store.ingest("hackernews", "Acme", items(10_000 + batch, 1), None, now=NOW)
            assert size(wal) < LOG_BYTES // 4, size(wal)
        time.sleep(0.3)
        assert checkpointer.done == done
    finally:
        store.close()
    assert not wal.exists()  # the last connection closed: SQLite copied and removed it
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT count(*) FROM mentions").fetchone() == (6003,)


def test_a_store_that_only_reads_starts_no_thread(tmp_path: Path) -> None:
    Store(f"sqlite:///{tmp_path / 'm.db'}").close()
    store = Store(f"sqlite:///{tmp_path / 'm.db'}", migrate=False)
    try:
        assert store._checkpointer is not None and store._checkpointer._thread is None
        store.close()
        store.ingest("hackernews", "Acme", items(0, 3), None, now=NOW)  # after close: again
        assert store._checkpointer._thread is not None
    finally:
        store.close()
    assert store._checkpointer._thread is None


def test_a_failing_checkpoint_is_said_once_and_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "gone.db"
    path.mkdir()  # not a file SQLite can open
    path.with_name("gone.db-wal").write_bytes(b"\0" * (LOG_BYTES + 1))
    checkpointer = Checkpointer(path)
    caplog.set_level(logging.INFO, logger="monitor.store.checkpoint")
    try:
        for _ in range(3):
            checkpointer.nudge()
            time.sleep(0.2)
        warned = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1 and "nothing is lost" in warned[0].getMessage()
        assert "gone.db-wal" in warned[0].getMessage() and checkpointer.done == 0
        assert checkpointer._thread is not None and checkpointer._thread.is_alive()
        # The database is back: copied back, and said so.
        path.rmdir()
        path.with_name("gone.db-wal").unlink()
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute("CREATE TABLE filler (x)")
            conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 4000,)] * 1200)
            conn.commit()
            checkpointer.nudge()
            assert wait_for(lambda: checkpointer.done == 1)
        said = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
        assert said == ["the database's recent changes are copied into it again"]
    finally:
        checkpointer.stop()
