"""The brand pages' figures (monitor/store/stats.py) on a known month written through the
real Store, against what was written and against ``mention-monitor stats``' own figures;
each on SQLite and on PostgreSQL (``db_url``, tests/pg.py), whose hour buckets are made
by different SQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config import load_config
from monitor.followup import response_stats
from monitor.store import Store
from monitor.store.stats import (
    Window,
    brand_figures,
    daily_counts,
    escalations,
    has_mentions,
    response_times,
    spike_days,
    top_negatives,
)
from tests.conftest import ConfigWriter
from tests.monitor.brand_data import BRAND, CONFIG, NOW, OTHER, TODAY, Month, write_month
from tests.monitor.test_query_plans import FULL_SCAN, capture, plan
from tests.monitor.test_store_plans import POSTGRES_FULL, explain


@pytest.fixture
def month(write_config: ConfigWriter, db_url: str) -> Iterator[tuple[Store, Month]]:
    config = load_config(write_config(f"database: {db_url}\n{CONFIG}"))
    store = Store(config.database)
    try:
        yield store, write_month(config, store)
    finally:
        store.close()


def test_every_day_of_the_window_is_counted_once(month: tuple[Store, Month]) -> None:
    store, written = month
    window = Window.last_days(NOW)
    days = daily_counts(store, BRAND, window)
    assert [d.day for d in days] == [TODAY - timedelta(days=29 - i) for i in range(30)]
    got = {d.day: (d.mentions, d.negatives) for d in days if d.mentions}
    assert got == written.per_day
    # Still new: the one never answered five days ago and today's six.
    assert {d.day: d.unanswered for d in days if d.unanswered} == {
        TODAY - timedelta(days=5): 1,
        TODAY: 6,
    }


def test_the_brand_figures(month: tuple[Store, Month]) -> None:
    store, written = month
    figures = brand_figures(store, BRAND, NOW)
    assert [r.id for r in figures.top] == [
        r.id for r in top_negatives(store, BRAND, figures.window.start)
    ]
    assert figures.top[0].id == written.ids["open5"]
    assert (figures.mentions, figures.negatives, figures.unanswered) == (14, 9, 7)
    assert figures.share_negative == pytest.approx(9 / 14)
    assert figures.spikes == {TODAY}
    assert [(s.source, s.mentions, s.negatives) for s in figures.sources] == [
        ("hackernews", 10, 9),
        ("reddit", 4, 0),
    ]
    # Alert -> answer: 60 and 180 minutes; posted -> alert: 10, 30 and 60 minutes.
    r = figures.response
    assert r.median(r.alert_to_ack) == 120 * 60
    assert r.median(r.post_to_alert) == 30 * 60
    assert (r.negatives, r.alerted, r.unanswered) == (9, 3, 7)
    other = brand_figures(store, OTHER, NOW)
    assert (other.mentions, other.negatives, other.spikes) == (2, 1, set())


def test_response_times_are_the_stats_command_s(month: tuple[Store, Month]) -> None:
    store, _ = month
    since = NOW - timedelta(days=30)
    expected = response_stats(store, since)
    for brand in (BRAND, OTHER):
        mine = response_times(store, brand, since)
        theirs = expected[brand]
        assert sorted(mine.alert_to_ack) == sorted(theirs.alert_to_ack)
        assert sorted(mine.post_to_alert) == sorted(theirs.post_to_alert)
        assert (mine.negatives, mine.alerted, mine.unanswered, mine.by_status) == (
            theirs.negatives,
            theirs.alerted,
            theirs.unanswered,
            theirs.by_status,
        )


def test_days_follow_a_time_zone(month: tuple[Store, Month]) -> None:
    store, _ = month
    # 29 days ago at 00:00 UTC is the evening before in New York: out of its window.
    window = Window.last_days(NOW, tz=ZoneInfo("America/New_York"))
    days = daily_counts(store, BRAND, window)
    assert sum(d.mentions for d in days) == 13
    assert window.days[-1] == TODAY


def test_spikes_of_another_brand_are_not_shown(month: tuple[Store, Month]) -> None:
    store, _ = month
    window = Window.last_days(NOW)
    assert spike_days(store, BRAND, window) == {TODAY}
    assert spike_days(store, OTHER, window) == set()
    assert spike_days(store, "Acme", window) == set()


def test_top_negatives_put_the_serious_and_busy_first(month: tuple[Store, Month]) -> None:
    store, written = month
    top = top_negatives(store, BRAND, NOW - timedelta(days=30), limit=3)
    assert top[0].id == written.ids["open5"]  # high severity
    assert len(top) == 3 and all(r.negative and r.brand == BRAND for r in top)


def test_escalations_in_order(month: tuple[Store, Month]) -> None:
    store, written = month
    found = escalations(store, written.ids["open5"])
    assert [level for level, _ in found] == ["spreading", "viral"]
    assert found[0][1] < found[1][1]
    assert escalations(store, written.ids["spike-0"]) == []


def test_has_mentions(month: tuple[Store, Month]) -> None:
    store, _ = month
    assert has_mentions(store, OTHER)
    assert not has_mentions(store, "Nobody")


def test_no_brand_figure_reads_a_whole_history_table(month: tuple[Store, Month]) -> None:
    """Every statement of a brand page and a mention's chart reads an index range (the
    window of posting times, a mention's alerts): never all mentions or all alerts."""
    store, written = month
    with capture(store.engine) as seen:
        figures = brand_figures(store, BRAND, NOW)
        top_negatives(store, BRAND, figures.window.start)
        escalations(store, written.ids["open5"])
        has_mentions(store, BRAND)
    statements = [c for c in seen if c.statement.lstrip().upper().startswith("SELECT")]
    assert len(statements) >= 7
    if store.engine.dialect.name == "postgresql":
        for c in statements:
            lines = explain(store.engine, c.statement, c.parameters, page=False)
            assert not any(POSTGRES_FULL.search(line) for line in lines), (c.statement, lines)
        return
    for c in statements:
        lines = plan(store.engine, c.statement, c.parameters)
        assert not any(FULL_SCAN.search(line) for line in lines), (c.statement, lines)
        if (
            "FROM mentions" in c.statement
            and "LIMIT" not in c.statement
            and "IN (" not in c.statement
        ):
            # The brand's window (or the window's negatives): bounded by posting time.
            assert any("created_at>" in line for line in lines), (c.statement, lines)
