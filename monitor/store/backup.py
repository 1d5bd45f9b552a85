"""Copies of the SQLite database, taken while it is in use: before an upgrade, and on demand.

SQLite's online backup API (``sqlite3.Connection.backup``) copies the database through
SQLite itself, so the copy is whole and consistent even while ``run`` writes to it (in WAL
mode the service goes on writing during the copy). Copying the file with ``cp`` while it
runs can give a damaged copy: the latest changes sit in the ``-wal`` file beside it.

- ``back_up(database, target)``: one copy, written as ``<target>.partial`` and renamed
  when whole, after checking that the disk has room for it. The copy is a single file
  (rollback journal, not WAL), so it can be copied, mailed or opened read-only anywhere.
- ``before_migrating(database, revision)``: the copy taken before the migrations change an
  existing database: ``<db>.before-<revision>-<UTC time>.bak`` beside it
  (``mentions.db.before-0007-20261202T211500Z.bak``); the last ``KEEP`` are kept.
- ``back_up_database(url, to)``: ``mention-monitor backup [--to FILE]``, by default
  ``<db>.backup-<UTC time>.bak`` beside the database (never removed by us).

PostgreSQL (and any server database) is not copied here: its owner uses ``pg_dump``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.request import pathname2url

from monitor.errors import StorageError

#: Backups taken before upgrades that are kept beside the database (the newest ones).
KEEP = 3
#: Room left on the disk beyond what a copy (and an upgrade) needs.
SLACK = 8 * 1024 * 1024
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Backup:
    """A copy that was written: where, how big, and how long it took."""

    path: Path
    size: int
    seconds: float
    #: Older backups taken before upgrades that were removed to keep the last ``KEEP``.
    removed: tuple[Path, ...] = ()


def free_space(folder: Path) -> int:
    """Bytes this user may still write in ``folder``'s file system."""
    return shutil.disk_usage(folder).free


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _connect(database: Path) -> sqlite3.Connection:
    """The database, opened without ever creating it (a missing file is an error)."""
    uri = f"file:{pathname2url(str(database))}?mode=rw"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open the database {database} to back it up: {exc}") from None
    return conn


def _size(conn: sqlite3.Connection, database: Path) -> int:
    """The bytes a copy takes: the database's pages, those still in its -wal included."""
    try:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read the database {database} to back it up: {exc}") from None
    return pages * page_size


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _refuse_target(database: Path, target: Path) -> None:
    for own in ("", "-wal", "-shm", "-journal", ".lock"):
        if _same_file(target, database.with_name(database.name + own)):
            raise StorageError(
                f"{target} is the database itself (or a file SQLite keeps beside it): "
                "back it up to another file, e.g. --to mentions-backup.db"
            )
    if target.is_dir():
        raise StorageError(
            f"{target} is a folder: name the file to write, e.g. {target / 'mentions.db'}"
        )
    if not target.parent.is_dir():
        raise StorageError(
            f"cannot write the backup {target}: the folder {target.parent} does not exist"
        )


def back_up(database: Path, target: Path, *, upgrade: bool = False) -> Backup:
    """Copy ``database`` to ``target`` with SQLite's online backup; ``target`` is replaced.

    ``upgrade``: an upgrade follows, which needs as much room again (SQLite rewrites a
    table it changes). Raises StorageError, in an owner's words, when the disk has no
    room, the target cannot be written, or the database cannot be read.
    """
    _refuse_target(database, target)
    started = time.monotonic()
    source = _connect(database)
    try:
        size = _size(source, database)
        extra = size if upgrade else 0
        needed = size + extra + SLACK
        free = free_space(target.parent)
        if free < needed:
            more = f" and the upgrade up to {megabytes(extra)} more" if extra else ""
            raise StorageError(
                f"not enough room on the disk to back up the database {database}: the backup "
                f"needs {megabytes(size)}{more}, but {target.parent} has {megabytes(free)} "
                "free. Free some space (older backups beside the database can go), then start "
                "again"
            )
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
                # One self-contained file, whatever the journal mode of the original.
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
            os.replace(partial, target)
        except (sqlite3.Error, OSError) as exc:
            partial.unlink(missing_ok=True)
            raise _write_error(target, exc) from None
    finally:
        source.close()
    _sync_folder(target.parent)
    return Backup(target, target.stat().st_size, time.monotonic() - started)


def _write_error(target: Path, exc: BaseException) -> StorageError:
    text = getattr(exc, "strerror", None) or str(exc)
    if "full" in text.lower() or getattr(exc, "errno", None) == 28:
        return StorageError(
            f"cannot write the backup {target}: the disk is full: free some space, then "
            "start again (nothing was changed)"
        )
    if "readonly" in text.lower() or "permission" in text.lower() or "unable to open" in text:
        return StorageError(
            f"cannot write the backup {target}: this user may not write in {target.parent}"
        )
    return StorageError(f"cannot write the backup {target}: {text}")


def _sync_folder(folder: Path) -> None:
    """Make the rename of the finished copy survive a power cut."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _taken_at(database: Path, candidate: Path) -> datetime | None:
    """When a backup taken before an upgrade was made, read from its name."""
    pattern = re.escape(database.name) + r"\.before-[^/]+-(\d{8}T\d{6}Z)(?:-\d+)?\.bak"
    found = re.fullmatch(pattern, candidate.name)
    if found is None:
        return None
    try:
        return datetime.strptime(found.group(1), _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def upgrade_backups(database: Path) -> list[Path]:
    """The backups taken before upgrades beside ``database``, oldest first."""
    found: list[tuple[datetime, str, Path]] = []
    for candidate in database.parent.glob(f"{glob_escape(database.name)}.before-*.bak"):
        when = _taken_at(database, candidate)
        if when is not None:
            found.append((when, candidate.name, candidate))
    return [path for _, _, path in sorted(found)]


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def before_migrating(
    database: Path, revision: str, *, now: datetime | None = None, keep: int = KEEP
) -> Backup:
    """Back ``database`` (at ``revision``) up beside it before the migrations change it,
    then keep only the newest ``keep`` of these backups."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime(_STAMP)
    target = database.with_name(f"{database.name}.before-{revision}-{stamp}.bak")
    count = 1
    while target.exists():
        count += 1
        target = database.with_name(f"{database.name}.before-{revision}-{stamp}-{count}.bak")
    made = back_up(database, target, upgrade=True)
    removed: list[Path] = []
    for old in upgrade_backups(database)[:-keep] if keep > 0 else []:
        if old == target:
            continue
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
            removed.append(old)
    return Backup(made.path, made.size, made.seconds, tuple(removed))


def back_up_database(url: str, to: Path | None = None, *, now: datetime | None = None) -> Backup:
    """``mention-monitor backup``: copy the SQLite database at ``url`` while it may be in
    use, to ``to`` or beside it as ``<db>.backup-<UTC time>.bak``."""
    from monitor.store.opening import inspect_sqlite_file, sqlite_path

    database = sqlite_path(url)
    if database is None:
        raise StorageError(
            "`mention-monitor backup` copies an SQLite database file; for PostgreSQL use "
            "its own tool: pg_dump (see docs/operations.md)"
        )
    if not database.exists():
        raise StorageError(f"there is no database at {database} yet: nothing to back up")
    inspect_sqlite_file(database, write=False)  # a damaged or foreign file: said plainly
    if to is None:
        stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime(_STAMP)
        to = database.with_name(f"{database.name}.backup-{stamp}.bak")
    return back_up(database, to)
