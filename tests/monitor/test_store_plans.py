"""The store stays flat as it grows, on both databases: a page of mentions (``mentions
--limit 50``, the inbox), a poll's dedupe and the outbox claim each read an index range,
never the whole table (issue 15).

Every statement the store really sends is captured and explained by the database itself:
SQLite's EXPLAIN QUERY PLAN (which has no statistics in a real database, so the plan here
is its plan at a million rows), and PostgreSQL's EXPLAIN with sequential scans priced out
(``enable_seqscan = off``: a table with no usable index is still scanned whole, and says
so), so that the few rows here do not make a full scan the cheaper plan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from monitor.models import Mention, Score
from monitor.store import NewMention, Store
from monitor.store.listing import MentionFilter, list_mentions

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SCORE = Score(-0.6, "negative", True, ("vader -0.60",))
TABLES = "mentions|alerts"
#: SQLite: a SCAN reads every row (even "USING INDEX": the whole index), a SEARCH naming no
#: index builds an automatic one from every row.
SQLITE_FULL = re.compile(rf"\bSCAN (TABLE )?({TABLES})\b|\bSEARCH (TABLE )?({TABLES})\s*$")
#: ... but a page walks an index in its order and stops at its LIMIT: SQLite says SCAN.
SQLITE_PAGE = re.compile(rf"\bSCAN (TABLE )?({TABLES}) USING (COVERING )?INDEX\b")
#: PostgreSQL: a sequential scan reads every row.
POSTGRES_FULL = re.compile(rf"Seq Scan on ({TABLES})\b")
#: A page must also come in the index's order: a sort is a sort of every row that fits
#: (an incremental sort only orders the ties of the index's leading columns).
SQLITE_SORT = re.compile(r"TEMP B-TREE FOR ORDER BY")
POSTGRES_SORT = re.compile(r"^[\s>-]*Sort  \(")


def item(n: int, *, negative: bool) -> NewMention:
    mention = Mention(
        source="hackernews",
        external_id=str(n),
        url=f"https://news.ycombinator.com/item?id={n}",
        author="someone",
        text=f"Acme coffee was {'cold' if negative else 'lovely'} #{n}",
        created_at=NOW - timedelta(minutes=n),
        engagement={"score": n},
    )
    return NewMention(
        mention, "Acme", ("Acme",), SCORE, "negative", ("console",) if negative else ()
    )


def fill(store: Store, n: int = 200) -> None:
    store.ingest(
        "hackernews", "*", [item(i, negative=i % 4 == 0) for i in range(1, n + 1)], None, now=NOW
    )


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, params: Any, ctx: Any, many: bool) -> None:
        seen.append((statement, params[0] if many and params else params))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def explain(engine: Engine, statement: str, params: Any, *, page: bool) -> list[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
            return [str(row[-1]) for row in rows]
        conn.exec_driver_sql("SET enable_seqscan = off")
        if page:  # an index that gives the order is taken when there is one
            conn.exec_driver_sql("SET enable_sort = off")
        rows = conn.exec_driver_sql(f"EXPLAIN {statement}", params).all()
        conn.rollback()
        return [str(row[0]) for row in rows]


def plans(
    store: Store, run: Callable[[], object], *, page: bool = False
) -> list[tuple[str, list[str]]]:
    """The plan of each SELECT, UPDATE or DELETE that ``run`` sends."""
    with captured(store.engine) as seen:
        run()
    return [
        (statement, explain(store.engine, statement, params, page=page))
        for statement, params in seen
        if re.match(r"\s*(SELECT|UPDATE|DELETE)\b", statement)
    ]


def full_reads(
    store: Store, run: Callable[[], object], *, page: bool = False
) -> list[tuple[str, list[str]]]:
    """The statements of ``run`` that read a whole table (with ``page``: or sort what they
    read, where a page must come in an index's order)."""
    found = plans(store, run, page=page)
    assert found, "nothing was sent"
    sqlite = store.engine.dialect.name == "sqlite"
    patterns = [SQLITE_FULL if sqlite else POSTGRES_FULL]
    if page:
        patterns.append(SQLITE_SORT if sqlite else POSTGRES_SORT)

    def reads_all(line: str) -> bool:
        if page and sqlite and SQLITE_PAGE.search(line):
            return False
        return any(r.search(line) for r in patterns)

    return [(s, p) for s, p in found if any(reads_all(line) for line in p)]


def test_a_page_of_mentions_newest_first_reads_an_index(store: Store) -> None:
    """``mention-monitor mentions --limit 50`` (and its filters): the newest 50 by posting
    time, read from the newest end of an index, not by sorting every mention."""
    fill(store)
    assert full_reads(store, lambda: store.mentions(limit=50), page=True) == []
    assert full_reads(store, lambda: store.mentions(negative=True, limit=50), page=True) == []
    since = NOW - timedelta(hours=1)
    assert full_reads(store, lambda: store.mentions(since=since, limit=50), page=True) == []
    for status in ("new", "resolved"):  # nearly every mention, and a few

        def page(status: str = status) -> object:
            return store.mentions(status=status, limit=50)

        assert full_reads(store, page, page=True) == []
    # what still needs an answer (the command's own example)
    assert (
        full_reads(store, lambda: store.mentions(negative=True, status="new", limit=50), page=True)
        == []
    )
    assert full_reads(store, lambda: store.mentions(brand="acme", limit=50), page=True) == []


def test_a_page_of_the_inbox_reads_an_index(store: Store) -> None:
    fill(store)
    first = list_mentions(store, MentionFilter(), order="newest", limit=50)
    assert (
        full_reads(
            store,
            lambda: list_mentions(
                store, MentionFilter(), order="newest", limit=50, cursor=first.next_cursor
            ),
            page=True,
        )
        == []
    )


def test_a_polls_dedupe_reads_the_unique_index(store: Store) -> None:
    fill(store)
    ids = [str(i) for i in range(150, 260)]
    assert full_reads(store, lambda: store.known_ids("hackernews", ids)) == []
    # ingest: the new ids are read back by the same key
    fresh = [item(i, negative=True) for i in range(300, 310)]
    assert full_reads(store, lambda: store.ingest("hackernews", "*", fresh, "c", now=NOW)) == []


def test_the_outbox_claim_reads_the_due_rows_only(store: Store) -> None:
    fill(store)
    due = store.due_alerts(NOW)  # the due rows (found by the index), then ordered by id
    assert len(due) == 50
    assert full_reads(store, lambda: store.due_alerts(NOW)) == []
    assert full_reads(store, lambda: store.claim_many([d.id for d in due[:10]], NOW)) == []
    assert full_reads(store, lambda: store.mark_sent([d.id for d in due[:10]], NOW)) == []


def test_tracking_and_verdicts_read_their_partial_indexes(store: Store) -> None:
    """ix_mentions_next_refresh and ix_mentions_verdict_at hold only the rows that are set
    (migration 0013); the ranges read imply that, so both databases still read them."""
    fill(store)

    def named(run: Callable[[], object], index: str) -> None:
        found = plans(store, run)
        assert [s for s, p in found if any(index in line for line in p)], found
        assert full_reads(store, run) == []

    named(lambda: store.tracked_due(NOW), "ix_mentions_next_refresh")
    named(lambda: store.verdict_texts(), "ix_mentions_verdict_at")
    assert full_reads(store, lambda: store.stop_tracking(NOW - timedelta(days=2))) == []
