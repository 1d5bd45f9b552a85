"""`mention-monitor demo`: the real pipeline on bundled sample mentions, offline.

A fictional café chain, Acme Coffee, and its coffee subscription, Roastery
Lane. The sample mentions (monitor/data/demo_mentions.json, written for this
demo) are replayed by a connector that reads the bundled file instead of an
API; everything after the fetch (matching, exclusions, dedupe, scoring,
rules, the outbox, the dispatcher, the console channel) is the production code,
on a temporary SQLite database.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import httpx

from alerts.console import ConsoleChannel, ConsoleConfig
from connectors.base import Connector, FetchResult, SourceConfig
from monitor.config import BrandConfig, Config
from monitor.service import Service
from monitor.store import Store

DEMO_BRANDS = [
    BrandConfig(
        name="Acme Coffee",
        keywords=["Acme Coffee", "@acmecoffee", "#acmecoffee"],
        exclude=["Acme Coffee Co. Ltd"],
    ),
    BrandConfig(name="Roastery Lane", keywords=["Roastery Lane", "@roasterylane"]),
]


def sample_mentions() -> list[dict[str, Any]]:
    data = resources.files("monitor").joinpath("data/demo_mentions.json").read_text("utf-8")
    records: list[dict[str, Any]] = json.loads(data)
    return records


class ReplayConnector(Connector):
    """Serves the bundled sample mentions as if a source had just returned them."""

    name = "demo"
    Config = SourceConfig

    def __init__(self, records: Sequence[dict[str, Any]], now: datetime) -> None:
        super().__init__(SourceConfig(base_url="bundled:demo_mentions.json"), httpx.Client())
        self.records = records
        self.now = now

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        from monitor.models import Mention

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


@dataclass
class DemoResult:
    replayed: int
    stored: int
    negative: int
    alerts_sent: int


def run_demo(out: TextIO, then: Callable[[Config, DemoResult], None] | None = None) -> DemoResult:
    """Replay the sample mentions; ``then`` (the inbox) runs before the database is removed."""
    now = datetime.now(UTC)
    records = sample_mentions()
    with tempfile.TemporaryDirectory(prefix="mention-monitor-demo-") as tmp:
        config = Config(
            path=None,
            database=f"sqlite:///{Path(tmp) / 'demo.db'}",
            brands=DEMO_BRANDS,
            sources={"demo": SourceConfig(base_url="bundled:demo_mentions.json")},
            channels=[ConsoleConfig()],
        )
        store = Store(config.database)
        connector = ReplayConnector(records, now)
        service = Service(
            config,
            store=store,
            connectors={"demo": connector},
            channels={"console": ConsoleChannel(ConsoleConfig(), stream=out)},
        )
        try:
            # Every brand polls the same replayed batch; the first poll stores it,
            # the rest find nothing new, as a real source would.
            reports = service.poll()
            dispatched = service.dispatch()
            stored = sum(r.new for r in reports)
            negative = sum(r.negative for r in reports)
        finally:
            service.close()
        result = DemoResult(len(records), stored, negative, dispatched.sent)
        if then is not None:
            then(config, result)
    return result
