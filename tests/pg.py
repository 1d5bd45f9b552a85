"""A real PostgreSQL for the tests: the store, migration and pipeline tests run on it as on
SQLite (issue 15). Its fixtures are imported by tests/conftest.py.

Where the server comes from, in order:

1. ``MM_TEST_POSTGRES_URL`` (e.g. ``postgresql://me:secret@127.0.0.1:5432/postgres``): a
   server whose user may ``CREATE DATABASE``; each test gets a database of its own there;
2. PostgreSQL's programs (``initdb``, ``pg_ctl``) on PATH or under /usr/lib/postgresql/*/bin:
   one throwaway cluster per test session in a temporary folder, listening on a free
   loopback port only, stopped and removed at the end. PostgreSQL refuses to run as root,
   so under root it runs as ``nobody`` (``runuser``), which is given the folder;
3. neither: the PostgreSQL tests are skipped, with one line saying how to enable them.

Fixtures:

- ``pg_server``: the server (session); ``pg_server.create()`` makes a fresh database and
  returns its SQLAlchemy URL (``postgresql+psycopg://...``), ``create(migrated=True)`` one
  already at the newest schema (copied from a template, much faster than migrating);
- ``pg_url``: a fresh, empty PostgreSQL database for one test (dropped after it);
- ``db_url``: a fresh, empty database, once on SQLite and once on PostgreSQL (parametrized);
- ``store`` (tests/conftest.py): a Store on both, parametrized the same way.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url

ENV = "MM_TEST_POSTGRES_URL"
HOW = (
    "PostgreSQL tests skipped: install PostgreSQL (apt-get install postgresql) "
    f"or set {ENV}=postgresql://user:password@host:port/postgres"
)
#: The unprivileged user that runs a throwaway cluster when the tests run as root.
RUN_AS = "nobody"
#: Every test database's name starts with this (left-overs of a killed run are easy to spot).
PREFIX = "mm_test_"

#: The parameter ids of ``db_url`` and ``store``: test ids read ``test_x[sqlite]``.
DATABASES = ["sqlite", "postgresql"]


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found:
            folder = Path(found).resolve().parent
            if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
                return folder
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """A PostgreSQL server the tests may create and drop databases on."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        #: The administrative database (``postgres``), as SQLAlchemy and psycopg take it.
        self.admin: URL = parsed.set(drivername="postgresql+psycopg")
        self._template: str | None = None

    def url(self, database: str) -> str:
        return self.admin.set(database=database).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        import psycopg

        conninfo = self.admin.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create(self, *, migrated: bool = False) -> str:
        """A new database (empty, or at the newest schema); returns its URL."""
        name = PREFIX + uuid.uuid4().hex[:16]
        if migrated:
            self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template()}"')
        else:
            self._execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
        return self.url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        if not name or not name.startswith(PREFIX):
            raise ValueError(f"not a test database: {name}")
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def template(self) -> str:
        """A database migrated to the newest schema once per session, copied by ``create``."""
        if self._template is None:
            from monitor.store import Store

            name = PREFIX + "template_" + uuid.uuid4().hex[:8]
            self._execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
            Store(self.url(name)).close()
            self._template = name
        return self._template

    def cleanup(self) -> None:
        if self._template is not None:
            self._execute(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)')
            self._template = None


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder, on a free loopback port."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="mm-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = 0
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            entry = pwd.getpwnam(RUN_AS)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            self.as_user = ["runuser", "-u", RUN_AS, "--"]

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self.as_user, *args],
            capture_output=True,
            text=True,
            cwd=self.folder,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}): "
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}{log}"
            )

    def start(self) -> str:
        """initdb and start; returns the URL of its ``postgres`` database."""
        self._run(
            str(self.binaries / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        for attempt in range(5):
            self.port = free_port()
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200 -c shared_buffers=32MB -c jit=off"
            )
            try:
                self._run(
                    str(self.binaries / "pg_ctl"),
                    "start",
                    "-D",
                    str(self.data),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(self.log),
                    "-o",
                    options,
                )
                break
            except RuntimeError:
                if attempt == 4:
                    raise
                time.sleep(0.2)  # the port was taken meanwhile: another one
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.binaries / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The PostgreSQL server of this test session (see the module's docstring), or a skip."""
    given = os.environ.get(ENV)
    if given:
        server = PgServer(given)
        yield server
        server.cleanup()
        return
    binaries = find_binaries()
    if binaries is None:
        pytest.skip(HOW)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip('PostgreSQL tests skipped: install the driver: pip install -e ".[dev]"')
    cluster = Cluster(binaries)
    try:
        server = PgServer(cluster.start())
        yield server
        server.cleanup()
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test; dropped after it."""
    url = pg_server.create()
    yield url
    pg_server.drop(url)


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.create()
    yield url
    server.drop(url)


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"
