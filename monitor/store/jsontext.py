"""How the store writes its JSON columns (a mention's raw record, its matched
terms, engagement and reasons; a snapshot's engagement; a notice's payload).

orjson writes them several times quicker than the json module: storing a poll's mentions
spent more on ``json.dumps`` of their raw records than SQLite spent inserting them
(benchmarks/pipeline.py). What orjson refuses - text with a lone surrogate, an integer
wider than 64 bits - is left to ``json.dumps`` as before, so nothing that was storable
becomes unstorable. Where the two differed, orjson's is the safer, and is kept on both
paths: a float that is not a number is written as ``null`` (``json.dumps`` wrote ``NaN``,
which is not JSON and which PostgreSQL's json type refuses), and a value the json module
cannot write at all (a datetime) is written as orjson writes it instead of failing the
batch.

Reading stays with the json module (SQLAlchemy's default): orjson would read an integer
wider than 64 bits as a float, losing digits, and refuses the ``NaN`` older versions wrote.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import orjson

#: Keys that are not strings (an API's numeric keys) are written as json.dumps writes them.
_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError: surrogates, integers past 64 bits
        return json.dumps(_finite(value))


def dumps_all(values: Iterable[Any]) -> list[str]:
    """``dumps`` of each value (a column of a poll's rows): in one pass while orjson takes
    them all, one by one otherwise."""
    values = list(values)
    try:
        return [orjson.dumps(value, option=_OPTIONS).decode() for value in values]
    except TypeError:
        return [dumps(value) for value in values]


def _finite(value: Any) -> Any:
    """``value`` with each float that is not a number (NaN, infinities) as None."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is list or kind is tuple:
        return [_finite(item) for item in value]
    if kind is dict:
        return {key: _finite(item) for key, item in value.items()}
    return value
