"""Backups of the SQLite database: before the migrations change it, and `mention-monitor backup`.

Real SQLite files throughout: a database brought back to an older revision with alembic's
own downgrade, holding mentions and alerts, then opened by the Store as `run` opens it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner

from monitor.cli import cli
from monitor.errors import StorageError
from monitor.migrations import alembic_config, head
from monitor.models import Mention, Score
from monitor.store import NewMention, Store
from monitor.store import backup as backups

NOW = datetime(2026, 12, 2, 21, 15, tzinfo=UTC)
OLD = "0007"  # an older revision (0008 only adds indexes: a downgrade keeps every row)


def item(n: int) -> NewMention:
    mention = Mention(
        source="hackernews",
        external_id=str(n),
        url=f"https://news.ycombinator.com/item?id={n}",
        author="someone",
        text=f"Acme Coffee was cold again #{n}",
        created_at=NOW - timedelta(minutes=n),
        engagement={"score": n},
        raw={"objectID": str(n)},
    )
    score = Score(-0.4, "negative", True, ("vader -0.40",))
    return NewMention(mention, "Acme", ("Acme",), score, "negative", ("console",))


def make_database(path: Path, count: int = 5, revision: str = OLD) -> str:
    """An SQLite file with ``count`` mentions (and their alerts), left at ``revision``."""
    url = f"sqlite:///{path}"
    store = Store(url)
    store.ingest("hackernews", "Acme", [item(n) for n in range(1, count + 1)], "c1", now=NOW)
    if revision != head():
        command.downgrade(alembic_config(store.engine), revision)
    store.close()
    return url


def revision_of(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def rows(path: Path, table: str = "mentions") -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def whole(path: Path) -> bool:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def taken_before(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f"{db.name}.before-*.bak"))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "mentions.db"


# ------------------------------------------------------------------ before migrating


def test_an_older_database_is_backed_up_before_it_is_upgraded(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = make_database(db)
    assert revision_of(db) == OLD
    with caplog.at_level(logging.INFO, logger="monitor"):
        store = Store(url)
    assert store.revision() == head()
    assert len(store.mentions()) == 5
    store.close()
    (copy,) = taken_before(db)
    assert re.fullmatch(rf"mentions\.db\.before-{OLD}-\d{{8}}T\d{{6}}Z\.bak", copy.name)
    # The copy is a whole database at the old revision, with every row, in one file.
    assert whole(copy) and revision_of(copy) == OLD
    assert rows(copy) == 5 and rows(copy, "alerts") == 5
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    said = [r.getMessage() for r in caplog.records if "backed up first" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith(
        f"upgrading the database {db} from revision {OLD} to {head()}; backed up first to "
        f"{copy} ({backups.megabytes(copy.stat().st_size)}, "
    )


def test_no_backup_for_a_new_database_or_one_already_upgraded(db: Path) -> None:
    url = f"sqlite:///{db}"
    Store(url).close()  # new: created at the newest revision
    Store(url).close()  # at the newest revision: nothing to change
    assert [p.name for p in db.parent.iterdir() if ".bak" in p.name] == []


def test_the_last_three_backups_are_kept(db: Path) -> None:
    make_database(db)
    made = [
        backups.before_migrating(db, OLD, now=NOW + timedelta(days=day)).path for day in range(5)
    ]
    assert taken_before(db) == made[-3:]
    # The owner's own copies beside it, and another database's backups, are not touched.
    mine = db.with_name("mentions.db.bak")
    other = db.with_name("shop.db.before-0007-20200101T000000Z.bak")
    mine.write_bytes(b"x")
    other.write_bytes(b"x")
    last = backups.before_migrating(db, OLD, now=NOW + timedelta(days=9))
    assert taken_before(db) == [*made[-2:], last.path]
    assert set(last.removed) == {made[-3]}
    assert mine.exists() and other.exists()


def test_two_backups_in_the_same_second_do_not_overwrite_each_other(db: Path) -> None:
    make_database(db)
    first = backups.before_migrating(db, OLD, now=NOW).path
    second = backups.before_migrating(db, OLD, now=NOW).path
    assert first != second and whole(first) and whole(second)


def test_no_room_on_the_disk_refuses_and_changes_nothing(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_database(db)
    size = db.stat().st_size
    monkeypatch.setattr(backups, "free_space", lambda folder: size + backups.SLACK)
    with pytest.raises(StorageError) as info:
        Store(url)
    message = str(info.value)
    assert message.startswith(f"not enough room on the disk to back up the database {db}: ")
    assert "and the upgrade up to" in message and "Free some space" in message
    assert revision_of(db) == OLD and rows(db) == 5
    assert [p.name for p in db.parent.iterdir() if ".bak" in p.name] == []


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real file system of 4 MB (tmpfs), where mounting one is allowed (root)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_refused_before_and_met_during_the_copy(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = small_disk / "mentions.db"
    url = make_database(db, count=300)
    size = db.stat().st_size
    # Leave less room than a copy takes.
    (small_disk / "filler").write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - size // 2))
    with pytest.raises(StorageError, match="not enough room on the disk"):
        Store(url)
    # Past the estimate (the disk filled up meanwhile), the copy itself meets the full disk.
    monkeypatch.setattr(backups, "free_space", lambda folder: 1 << 40)
    with pytest.raises(StorageError) as info:
        Store(url)
    assert "the disk is full: free some space" in str(info.value)
    assert revision_of(db) == OLD and rows(db) == 300 and whole(db)
    assert [p.name for p in small_disk.iterdir() if ".bak" in p.name] == []


def test_a_database_from_a_newer_release_is_not_touched(db: Path) -> None:
    url = make_database(db, revision=head() or "")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(StorageError) as info:
        Store(url)
    assert "was upgraded by a newer mention-monitor" in str(info.value)
    assert "revision 0099" in str(info.value) and "docs/upgrading.md" in str(info.value)
    assert taken_before(db) == [] and revision_of(db) == "0099"


# ------------------------------------------------------------------ `mention-monitor backup`


def test_a_copy_holds_what_is_still_in_the_wal(db: Path, tmp_path: Path) -> None:
    """The reason not to `cp` the file while `run` works: its latest writes are in -wal."""
    store = Store(f"sqlite:///{db}")
    store.ingest("hackernews", "Acme", [item(n) for n in range(1, 21)], "c1", now=NOW)
    try:
        assert db.with_name("mentions.db-wal").stat().st_size > 0
        naive = tmp_path / "cp.db"
        shutil.copyfile(db, naive)
        made = backups.back_up(db, tmp_path / "copy.db")
        assert rows(made.path) == 20 and whole(made.path)
        with sqlite3.connect(naive) as conn:  # what `cp` would have kept: no rows at all
            kept = conn.execute("SELECT name FROM sqlite_master WHERE name = 'mentions'")
            assert kept.fetchall() == []
    finally:
        store.close()


def test_a_copy_taken_while_the_database_is_written_is_whole(db: Path, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{db}")
    stop = threading.Event()

    def write() -> None:
        n = 1
        while not stop.is_set():
            store.ingest("hackernews", "Acme", [item(n)], f"c{n}", now=NOW)
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = [backups.back_up(db, tmp_path / f"copy{i}.db").path for i in range(5)]
    finally:
        stop.set()
        writer.join()
    written = rows(db)
    store.close()
    for copy in copies:
        assert whole(copy) and rows(copy) <= written
        assert rows(copy) == rows(copy, "alerts")  # a mention never without its alert


def test_the_backup_command(db: Path, tmp_path: Path) -> None:
    make_database(db, revision=head() or "")
    config = tmp_path / "config.yaml"
    config.write_text(
        "database: sqlite:///mentions.db\nbrands: [{name: Acme, keywords: [Acme]}]\n"
        "sources: {hackernews: {}}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    target = tmp_path / "nightly.db"
    done = runner.invoke(cli, ["backup", "-c", str(config), "--to", str(target)])
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"Backed up to {target} (")
    assert whole(target) and rows(target) == 5
    again = runner.invoke(cli, ["backup", "-c", str(config), "--to", str(target)])
    assert again.exit_code == 0 and rows(target) == 5  # a nightly copy is replaced
    beside = runner.invoke(cli, ["backup", "-c", str(config)])
    assert beside.exit_code == 0, beside.output
    (made,) = tmp_path.glob("mentions.db.backup-*.bak")
    assert whole(made) and str(made) in beside.output
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    ("to", "code", "said"),
    [
        ("mentions.db", 1, "is the database itself"),
        ("mentions.db-wal", 1, "is the database itself"),
        (".", 2, "is a directory"),
        ("nowhere/copy.db", 1, "the folder"),
    ],
)
def test_the_backup_command_refuses_a_wrong_target(
    db: Path, tmp_path: Path, to: str, code: int, said: str
) -> None:
    make_database(db, revision=head() or "")
    config = tmp_path / "config.yaml"
    config.write_text(
        "database: sqlite:///mentions.db\nbrands: [{name: Acme, keywords: [Acme]}]\n"
        "sources: {hackernews: {}}\n",
        encoding="utf-8",
    )
    done = CliRunner().invoke(cli, ["backup", "-c", str(config), "--to", str(tmp_path / to)])
    assert done.exit_code == code and said in done.output and "Traceback" not in done.output
    assert whole(db) and rows(db) == 5


def test_the_backup_command_without_a_database_or_on_postgresql(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    body = "brands: [{name: Acme, keywords: [Acme]}]\nsources: {hackernews: {}}\n"
    config.write_text("database: sqlite:///mentions.db\n" + body, encoding="utf-8")
    done = CliRunner().invoke(cli, ["backup", "-c", str(config)])
    assert done.exit_code == 1 and "nothing to back up" in done.output
    assert not (tmp_path / "mentions.db").exists()  # asking never creates it
    config.write_text("database: postgresql://u:secret@db/mentions\n" + body, encoding="utf-8")
    done = CliRunner().invoke(cli, ["backup", "-c", str(config)])
    assert done.exit_code == 1 and "pg_dump" in done.output and "secret" not in done.output


def test_a_restored_backup_opens_and_is_upgraded_again(db: Path) -> None:
    """docs/upgrading.md's way back: the database moved away (with its -wal and -shm), the
    backup copied in its place; the next start upgrades it again, backing it up first."""
    url = make_database(db, count=3)
    store = Store(url)  # upgraded, backed up first
    store.ingest("hackernews", "Acme", [item(n) for n in range(10, 13)], "c2", now=NOW)
    (copy,) = taken_before(db)
    store.close()
    replaced = db.parent / "replaced"
    replaced.mkdir()
    for name in ("mentions.db", "mentions.db-wal", "mentions.db-shm"):
        if (db.parent / name).exists():
            (db.parent / name).rename(replaced / name)
    shutil.copyfile(copy, db)
    again = Store(url)
    assert again.revision() == head() and len(again.mentions()) == 3
    again.close()
    assert len(taken_before(db)) == 2


def test_a_missing_database_driver_is_said_plainly() -> None:
    """PostgreSQL needs its driver installed beside us (docs/operations.md)."""
    import importlib.util

    if importlib.util.find_spec("pg8000") is not None:
        pytest.skip("pg8000 is installed here")
    with pytest.raises(StorageError) as info:
        Store("postgresql+pg8000://monitor:s3cret-pw@127.0.0.1:1/mentions")
    message = str(info.value)
    assert "driver is not installed (pg8000)" in message and "psycopg[binary]" in message
    assert "s3cret-pw" not in message and "Traceback" not in message


def test_the_upgrade_page_quotes_what_the_program_says() -> None:
    """docs/upgrading.md shows the log line and the refusal: their words are the code's."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "upgrading.md").read_text("utf-8")
    for said in (
        "WARNING monitor.store.opening: upgrading the database ",
        ".before-0007-20261202T211500Z.bak (",
        "was upgraded by a newer mention-monitor (its schema is at revision ",
        "install the newer release again, or restore the backup taken before that upgrade",
    ):
        assert said in page, said
    assert re.search(r"from revision \d{4} to \d{4}; backed up first to ", page)
    assert backups.KEEP == 3 and "the last three such" in page
