"""Taking the brands' names and keywords out of a text before it is scored.

"Joy Bakery" and "@united" are names, not sentiment, so the scorer reads a text
without them. The rule is one regular expression: every name (lower case, single
spaces, as ``scan.normalise`` writes it), longest first, as a whole word, case
ignored as Python's ``re.IGNORECASE`` ignores it. Tried at every position of every
text, such an alternation costs more with every brand (8 us a text at 10 keywords,
387 us at 1,000), so ``NameStripper`` first finds, in one Aho-Corasick pass
(pyahocorasick), which names could be in the text at all, and runs the same
expression made of those names only. A name that cannot be there changes nothing
where it is left out, so the result is the full expression's, whatever the number
of brands.

"Could be there" must see what ``re.IGNORECASE`` sees: both the names and the text
are mapped, character by character, to one representative of each set of characters
that ``re`` holds equal ignoring case (its simple lower case, plus the few it adds:
s and long s, i and dotless i, the Greek sigmas, ...). That mapping is worked out
from ``re``'s own tables on first use; where they are not there (another Python),
the full expression runs.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable
from typing import Any

import ahocorasick

from monitor.sentiment.scan import normalise


def _alternation(terms: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(t) for t in terms)
    return re.compile(r"(?<!\w)(?:" + alternatives + r")(?!\w)", re.IGNORECASE)


@functools.cache
def _case_table() -> dict[int, int] | None:
    """Characters to map before ``str.lower`` so that the text and the names agree
    where ``re.IGNORECASE`` does; None if ``re``'s tables are not to be had."""
    try:
        sre: Any = importlib.import_module("_sre")
        casefix: Any = importlib.import_module("re._casefix")
        tolower = sre.unicode_tolower
        extra: dict[int, tuple[int, ...]] = casefix._EXTRA_CASES
    except (ImportError, AttributeError):
        return None

    def rep(point: int) -> int:
        low: int = tolower(point)
        return min((low, *extra.get(low, ())))

    table: dict[int, int] = {}
    for point in _cased(extra):
        char = chr(point)
        if point not in extra and tolower(point) == point and char.lower() == char:
            continue  # neither cased nor special: most characters, skipped quickly
        mapped = rep(point)
        if chr(mapped).lower() != chr(mapped):
            return None  # a representative that lower() would change: not this Python
        if char.lower() != chr(mapped) or char == "\u03a3":  # capital sigma: final or not
            table[point] = mapped
    if any(p < 128 for p in table):
        return None  # ASCII text is mapped by lower() alone (``caseless``)
    return table


def _cased(extra: dict[int, tuple[int, ...]]) -> list[int]:
    """The code points that lower() changes, and ``re``'s extra ones, found a block of 256
    at a time (a block that lower() leaves alone is skipped whole)."""
    points = set(extra)
    for start in range(0, 0x110000, 256):
        block = "".join(map(chr, range(start, start + 256)))
        if block.lower() != block:
            points.update(start + i for i, c in enumerate(block) if c.lower() != c)
    return sorted(points)


def caseless(text: str, table: dict[int, int]) -> str:
    """``text`` with every character replaced by its representative (module docstring)."""
    if text.isascii():
        return text.lower()
    return text.translate(table).lower()


class NameStripper:
    """Replaces every whole-word name in a text by a space, like one alternation of all
    of them (``pattern``) would, at a cost that does not grow with their number."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = sorted({normalise(t) for t in terms if t.strip()}, key=len, reverse=True)
        self.pattern = _alternation(self.terms) if self.terms else None
        self._table = _case_table()
        self._automaton: Any = None
        if self.pattern is not None and self._table is not None:
            # Each key (a name as the scan sees it) stands for the names that map to it,
            # by their place in ``terms``.
            keys: dict[str, list[int]] = {}
            for index, term in enumerate(self.terms):
                keys.setdefault(caseless(term, self._table), []).append(index)
            self._automaton = ahocorasick.Automaton()
            for key, indexes in keys.items():
                self._automaton.add_word(key, tuple(indexes))
            self._automaton.make_automaton()

    def sub(self, text: str) -> str:
        if self.pattern is None:
            return text
        if self._automaton is None or self._table is None:
            return self.pattern.sub(" ", text)
        found: set[int] = set()
        for _, indexes in self._automaton.iter(caseless(text, self._table)):
            found.update(indexes)
        if not found:
            return text
        present = [self.terms[i] for i in sorted(found)]
        if len(present) == 1:
            return _compiled(present[0]).sub(" ", text)
        return _sub_each(present, text)

    def findall(self, text: str) -> list[str]:
        """The names in ``text`` (for tests and reasons)."""
        return self.pattern.findall(text) if self.pattern is not None else []


def _sub_each(terms: list[str], text: str) -> str:
    """What one alternation of ``terms`` (longest first) would replace, found term by term:
    the leftmost match of any, the longest there, then on from its end. Compiling each
    combination of names would cost more than the scan saves."""
    patterns = [_compiled(t) for t in terms]
    nexts = [p.search(text) for p in patterns]
    out: list[str] = []
    done = 0
    while True:
        best = None
        for match in nexts:
            if match is not None and (
                best is None
                or match.start() < best.start()
                or (match.start() == best.start() and match.end() > best.end())
            ):
                best = match
        if best is None:
            break
        out += [text[done : best.start()], " "]
        done = best.end()
        nexts = [
            p.search(text, done) if m is not None and m.start() < done else m
            for p, m in zip(patterns, nexts, strict=True)
        ]
    out.append(text[done:])
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def _compiled(term: str) -> re.Pattern[str]:
    return _alternation((term,))
