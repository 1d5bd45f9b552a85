"""Every periodic job costs the same however much history is stored.

The jobs run as the scheduler runs them (a poll of a Hacker News stand-in, the follow-up
job, a dispatch to a Slack stand-in and the console) on a real SQLite file, then on a
PostgreSQL database, seeded with a few days of recent activity. Every statement the store
really issues is captured with SQLAlchemy's ``before_cursor_execute`` event and explained
(EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN): none may read a whole history table. A second
test runs the same jobs on the same recent activity with and without a pile of old history
and counts the SQLite virtual machine's steps of each statement: a query bounded by an
index takes as many steps either way.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from alerts.slack import SlackChannel
from monitor.config import load_config
from monitor.models import Mention, Score
from monitor.service import Service
from monitor.store import NewMention, Store
from tests.conftest import ConfigWriter
from tests.monitor.test_store_plans import explain
from tests.standins.hackernews import HackerNewsAPI, comment, story
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook

HISTORY_TABLES = ("mentions", "alerts", "snapshots", "status_changes")
# A SCAN reads every row (even "USING INDEX": the whole index); so does a SEARCH that
# names no index ("SEARCH alerts": an automatic index built from every row).
TABLES = "|".join(HISTORY_TABLES)
FULL_SCAN = re.compile(rf"\bSCAN (TABLE )?({TABLES})\b|\bSEARCH (TABLE )?({TABLES})\s*$")
# PostgreSQL: a sequential scan reads every row.
POSTGRES_FULL = re.compile(rf"Seq Scan on ({TABLES})\b")
ANGRY = "Acme Coffee charged me twice and support never answered, awful"
NEGATIVE = Score(-0.6, "negative", True, ("vader -0.60",))
POSITIVE = Score(0.5, "positive", False, ("vader 0.50",))
CHANNELS = ("console", "slack")


@dataclass
class Captured:
    statement: str
    parameters: Any
    steps: int = 0


@contextmanager
def capture(engine: Engine) -> Iterator[list[Captured]]:
    """Every statement sent, with its parameters (and on SQLite the VM steps it took)."""
    seen: list[Captured] = []

    def count(_: Any = None) -> int:
        if seen:
            seen[-1].steps += 1
        return 0

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        seen.append(Captured(statement, parameters[0] if many and parameters else parameters))
        dbapi = conn.connection.dbapi_connection
        if hasattr(dbapi, "set_progress_handler"):  # SQLite's; PostgreSQL counts no steps
            dbapi.set_progress_handler(count, 1)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return [str(row[-1]) for row in rows]


def new_mention(n: int, seen: datetime, *, negative: bool, track: bool) -> NewMention:
    mention = Mention(
        source="hackernews",
        external_id=str(n),
        url=f"https://news.ycombinator.com/item?id={n}",
        author="someone",
        text=f"{ANGRY} #{n}" if negative else f"Acme Coffee was lovely #{n}",
        created_at=seen - timedelta(minutes=3),
        engagement={"score": 1, "comments": 0},
    )
    return NewMention(
        mention,
        "Acme Coffee",
        ("Acme Coffee",),
        NEGATIVE if negative else POSITIVE,
        "negative" if negative else "none",
        CHANNELS if negative else (),
        track_at=seen + timedelta(minutes=5) if track else None,
    )


def cursor(at: datetime) -> str:
    return f'{{"created_at_i": {int(at.timestamp())}}}'


def seed(store: Store, hn: HackerNewsAPI, now: datetime, *, history: int) -> None:
    """Three days of recent activity (the same every time), after ``history`` old mentions
    (a year back, 30% negative, alerted, sent, half of them acknowledged)."""
    for n in range(1, history + 1):
        seen = now - timedelta(days=30 + n % 330, minutes=n)
        item = new_mention(10_000 + n, seen, negative=n % 10 < 3, track=n % 10 < 3)
        [(mention_id, _)] = store.ingest("hackernews", "*", [item], None, now=seen)
        if n % 10 < 3 and n % 2:
            store.set_status(mention_id, "acknowledged", "on it", seen + timedelta(hours=1))
    store.stop_tracking(now - timedelta(days=2))  # as the tracker did while they aged
    with store.session() as s:
        s.execute(text("UPDATE alerts SET status = 'sent', sent_at = created_at"))
    # Recent: one mention every 2 hours for 3 days (negatives to remind of, posts to
    # track), then a burst of 7 negatives in the last half hour (a spike).
    for n in range(36):
        seen = now - timedelta(hours=72 - 2 * n)
        item = new_mention(100 + n, seen, negative=n % 3 == 0, track=n % 3 == 0)
        store.ingest("hackernews", "*", [item], cursor(seen), now=seen)
        hn.add(story(100 + n, item.mention.text, created=int(seen.timestamp()) - 180, points=3))
    for n in range(7):
        seen = now - timedelta(minutes=30 - 4 * n)
        store.ingest("hackernews", "*", [new_mention(200 + n, seen, negative=True, track=True)],
                     cursor(seen), now=seen)  # fmt: skip
    # The next poll brings a new complaint and a reply to a tracked post.
    hn.add(story(300, f"{ANGRY} again", created=int(time.time()) - 30))
    hn.add(comment(301, f"<p>{ANGRY}, me too</p>", story_id=100, created=int(time.time()) - 20))


def run_jobs(service: Service) -> None:
    """What the scheduler runs: a poll then a dispatch (``_poll_then_dispatch``), a poll
    that brings nothing new (the silence check), the follow-up job and a dispatch."""
    service.poll()
    service.dispatch()
    service.poll()
    service.watch()
    service.dispatch()


@dataclass
class World:
    service: Service
    hn: HackerNewsAPI
    now: datetime


def make_world(
    tmp: Path,
    write_config: ConfigWriter,
    hn_url: str,
    slack_url: str,
    client: httpx.Client,
    database: str | None = None,
) -> World:
    tmp.mkdir()
    path = write_config(
        f"""
        database: {database or f"sqlite:///{tmp / 'mentions.db'}"}
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          hackernews: {{base_url: "{hn_url}"}}
        alerts:
          channels:
            - type: slack
              webhook_url: "{slack_url}"
        """,
        name=f"{tmp.name}.yaml",
    )
    config = load_config(path)
    now = datetime.now(UTC).replace(microsecond=0)
    slack_config = next(c for c in config.channels if c.type == "slack")
    slack = SlackChannel(slack_config, http=client, clock=lambda: 0.0, sleep=lambda s: None)
    console = next(c for c in config.channels if c.type == "console")
    from alerts.console import ConsoleChannel

    service = Service(
        config,
        http=client,
        channels={"console": ConsoleChannel(console), "slack": slack},
        clock=lambda: now,
        strict=True,
    )
    return World(service, HackerNewsAPI(), now)


@pytest.fixture
def slack_url(slack: tuple[StandIn, SlackWebhook]) -> str:
    server, webhook = slack
    return server.url + webhook.path


def test_no_periodic_job_reads_a_whole_history_table(
    tmp_path: Path,
    write_config: ConfigWriter,
    hn_api: HackerNewsAPI,
    hn_url: str,
    slack_url: str,
    client: httpx.Client,
    db_url: str,
) -> None:
    """On SQLite and on PostgreSQL (there with sequential scans priced out, so that the few
    rows here do not make one the cheaper plan: tests/monitor/test_store_plans.py)."""
    world = make_world(tmp_path / "plans", write_config, hn_url, slack_url, client, db_url)
    world.hn = hn_api
    store = world.service.store
    postgres = store.engine.dialect.name == "postgresql"
    try:
        seed(store, hn_api, world.now, history=50)
        with capture(store.engine) as seen:
            run_jobs(world.service)
        explained = []
        for c in seen:
            if re.match(r"\s*(PRAGMA|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", c.statement):
                continue
            if postgres:
                if not re.match(r"\s*(SELECT|UPDATE|DELETE)\b", c.statement):
                    continue  # an INSERT reads no table
                lines = explain(store.engine, c.statement, c.parameters, page=False)
            else:
                lines = plan(store.engine, c.statement, c.parameters)
            explained.append((c.statement, lines))
    finally:
        world.service.close()
    assert any("FROM alerts" in s for s, _ in explained)  # the capture really saw the jobs
    shown = "\n\n".join(f"{s}\n  -> " + "\n  -> ".join(p or ["(no table read)"]) for s, p in
                        dict(explained).items())  # fmt: skip
    full = POSTGRES_FULL if postgres else FULL_SCAN
    scans = [(s, p) for s, p in explained if any(full.search(line) for line in p)]
    assert not scans, (
        f"{len(scans)} statements read a whole history table:\n\n"
        + "\n\n".join(f"{s}\n  -> " + "\n  -> ".join(p) for s, p in dict(scans).items())
        + f"\n\nevery plan:\n\n{shown}"
    )


def test_the_periodic_jobs_take_as_many_steps_with_a_year_of_history_as_without(
    tmp_path: Path,
    write_config: ConfigWriter,
    hn_url: str,
    hn_server: StandIn,
    slack_url: str,
    client: httpx.Client,
) -> None:
    steps: dict[int, Counter[str]] = {}
    for history in (0, 600):
        world = make_world(tmp_path / f"h{history}", write_config, hn_url, slack_url, client)
        hn_server.route = world.hn  # a fresh Hacker News for each database
        try:
            seed(world.service.store, world.hn, world.now, history=history)
            with capture(world.service.store.engine) as seen:
                run_jobs(world.service)
        finally:
            world.service.close()
        steps[history] = Counter()
        for c in seen:
            steps[history][c.statement] += c.steps
    grew = {
        statement: (steps[0][statement], n)
        for statement, n in steps[600].items()
        if n > 2 * steps[0][statement] + 500
    }
    assert not grew, "statements that cost more with history (steps without -> with):\n\n" + (
        "\n\n".join(f"{a} -> {b}:\n{s}" for s, (a, b) in grew.items())
    )
