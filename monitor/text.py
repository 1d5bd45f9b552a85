"""Turning strangers' text into something safe to match, score and show.

``html_to_text`` flattens the HTML that APIs return (HN comments, Mastodon
statuses, RSS summaries). ``terminal_safe`` removes what could drive or
disguise a terminal: ANSI/OSC escape sequences, other control characters and
the Unicode bidirectional overrides.
"""

from __future__ import annotations

import html
import re

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
