from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.orm import Session

from monitor.errors import StorageError
from monitor.migrations import current, head, upgrade
from monitor.models import Mention, Score
from monitor.store import Base, NewMention, Store, base
from monitor.store.bulk import bulk_insert

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def item(
    n: int, channels: tuple[str, ...] = ("console",), source: str = "hackernews"
) -> NewMention:
    mention = Mention(
        source=source,
        external_id=str(n),
        url=f"https://news.ycombinator.com/item?id={n}",
        author="someone",
        text=f"Acme coffee was cold #{n}",
        created_at=NOW - timedelta(minutes=n),
        engagement={"score": n},
        raw={"objectID": str(n)},
    )
    score = Score(-0.4, "negative", True, ("vader -0.40",))
    return NewMention(mention, "Acme", ("Acme",), score, "negative", channels)


def test_migrations_build_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert current(store.engine) == head()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000
    store.close()


def test_an_existing_database_survives_reopening_and_upgrade(db_url: str) -> None:
    url = db_url
    first = Store(url)
    first.ingest("hackernews", "Acme", [item(1)], '{"created_at_i": 5}', now=NOW)
    first.close()
    again = Store(url)
    upgrade(again.engine)  # already at head: a no-op that must not lose data
    assert [m.external_id for m in again.mentions()] == ["1"]
    assert again.get_cursor("hackernews", "Acme") == '{"created_at_i": 5}'
    again.close()


def test_a_database_from_the_first_release_upgrades_with_its_data(db_url: str) -> None:
    from sqlalchemy import create_engine

    url = db_url
    engine = create_engine(url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO mentions (source, external_id, brand, matched_terms, url, author, "
                "text, created_at, first_seen_at, engagement, compound, label, negative, "
                "severity, reasons, raw) VALUES ('hackernews', '1', 'Acme', '[]', 'u', 'a', "
                "'old text', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '{}', -0.5, "
                "'negative', TRUE, 'negative', '[]', '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO alerts (mention_id, channel, kind, dedupe_key, severity, status, "
                "attempts, created_at, next_attempt_at) VALUES (1, 'console', 'mention', "
                "'hackernews:1', 'negative', 'pending', 0, '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00')"
            )
        )
    engine.dispose()
    store = Store(url)  # upgrades to the newest schema at start
    assert current(store.engine) == head()
    assert [m.text for m in store.mentions()] == ["old text"]
    (due,) = store.due_alerts(NOW)
    (alert,) = store.claim_many([due.id], NOW)
    assert alert.text == "old text"
    store.close()


def test_every_migration_goes_down_and_up_again(db_url: str) -> None:
    """Each migration's downgrade undoes its upgrade, on both databases (a downgrade is the
    way back to an older release: docs/upgrading.md)."""
    from alembic import command
    from sqlalchemy import create_engine

    from monitor.migrations import alembic_config

    engine = create_engine(db_url)
    try:
        upgrade(engine)
        command.downgrade(alembic_config(engine), "base")
        assert current(engine) is None
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert current(engine) == head()
    finally:
        engine.dispose()


def test_notices_are_queued_once_per_channel_and_key(store: Store) -> None:
    payload = {"title": "x: budget 80% used", "text": "8000 of 10000 posts read", "source": "x"}
    assert (
        store.queue_notice("health", "budget:x:2026-11:80", payload, "negative", ["a", "b"], NOW)
        == 2
    )
    assert (
        store.queue_notice("health", "budget:x:2026-11:80", payload, "negative", ["a", "b"], NOW)
        == 0
    )
    alerts = store.claim_many([d.id for d in store.due_alerts(NOW)], NOW)
    assert [(a.kind, a.title, a.source, a.mention_id) for a in alerts] == [
        ("health", "x: budget 80% used", "x", None)
    ] * 2


def test_source_state_survives_reopening(db_url: str) -> None:
    from monitor.store import StoreState

    url = db_url
    first = Store(url)
    StoreState(first, "x").set("reads:2026-11", "42")
    first.close()
    again = Store(url)
    assert StoreState(again, "x").get("reads:2026-11") == "42"
    assert StoreState(again, "reddit").get("reads:2026-11") is None
    again.close()


