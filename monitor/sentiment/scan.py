"""Finding the cues of ``monitor.sentiment.cues`` in a text, fast.

All word cues are one regular expression with a named group per cue, tried at
every word start, so that overlapping cues are all found ("another delay" is
a repeat and a delay). Python's ``re`` tries each alternative in turn, so the
cues are also split by the characters a match can start with (worked out from
the parsed patterns): at a word starting with "s" only the cues that can start
with "s" are tried. That keeps the cues at about VADER's own cost per text.
If the parser's internals are not there (another Python), every cue is tried
everywhere: the same result, slower.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from monitor.sentiment.cues import (
    CUES,
    NEGATION_BEFORE,
    SARCASM_FRAME_WEIGHT,
    SARCASM_FRAMES,
    SYMBOL_CUES,
)

_ALL = CUES + SYMBOL_CUES
_WORD_START = re.compile(r"\b\w")
# Symbol cues start with one of these characters: the look-ahead skips every other position.
_SYMBOLS = re.compile(
    "(?=[#?!>=:/\u2639\U0001f300-\U0001faff])(?:"
    + "|".join(f"(?P<c{len(CUES) + i}>{cue[3]})" for i, cue in enumerate(SYMBOL_CUES))
    + ")"
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One cue found: its category and weight, the words that matched and where."""

    category: str
    weight: float
    text: str
    start: int = 0


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, single spaces: what every cue is written against."""
    return " ".join(text.lower().replace("\u2019", "'").replace("\u2018", "'").split())


def find_cues(low: str) -> list[Hit]:
    """Every cue in ``low`` (already ``normalise``d), strongest per category first."""
    best: dict[str, Hit] = {}
    for match in (*_word_cues(low), *_SYMBOLS.finditer(low)):
        name = match.lastgroup
        assert name is not None
        category, weight, negatable, _ = _ALL[int(name[1:])]
        if negatable and NEGATION_BEFORE.search(low, max(0, match.start() - 30), match.start()):
            continue
        current = best.get(category)
        if current is None or abs(weight) > abs(current.weight):
            best[category] = Hit(category, weight, match.group(), match.start())
    return sorted(best.values(), key=lambda h: -h.weight)


def sarcasm_frame(low: str, near: list[int], reach: int = 60) -> Hit | None:
    """A positive frame within ``reach`` characters of a complaint cue at one of ``near``."""
    for match in SARCASM_FRAMES.finditer(low):
        if any(abs(match.start() - at) <= reach for at in near):
            return Hit("sarcasm", SARCASM_FRAME_WEIGHT, match.group(), match.start())
    return None


def _word_cues(low: str) -> list[re.Match[str]]:
    found = []
    for word in _WORD_START.finditer(low):
        pattern = _BY_FIRST.get(word.group(), _ANY_FIRST)
        if pattern is not None:
            match = pattern.match(low, word.start())
            if match is not None:
                found.append(match)
    return found


# ---------------------------------------------------------------- the dispatch table


def _alternation(indexes: list[int]) -> re.Pattern[str] | None:
    if not indexes:
        return None
    # \b: a word cue starts at a word start, whatever the character before it.
    groups = "|".join(f"(?P<c{i}>{CUES[i][3]})" for i in indexes)
    return re.compile(rf"\b(?:{groups})")


def _first_chars(pattern: str) -> frozenset[str] | None:
    """The characters a match of ``pattern`` can start with; None if any or unknown."""
    try:
        parser: Any = importlib.import_module("re._parser")
        constants: Any = importlib.import_module("re._constants")
        chars, nullable = _first(list(parser.parse(pattern)), constants)
    except (ImportError, AttributeError, TypeError, ValueError):
        return None
    return None if chars is None or nullable else frozenset(chars)


def _first(items: list[tuple[Any, Any]], k: Any) -> tuple[set[str] | None, bool]:
    """First characters of a parsed sequence, and whether it can match the empty string."""
    chars: set[str] = set()
    for op, arg in items:
        if op is k.LITERAL:
            first: set[str] | None = {chr(arg)}
            nullable = False
        elif op is k.IN:
            first, nullable = _charset(arg, k), False
        elif op is k.BRANCH:
            first, nullable = set(), False
            for branch in arg[1]:
                sub, empty = _first(list(branch), k)
                if sub is None:
                    return None, False
                first |= sub
                nullable = nullable or empty
        elif op is k.SUBPATTERN:
            first, nullable = _first(list(arg[3]), k)
        elif op in (k.MAX_REPEAT, k.MIN_REPEAT):
            first, empty = _first(list(arg[2]), k)
            nullable = empty or arg[0] == 0
        elif op in (k.AT, k.ASSERT, k.ASSERT_NOT):
            first, nullable = set(), True  # zero-width: look at what follows
        else:
            return None, False  # anything else: could start with anything
        if first is None:
            return None, False
        chars |= first
        if not nullable:
            return chars, False
    return chars, True


def _charset(items: list[tuple[Any, Any]], k: Any) -> set[str] | None:
    chars: set[str] = set()
    for op, arg in items:
        if op is k.LITERAL:
            chars.add(chr(arg))
        elif op is k.RANGE and arg[1] - arg[0] < 256:
            chars.update(chr(c) for c in range(arg[0], arg[1] + 1))
        elif op is k.CATEGORY and arg is k.CATEGORY_DIGIT:
            chars.update("0123456789")
        else:
            return None
    return chars


def _build() -> tuple[dict[str, re.Pattern[str]], re.Pattern[str] | None]:
    firsts = [_first_chars(cue[3]) for cue in CUES]
    anywhere = [i for i, first in enumerate(firsts) if first is None]
    table: dict[str, re.Pattern[str]] = {}
    for char in sorted(set().union(*(f for f in firsts if f is not None))):
        indexes = [i for i, first in enumerate(firsts) if first is None or char in first]
        pattern = _alternation(indexes)
        if pattern is not None:
            table[char] = pattern
    return table, _alternation(anywhere)


_BY_FIRST, _ANY_FIRST = _build()
