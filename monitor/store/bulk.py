"""Many rows into one table at once, for ``Store.ingest``.

``session.execute(insert(table), rows)`` builds SQLAlchemy's parameters row by row
(``construct_params``, its dictionaries of processed values), which cost a poll of
500 mentions more than SQLite's own work. ``BulkInsert`` compiles the same INSERT once
per table and set of columns, converts each value with the same bind processor
SQLAlchemy would use for its column type (JSON, UTC datetimes, booleans, for the
database at hand), fills a column left out with its scalar default as SQLAlchemy
would, and hands the rows to the driver's ``executemany`` in the session's
transaction. Where that plan cannot be made (a default that is not a constant,
parameters not named after their columns), or the rows do not all have the same
columns, it is ``session.execute(insert(table), rows)`` as before.
"""

from __future__ import annotations

import json
import operator
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    #: The statement's parameters in its order.
    names: tuple[str, ...]
    #: The row's values of the parameters taken from it, in the statement's order.
    take: Callable[[dict[str, Any]], tuple[Any, ...]]
    #: A column left out: its place among the parameters and its converted default.
    constants: tuple[tuple[int, Any], ...]
    #: The places of the values to convert, each with its column type's bind processor.
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]


_NOTHING = object()


class BulkInsert:
    """INSERTs of many rows, planned once per table and columns (module docstring)."""

    def __init__(self) -> None:
        #: Per database kind (a dialect, as each engine has its own), per table and columns.
        self._plans: weakref.WeakKeyDictionary[
            Dialect, dict[tuple[str, tuple[str, ...]], _Plan | None]
        ] = weakref.WeakKeyDictionary()

    def __call__(self, s: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        first = rows[0].keys()
        conn = s.connection()
        plans = self._plans.setdefault(conn.dialect, {})
        key = (table.name, tuple(first))
        if key not in plans:
            plans[key] = _plan(table, key[1], conn.dialect)
        plan = plans[key]
        if plan is None or any(row.keys() != first for row in rows):
            s.execute(insert(table), list(rows))
            return
        values = []
        # A column's value that is the very object of the row before (the batch's "now")
        # is converted once: the same object converts to the same value.
        last: list[tuple[Any, Any]] = [(_NOTHING, None)] * len(plan.processors)
        for row in rows:
            value = list(plan.take(row))
            for at, constant in plan.constants:
                value.insert(at, constant)
            for n, (at, process) in enumerate(plan.processors):
                given = value[at]
                before, converted = last[n]
                if given is not before:
                    converted = process(given)
                    last[n] = (given, converted)
                value[at] = converted
            values.append(tuple(value))
        if plan.positional:
            conn.exec_driver_sql(plan.sql, values)
        else:
            conn.exec_driver_sql(plan.sql, [dict(zip(plan.names, v, strict=True)) for v in values])


def _plan(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    if getattr(compiled, "effective_returning", None):
        return None  # nothing to read back here
    binds = compiled.binds
    names = list(compiled.positiontup or ()) if compiled.positional else list(binds)
    if sorted(names) != sorted(binds):
        return None
    taken: list[str] = []
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
            process = _quicker_json(process)
        if name in keys:
            taken.append(name)
            if process is not None:
                processors.append((at, process))
        elif column.default is not None and column.default.is_scalar:
            value = column.default.arg  # type: ignore[attr-defined]
            constants.append((at, process(value) if process is not None else value))
        else:
            return None
    if set(keys) - set(names) or not taken:
        return None
    getter = operator.itemgetter(*taken)
    return _Plan(
        sql=compiled.string,
        positional=compiled.positional,
        names=tuple(names),
        take=(lambda row: (getter(row),)) if len(taken) == 1 else getter,
        constants=tuple(constants),
        processors=tuple(processors),
    )


#: The one the store uses (its plans are kept per engine's dialect).
bulk_insert = BulkInsert()


#: Values whose JSON ``_json`` writes as ``json.dumps`` does: checked against the column's
#: own processor before it is trusted with a column.
_SAMPLES: list[Any] = [
    [],
    {},
    ["Acme", "caf\u00e9 \U0001f600", 'quote " back \\ new\nline'],
    {"likes": 3, "a b": [1, -2, None, True, False, {"x": "y"}], "": None},
]
#: Deeper than this, ``json.dumps`` does it.
_DEPTH = 20


def _quicker_json(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` (the JSON column's bind processor), but lists and dicts of strings,
    integers, booleans and None written directly as ``json.dumps`` writes them, without
    building an encoder each time; anything else, and any column whose processor writes
    the samples otherwise (another serializer), as ``process`` does."""
    if any(process(sample) != _json(sample, 0) for sample in _SAMPLES):
        return process

    def quicker(value: Any) -> Any:
        written = _json(value, 0) if type(value) in (list, dict) else None
        return written if written is not None else process(value)

    return quicker


def _json(value: Any, depth: int) -> str | None:
    """``json.dumps(value)`` for the plain values named in ``_quicker_json``; else None."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if depth > _DEPTH:
        return None
    if kind is list:
        items = []
        for item in value:
            written = _quote(item) if type(item) is str else _json(item, depth + 1)
            if written is None:
                return None
            items.append(written)
        return "[" + ", ".join(items) + "]"
    if kind is dict:
        pairs = []
        for key, item in value.items():
            if type(key) is not str:
                return None
            if type(item) is int:
                part: str | None = int.__repr__(item)
            elif type(item) is str:
                part = _quote(item)
            else:
                part = _json(item, depth + 1)
                if part is None:
                    return None
            pairs.append(f"{_quote(key)}: {part}")
        return "{" + ", ".join(pairs) + "}"
    return None  # floats and the rest: json.dumps


_quote: Callable[[str], str] = json.encoder.encode_basestring_ascii
