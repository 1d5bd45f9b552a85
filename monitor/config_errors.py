"""Config problems in an owner's words: one translation over pydantic's and the YAML parser's.

The validators of the config models speak pydantic ("Input should be a valid list",
"Field required"); the owner should read what to write instead. ``translate`` turns one
entry of ``ValidationError.errors()`` (its ``type``, ``loc`` and ``ctx``) into a sentence
that names what the key wants, with an example of a right value where one helps::

    keywords: write a list, e.g. ["Acme Coffee", "@acmecoffee"]

Messages we wrote ourselves (a ``ValueError`` in a validator) are kept as written. The
value the owner wrote is never repeated: it may be a secret. ``yaml_problem`` does the
same for the YAML parser's words, and ``tab_lines`` finds indentation with tabs.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ByteSize
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from monitor.wording import size

#: Right values to show, by key. A key not here gets one from its type or its default.
EXAMPLES: dict[str, str] = {
    "keywords": '["Acme Coffee", "@acmecoffee"]',
    "exclude": '["Acme Coffee Co. Ltd"]',
    "trouble": "[cold, soggy]",
    "not_trouble": "[killer, sick]",
    "tags": "[acmecoffee]",
    "subreddits": "[coffee, london]",
    "to": "[owner@example.com]",
    "urls": '["${TELEGRAM_URL}"]',
    "feeds": "[https://www.google.com/alerts/feeds/YOUR-ID/YOUR-FEED]",
    "instances": "[{url: https://mastodon.social}]",
    "schedule": "[5m, 15m]",
    "channels": "[{type: console}]",
    "quiet_hours": '{from: "22:00", to: "07:00"}',
    "headers": '{X-Token: "${HOOK_TOKEN}"}',
    "spread": "{spreading: 10, viral: 40}",
    "sentiment": "{trouble: [cold, soggy]}",
    "name": "Acme Coffee",
    "host": "smtp.example.com",
    "port": "587",
    "from": "alerts@example.com",
    "username": "alerts@example.com",
    "password": "${SMTP_PASSWORD}",
    "digest_at": '"08:00"',
    "timezone": "Europe/London",
    "listen": "127.0.0.1:8080",
    "public_url": "https://shop.example/monitor",
    "lang": "en",
    "database": "sqlite:///mentions.db",
    "webhook_url": "${SLACK_WEBHOOK_URL}",
    "bearer_token": "${X_BEARER_TOKEN}",
    "handle": "acmecoffee.bsky.social",
    "app_password": "${BLUESKY_APP_PASSWORD}",
    "url": "https://example.com/feed.xml",
    "max_response": "10MB",
    "env_file": ".env",
}

#: Top-level keys whose name means something else further down (a channel's `brands`).
TOP_EXAMPLES: dict[str, str] = {
    "brands": '[{name: Acme Coffee, keywords: ["Acme Coffee", "@acmecoffee"]}]',
    "sources": "{hackernews: {}}",
    "alerts": "{channels: [{type: console}]}",
}

#: One entry of a list, by the list's key.
ITEM_EXAMPLES: dict[str, str] = {
    "brands": '{name: Acme Coffee, keywords: ["Acme Coffee"]}',
    "keywords": '"Acme Coffee"',
    "exclude": '"Acme Coffee Co. Ltd"',
    "channels": "{type: console}",
    "instances": "{url: https://mastodon.social}",
    "feeds": "https://www.google.com/alerts/feeds/YOUR-ID/YOUR-FEED",
    "schedule": "15m",
    "to": "owner@example.com",
}

#: How a value of a key with a pattern is written.
PATTERNS: dict[str, str] = {"lang": "write a language code, e.g. en or pt-BR"}

_PLURAL_WHAT = {"brands": "brand", "sources": "source", "feeds": "feed", "to": "address"}


def translate(
    err: ErrorDetails, model: type[BaseModel] | None, prefix: tuple[Any, ...] = ()
) -> str:
    """One pydantic error as the owner should read it (without the key path: the caller adds
    the file, line and path in front). ``prefix``: where ``model`` is in the file."""
    kind = err["type"]
    loc = clean_loc(err["loc"])
    key = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    if not prefix and len(loc) == 1 and key in TOP_EXAMPLES:
        key = f"top:{key}"
    elif loc and isinstance(loc[-1], int):
        key = f"item:{key}"  # one entry of a list: its own example, not the list's
    ctx = err.get("ctx") or {}
    field, annotation = _field_at(model, loc)
    if kind in ("value_error", "assertion_error"):
        text = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return text
    if kind == "extra_forbidden":
        return unknown_key(loc, model)
    if kind == "missing":
        example = example_for(key, annotation, field)
        name = key.removeprefix("top:")
        return f"is required: add it, e.g. {name}: {example}" if example else "is required"
    if kind == "literal_error":
        return f"must be one of: {', '.join(_choices(annotation, ctx))}"
    if kind in _BOUNDS:
        return _bound(kind, ctx, annotation)
    if kind == "too_short":
        return _too_short(key, ctx, annotation, field)
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} entries"
    if kind == "string_too_short":
        n = int(ctx.get("min_length", 1))
        return "must not be empty" if n <= 1 else f"must be at least {n} characters long"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "string_pattern_mismatch":
        return PATTERNS.get(key.split(":")[-1]) or _with_example(
            "is not written the way it should be", key
        )
    if kind in ("byte_size", "byte_size_unit"):
        return "write a size, e.g. 10MB or 500kB"
    return _wrong_type(kind, key, err.get("input"), annotation, field)


def suggestion(loc: tuple[Any, ...], model: type[BaseModel] | None) -> str | None:
    """For an unknown key: the known key next to it that it is closest to."""
    known = _known_keys(loc, model)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6) if loc else []
    return close[0] if close else None


def _known_keys(loc: tuple[Any, ...], model: type[BaseModel] | None) -> list[str]:
    target = _model_of(_field_at(model, loc[:-1])[1])
    if target is None:
        return []
    return sorted(info.alias or n for n, info in target.model_fields.items())


def unknown_key(loc: tuple[Any, ...], model: type[BaseModel] | None) -> str:
    """``colour`` under a brand: not a setting here, and the closest one that is."""
    known = _known_keys(loc, model)
    if not known:
        return "is not a setting here"
    close = suggestion(loc, model)
    if close:
        return f"is not a setting here; did you mean `{close}`?"
    name = str(loc[-1])
    elsewhere = _belongs_elsewhere(name, loc[:-1])
    if elsewhere:
        return f"is not a setting here: {elsewhere}"
    return f"is not a setting here (the settings here: {', '.join(known)})"


def _belongs_elsewhere(name: str, parent: tuple[Any, ...]) -> str | None:
    from alerts import REGISTRY as CHANNELS
    from connectors import REGISTRY as SOURCES

    if name in SOURCES and parent != ("sources",):
        return f"sources go under `sources:`, e.g. sources: {{{name}: {{}}}}"
    if name in CHANNELS and parent[:2] != ("alerts", "channels"):
        return f"channels go under `alerts: channels:`, e.g. - type: {name}"
    if not parent and name in ("keywords", "exclude"):
        return "it belongs to a brand: put it under an entry of `brands:`"
    if not parent and name in ("every", "base_url", "lookback"):
        return "it belongs to a source: put it under `sources: <name>:`"
    return None


def example_for(key: str, annotation: Any, field: FieldInfo | None) -> str | None:
    if key.startswith("top:"):
        return TOP_EXAMPLES[key[4:]]
    if key.startswith("item:"):
        return ITEM_EXAMPLES.get(key[5:])
    if key in EXAMPLES:
        return EXAMPLES[key]
    base = _unwrap(annotation)
    if base is timedelta:
        return "5m"
    if base is bool:
        return "true"
    default = getattr(field, "default", None)
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, timedelta):
        return "5m"
    if isinstance(default, int | float) and not isinstance(default, ByteSize):
        return f"{default:g}"
    if base is int:
        return "5"
    if base is float:
        return "0.5"
    return None


def _with_example(
    text: str, key: str, annotation: Any = None, field: FieldInfo | None = None
) -> str:
    example = example_for(key, annotation, field)
    return f"{text}, e.g. {example}" if example else text


def _wrong_type(kind: str, key: str, given: Any, annotation: Any, field: FieldInfo | None) -> str:
    base = _unwrap(annotation)
    origin = typing.get_origin(base)
    if kind == "list_type" or origin is list:
        return _with_example("write a list", key, annotation, field)
    if kind in ("dict_type", "model_type", "model_attributes_type") or _model_of(base):
        if isinstance(given, list):
            return _with_example("write its settings as `key: value`, not a list", key)
        return _with_example("write its settings as `key: value` lines under it", key)
    if kind in ("bool_type", "bool_parsing"):
        return "write true or false"
    if kind == "int_from_float":
        return _with_example("write a whole number, without decimals", key, annotation, field)
    if kind in ("int_type", "int_parsing"):
        return _with_example("write a whole number", key, annotation, field)
    if kind == "finite_number":
        return _with_example("write an ordinary number", key, annotation, field)
    if kind in ("float_type", "float_parsing"):
        return _with_example("write a number", key, annotation, field)
    if kind == "string_type":
        if isinstance(given, list | dict):
            return _with_example("write one value, not a list or settings", key)
        if given is None:
            return _with_example("is empty: write a value", key)
        return _with_example("write it as text (in quotes if it looks like a number)", key)
    return _with_example("is not a value this key takes", key, annotation, field)


_BOUNDS = {
    "greater_than": ("gt", "more than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def _bound(kind: str, ctx: dict[str, Any], annotation: Any) -> str:
    name, words = _BOUNDS[kind]
    limit = ctx.get(name)
    base = _unwrap(annotation)
    if base is timedelta:
        longer = {"gt": "longer than", "ge": "at least", "lt": "shorter than", "le": "at most"}
        return f"must be {longer[name]} {limit}"
    if isinstance(base, type) and issubclass(base, ByteSize) and isinstance(limit, int):
        return f"must be {words} {size(limit)}"
    return f"must be {words} {limit:g}" if isinstance(limit, float) else f"must be {words} {limit}"


def _too_short(key: str, ctx: dict[str, Any], annotation: Any, field: FieldInfo | None) -> str:
    n = int(ctx.get("min_length", 1))
    what = _PLURAL_WHAT.get(key.split(":")[-1], "entry" if n == 1 else "entries")
    if ctx.get("field_type") == "Dictionary" and key == "top:sources":
        return "must name at least one source, e.g. sources: {hackernews: {}}"
    amount = "one" if n == 1 else str(n)
    return _with_example(f"must list at least {amount} {what}", key, annotation, field)


def _choices(annotation: Any, ctx: dict[str, Any]) -> list[str]:
    base = _unwrap(annotation)
    if typing.get_origin(base) is Literal:
        return [str(a) for a in typing.get_args(base)]
    expected = str(ctx.get("expected", ""))
    return [c.strip(" '") for c in re.split(r",| or ", expected) if c.strip(" '")]


# ------------------------------------------------------------------ where in the models


def clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Without pydantic's own steps (union members like ``list[str]``)."""
    return tuple(p for p in loc if not (isinstance(p, str) and "[" in p))


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> X; ``Annotated[X, ...]`` -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_of(annotation: Any) -> type[BaseModel] | None:
    base = _unwrap(annotation)
    return base if isinstance(base, type) and issubclass(base, BaseModel) else None


