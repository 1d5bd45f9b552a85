"""The pipeline's handling of the connector contract's options, on real HTTP, and on SQLite and
PostgreSQL (each test runs on both: ``db_url``, tests/pg.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alerts.console import ConsoleConfig
from connectors.base import FetchResult, Usage
from connectors.hackernews import HackerNewsConfig, HackerNewsConnector
from monitor.config import BrandConfig, Config
from monitor.errors import BudgetExhausted
from monitor.pipeline import ALL_BRANDS, Pipeline
from monitor.sentiment import VaderScorer
from monitor.store import Store
from tests.standins.hackernews import HackerNewsAPI, story
from tests.standins.server import StandIn

ACME = BrandConfig(name="Acme", keywords=["Acme"])
BOLT = BrandConfig(name="Bolt Bikes", keywords=["Bolt Bikes"])


class Together(HackerNewsConnector):
    """HN asked once for every brand, as RSS and Reddit are."""

    per_brand = False


class Metered(HackerNewsConnector):
    """HN with a pretend monthly budget, as X has."""

    used = 0
    limit = 10
    exhausted = False

    def fetch_pages(self, queries: Sequence[str], cursor: str | None) -> Iterator[FetchResult]:
        if self.exhausted:
            raise BudgetExhausted(self.name, "monthly read budget used up")
        yield from super().fetch_pages(queries, cursor)

    def usage(self) -> Usage:
        return Usage("2026-11", self.used, self.limit, cost_usd=self.used * 0.005)


#: The stores this test opened, closed after it (before its database is dropped).
OPENED: list[Store] = []


@pytest.fixture(autouse=True)
def _close_stores(db_url: str) -> Iterator[None]:
    """(After ``db_url``, so its teardown runs first: the stores close, then the database
    is dropped.)"""
    yield
    while OPENED:
        OPENED.pop().close()


def pipeline(url: str, connector: HackerNewsConnector) -> Pipeline:
    config = Config(
        path=None,
        database=url,
        brands=[ACME, BOLT],
        sources={"hackernews": connector.config},
        channels=[ConsoleConfig.model_validate({"type": "console"})],
    )
    OPENED.append(Store(config.database))
    return Pipeline(config, OPENED[-1], VaderScorer(), {"hackernews": connector}, strict=True)


def test_a_source_asked_once_for_all_brands(
    db_url: str, hn_api: HackerNewsAPI, hn_url: str, hn_server: object, client: httpx.Client
) -> None:
    now = int(time.time())
    hn_api.add(story(1, "Acme is awful", created=now), story(2, "Bolt Bikes broke", created=now))
    p = pipeline(db_url, Together(HackerNewsConfig(base_url=hn_url), client))
    report = p.poll_source("hackernews")
    assert report.new == 2
    assert {m.brand for m in p.store.mentions()} == {"Acme", "Bolt Bikes"}
    assert p.store.get_cursor("hackernews", ALL_BRANDS) is not None
    assert p.store.get_cursor("hackernews", "Acme") is None


def test_brand_hint_limits_matching_to_that_brand(db_url: str, client: httpx.Client) -> None:
    from monitor.models import Mention

    p = pipeline(db_url, Together(HackerNewsConfig(), client))
    both = "Acme and Bolt Bikes are both awful"
    mentions = [
        Mention("rss", "a", "https://e/a", "x", both, datetime.now(UTC), brand_hint="Bolt Bikes"),
        Mention(
            "rss", "b", "https://e/b", "x", "Acme only", datetime.now(UTC), brand_hint="Bolt Bikes"
        ),
    ]
    result = p.process("rss", ALL_BRANDS, mentions, None)
    assert len(result.new_ids) == 1
    (row,) = p.store.mentions()
    assert row.brand == "Bolt Bikes" and row.matched_terms == ["Bolt Bikes"]


def test_budget_notices_at_80_and_100_percent_once_each(
    db_url: str, hn_url: str, hn_server: object, client: httpx.Client
) -> None:
    connector = Metered(HackerNewsConfig(base_url=hn_url), client)
    p = pipeline(db_url, connector)
    connector.used = 7
    p.poll_source("hackernews")
    assert p.store.alert_counts() == {}
    connector.used = 8
    p.poll_source("hackernews")
    p.poll_source("hackernews")
    assert p.store.alert_counts() == {("console", "pending"): 1}
    connector.used, connector.exhausted = 9, True  # stopped short of the limit: counts as 100%
    report = p.poll_source("hackernews")
    assert report.error and "budget" in report.error and report.budget_exhausted
    assert report.deferred_until is None  # a raised budget works at the next poll
    alerts = p.store.claim_many(
        [d.id for d in p.store.due_alerts(datetime.now(UTC))], datetime.now(UTC)
    )
    assert [a.title for a in alerts] == [
        "hackernews: budget 80% used",
        "hackernews: budget 100% used",
    ]
    assert "9 of 10 posts read" in alerts[1].text and "$0.04" in alerts[1].text
    assert [a.severity for a in alerts] == ["negative", "high"]


def test_a_source_failing_n_polls_in_a_row_alerts_once_then_says_it_recovered(
    db_url: str, hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    from tests.standins.server import Response

    p = pipeline(db_url, HackerNewsConnector(HackerNewsConfig(base_url=hn_url), client))
    now = datetime.now(UTC)

    def notices() -> list[tuple[str, str]]:
        due = p.store.due_alerts(now + timedelta(days=1))
        return [(a.title or "", a.text) for a in p.store.claim_many([d.id for d in due], now)]

    hn_server.fail_next(Response(503, b"down"), times=5)
    for _ in range(2):
        p.poll_source("hackernews")
    assert notices() == []
    p.poll_source("hackernews")  # the third failure in a row
    ((title, text),) = notices()
    assert title == "hackernews has stopped working"
    assert "failed 3 polls in a row" in text and "HTTP 503" in text
    p.poll_source("hackernews")
    p.poll_source("hackernews")
    assert notices() == []  # once per run of failures
    assert p.poll_source("hackernews").ok
    ((title, text),) = notices()
    assert title == "hackernews works again" and "after 5 failed polls" in text
    # A new run of failures alerts again; a short one (below health_after) does not.
    hn_server.fail_next(Response(503, b"down"), times=2)
    p.poll_source("hackernews")
    p.poll_source("hackernews")
    assert p.poll_source("hackernews").ok
    assert notices() == []


def test_a_source_gone_quiet_for_far_longer_than_usual_alerts_once(
    db_url: str, hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    from monitor.models import Mention, Score
    from monitor.store import NewMention

    p = pipeline(db_url, HackerNewsConnector(HackerNewsConfig(base_url=hn_url), client))
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(30):  # one mention every 2 hours
        seen = start + timedelta(hours=2 * i)
        m = Mention("hackernews", str(i), "https://e/x", "a", "Acme", seen)
        item = NewMention(m, "Acme", ("Acme",), Score(0.1, "neutral", False), "info", ())
        p.store.ingest("hackernews", "other", [item], None, now=seen)
    last = start + timedelta(hours=58)
    clock = [last + timedelta(hours=19)]
    p.clock = lambda: clock[0]
    p.poll_source("hackernews")  # 19 h of quiet: less than 10 x 2 h
    assert p.store.alert_counts() == {}
    clock[0] = last + timedelta(hours=21)
    p.poll_source("hackernews")
    p.poll_source("hackernews")
    assert p.store.alert_counts() == {("console", "pending"): 1}
    (alert,) = p.store.claim_many([d.id for d in p.store.due_alerts(clock[0])], clock[0])
    assert alert.title == "hackernews has gone quiet"
    assert "21 hours" in alert.text and "every 2.0 hours" in alert.text


def test_a_burst_of_10000_items_is_worked_through_in_bounded_polls(
    db_url: str, hn_api: HackerNewsAPI, hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    """10,000 matching items posted within five minutes: each poll stores what it read
    window by window, the source says it is falling behind and then that it caught up,
    and a normal post after the burst is stored too."""
    import json

    from monitor.store import AlertRow

    now = int(time.time())
    hn_api.add(
        *(
            story(i, f"Acme is awful, refund please ({i})", created=now - 300 + i * 300 // 10_000)
            for i in range(1, 10_001)
        )
    )
    # Two requests a poll (ten by default), so that the burst takes several polls.
    config = HackerNewsConfig(base_url=hn_url, max_requests=2)
    p = pipeline(db_url, HackerNewsConnector(config, client))
    # A service that was keeping up: its cursor is ten minutes old.
    p.store.ingest("hackernews", ALL_BRANDS, [], json.dumps({"covered_until": now - 600}))
    reports = []
    for _ in range(12):
        reports.append(p.poll_source("hackernews"))
        if reports[-1].behind == timedelta(0):
            break
    # About one request per 1,000 items: 10 answers hold it all.
    assert reports[-1].behind == timedelta(0) and 4 <= len(reports) <= 7
    assert all(r.ok for r in reports) and sum(r.new for r in reports) == 10_000
    assert len(hn_server.requests) <= 13

    hn_api.add(story(20_000, "Acme lost my order", created=int(time.time())))
    assert p.poll_source("hackernews").new == 1
    with p.store.session() as s:
        rows = s.query(AlertRow.kind, AlertRow.dedupe_key).all()
    mention_alerts = [key for kind, key in rows if kind == "mention"]
    negatives = {
        f"hackernews:{m.external_id}" for m in p.store.mentions(negative=True, limit=20_000)
    }
    assert len(negatives) > 9_990  # VADER reads "143" and "1337" as kind words
    assert sorted(mention_alerts) == sorted(negatives)  # each negative alerted once
    health = sorted(key.split(":")[0] for kind, key in rows if kind == "health")
    assert health == ["behind", "caught-up"]


def test_a_catch_up_keeps_the_windows_it_read_when_a_later_request_fails(
    db_url: str, hn_api: HackerNewsAPI, hn_url: str, hn_server: StandIn, client: httpx.Client
) -> None:
    import json

    from tests.standins.server import Response

    now = int(time.time())
    hn_api.add(*(story(i, f"Acme item {i}", created=now - 3000 + i) for i in range(1, 2_001)))
    connector = HackerNewsConnector(HackerNewsConfig(base_url=hn_url, hits_per_page=500), client)
    p = pipeline(db_url, connector)
    p.store.ingest("hackernews", ALL_BRANDS, [], json.dumps({"covered_until": now - 3600}))

    class FailFourth:
        def __init__(self) -> None:
            self.route = hn_server.route

        def __call__(self, request: object) -> Response:
            if len(hn_server.requests) == 4:
                return Response(503, b"down")
            return self.route(request)  # type: ignore[arg-type]

    hn_server.route = FailFourth()
    report = p.poll_source("hackernews")
    # Three answers of 500 before the failure (each repeats the oldest second of the last).
    assert not report.ok and report.new == 1498
    cursor = json.loads(p.store.get_cursor("hackernews", ALL_BRANDS) or "{}")
    assert cursor["covered_until"] == now - 3600 and cursor["gap"][0] < now - 1000
    assert len(p.store.mentions(limit=5000)) == 1498
    # The next poll reads only what is left (502 items: two answers), then what is new.
    report = p.poll_source("hackernews")
    assert report.ok and report.new == 502 and report.behind == timedelta(0)
    assert len(hn_server.requests) <= 4 + 3  # and one for what is new, unless in the same second
