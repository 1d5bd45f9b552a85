"""Keeping configured secrets out of every text we store, log or send.

An API, or a proxy in front of it, may echo our request back in an error body:
the path, the query string, headers, the JSON we posted. Whatever quotes such a
body (an error's message, a log line, the source health in the database, a
health alert to every channel) must not carry a secret on.

The one mechanism: when a configuration is loaded, ``remember_config`` collects
every secret it holds (each ``SecretStr`` value, the password of the database
URL, and the secret parts of every configured URL: the password in
``user:password@``, query values such as ``?token=...``), in the forms an echo
may take (as written, percent-encoded, JSON-escaped), and ``redact`` replaces
each with ``[secret]``. It is applied where text leaves our hands:

- the error tree (monitor/errors.py): a ConnectorError or AlertError message,
  and ``str()`` of every MonitorError;
- the log: the formatter the CLI installs redacts every line, tracebacks too;
- the store: every error text, pause reason and notice payload it writes
  (so alerts and ``check`` read only redacted text).

Secrets are remembered for the life of the process, never written anywhere.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from pydantic import BaseModel, SecretStr

MASK = "[secret]"

#: Shorter values are not redacted as substrings: "ab" would mask half of every message.
MIN_LENGTH = 4
#: Query keys whose values are secrets whatever they look like.
_SECRET_KEY = re.compile(r"token|key|secret|pass|auth|sig|session|hash|code|cred", re.I)


def _looks_random(value: str, at_least: int = 8) -> bool:
    """A token rather than a word or a name: long, and at least a quarter digits (hex,
    base64 and numeric ids are; "monitor-2024" or "test_site_re0" are not)."""
    if len(value) < at_least:
        return False
    return sum(c.isdigit() for c in value) * 4 >= len(value)


class Redactor:
    """A set of secret strings and one compiled pattern that masks them all."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        """Remember a secret in every form an echo may carry it."""
        if not secret or len(secret) < MIN_LENGTH:
            return
        forms = {
            secret,
            quote(secret, safe=""),
            quote_plus(secret),
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
        }
        with self._lock:
            if forms <= self._values:
                return
            self._values |= {f for f in forms if len(f) >= MIN_LENGTH}
            longest_first = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in longest_first))

    def add_url(self, url: str) -> None:
        """Remember the secret parts of a URL: its password, the query values that look
        like keys, and path parts that look like tokens (a private feed's address)."""
        try:
            parts = urlsplit(url)
            password = parts.password
        except ValueError:
            return
        self.add(password)
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if _SECRET_KEY.search(key) or _looks_random(value):
                self.add(value)
        for segment in parts.path.split("/"):
            if _looks_random(segment, at_least=16):
                self.add(segment)

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None


#: The process's redactor: every configuration loaded adds its secrets to it.
REDACTOR = Redactor()


def redact(text: str) -> str:
    return REDACTOR(text)


def redact_data(value: Any) -> Any:
    """``redact`` every string inside a JSON-like value (a notice payload)."""
    if isinstance(value, str):
        return REDACTOR(value)
    if isinstance(value, Mapping):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


def _walk(value: Any, redactor: Redactor) -> None:
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        redactor.add(secret)
        if "://" in secret:
            redactor.add_url(secret)
    elif isinstance(value, str):
        if "://" in value:
            redactor.add_url(value)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _walk(getattr(value, name), redactor)
    elif isinstance(value, Mapping):
        for item in value.values():
            _walk(item, redactor)
    elif isinstance(value, Iterable) and not isinstance(value, bytes):
        for item in value:
            _walk(item, redactor)


def remember_config(
    sources: Iterable[Any], channels: Iterable[Any], database: str, redactor: Redactor = REDACTOR
) -> None:
    """Remember every secret of a loaded configuration."""
    for model in (*sources, *channels):
        _walk(model, redactor)
    try:
        redactor.add(urlsplit(database).password)  # a file's path is no secret
    except ValueError:
        pass


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line, traceback included, is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return REDACTOR(super().format(record))
