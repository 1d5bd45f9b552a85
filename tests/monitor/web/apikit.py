"""The API, export and feed routes alone in a Starlette app, over a real SQLite store whose
mentions were written by ``Store.ingest``, as contracts.md sets ``app.state`` up."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from monitor.config import Config, parse_config
from monitor.models import Mention, Score, Severity
from monitor.store import NewMention, Store
from monitor.web import api, feeds

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TOKEN = "api-9c1e7b3f5a2d4e6f8a0b"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
HOSTILE = '=HYPERLINK("http://evil") <script>alert(1)</script> & ]]> worst Acme ever'
NEG = Score(-0.7, "negative", True, ("angry words: worst",))
POS = Score(0.5, "positive", False, ())
_numbers = itertools.count(1)

CONFIG = """
database: sqlite:///{db}
brands:
  - name: Acme Coffee
    keywords: ["Acme"]
  - name: Bolt & Co
    keywords: ["Bolt"]
sources:
  hackernews: {{}}
alerts:
  console: false
  channels:
    - type: console
"""


def new(
    text: str,
    *,
    brand: str = "Acme Coffee",
    severity: Severity = "negative",
    source: str = "hackernews",
    author: str = "ann",
    url: str | None = None,
    raw: dict[str, str] | None = None,
) -> NewMention:
    n = next(_numbers)
    mention = Mention(
        source=source,
        external_id=f"e{n}",
        url=url or f"https://news.example/item/{n}",
        author=author,
        author_followers=1200,
        text=text,
        created_at=NOW - timedelta(hours=2),
        engagement={"score": 3},
        raw=raw or {"secret_field": "raw-only-value"},
    )
    score = NEG if severity != "info" else POS
    return NewMention(mention, brand, (brand,), score, severity, ())


def put(store: Store, items: list[NewMention], seen: datetime = NOW) -> list[int]:
    written = store.ingest(items[0].mention.source, items[0].brand, items, None, now=seen)
    return [i for i, _ in written]


@dataclass
class Kit:
    client: TestClient
    store: Store
    config: Config
    app: Starlette
    ids: dict[str, int]


def build(tmp_path: Path, *, token: str | None = TOKEN, public_url: str | None = None) -> Kit:
    config = parse_config(CONFIG.format(db=tmp_path / "api.db"), base_dir=tmp_path)
    store = Store(config.database)
    ids: dict[str, int] = {}
    [ids["angry"]] = put(store, [new("Acme Coffee: worst refund ever")], NOW - timedelta(hours=3))
    [ids["hostile"]] = put(
        store,
        [new(HOSTILE, author="<b>mallory</b>", url="javascript:alert(3)", severity="high")],
        NOW - timedelta(hours=2),
    )
    [ids["happy"]] = put(store, [new("Acme Coffee is lovely", severity="info")], NOW)
    [ids["bolt"]] = put(store, [new("Bolt & Co lost it", brand="Bolt & Co")], NOW)
    app = Starlette(routes=api.routes() + feeds.routes())
    app.state.config = config
    app.state.store = store
    app.state.clock = lambda: NOW
    app.state.templates = None
    app.state.api_token = token
    app.state.public_url = public_url
    return Kit(TestClient(app), store, config, app, ids)


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    made = build(tmp_path)
    yield made
    made.client.close()
    made.store.close()
