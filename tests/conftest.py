"""Shared fixtures: stand-in APIs on loopback, config files, real SQLite and PostgreSQL
databases (tests/pg.py: ``pg_server``, ``pg_url``, ``db_url``)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from monitor.config import Config, load_config
from monitor.http import make_client
from monitor.redact import REDACTOR
from monitor.store import Store
from tests.pg import DATABASES, PgServer, db_url, pg_server, pg_url  # noqa: F401 (fixtures)
from tests.standins.hackernews import PREFIX, HackerNewsAPI
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """The core's HTTP client, as a connector gets it (short timeout for tests)."""
    with make_client(timeout=5) as c:
        yield c


@pytest.fixture
def hn_api() -> HackerNewsAPI:
    return HackerNewsAPI()


@pytest.fixture
def hn_server(hn_api: HackerNewsAPI) -> Iterator[StandIn]:
    with StandIn(hn_api) as server:
        yield server


@pytest.fixture
def hn_url(hn_server: StandIn) -> str:
    return hn_server.url + PREFIX


@pytest.fixture
def slack() -> Iterator[tuple[StandIn, SlackWebhook]]:
    """A Slack incoming-webhook stand-in: (server, webhook); post to server.url + webhook.path."""
    webhook = SlackWebhook()
    with StandIn(webhook) as server:
        yield server, webhook


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MENTION_MONITOR_CONFIG", raising=False)


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """Each test's configs teach the process-wide redactor their secrets: forget them after,
    so that one test's secret never masks another test's text."""
    yield
    REDACTOR.clear()


ConfigWriter = Callable[..., Path]


@pytest.fixture
def write_config(tmp_path: Path) -> ConfigWriter:
    """Write a config.yaml into tmp_path; its database is tmp_path/mentions.db."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture
def hn_config_path(write_config: ConfigWriter, hn_url: str) -> Path:
    return write_config(
        f"""
        database: sqlite:///mentions.db
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee", "@acmecoffee", "#acmecoffee"]
            exclude: ["Acme Coffee Co. Ltd"]
        sources:
          hackernews:
            every: 5m
            base_url: {hn_url}
            timeout: 2s
        alerts:
          channels:
            - type: console
        web:
          listen: 127.0.0.1:0  # `run` serves the inbox: on a free port, tests run side by side
        """
    )


@pytest.fixture
def hn_config(hn_config_path: Path) -> Config:
    return load_config(hn_config_path)


@pytest.fixture(params=DATABASES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A Store on a new database: each test using it runs on SQLite, then on PostgreSQL
    (skipped, saying how to enable it, where there is none: tests/pg.py)."""
    which = "sqlite_store" if request.param == "sqlite" else "pg_store"
    yield request.getfixturevalue(which)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A Store on a new SQLite database, for what only SQLite does (its query plans)."""
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


@pytest.fixture
def pg_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A Store on a new PostgreSQL database, for what only PostgreSQL does (row locks)."""
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.create(migrated=True)
    s = Store(url)
    yield s
    s.close()
    server.drop(url)