def test_ingest_writes_mentions_outbox_and_cursor_together(store: Store) -> None:
    written = store.ingest(
        "hackernews", "Acme", [item(1), item(2, ("console", "slack"))], "c1", now=NOW
    )
    assert [i.mention.external_id for _, i in written] == ["1", "2"]
    assert store.get_cursor("hackernews", "Acme") == "c1"
    assert store.alert_counts() == {("console", "pending"): 2, ("slack", "pending"): 1}
    row = store.mentions(limit=1)[0]
    assert row.created_at.tzinfo is not None and row.first_seen_at == NOW


def test_ingest_skips_what_is_already_stored(store: Store) -> None:
    store.ingest("hackernews", "Acme", [item(1)], "c1", now=NOW)
    written = store.ingest("hackernews", "Acme", [item(1), item(1), item(3)], "c2", now=NOW)
    assert [i.mention.external_id for _, i in written] == ["3"]
    assert len(store.mentions()) == 2
    assert store.alert_counts() == {("console", "pending"): 2}
    # The same id from another source is another mention.
    assert len(store.ingest("reddit", "Acme", [item(1, source="reddit")], None, now=NOW)) == 1


def _stored_ids(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return dict(conn.execute(text("SELECT external_id, id FROM mentions")).all())


def _check_new_ids(store: Store) -> None:
    batch = [item(n) for n in (9, 3, 12, 4, 4, 30)]
    written = store.ingest("hackernews", "Acme", batch, None, now=NOW)
    assert [i.mention.external_id for _, i in written] == ["9", "3", "12", "4", "30"]
    stored = _stored_ids(store)
    assert {i.mention.external_id: mention_id for mention_id, i in written} == {
        k: v for k, v in stored.items() if k != "1"
    }
    assert len(set(stored.values())) == 6


def test_ingest_gives_each_new_mention_its_own_stored_id(store: Store) -> None:
    store.ingest("hackernews", "Acme", [item(1)], None, now=NOW)
    _check_new_ids(store)


def test_new_ids_are_right_when_sqlite_numbers_rows_at_random(sqlite_store: Store) -> None:
    """A table holding SQLite's largest id gets new rows numbered at random, not in
    order: the ids handed back are still the rows' own (looked up)."""
    sqlite_store.ingest("hackernews", "Acme", [item(1, ())], None, now=NOW)  # no outbox row
    with sqlite_store.engine.begin() as conn:
        conn.execute(text("UPDATE mentions SET id = :id"), {"id": 2**63 - 1})
    _check_new_ids(sqlite_store)


def test_storing_a_poll_lends_its_connection_a_wider_cache(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wide while a poll's mentions are written (SQLite wrote pages to its log before the
    commit when they did not fit), the usual size again once the connection is back."""
    seen: list[int] = []

    def watching(s: Session, *args: Any, **kwargs: Any) -> None:
        seen.append(s.connection().exec_driver_sql("PRAGMA cache_size").scalar_one())
        bulk_insert(s, *args, **kwargs)

    monkeypatch.setattr(base, "bulk_insert", watching)
    sqlite_store.ingest("hackernews", "Acme", [item(1), item(2)], None, now=NOW)
    assert seen and set(seen) == {-base.SQLITE_WRITE_CACHE_KIB}
    # Every pooled connection has the usual cache again (all checked out at once).
    with ExitStack() as stack:
        conns = [stack.enter_context(sqlite_store.engine.connect()) for _ in range(4)]
        sizes = {c.exec_driver_sql("PRAGMA cache_size").scalar_one() for c in conns}
    assert sizes == {-base.SQLITE_CACHE_KIB}


def test_a_strangers_overlong_name_is_cut_to_fit_not_refused(store: Store) -> None:
    """PostgreSQL refuses a value longer than its column (SQLite keeps it): a feed whose
    author field is a paragraph must not fail every poll of that source."""
    long = item(7)
    long.mention.author = "A" * 2000
    assert len(store.ingest("hackernews", "Acme", [long], None, now=NOW)) == 1
    (row,) = store.mentions()
    assert row.author == "A" * 299 + "…"
    assert row.text == "Acme coffee was cold #7"


def test_a_failed_ingest_keeps_nothing_not_even_the_cursor(store: Store) -> None:
    store.ingest("hackernews", "Acme", [], "old", now=NOW)
    broken = item(5, ("console", "console"))  # the outbox's unique key refuses the second row
    with pytest.raises(StorageError):
        store.ingest("hackernews", "Acme", [item(4), broken], "new", now=NOW)
    assert store.mentions() == []
    assert store.alert_counts() == {}
    assert store.get_cursor("hackernews", "Acme") == "old"


def test_claim_is_taken_once(store: Store) -> None:
    store.ingest("hackernews", "Acme", [item(1)], None, now=NOW)
    (due,) = store.due_alerts(NOW)
    assert (due.channel, due.severity, due.queued_at, due.attempts) == (
        "console",
        "negative",
        NOW,
        0,
    )
    (alert,) = store.claim_many([due.id], NOW)
    assert alert.text == "Acme coffee was cold #1" and alert.brand == "Acme"
    assert alert.queued_at == NOW
    assert store.claim_many([due.id], NOW) == []
    assert store.due_alerts(NOW) == []


def test_stale_claims_are_released(store: Store) -> None:
    store.ingest("hackernews", "Acme", [item(1)], None, now=NOW)
    (due,) = store.due_alerts(NOW)
    store.claim_many([due.id], NOW)
    assert store.release_stale_claims(NOW - timedelta(minutes=10)) == 0
    assert store.release_stale_claims(NOW + timedelta(minutes=11)) == 1
    assert [d.id for d in store.due_alerts(NOW)] == [due.id]


def test_health_records_failures_and_recovery(store: Store) -> None:
    store.record_failure("hackernews", "boom", NOW, retry_after_until=NOW + timedelta(minutes=2))
    store.record_failure("hackernews", "boom again", NOW)
    row = store.health()["hackernews"]
    assert (row.consecutive_failures, row.last_error, row.retry_after_until) == (
        2,
        "boom again",
        None,
    )
    store.record_success("hackernews", 3, NOW)
    row = store.health()["hackernews"]
    assert (row.consecutive_failures, row.last_count, row.total_count) == (0, 3, 3)
    assert row.last_success_at == NOW


def test_unopenable_database_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StorageError, match="cannot open the database"):
        Store(f"sqlite:///{tmp_path / 'dir.db'}")


def test_a_postgresql_url_without_a_driver_opens_with_psycopg(pg_url: str) -> None:
    """``postgresql://...`` as an owner writes it: SQLAlchemy alone would look for psycopg2,
    which the postgres extra does not install."""
    store = Store(pg_url.replace("postgresql+psycopg://", "postgresql://", 1))
    try:
        assert store.engine.dialect.driver == "psycopg"
        assert store.revision() == head()
    finally:
        store.close()


def test_passwords_are_hidden_in_errors() -> None:
    with pytest.raises(StorageError) as info:
        Store("postgresql+nosuchdriver://owner:hunter2@localhost/db")
    assert "hunter2" not in str(info.value)


def test_in_lists_of_any_length_make_few_distinct_statements(store: Store) -> None:
    """Each distinct SQL text is prepared and cached by every pooled SQLite connection:
    IN lists padded to powers of two keep the texts to a handful, whatever the lengths."""
    from sqlalchemy import event

    store.ingest("hackernews", "Acme", [item(n) for n in range(1, 121)], None, now=NOW)
    texts: set[str] = set()

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        texts.add(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    for n in range(1, 121):
        assert store.known_ids("hackernews", [str(i) for i in range(1, n + 1)]) == {
            str(i) for i in range(1, n + 1)
        }
    event.remove(store.engine, "before_cursor_execute", seen)
    in_lists = [t for t in texts if "IN (" in t]
    assert len(in_lists) <= 8, f"{len(in_lists)} distinct statements for 120 list lengths"
