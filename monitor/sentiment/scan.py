"""Finding the cues of ``monitor.sentiment.cues`` in a text, fast.

All word cues are one regular expression with a named group per cue, tried at
every word start, so that overlapping cues are all found ("another delay" is
a repeat and a delay). Python's ``re`` tries each alternative in turn, so the
cues are split by how a match can begin, worked out from the parsed patterns
(``_starts``): by its whole first word where that is known ("still", "on",
"haven" of "haven't"), else by its first three characters or fewer (a cue
beginning "slip\\w*" is tried at every word beginning "sli"). At each word only
the cues that can begin there are tried, in their order, as one alternation
compiled on first use: the first of them that matches is the one the whole
alternation would find. If the parser's internals are not there (another
Python), every cue is tried everywhere: the same result, slower.
tests/monitor/test_sentiment.py checks the hits against trying every cue at
every word start, on random texts made of the cues' own words.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitor.sentiment.cues import (
    CUES,
    NEGATION_BEFORE,
    SARCASM_FRAME_WEIGHT,
    SARCASM_FRAMES,
    SYMBOL_CUES,
)

#: The longest first word of a cue that picks it (``_word_cues``); longer ones, and
#: those not known, pick it by the word's first three characters or fewer.
WORD_LIMIT = 24
#: A cue that can begin in more ways than this is tried at every word.
_MAX_STARTS = 4096


class _Cues:
    """The cues tried at some words, as one alternation compiled when first tried: most
    of the few hundred combinations never meet a word that needs them."""

    __slots__ = ("indexes", "match")

    def __init__(self, indexes: tuple[int, ...]) -> None:
        self.indexes = indexes
        self.match: Callable[[str, int], re.Match[str] | None] = self._compile

    def _compile(self, text: str, pos: int) -> re.Match[str] | None:
        pattern = _alternation(self.indexes)
        assert pattern is not None
        self.match = pattern.match
        return self.match(text, pos)


Table = dict[str, _Cues]
#: Each word seen, with the cues to try there (``_choose``); at most ``_REMEMBERED`` words.
_CHOSEN: dict[str, _Cues | None] = {}
_REMEMBERED = 50_000
_UNSEEN = _Cues(())

_ALL = CUES + SYMBOL_CUES
#: Words: each starts where ``\b\w`` would, the place a word cue may begin.
_WORDS = re.compile(r"\w+")
_NON_WORD = re.compile(r"\W")
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
    chosen = _CHOSEN
    for word in _WORDS.finditer(low):
        text = word.group()
        cues = chosen.get(text, _UNSEEN)
        if cues is _UNSEEN:
            cues = _choose(text)
        if cues is not None:
            match = cues.match(low, word.start())
            if match is not None:
                found.append(match)
    return found


def _choose(word: str) -> _Cues | None:
    """The cues to try at ``word``, remembered for the next time it is seen."""
    cues = (
        _BY_WORD.get(word)
        or _BY_THREE.get(word[:3])
        or _BY_TWO.get(word[:2])
        or _BY_ONE.get(word[0], _ANYWHERE)
    )
    if len(_CHOSEN) >= _REMEMBERED:
        _CHOSEN.clear()  # a bounded memory, whatever strangers write
    _CHOSEN[word] = cues
    return cues


# ---------------------------------------------------------------- the dispatch table


@functools.cache
def _alternation(indexes: tuple[int, ...]) -> re.Pattern[str] | None:
    if not indexes:
        return None
    # \b: a word cue starts at a word start, whatever the character before it.
    groups = "|".join(f"(?P<c{i}>{CUES[i][3]})" for i in indexes)
    return re.compile(rf"\b(?:{groups})")


def _parser() -> tuple[Any, Any] | None:
    try:
        return importlib.import_module("re._parser"), importlib.import_module("re._constants")
    except ImportError:
        return None


def _starts(pattern: str, k: int) -> frozenset[str] | None:
    """How a match of ``pattern`` can begin: strings of up to ``k`` characters, each cut
    after its first character that is not a word character; one of them begins every
    match (a shorter one without such a character is a whole match). None if unknown,
    too many, or if a match can be empty."""
    tools = _parser()
    if tools is None:
        return None
    parser, constants = tools
    try:
        found = _sequence(list(parser.parse(pattern)), k, constants)
    except (AttributeError, TypeError, ValueError):
        return None
    return None if found is None or "" in found else frozenset(found)


def _starts_of(pattern: str) -> frozenset[str] | None:
    """``_starts`` up to the end of the first word, or of fewer characters where that is
    not known (a word of digits, ``\\w+``)."""
    for k in (WORD_LIMIT, 3, 2, 1):
        found = _starts(pattern, k)
        if found is not None:
            return found
    return None


def _open(start: str, k: int) -> bool:
    """Whether what follows ``start`` still matters: shorter than ``k``, in its first word."""
    return len(start) < k and _NON_WORD.search(start) is None


def _cut(text: str, k: int) -> str:
    other = _NON_WORD.search(text)
    return (text[: other.end()] if other is not None else text)[:k]


def _sequence(items: list[tuple[Any, Any]], k: int, c: Any) -> set[str] | None:
    """How what a parsed sequence matches can begin (``_starts``)."""
    states = {""}
    for op, arg in items:
        short = [s for s in states if _open(s, k)]
        if not short:
            break  # every beginning is long enough: the rest does not matter
        pieces = _item(op, arg, k - min(map(len, short)), c)
        if pieces is None:
            return None
        joined = _join(states, pieces, k)
        if joined is None:
            return None
        states = joined
    return states


def _join(states: set[str], pieces: set[str], k: int) -> set[str] | None:
    out = {_cut(s + piece, k) if _open(s, k) else s for s in states for piece in pieces}
    return out if len(out) <= _MAX_STARTS else None


def _item(op: Any, arg: Any, k: int, c: Any) -> set[str] | None:
    if op is c.LITERAL:
        return {chr(arg)}
    if op is c.IN:
        return _charset(arg, c)
    if op is c.BRANCH:
        out: set[str] = set()
        for branch in arg[1]:
            sub = _sequence(list(branch), k, c)
            if sub is None:
                return None
            out |= sub
        return out
    if op is c.SUBPATTERN:
        if arg[1] or arg[2]:
            return None  # inline flags (?i) change what matches: not worked out here
        return _sequence(list(arg[3]), k, c)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        low, high, body = arg
        sub = _sequence(list(body), k, c)
        if sub is None:
            return None
        # Beyond ``low`` repeats, k more cannot begin anything new within k characters.
        found = {""} if low == 0 else set()
        current: set[str] | None = {""}
        for count in range(1, min(high, low + k) + 1):
            current = _join(current, sub, k) if current is not None else None
            if current is None:
                return None
            if count >= low:
                found |= current
        return found
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        return {""}  # zero-width: what follows begins the match
    return None  # anything else: could begin with anything


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


def _build() -> tuple[Table, Table, Table, Table, _Cues | None]:
    """The cues to try at a word: by the word, else by its first three, two or one
    characters; ``_ANYWHERE`` those whose beginnings are not known."""
    anywhere: set[int] = set()
    words: dict[str, set[int]] = {}  # a whole first word: the cues that begin with it
    prefixes: dict[str, set[int]] = {}  # the same for a word's first 1-3 characters
    for i, cue in enumerate(CUES):
        found = _starts_of(cue[3])
        if found is None:
            anywhere.add(i)
            continue
        for start in found:
            if _NON_WORD.search(start) is not None:
                if len(start) > 1:  # (a match cannot begin with a non-word character)
                    words.setdefault(start[:-1], set()).add(i)
            else:  # the text's word begins with it
                prefixes.setdefault(start[:3], set()).add(i)
    made: dict[tuple[int, ...], _Cues] = {}

    def cues(*found: set[int]) -> _Cues | None:
        indexes = tuple(sorted(anywhere.union(*found)))
        return made.setdefault(indexes, _Cues(indexes)) if indexes else None

    def begun(key: str, length: int) -> list[set[int]]:
        return [prefixes.get(key[:n], set()) for n in range(1, length + 1)]

    tables: list[Table] = [{} for _ in range(4)]
    for word, cued in words.items():
        entry = cues(cued, *begun(word, 3))
        if entry is not None:
            tables[0][word] = entry
    for key in prefixes:
        entry = cues(*begun(key, len(key)))
        if entry is not None:
            tables[4 - len(key)][key] = entry
    return tables[0], tables[1], tables[2], tables[3], cues()


_BY_WORD, _BY_THREE, _BY_TWO, _BY_ONE, _ANYWHERE = _build()
