"""The inbox's listing: filters, both orders and keyset pages, on a real SQLite store."""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update

from monitor.models import Mention, Score, Severity
from monitor.store import MentionRow, NewMention, Store
from monitor.store.listing import (
    NEWEST,
    URGENT,
    CursorError,
    ListingError,
    MentionFilter,
    count_mentions,
    list_mentions,
    parse_since,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
NEG = Score(-0.4, "negative", True, ("vader -0.40",))
POS = Score(0.5, "positive", False, ("vader 0.50",))
_ids = itertools.count(1)


def new(
    text: str = "Acme coffee was fine",
    *,
    source: str = "hackernews",
    brand: str = "Acme",
    severity: Severity = "info",
    author: str = "someone",
    title: str | None = None,
) -> NewMention:
    n = next(_ids)
    mention = Mention(
        source=source,
        external_id=f"x{n}",
        url=f"https://example.test/{n}",
        author=author,
        text=text,
        title=title,
        created_at=NOW - timedelta(days=30),
    )
    score = NEG if severity != "info" else POS
    return NewMention(mention, brand, (brand,), score, severity, ())


def put(store: Store, items: list[NewMention], seen: datetime) -> list[int]:
    """Store ``items`` first seen at ``seen`` (one batch: equal timestamps); their ids."""
    by_source: dict[str, list[NewMention]] = {}
    for i in items:
        by_source.setdefault(i.mention.source, []).append(i)
    ids: list[int] = []
    for source, batch in by_source.items():
        ids += [i for i, _ in store.ingest(source, batch[0].brand, batch, None, now=seen)]
    return ids


def set_level(store: Store, mention_id: int, level: int) -> None:
    with store.session() as s:
        s.execute(update(MentionRow).where(MentionRow.id == mention_id).values(level=level))


def walk(store: Store, flt: MentionFilter, order: str, limit: int) -> Iterator[list[int]]:
    cursor: str | None = None
    while True:
        page = list_mentions(store, flt, order=order, limit=limit, cursor=cursor)
        yield [r.id for r in page.rows]
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


EVERYTHING = MentionFilter()


def ids(store: Store, flt: MentionFilter = EVERYTHING, order: str = NEWEST) -> list[int]:
    return [r.id for r in list_mentions(store, flt, order=order, limit=1000).rows]


@pytest.fixture
def mixed(store: Store) -> dict[str, int]:
    named: dict[str, int] = {}
    items = {
        "acme_hn_neg": new("Acme burnt my beans", severity="negative"),
        "acme_reddit": new("acme is ok", source="reddit"),
        "bolt_hn_high": new("Bolt never refunded me", brand="Bolt", severity="high"),
        "bolt_reddit_neg": new("meh bolt", brand="Bolt", source="reddit", severity="negative"),
    }
    for hours, (name, item) in enumerate(items.items()):
        [named[name]] = put(store, [item], NOW - timedelta(hours=10 - hours))
    store.set_status(named["acme_hn_neg"], "acknowledged", None, NOW)
    return named


def test_each_filter_selects_its_mentions(store: Store, mixed: dict[str, int]) -> None:
    m = mixed
    assert ids(store, MentionFilter(brand="Bolt")) == [m["bolt_reddit_neg"], m["bolt_hn_high"]]
    assert ids(store, MentionFilter(source="reddit")) == [m["bolt_reddit_neg"], m["acme_reddit"]]
    assert ids(store, MentionFilter(status="acknowledged")) == [m["acme_hn_neg"]]
    assert ids(store, MentionFilter(negative=False)) == [m["acme_reddit"]]
    assert set(ids(store, MentionFilter(negative=True))) == {
        m["acme_hn_neg"],
        m["bolt_hn_high"],
        m["bolt_reddit_neg"],
    }
    since = NOW - timedelta(hours=8, minutes=30)
    assert ids(store, MentionFilter(since=since)) == [m["bolt_reddit_neg"], m["bolt_hn_high"]]
    until = NOW - timedelta(hours=8)  # until is exclusive: the one seen at 8h ago is out
    assert ids(store, MentionFilter(until=until)) == [m["acme_reddit"], m["acme_hn_neg"]]
    assert ids(store, MentionFilter(text="REFUND")) == [m["bolt_hn_high"]]
    assert len(ids(store)) == 4


def test_filters_combine(store: Store, mixed: dict[str, int]) -> None:
    flt = MentionFilter(brand="Bolt", negative=True, status="new", source="reddit")
    assert ids(store, flt) == [mixed["bolt_reddit_neg"]]
    assert ids(store, MentionFilter(brand="Acme", text="bolt")) == []
    assert count_mentions(store, MentionFilter(negative=True, status="new")) == 2
    assert count_mentions(store, MentionFilter(), cap=3) == 3


def test_text_search_is_case_insensitive_over_title_text_and_author(store: Store) -> None:
    a, b, c, _ = put(
        store,
        [
            new("nothing here", title="COLD Brew disaster"),
            new("the cold brew was off"),
            new("fine", author="ColdBrewFan"),
            new("hot chocolate"),
        ],
        NOW,
    )
    assert sorted(ids(store, MentionFilter(text="cold"))) == [a, b, c]
    assert ids(store, MentionFilter(text="Brew Was")) == [b]


def test_like_wildcards_in_a_search_are_taken_literally(store: Store) -> None:
    pct, under, slash, plain = put(
        store,
        [new("50% off today"), new("my_handle said"), new("a\\b path"), new("500 off, myxhandle")],
        NOW,
    )
    assert ids(store, MentionFilter(text="50%")) == [pct]
    assert ids(store, MentionFilter(text="%")) == [pct]
    assert ids(store, MentionFilter(text="my_handle")) == [under]
    assert ids(store, MentionFilter(text="_")) == [under]
    assert ids(store, MentionFilter(text="a\\b")) == [slash]
    assert plain not in ids(store, MentionFilter(text="0%"))


def test_urgent_puts_severity_then_spread_then_the_oldest_first(store: Store) -> None:
    early, late = NOW - timedelta(days=2), NOW - timedelta(days=1)
    [old_neg] = put(store, [new("a", severity="negative")], early)
    [new_high] = put(store, [new("b", severity="high")], late)
    [old_high] = put(store, [new("c", severity="high")], early)
    [viral_neg] = put(store, [new("d", severity="negative")], late)
    [info] = put(store, [new("e")], early)
    [spreading_high] = put(store, [new("f", severity="high")], late)
    set_level(store, viral_neg, 2)
    set_level(store, spreading_high, 1)
    assert ids(store, order=URGENT) == [
        spreading_high,
        old_high,
        new_high,
        viral_neg,
        old_neg,
        info,
    ]


def test_newest_puts_the_last_seen_first(store: Store) -> None:
    [first] = put(store, [new()], NOW - timedelta(hours=2))
    [second] = put(store, [new()], NOW - timedelta(hours=1))
    assert ids(store) == [second, first]


def test_a_severity_the_listing_does_not_know_still_comes_last(store: Store) -> None:
    [odd] = put(store, [new("odd")], NOW - timedelta(days=3))
    [high] = put(store, [new("x", severity="high")], NOW)
    with store.session() as s:
        s.execute(update(MentionRow).where(MentionRow.id == odd).values(severity="weird"))
    assert ids(store, order=URGENT) == [high, odd]


@pytest.mark.parametrize("order", [NEWEST, URGENT])
@pytest.mark.parametrize("limit", [1, 3, 7, 50])
def test_paging_visits_every_row_once_even_with_equal_timestamps(
    tmp_path: Path, order: str, limit: int
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'pages.db'}")
    severities: list[Severity] = ["info", "negative", "high"]
    stored: list[int] = []
    for batch in range(6):  # six batches, each seen at one instant
        items = [new(f"m{batch}-{i}", severity=severities[(batch + i) % 3]) for i in range(5)]
        stored += put(store, items, NOW - timedelta(minutes=batch % 3))
    for n, mention_id in enumerate(stored[::4]):
        set_level(store, mention_id, n % 3)
    for mention_id in stored[1::3]:
        store.set_status(mention_id, "acknowledged", None, NOW)
    pages = list(walk(store, MentionFilter(), order, limit))
    seen = [i for page in pages for i in page]
    assert sorted(seen) == sorted(stored)  # no gap, no duplicate
    assert seen == ids(store, order=order)  # the same order as one big page
    assert all(len(p) == limit for p in pages[:-1])
    store.close()


def test_a_filtered_walk_stays_within_the_filter(store: Store) -> None:
    wanted = put(store, [new("n", severity="negative") for _ in range(9)], NOW)
    put(store, [new("p") for _ in range(9)], NOW)
    flt = MentionFilter(negative=True, status="new")
    for order in (NEWEST, URGENT):
        seen = [i for page in walk(store, flt, order, 2) for i in page]
        assert sorted(seen) == wanted


def test_a_mention_arriving_between_pages_neither_repeats_nor_hides_a_row(store: Store) -> None:
    stored = put(store, [new() for _ in range(6)], NOW - timedelta(hours=1))
    first = list_mentions(store, MentionFilter(), limit=3)
    put(store, [new()], NOW)  # newer: belongs before page one, not on page two
    second = list_mentions(store, MentionFilter(), limit=3, cursor=first.next_cursor)
    assert sorted([r.id for r in first.rows + second.rows]) == stored
    assert second.next_cursor is None


def _tamper(cursor: str) -> str:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    body = raw.replace(b"newest", b"NEWEST", 1).replace(b",", b",9", 1)
    return base64.urlsafe_b64encode(body).decode()


def test_a_tampered_or_foreign_cursor_is_refused_clearly(store: Store) -> None:
    put(store, [new(severity="high") for _ in range(3)], NOW)
    cursor = list_mentions(store, MentionFilter(), limit=1).next_cursor
    urgent = list_mentions(store, MentionFilter(), order=URGENT, limit=1).next_cursor
    assert cursor is not None and urgent is not None
    for bad in (_tamper(cursor), cursor[:-3], "not a cursor", "!!!", "", "e30", cursor + "AA"):
        with pytest.raises(CursorError, match="start again from the first page"):
            list_mentions(store, MentionFilter(), cursor=bad or "x")
    with pytest.raises(CursorError, match="made for the 'urgent' order"):
        list_mentions(store, MentionFilter(), order=NEWEST, cursor=urgent)
    assert issubclass(CursorError, ValueError)


def test_bad_filters_and_limits_say_what_is_wrong(store: Store) -> None:
    with pytest.raises(ListingError, match="status 'open' is not one of"):
        list_mentions(store, MentionFilter(status="open"))
    with pytest.raises(ListingError, match="limit 0"):
        list_mentions(store, MentionFilter(), limit=0)
    with pytest.raises(ListingError, match="order 'oldest'"):
        list_mentions(store, MentionFilter(), order="oldest")
    with pytest.raises(ListingError, match="UTC-aware"):
        list_mentions(store, MentionFilter(since=datetime(2026, 1, 1)))


def test_since_spans() -> None:
    assert parse_since("24h", NOW) == NOW - timedelta(hours=24)
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert parse_since("1h30m", NOW) == NOW - timedelta(minutes=90)
    assert parse_since("30m", NOW) == NOW - timedelta(minutes=30)
    for bad in ("", "7", "d", "-1d", "1y", "7 days", "0d", "99999999999d"):
        with pytest.raises(ListingError, match="is not a time span"):
            parse_since(bad, NOW)


def test_a_text_search_looks_at_the_newest_mentions_only(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.store.listing as listing

    monkeypatch.setattr(listing, "TEXT_SCAN", 3)
    [old] = put(store, [new("cold coffee")], NOW - timedelta(days=9))
    recent = put(store, [new("cold brew") for _ in range(3)], NOW)
    page = list_mentions(store, MentionFilter(text="cold"))
    assert sorted(r.id for r in page.rows) == recent and old not in [r.id for r in page.rows]
    assert page.searched_newest == 3
    # A time window inside the newest mentions needs no cap.
    page = list_mentions(store, MentionFilter(text="cold", since=NOW))
    assert page.searched_newest is None


def _plans(store: Store, run: Callable[[], object]) -> list[str]:
    statements: list[tuple[str, Any]] = []

    def before(*args: Any) -> None:
        statements.append((args[2], args[3]))

    event.listen(store.engine, "before_cursor_execute", before)
    try:
        run()
    finally:
        event.remove(store.engine, "before_cursor_execute", before)
    lines: list[str] = []
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for statement, params in statements:
            found = raw.cursor().execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
            lines += [str(row[3]) for row in found]
    return lines


WEEK_AGO = NOW - timedelta(days=7)


@pytest.mark.parametrize(
    ("flt", "order"),
    [
        (MentionFilter(negative=True, status="new"), URGENT),
        (MentionFilter(), URGENT),
        (MentionFilter(brand="Acme", negative=True, status="new"), URGENT),
        (MentionFilter(), NEWEST),
        (MentionFilter(brand="Acme"), NEWEST),
        (MentionFilter(source="reddit"), NEWEST),
        (MentionFilter(status="ignored"), NEWEST),
        (MentionFilter(negative=True, since=WEEK_AGO), NEWEST),
        (MentionFilter(negative=False), NEWEST),
        (MentionFilter(negative=True, status="new"), NEWEST),
    ],
)
def test_every_typical_page_is_an_index_range_not_a_sort(
    sqlite_store: Store, flt: MentionFilter, order: str
) -> None:
    """SQLite has no statistics in a real database (nothing runs ANALYZE): the plan it
    picks here is the plan it picks at a million rows (benchmarks/inbox.py times those).
    PostgreSQL's plans are in tests/monitor/test_store_plans.py."""
    store = sqlite_store
    put(store, [new(severity="negative"), new()], NOW)
    first = list_mentions(store, flt, order=order, limit=1)
    lines = _plans(store, lambda: list_mentions(store, flt, order=order, cursor=first.next_cursor))
    assert lines
    for line in lines:
        assert "TEMP B-TREE" not in line, lines
        assert not re.search(r"\bSCAN (TABLE )?mentions\b(?! USING INDEX ix_mentions_first)", line)
