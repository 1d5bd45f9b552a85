"""Opening the database safely, and saying in one line what is wrong when it cannot be.

Before SQLAlchemy touches an SQLite file, ``inspect_sqlite_file`` looks at it:

- missing: a new install; its folder is created and must be writable;
- a folder, or under a regular file: it cannot be the database;
- 0 bytes, or an SQLite file without our schema (no ``alembic_version`` table):
  refused. Such a file was truncated or replaced; treating it as a new install
  would store the last ``lookback`` (24 h) of every source again and alert the
  owner about all of it a second time. The owner restores the backup, or deletes
  the file to start afresh (then the first run alerts that day again, knowingly);
- not readable as SQLite (damaged, or another kind of file): refused;
- read-only for this user (the file, or its folder, where SQLite keeps its
  ``-wal`` and ``-shm`` files): refused when the command is going to write.

``explain`` turns the SQLAlchemy or OS error met later (a page damaged in the
middle of the file, a disk that filled up) into the same kind of one-line
message, without SQL text, parameters or SQLAlchemy's link.

An empty PostgreSQL (or other server) database is the normal first install:
none of the file checks apply to it.

Before the migrations change an existing database, ``prepare_upgrade`` backs an SQLite
file up beside it (monitor/store/backup.py) and says so in the log; it refuses a database
that a newer release has already upgraded (its revision is unknown to this one), naming
the way back. A server database is not copied: the log reminds its owner of ``pg_dump``.

Several processes may open one PostgreSQL database at the same moment (workers started
together on an empty database): ``migration_lock`` lets one of them create or upgrade the
schema while the others wait, then find it done.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.request import pathname2url

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StorageError

log = logging.getLogger(__name__)

_DAMAGED = ("not a database", "malformed", "disk image", "file is encrypted")

#: The PostgreSQL advisory lock held while the schema is created or upgraded: a fixed
#: 64-bit key ("mmigrate" in ASCII), the same in every release.
MIGRATION_LOCK = int.from_bytes(b"mmigrate", "big") & 0x7FFF_FFFF_FFFF_FFFF


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL; None for an in-memory or a server database."""
    try:
        parsed = make_url(url)
    except SQLAlchemyError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.query.get("mode") == "memory":
        return None
    if str(parsed.database).startswith("file:"):
        return None  # an SQLite URI: the owner knows what they are doing
    return Path(parsed.database or "")


def engine_url(url: str) -> str:
    """The URL SQLAlchemy opens: ``postgresql://`` without a driver named means psycopg 3 (the
    driver of the ``postgres`` extra), not SQLAlchemy's default, psycopg2."""
    try:
        parsed = make_url(url)
    except SQLAlchemyError:
        return url
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def user() -> str:
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def damaged(path: Path) -> StorageError:
    return StorageError(
        f"{path} is not a database or is damaged: restore it from a backup, "
        "or move it away to start afresh"
    )


def inspect_sqlite_file(path: Path, *, write: bool) -> bool:
    """Check the database file before it is opened; returns True when it does not exist yet.

    Raises StorageError with what is wrong and what to do. ``write``: the command
    is going to write (every command but ``check``'s first look).
    """
    if path.is_dir():
        raise StorageError(
            f"cannot open the database {path}: it is a folder, not a file: "
            f"set `database:` in the config to a file, e.g. sqlite:///{path / 'mentions.db'}"
        )
    folder = path.parent
    if not path.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the folder {folder} for the database {path}: "
                f"{exc.strerror or exc}: fix `database:` in the config, or the path"
            ) from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise _read_only(path, folder, "its folder")
        return True
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise StorageError(f"cannot open the database {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise StorageError(
            f"{path} is empty (0 bytes): it was truncated or replaced, and starting on it "
            "would alert the last 24 hours of every source again. Restore it from a backup, "
            "or delete it to start afresh"
        )
    if write and not os.access(path, os.R_OK | os.W_OK):
        raise _read_only(path, path, "the file")
    if write and not os.access(folder, os.W_OK | os.X_OK):
        raise _read_only(path, folder, "its folder")
    tables = _tables(path)
    if "alembic_version" not in tables:
        if tables:
            raise StorageError(
                f"{path} is not a mention-monitor database (it holds other tables: "
                f"{', '.join(sorted(tables)[:5])}): set `database:` in the config to another "
                "file, or restore yours from a backup"
            )
        raise StorageError(
            f"{path} has no tables: it was truncated or replaced, and starting on it would "
            "alert the last 24 hours of every source again. Restore it from a backup, "
            "or delete it to start afresh"
        )
    return False


