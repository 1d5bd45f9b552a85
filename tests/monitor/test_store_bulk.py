"""Store.ingest's bulk INSERT (monitor/store/bulk.py) stores what SQLAlchemy's own insert
stores, value for value, on SQLite and PostgreSQL; its JSON (monitor/store/jsontext.py) reads back
as the json module's did, and what the json module wrote still reads."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert, select

from monitor.store import Base, Store, jsontext
from monitor.store.bulk import BulkInsert, _converted, bulk_insert

NOW = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)
MENTIONS = Base.metadata.tables["mentions"]
ALERTS = Base.metadata.tables["alerts"]


def mention(n: int, prefix: str) -> dict[str, Any]:
    """A row with every kind of value: JSON lists, dicts and nulls, stranger text, times
    in another zone and none, booleans, floats, ints."""
    other_zone = NOW.astimezone(UTC).replace(tzinfo=None).replace(tzinfo=UTC)
    return {
        "source": "x",
        "external_id": f"{prefix}{n}",
        "brand": "Café ☕",
        "matched_terms": ["Acme", "acme \u2019coffee\u2019"][: n % 3],
        "url": f"https://example.org/{n}?a=1&b=<2>",
        "author": "someone \u00e9\U0001f600" if n % 2 else "",
        "author_followers": None if n % 2 else n * 1000,
        "title": None if n % 3 else "a title",
        "text": "quote ' double \" backslash \\ nul-free \n new line " * (n % 4),
        # UTC itself (written the quick way), this machine's zone and a zone east of UTC.
        "created_at": [
            NOW - timedelta(minutes=n, microseconds=n),
            (other_zone - timedelta(minutes=n)).astimezone(),
            (NOW - timedelta(minutes=n)).astimezone(timezone(timedelta(hours=5, minutes=30))),
        ][n % 3],
        "first_seen_at": NOW,
        "engagement": {"likes": n, "reposts": 0} if n % 2 else {},
        "compound": -0.4321 + n / 7,
        "label": "negative",
        "negative": bool(n % 2),
        "severity": "high",
        "reasons": ["vader -0.43", f'complaint: waiting ("still waiting {n}")'],
        "raw": {"nested": {"list": [1, 2.5, None, True]}, "n": n} if n % 2 else None,
        "status": "new",
        "level": 0,
        "next_refresh_at": NOW + timedelta(minutes=5) if n % 2 else None,
        "refresh_step": 0,
        "negative_replies": 0,
        "rating": None if n % 2 else 4,
        "edited_at": None,
        "owner_replied_at": NOW if n == 3 else None,
        "own_page": n == 2,
    }


def alert(mention_id: int, n: int) -> dict[str, Any]:
    # ``possible_repeat`` left out: its default, as SQLAlchemy fills it in.
    return {
        "mention_id": mention_id,
        "channel": f"slack{n}",
        "kind": "mention",
        "dedupe_key": f"x:{n}",
        "severity": "negative",
        "status": "pending",
        "attempts": 0,
        "created_at": NOW,
        "next_attempt_at": NOW,
    }


def _rows(store: Store, table: Any, prefix_column: str, prefix: str) -> list[dict[str, Any]]:
    with store.session() as s:
        rows = s.execute(select(table).where(table.c[prefix_column].like(f"{prefix}%")))
        return [
            {k: v for k, v in row._mapping.items() if k not in ("id", "mention_id", prefix_column)}
            for row in rows
        ]


def test_bulk_rows_are_the_rows_sqlalchemy_writes(db_url: str) -> None:
    store = Store(db_url)
    bulk = BulkInsert()
    try:
        for prefix, write in (
            ("plain-", lambda s, table, rows: s.execute(insert(table), rows)),
            ("bulk-", bulk),
            # Rows as tuples of named columns, as Store.ingest gives its mentions.
            (
                "tuples-",
                lambda s, table, rows: bulk(
                    s, table, [tuple(r.values()) for r in rows], tuple(rows[0])
                ),
            ),
        ):
            with store.session() as s:
                write(s, MENTIONS, [mention(n, prefix) for n in range(6)])
                write(s, ALERTS, [alert(1, n) | {"dedupe_key": f"{prefix}{n}"} for n in range(3)])
        plain = _rows(store, MENTIONS, "external_id", "plain-")
        assert len(plain) == 6 and plain == _rows(store, MENTIONS, "external_id", "bulk-")
        assert plain == _rows(store, MENTIONS, "external_id", "tuples-")
        alerts = _rows(store, ALERTS, "dedupe_key", "plain-")
        assert len(alerts) == 3 and alerts == _rows(store, ALERTS, "dedupe_key", "bulk-")
        assert alerts == _rows(store, ALERTS, "dedupe_key", "tuples-")
        assert all(a["possible_repeat"] is False for a in alerts)
        # Stored alike, read alike: the raw text in the database is the same too.
        with store.engine.connect() as conn:
            raw = [
                tuple(r)[1:]
                for r in conn.exec_driver_sql(
                    "SELECT external_id, matched_terms, engagement, reasons, raw, created_at,"
                    " first_seen_at, negative FROM mentions ORDER BY id"
                )
            ]
        assert raw[:6] == raw[6:12] == raw[12:]
    finally:
        store.close()


def _random_values(seed: int, count: int) -> list[Any]:
    rng = random.Random(seed)
    strings = ["", "a", "caf\u00e9", "\U0001f600", 'q"uote', "back\\slash", "\n\t\x00", "\u2028"]

    def value(depth: int) -> Any:
        kind = rng.choice(["str", "int", "bool", "none", "float", "list", "dict"][: 7 - depth])
        if kind == "list":
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        if kind == "dict":
            return {
                rng.choice(strings) + str(i): value(depth + 1) for i in range(rng.randint(0, 4))
            }
        return {
            "str": lambda: rng.choice(strings),
            "int": lambda: rng.randint(-(2**63), 2**63 - 1),
            "bool": lambda: rng.random() < 0.5,
            "none": lambda: None,
            "float": lambda: rng.choice([0.1, -2.5, 1e300, 5e-324]),
        }[kind]()

    return [value(0) for _ in range(count)]


def test_json_reads_back_as_what_the_json_module_writes() -> None:
    values = _random_values(5, 2000)
    for given in values:
        assert json.loads(jsontext.dumps(given)) == json.loads(json.dumps(given)), given
    # What orjson refuses is the json module's to write and read, as before.
    odd = [{"text": "half a pair \ud83d"}, {"big": 10**30}, {3: "numeric key"}, [-(10**25)]]
    for given in odd:
        assert json.loads(jsontext.dumps(given)) == json.loads(json.dumps(given))
    assert jsontext.dumps({3: "x"}) == '{"3":"x"}'  # not a TypeError, as json.dumps
    # A float that is no number is written as null: json.dumps's NaN is not JSON. So it
    # is when the json module writes the rest.
    assert jsontext.dumps({"x": float("nan"), "y": float("inf")}) == '{"x":null,"y":null}'
    assert json.loads(jsontext.dumps([2**70, {"x": [float("-inf")]}])) == [2**70, {"x": [None]}]


def test_a_column_of_json_is_written_as_each_value_alone() -> None:
    values = _random_values(7, 500)
    odd = [{"text": "half a pair \ud83d"}, {"big": 10**30}, {"x": float("nan")}]
    assert jsontext.dumps_all(values) == [jsontext.dumps(v) for v in values]
    mixed = values[:50] + odd + values[50:100]
    assert jsontext.dumps_all(iter(mixed)) == [jsontext.dumps(v) for v in mixed]


def test_odd_json_is_stored_and_read_back(db_url: str) -> None:
    """A raw record with a 100-bit integer (orjson refuses it), a NaN and a numeric key is
    stored on both databases (PostgreSQL's json type refuses json.dumps's NaN) and reads
    back."""
    store = Store(db_url)
    try:
        row = mention(1, "odd-") | {
            "raw": {"big": 2**100, "ratio": float("nan"), 7: "seven", "list": [float("inf")]}
        }
        # Alone, and among ordinary rows (a column that orjson writes but for one value).
        with store.session() as s:
            bulk_insert(s, MENTIONS, [row])
        with store.session() as s:
            bulk_insert(s, MENTIONS, [mention(3, "odd-"), row | {"external_id": "x"}])
        with store.session() as s:
            raws = s.execute(select(MENTIONS.c.raw).order_by(MENTIONS.c.id)).scalars().all()
        odd = {"big": 2**100, "ratio": None, "7": "seven", "list": [None]}
        assert raws == [odd, mention(3, "odd-")["raw"], odd]
    finally:
        store.close()


def test_json_an_older_version_wrote_still_reads(tmp_path: Any) -> None:
    """json.dumps wrote NaN and spaces after separators; those rows still read."""
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        with store.session() as s:
            bulk_insert(s, MENTIONS, [mention(1, "old-")])
        with store.engine.begin() as conn:
            conn.exec_driver_sql("""UPDATE mentions SET raw = '{"n": NaN, "list": [1, 2]}'""")
        with store.session() as s:
            raw = s.execute(select(MENTIONS.c.raw)).scalar_one()
        assert raw["list"] == [1, 2] and raw["n"] != raw["n"]  # NaN, as json.loads reads it
    finally:
        store.close()


def test_a_column_is_converted_once_only_when_it_is_one_object() -> None:
    now = datetime(2026, 12, 3, tzinfo=UTC)
    calls: list[Any] = []

    def process(value: Any) -> str:
        calls.append(value)
        return jsontext.dumps(value)

    assert _converted(process, [now] * 4) == [jsontext.dumps(now)] * 4 and len(calls) == 1
    # Equal, not the same: 1 == True and 1 == 1.0, but each is written as it is.
    assert _converted(process, [[1], [True], [1.0]]) == ["[1]", "[true]", "[1.0]"]
