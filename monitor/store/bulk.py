"""Many rows into one table at once, for ``Store.ingest``.

``session.execute(insert(table), rows)`` builds SQLAlchemy's parameters row by row
(``construct_params``, its dictionaries of processed values), which cost a poll of
500 mentions more than SQLite's own work. ``BulkInsert`` compiles the same INSERT once
per table and set of columns, converts each value with the same bind processor
SQLAlchemy would use for its column type (JSON as monitor/store/jsontext.py writes it,
UTC datetimes, booleans, for the database at hand), fills a column left out with its
scalar default as SQLAlchemy would, and hands the rows to the driver's ``executemany``
in the session's transaction. Where that plan cannot be made (a default that is not a
constant, parameters not named after their columns), or the rows do not all have the
same columns, it is ``session.execute(insert(table), rows)`` as before.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from monitor.store import jsontext
from monitor.store.tables import UTCDateTime


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    #: The statement's parameters in its order.
    names: tuple[str, ...]
    #: A column left out: its place among the parameters and its converted default.
    constants: tuple[tuple[int, Any], ...]
    #: The places of the values to convert, each with its column type's bind processor.
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]


class BulkInsert:
    """INSERTs of many rows, planned once per table and columns (module docstring)."""

    def __init__(self) -> None:
        #: Per database kind (a dialect, as each engine has its own), per table and columns.
        self._plans: weakref.WeakKeyDictionary[
            Dialect, dict[tuple[str, tuple[str, ...]], _Plan | None]
        ] = weakref.WeakKeyDictionary()

    def __call__(
        self,
        s: Session,
        table: Table,
        rows: Sequence[dict[str, Any]] | Sequence[Sequence[Any]],
        columns: tuple[str, ...] | None = None,
    ) -> None:
        """Insert ``rows``: dictionaries by column name, or with ``columns``, sequences of
        those columns' values in that order (no dictionary built for each row)."""
        if not rows:
            return
        conn = s.connection()
        plans = self._plans.setdefault(conn.dialect, {})
        if columns is None:
            dicts = cast(Sequence[dict[str, Any]], rows)
            first = dicts[0].keys()
            if any(row.keys() != first for row in dicts):
                s.execute(insert(table), list(dicts))
                return
            keys = tuple(first)
            rows = [tuple(row[key] for key in keys) for row in dicts]
        else:
            keys = columns
        if (table.name, keys) not in plans:
            plans[(table.name, keys)] = _plan(table, keys, conn.dialect)
        plan = plans[(table.name, keys)]
        if plan is None:
            s.execute(insert(table), [dict(zip(keys, r, strict=True)) for r in rows])
            return
        # Column by column: each column's values converted in one pass, then the rows.
        by_name = dict(zip(keys, zip(*rows, strict=True), strict=True))
        constants = dict(plan.constants)
        values: list[Sequence[Any]] = [
            [constants[at]] * len(rows) if at in constants else by_name[name]
            for at, name in enumerate(plan.names)
        ]
        for at, process in plan.processors:
            values[at] = _converted(process, values[at])
        params = list(zip(*values, strict=True))
        if plan.positional:
            conn.exec_driver_sql(plan.sql, params)
        else:
            conn.exec_driver_sql(plan.sql, [dict(zip(plan.names, v, strict=True)) for v in params])


def _converted(process: Callable[[Any], Any], column: Sequence[Any]) -> list[Any]:
    """``process`` of each value; a column of one object throughout (the batch's "now", no
    edit times at all) is converted once. The very same object, not an equal one: ``1`` and
    ``True`` are equal and are written differently."""
    first = column[0]
    if all(value is first for value in column):
        return [process(first)] * len(column)
    if isinstance(process, _DirectJson):
        return process.column(column)
    return list(map(process, column))


def _plan(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    if getattr(compiled, "effective_returning", None):
        return None  # nothing to read back here
    binds = compiled.binds
    names = list(compiled.positiontup or ()) if compiled.positional else list(binds)
    if sorted(names) != sorted(binds):
        return None
    constants: list[tuple[int, Any]] = []
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for at, name in enumerate(names):
        column = table.c.get(name)
        if column is None:
            return None  # a parameter not named after its column: leave it to SQLAlchemy
        process: Callable[[Any], Any] | None = (
            binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        )
        if process is not None and isinstance(column.type, JSON):
            process = _direct_json(process)
        elif process is not None and isinstance(column.type, UTCDateTime):
            process = _direct_utc(process)
        if name in keys:
            if process is not None:
                processors.append((at, process))
        elif column.default is not None and column.default.is_scalar:
            value = column.default.arg  # type: ignore[attr-defined]
            constants.append((at, process(value) if process is not None else value))
        else:
            return None
    if set(keys) - set(names) or not keys:
        return None
    return _Plan(
        sql=compiled.string,
        positional=compiled.positional,
        names=tuple(names),
        constants=tuple(constants),
        processors=tuple(processors),
    )


#: The one the store uses (its plans are kept per engine's dialect).
bulk_insert = BulkInsert()


#: Lists and dicts that the JSON column's processor must write as ``jsontext.dumps`` does
#: before ``_direct_json`` passes it by.
_SAMPLES: list[Any] = [[], {}, ["Acme", "caf\u00e9 \U0001f600"], {"likes": 3, "a": [None, True]}]


def _direct_json(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` (a JSON column's bind processor), with a list or dict handed straight
    to ``jsontext.dumps`` when that is all ``process`` does with one (SQLAlchemy's checks
    of each value are for its own null markers)."""
    if any(process(sample) != jsontext.dumps(sample) for sample in _SAMPLES):
        return process  # another serializer (an engine not made by the store): as it is
    return _DirectJson(process)


class _DirectJson:
    """A JSON column's values: lists and dicts written by ``jsontext``, a whole column of
    them in one pass; anything else (None, SQLAlchemy's null markers) by ``process``."""

    def __init__(self, process: Callable[[Any], Any]) -> None:
        self.process = process

    def __call__(self, value: Any) -> Any:
        if type(value) is list or type(value) is dict:
            return jsontext.dumps(value)
        return self.process(value)

    def column(self, values: Sequence[Any]) -> list[Any]:
        if all(type(value) is list or type(value) is dict for value in values):
            return jsontext.dumps_all(values)
        return list(map(self, values))


#: Times that ``_direct_utc`` must write as the column's processor does before it is used.
_TIMES = [
    datetime(2026, 12, 3, tzinfo=UTC),
    datetime(2025, 3, 1, 8, 0, 13, 5, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def _direct_utc(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` (a UTC time column's bind processor), with a datetime already in UTC
    written straight as SQLite's text when that is what ``process`` writes (through the
    column type's two conversions it cost as much as the rest of a mention's row)."""
    if any(_utc_text(sample) != process(sample) for sample in _TIMES):
        return process  # PostgreSQL's own type, or another text format: as it is

    def direct(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            return _utc_text(value)
        return process(value)

    return direct


def _utc_text(value: datetime) -> str:
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")
