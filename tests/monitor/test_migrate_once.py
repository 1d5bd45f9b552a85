"""Processes started together on an empty PostgreSQL database migrate it once: one creates
the tables while the others wait on the migration lock (monitor/store/opening.py), then
find them made. Without the lock three workers raced to create the same tables and all
but one died (UniqueViolation on pg_type_typname_nsp_index)."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg
from sqlalchemy import create_engine, inspect, text

from monitor.migrations import current, head
from monitor.store import Base
from monitor.store.opening import MIGRATION_LOCK
from tests.conftest import ConfigWriter

WORKERS = 3


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _waiting(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """Processes waiting for the migration lock (pg_locks splits the 64-bit key in two)."""
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid = %s AND objid = %s",
        (MIGRATION_LOCK >> 32, MIGRATION_LOCK & 0xFFFF_FFFF),
    ).fetchone()
    return int(row[0]) if row else 0


def test_workers_started_together_on_an_empty_database_migrate_it_once(
    pg_url: str, write_config: ConfigWriter
) -> None:
    config = write_config(
        f"""
        database: {pg_url}
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          hackernews: {{}}
        alerts:
          channels:
            - type: console
        """
    )
    # Hold the lock first, so that all three are at the door when it opens: they then
    # start on the empty database at the same instant, the race the lock is for.
    with psycopg.connect(_libpq(pg_url), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "monitor", "mentions", "-c", str(config)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(WORKERS)
        ]
        try:
            deadline = time.monotonic() + 60
            while _waiting(holder) < WORKERS:
                assert time.monotonic() < deadline, "the processes never waited for the lock"
                assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
                time.sleep(0.05)
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        outcomes = [p.communicate(timeout=90) for p in procs]
    for proc, (_out, err) in zip(procs, outcomes, strict=True):
        assert proc.returncode == 0, err
        assert "No mentions stored yet" in err
        assert "waiting for it to finish" in err  # said, in owner words, while it waited
    engine = create_engine(pg_url)
    try:
        assert current(engine) == head()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_second_opening_of_a_migrated_database_changes_nothing(pg_url: str) -> None:
    from monitor.store import Store

    first = Store(pg_url)
    first.close()
    again = Store(pg_url)  # takes the lock, finds the newest revision, leaves it be
    assert again.revision() == head()
    again.close()


def test_the_lock_is_not_held_after_opening(pg_url: str) -> None:
    """A Store that is open keeps no migration lock: a worker started later migrates (or
    finds it done) without waiting for the first to stop."""
    from monitor.store import Store

    store = Store(pg_url)
    try:
        with psycopg.connect(_libpq(pg_url), autocommit=True) as other:
            got = other.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATION_LOCK,)).fetchone()
            assert got is not None and got[0] is True
    finally:
        store.close()
