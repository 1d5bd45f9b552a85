"""Turning strangers' text into something safe to match, score and show.

``html_to_text`` flattens the HTML that APIs return (HN comments, Mastodon
statuses, RSS summaries). ``terminal_safe`` removes what could drive or
disguise a terminal: ANSI/OSC escape sequences, other control characters and
the Unicode bidirectional overrides. ``safe_text``/``safe_data`` make text from
strangers storable once, where it enters (``Mention``): lone surrogates and NUL
become U+FFFD, so one odd post never stops a source.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

_BLOCK_TAGS = re.compile(r"<\s*(?:br|/p|p|/div|/li|/blockquote)\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")

# ESC [ ... final byte (CSI), ESC ] ... BEL or ESC \ (OSC), and any other ESC + one char.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
# C0 controls except tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def html_to_text(value: str) -> str:
    text = _BLOCK_TAGS.sub("\n", value)
    text = html.unescape(_TAGS.sub("", text))
    text = _SPACES.sub(" ", text.replace("\xa0", " "))
    return _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in text.split("\n"))).strip()


def terminal_safe(value: str) -> str:
    return _CONTROL.sub("", _ANSI.sub("", value))


def shorten(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


# Code points no store or JSON document of ours can hold: NUL (PostgreSQL text and jsonb
# refuse it, C strings end at it) and surrogates (not characters: UTF-8 cannot encode them).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def safe_text(value: str) -> str:
    """A stranger's string that every store, encoder and terminal can take.

    JSON's ``"\\ud83d"`` escape decodes to a lone surrogate, which no UTF-8 encoder
    accepts; it becomes U+FFFD, as does NUL. A proper surrogate pair left split in two
    code points (``\\ud83d\\ude00`` from a lax decoder) is joined into its character.
    """
    if _UNSTORABLE.search(value) is None:
        return value
    if "\x00" in value:
        value = value.replace("\x00", REPLACEMENT)
    if _UNSTORABLE.search(value) is None:
        return value
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def safe_data(value: Any) -> Any:
    """``safe_text`` over a decoded JSON value: every string, dict keys included.

    Floats that JSON cannot write (NaN, infinities) become None. Other values (numbers,
    dates, anything else a parser made) are kept as they are.
    """
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(str(k)): safe_data(v) for k, v in value.items()}
    if type(value) in (list, tuple):  # not struct_time or named tuples: kept whole
        return [safe_data(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
