"""The database file an owner may meet on a first run, through the real command line.

Emptied, foreign, damaged, truncated and read-only SQLite files are refused by
every command with one line saying what is wrong and what to do (exit 1), and
never taken as a new install that would alert the last day again.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.store.opening import sqlite_path
from tests.standins.hackernews import HackerNewsAPI, comment

NEGATIVE = "Acme Coffee charged me twice and the latte was cold. Terrible service."
#: Every command that opens the database (run is tested in a subprocess below).
COMMANDS = [("check",), ("poll",), ("mentions",), ("stats",), ("mentions", "ack", "1")]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result: Result) -> str:
    """The command failed with exit 1 and a single line on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "sqlalche.me" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def negative_on_hn(hn_api: HackerNewsAPI) -> None:
    import time

    hn_api.add(comment(2, NEGATIVE, created=int(time.time()) - 200))


@pytest.fixture
def db(hn_config_path: Path) -> Path:
    """Where hn_config_path keeps its database (not created yet)."""
    return hn_config_path.parent / "mentions.db"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_emptied_database_is_refused_not_taken_as_new(
    command: tuple[str, ...], negative_on_hn: None, hn_config_path: Path, db: Path
) -> None:
    db.write_bytes(b"")
    line = one_line_error(invoke(*command, "-c", str(hn_config_path)))
    assert f"{db} is empty (0 bytes)" in line
    assert "alert the last 24 hours of every source again" in line
    assert "Restore it from a backup, or delete it to start afresh" in line
    assert db.stat().st_size == 0  # nothing was created in it


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_sqlite_file_with_other_tables_is_refused(
    command: tuple[str, ...], negative_on_hn: None, hn_config_path: Path, db: Path
) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.close()
    before = db.read_bytes()
    line = one_line_error(invoke(*command, "-c", str(hn_config_path)))
    assert f"{db} is not a mention-monitor database (it holds other tables: invoices)" in line
    assert db.read_bytes() == before  # not even switched to WAL


def test_an_sqlite_file_without_tables_is_refused(hn_config_path: Path, db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 7")  # a valid SQLite file, no tables
    conn.close()
    assert db.stat().st_size > 0
    line = one_line_error(invoke("poll", "-c", str(hn_config_path)))
    assert f"{db} has no tables: it was truncated or replaced" in line


def test_run_refuses_an_emptied_database_too(hn_config_path: Path, db: Path) -> None:
    db.write_bytes(b"")
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "-c", str(hn_config_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert f"error: {db} is empty (0 bytes)" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_check_on_a_new_install_creates_nothing_and_the_first_poll_works(
    negative_on_hn: None, hn_config_path: Path, db: Path
) -> None:
    result = invoke("check", "-c", str(hn_config_path))
    assert result.exit_code == 0 and "new: it will be created on the first run" in result.stdout
    assert not db.exists()  # a file left by `check` would look emptied to the next command
    first = invoke("poll", "-c", str(hn_config_path))
    assert first.exit_code == 0, first.output
    assert NEGATIVE in first.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_file_that_is_not_a_database_is_one_line(
    command: tuple[str, ...], hn_config_path: Path, db: Path
) -> None:
    db.write_bytes(os.urandom(8192))
    line = one_line_error(invoke(*command, "-c", str(hn_config_path)))
    assert line == (
        f"error: {db} is not a database or is damaged: restore it from a backup, "
        "or move it away to start afresh"
    )


def test_a_truncated_database_is_one_line(
    negative_on_hn: None, hn_config_path: Path, db: Path
) -> None:
    assert invoke("poll", "-c", str(hn_config_path)).exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.truncate(size // 3)
    for command in COMMANDS:
        line = one_line_error(invoke(*command, "-c", str(hn_config_path)))
        assert "is not a database or is damaged: restore it from a backup" in line, command


def test_a_folder_in_place_of_the_file_or_a_file_in_place_of_the_folder(
    write_config,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    (tmp_path / "mentions.db").mkdir()
    (tmp_path / "data").write_text("a file, not a folder")
    for database, expected in [
        ("mentions.db", f"{tmp_path / 'mentions.db'}: it is a folder, not a file"),
        ("data/mentions.db", f"cannot create the folder {tmp_path / 'data'}"),
    ]:
        path = write_config(
            f"""
            database: sqlite:///{database}
            brands: [{{name: Acme, keywords: [Acme]}}]
            sources: {{hackernews: {{base_url: "http://127.0.0.1:9"}}}}
            """
        )
        for command in COMMANDS:
            assert expected in one_line_error(invoke(*command, "-c", str(path))), command


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` read-only, for root too (chattr +i); skip where that cannot be done."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    made = chattr is not None and subprocess.run([chattr, "+i", str(path)]).returncode == 0
    if not made:
        pytest.skip(
            "running as root, where permission bits do not stop writes, and chattr +i is "
            "not available on this filesystem: the read-only case cannot be made"
        )
    try:
        yield
    finally:
        subprocess.run([str(chattr), "-i", str(path)], check=True)


@pytest.mark.parametrize("what", ["folder", "file"])
def test_a_read_only_database_or_folder_is_one_line(
    what: str, negative_on_hn: None, hn_config_path: Path, db: Path
) -> None:
    assert invoke("poll", "-c", str(hn_config_path)).exit_code == 0
    where = db.parent if what == "folder" else db
    for name in ("mentions.db-wal", "mentions.db-shm"):
        (db.parent / name).unlink(missing_ok=True)  # as after a clean stop
    with read_only(where):
        for command in COMMANDS:
            line = one_line_error(invoke(*command, "-c", str(hn_config_path)))
            kind = "its folder" if what == "folder" else "the file"
            assert f"cannot write the database {db}: {kind} ({where}) is read-only for user" in (
                line
            ), command
            assert "fix the permissions" in line


def test_a_server_database_is_never_inspected_as_a_file() -> None:
    # An empty PostgreSQL database is the normal first install: only SQLite files are checked.
    assert sqlite_path("postgresql://monitor:pw@db/mentions") is None
    assert sqlite_path("sqlite://") is None and sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("sqlite:////srv/m.db") == Path("/srv/m.db")