def _tables(path: Path) -> set[str]:
    """The tables of an SQLite file, read without writing to it."""
    uri = f"file:{pathname2url(str(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise explain_sqlite(path, str(exc)) from None
    return {str(name) for (name,) in rows}


def _read_only(path: Path, where: Path, what: str) -> StorageError:
    return StorageError(
        f"cannot write the database {path}: {what} ({where}) is read-only for user {user()}; "
        "SQLite also writes its -wal and -shm files beside the database: fix the permissions "
        f"(e.g. chown {user()} {where}), or set `database:` in the config to a writable place"
    )


def explain_sqlite(path: Path, message: str) -> StorageError:
    """One line for an error SQLite gave about ``path``."""
    lowered = message.lower()
    if any(word in lowered for word in _DAMAGED):
        return damaged(path)
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            return _read_only(path, path, "the file")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            return _read_only(path, path.parent, "its folder")
    if "disk is full" in lowered or "disk full" in lowered:
        return StorageError(
            f"cannot write the database {path}: the disk is full: free some space, then try again"
        )
    if "locked" in lowered or "busy" in lowered:
        return StorageError(
            f"the database {path} is locked by another program for longer than 10 s: "
            "try again, or stop the program that holds it"
        )
    return StorageError(f"cannot use the database {path}: {message}")


def explain(exc: BaseException, url: str, safe_url: str) -> StorageError:
    """Our error for a SQLAlchemy or OS error met while opening or using the database, or
    for the database's driver missing (PostgreSQL needs one installed beside us)."""
    if isinstance(exc, ImportError):
        return StorageError(
            f"cannot use the database {safe_url}: its driver is not installed ({exc.name}): "
            "for PostgreSQL, install mention-monitor with its PostgreSQL extra, "
            '`pip install "mention-monitor[postgres]"` (it adds psycopg[binary]), and write '
            "the URL as postgresql+psycopg://user:password@host/dbname (docs/postgresql.md)"
        )
    path = sqlite_path(url)
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        message = str(orig) if orig is not None else str(exc).split("\n", 1)[0]
    else:
        message = getattr(exc, "strerror", None) or str(exc)
    if path is not None:
        return explain_sqlite(path, message)
    return StorageError(f"database error ({safe_url}): {message}")


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Hold the migration lock while the block runs, on PostgreSQL: one process at a time
    creates or upgrades the schema; the others wait here, then find it at the newest
    revision and change nothing (without it, workers started together on an empty database
    raced to create the same tables, and all but one died on a UniqueViolation).

    SQLite needs none: its write lock serialises the migrations, which run in one
    transaction. The lock is a session lock on a connection of its own, so it is freed
    when the process dies, however it dies.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    key = {"key": MIGRATION_LOCK}
    with engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar():
            log.warning(
                "another mention-monitor is creating or upgrading the tables of this "
                "database; waiting for it to finish"
            )
            conn.execute(text("SELECT pg_advisory_lock(:key)"), key)
        conn.commit()
        try:
            yield
        finally:
            with contextlib.suppress(SQLAlchemyError):  # a lost connection frees it anyway
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                conn.commit()


def prepare_upgrade(path: Path | None, engine: Engine, safe_url: str) -> None:
    """Before the migrations run on an existing database (``path``: its SQLite file, or None).

    At the newest revision: nothing to do. Older: an SQLite file is backed up beside itself
    first (refused, changing nothing, when the disk has no room). Unknown: a newer release
    made it, and this one must not touch it.
    """
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from monitor.migrations import alembic_config, current
    from monitor.store.backup import before_migrating, megabytes

    found = current(engine)
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    head = scripts.get_current_head()
    if found is None or found == head:
        return
    where = str(path) if path is not None else safe_url
    try:
        scripts.get_revision(found)
    except CommandError:
        raise StorageError(
            f"the database {where} was upgraded by a newer mention-monitor (its schema is at "
            f"revision {found}; this release knows up to {head}): install the newer release "
            "again, or restore the backup taken before that upgrade (docs/upgrading.md)"
        ) from None
    if path is None:
        log.warning(
            "upgrading the database %s from revision %s to %s (a server database is not "
            "backed up here: take a copy with pg_dump before upgrading)",
            where,
            found,
            head,
        )
        return
    made = before_migrating(path, found)
    log.warning(
        "upgrading the database %s from revision %s to %s; backed up first to %s (%s, %.1f s)",
        where,
        found,
        head,
        made.path,
        megabytes(made.size),
        made.seconds,
    )
    for old in made.removed:
        log.info("removed the older backup %s (the last 3 are kept)", old)