def _field_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> tuple[FieldInfo | None, Any]:
    """The field (and its type) a key path leads to, through lists, dicts and nested models."""
    field: FieldInfo | None = None
    annotation: Any = model
    for part in loc:
        base = _unwrap(annotation)
        current = _model_of(base)
        if current is not None and isinstance(part, str):
            field = next(
                (f for n, f in current.model_fields.items() if (f.alias or n) == part), None
            )
            annotation = field.annotation if field is not None else None
        elif typing.get_origin(base) is list and isinstance(part, int):
            annotation = typing.get_args(base)[0]
        elif typing.get_origin(base) is dict:
            annotation = typing.get_args(base)[1]
        else:
            return None, None
    return field, annotation


# ------------------------------------------------------------------ warnings


#: The shortest `every` each source should be polled at, its name, and why (its limits).
MIN_EVERY: dict[str, tuple[timedelta, str, str]] = {
    "hackernews": (
        timedelta(seconds=30),
        "Hacker News",
        "it gets a few new items a minute, and its search allows 10,000 requests an hour",
    ),
    "reddit": (timedelta(minutes=1), "Reddit", "it allows 100 requests a minute per app"),
    "x": (
        timedelta(minutes=1),
        "X",
        "it allows 450 searches per 15 minutes, and every poll searches once or more per brand",
    ),
    "bluesky": (
        timedelta(minutes=1),
        "Bluesky",
        "it allows 3,000 requests per 5 minutes, and every poll asks once per keyword",
    ),
    "mastodon": (
        timedelta(minutes=1),
        "Mastodon",
        "a server allows 300 requests per 5 minutes, and most are run by volunteers",
    ),
    "rss": (
        timedelta(minutes=5),
        "a feed",
        "feeds rarely change faster, and many sites block readers that ask more often",
    ),
}


def every_warning(source: str, every: timedelta, written: str) -> str | None:
    """A poll interval below what the source should be asked at, in plain words."""
    floor = MIN_EVERY.get(source)
    if floor is None or every >= floor[0]:
        return None
    minimum, label, why = floor
    return (
        f"{written} is more often than {label} should be asked ({why}): "
        f"use {_short(minimum)} or more"
    )


def _short(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"
