"""The inbox over a real SQLite store whose mentions came through the real pipeline."""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from alerts.console import ConsoleChannel, ConsoleConfig
from connectors.base import Connector, FetchResult, SourceConfig
from monitor.config import Config, parse_config
from monitor.models import Mention
from monitor.service import Service
from monitor.store import Store
from monitor.web import create_app

PASSWORD = "correct horse battery"
API_TOKEN = "tok-7f3a9c2e5b1d4a6f"

HOSTILE = (
    "Acme Coffee <img src=x onerror=alert(1)> <script>alert(2)</script> worst ever, never again"
)

RECORDS: list[dict[str, Any]] = [
    {
        "source": "demo",
        "external_id": "1",
        "url": "https://social.example/@ann/1",
        "author": "ann",
        "author_followers": 12400,
        "text": "Still waiting for my Acme Coffee refund after 3 weeks. Worst service, never!",
        "minutes_ago": 30,
        "engagement": {"likes": 4},
    },
    {
        "source": "demo",
        "external_id": "2",
        "url": "javascript:alert(3)",
        "author": "<b>mallory</b>",
        "text": HOSTILE,
        "minutes_ago": 20,
    },
    {
        "source": "demo",
        "external_id": "3",
        "url": "https://social.example/@bob/3",
        "author": "bob",
        "text": "Lovely flat white at Acme Coffee this morning, thank you!",
        "minutes_ago": 10,
    },
]


class ReplayConnector(Connector):
    """Serves ``records`` once, as if a source had just returned them (``minutes_ago``
    before ``now``)."""

    name = "demo"
    Config = SourceConfig

    def __init__(self, records: Sequence[dict[str, Any]], now: datetime) -> None:
        super().__init__(SourceConfig(base_url="bundled:records"), httpx.Client())
        self.records = records
        self.now = now

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        if cursor == "replayed":
            return [], cursor
        mentions = [
            Mention(
                source=r["source"],
                external_id=r["external_id"],
                url=r["url"],
                author=r["author"],
                author_followers=r.get("author_followers"),
                title=r.get("title"),
                text=r["text"],
                created_at=self.now - timedelta(minutes=int(r["minutes_ago"])),
                engagement=dict(r.get("engagement") or {}),
                raw=r,
            )
            for r in self.records
        ]
        return mentions, "replayed"

    def close(self) -> None:
        self.http.close()


def config_text(db: Path, web: str = "") -> str:
    base = f"""
    database: sqlite:///{db}
    brands:
      - name: Acme Coffee
        keywords: ["Acme Coffee"]
    sources:
      hackernews: {{}}
    alerts:
      console: false
      channels:
        - type: console
    """
    return textwrap.dedent(base).lstrip() + textwrap.dedent(web)


def make_config(tmp_path: Path, web: str = "") -> Config:
    return parse_config(config_text(tmp_path / "inbox.db", web), base_dir=tmp_path)


def fill(config: Config, records: list[dict[str, Any]] = RECORDS) -> None:
    """Poll the records through the real pipeline, then dispatch to a console channel."""
    store = Store(config.database)
    demo_config = Config(
        path=None,
        database=config.database,
        brands=config.brands,
        sources={"demo": SourceConfig(base_url="bundled:records")},
        channels=[ConsoleConfig()],
    )
    service = Service(
        demo_config,
        store=store,
        connectors={"demo": ReplayConnector(records, datetime.now(UTC))},
        channels={"console": ConsoleChannel(ConsoleConfig(), stream=io.StringIO())},
        strict=True,
    )
    try:
        service.poll()
        service.dispatch()
    finally:
        service.close()


WEB = f"""
web:
  password: {PASSWORD}
  api_token: {API_TOKEN}
"""


@pytest.fixture
def inbox_config(tmp_path: Path) -> Config:
    config = make_config(tmp_path, WEB)
    fill(config)
    return config


@pytest.fixture
def inbox_store(inbox_config: Config) -> Iterator[Store]:
    store = Store(inbox_config.database)
    yield store
    store.close()


AppMaker = Callable[..., TestClient]


@pytest.fixture
def make_client(inbox_store: Store) -> Iterator[AppMaker]:
    clients: list[TestClient] = []

    def make(config: Config, **kwargs: Any) -> TestClient:
        kwargs.setdefault("base_url", "http://127.0.0.1:8080")  # as a browser here names it
        client = TestClient(create_app(config, inbox_store), **kwargs)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def inbox(make_client: AppMaker, inbox_config: Config) -> TestClient:
    return make_client(inbox_config)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def log_in(client: TestClient, password: str = PASSWORD, prefix: str = "") -> None:
    page = client.get(f"{prefix}/login")
    answer = client.post(
        f"{prefix}/login",
        data={"password": password, "csrf_token": csrf_of(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


@pytest.fixture
def logged_in(inbox: TestClient) -> TestClient:
    log_in(inbox)
    return inbox
