"""How counts and config values are written for the owner.

``count(1, "message")`` is "1 message", ``count(2, "message")`` "2 messages": every count the
command line prints goes through it, so none reads "1 messages".

``as_written`` shows a config value the way the owner wrote it in YAML (``5m`` stays ``5m``,
``"08:00"`` keeps its quotes, a list is a ``[list]``, ``yes`` is ``yes``), and a default the way
they would write it (``24h``, ``true``, ``10MB``), never a Python repr (``None``, ``False``,
``from_=``, tuples). Secrets are masked in both: ``****``, with the ``${VAR}`` they come from.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ByteSize, SecretStr
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from monitor.text import terminal_safe

_IRREGULAR = {"reply": "replies", "entry": "entries", "address": "addresses", "is": "are"}


def plural(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def count(n: int, word: str, many: str | None = None) -> str:
    """``1 message``, ``0 messages``, ``2,500 posts``; ``many`` for a plural of its own."""
    return f"{n:,} {word if n == 1 else many or plural(word)}"


def duration(value: timedelta) -> str:
    """A duration as an owner writes one: 90s, 5m, 1h30m, 24h, 48h, 7d."""
    seconds = int(value.total_seconds())
    if seconds < 120 and seconds % 60:
        return f"{seconds}s"
    if seconds % 86400 == 0 and seconds >= 3 * 86400:
        return f"{seconds // 86400}d"
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def size(n: int) -> str:
    """A number of bytes as an owner writes one: 10MB, 500kB."""
    for unit, step in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= step:
            return f"{n / step:g}{unit}"
    return f"{n}B"


_ENV = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
#: A string YAML would read otherwise in a [flow, list]: quoted when shown.
_PLAIN_UNSAFE = re.compile(r"[,\[\]{}]|: | #|^[\s&*!|>'\"%@`#?-]|\s$")


def as_written(written: Any, effective: Any = None) -> str:
    """``written``: the node from the YAML tree (None: the owner did not write it);
    ``effective``: the validated value there, which says what is a secret."""
    if _is_secret(effective):
        refs = _ENV.findall(written) if isinstance(written, str) else []
        return "****" + (f" ({', '.join(refs)})" if refs else "")
    if written is None:
        return default(effective)
    if isinstance(written, dict):
        parts = [f"{k}: {as_written(v, _child(effective, str(k)))}" for k, v in written.items()]
        return "{" + ", ".join(parts) + "}"
    if isinstance(written, list):
        items = effective if isinstance(effective, list) else []
        return (
            "["
            + ", ".join(
                as_written(w, items[i] if i < len(items) else None) for i, w in enumerate(written)
            )
            + "]"
        )
    return _scalar(written)


def default(value: Any) -> str:
    """A value the owner did not write, as they would write it."""
    if value is None:
        return "(not set)"
    if _is_secret(value):
        return "****"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return duration(value)
    if isinstance(value, ByteSize):
        return size(int(value))
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        parts = [
            f"{info.alias or name}: {default(getattr(value, name))}"
            for name, info in fields.items()
            if getattr(value, name) is not None
        ]
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {default(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(default(v) for v in value) + "]"
    if isinstance(value, str):
        return _scalar(value)
    return str(value)


def _is_secret(value: Any) -> bool:
    return isinstance(value, SecretStr)


def _child(effective: Any, key: str) -> Any:
    if isinstance(effective, BaseModel):
        for name, info in type(effective).model_fields.items():
            if (info.alias or name) == key:
                return getattr(effective, name)
        return None
    if isinstance(effective, dict):
        return effective.get(key)
    return None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "(empty)"
    if not isinstance(value, str):
        return str(value)
    text = terminal_safe(str(value))
    if text.startswith(("http://", "https://")) and "?" in text:
        text = text.split("?", 1)[0] + "?…"  # a feed's query string may hold its token
    if isinstance(value, DoubleQuotedScalarString):
        return json.dumps(text, ensure_ascii=False)
    if isinstance(value, SingleQuotedScalarString):
        return "'" + text.replace("'", "''") + "'"
    if not text or _PLAIN_UNSAFE.search(text):
        return json.dumps(text, ensure_ascii=False)
    return text
