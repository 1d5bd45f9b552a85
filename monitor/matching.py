"""Local matching: which brand a fetched mention is about, and which words said so.

API searches are fuzzy (stemming, partial words, ignored punctuation), so
every mention is matched again here, the same way for every source:

- case-insensitive and Unicode-aware (NFKC + casefold: "CAFÉ" is "café");
- whole words and phrases only: "Acme" does not match "acmemart", and a
  phrase matches across any run of spaces or a hyphen ("acme  coffee",
  "acme-coffee");
- ``@handle`` and ``#tag`` keywords match only that exact handle or tag;
  a plain keyword also matches its handle and tag forms ("#acme", and for a
  phrase the joined form: "Acme Coffee" matches "#AcmeCoffee");
- a brand's ``exclude`` terms drop the mention for that brand.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.config import BrandConfig


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _pattern(term: str) -> str:
    words = normalise(term).split()
    body = r"(?:\s+|-)".join(re.escape(w) for w in words)
    if term.startswith(("@", "#")):
        # The exact handle or tag: not preceded by a word char or another @/#.
        return rf"(?<![\w@#]){body}(?![\w])"
    if len(words) > 1:
        # A phrase also matches its joined handle and tag: "Acme Coffee" -> #acmecoffee.
        body = rf"(?:{body}|(?<=[@#]){re.escape(''.join(words))})"
    return rf"(?<![\w]){body}(?![\w])"


def keyword_needles(keywords: Iterable[str]) -> set[str]:
    """The longest word of each keyword: every match contains one of them.

    A text that contains none cannot match, so the matcher (and a source that reads
    everything, like RSS or Hacker News) can rule it out with a substring test.
    """
    needles = set()
    for keyword in keywords:
        words = normalise(keyword).lstrip("@#").split()
        if words:
            needles.add(max(words, key=len))
    return needles


@dataclass(frozen=True, slots=True)
class Match:
    brand: str
    terms: tuple[str, ...]


class _BrandMatcher:
    def __init__(self, brand: BrandConfig) -> None:
        self.name = brand.name
        # Every match contains the longest word of some keyword: a cheap substring test
        # rules most texts out before any regular expression runs.
        self.needles = keyword_needles(brand.keywords)
        self.terms = [(kw, re.compile(_pattern(kw))) for kw in brand.keywords]
        self.any = re.compile("|".join(f"(?:{_pattern(kw)})" for kw in brand.keywords))
        self.exclude = (
            re.compile("|".join(f"(?:{_pattern(x)})" for x in brand.exclude))
            if brand.exclude
            else None
        )

    def match(self, text: str) -> Match | None:
        if not any(needle in text for needle in self.needles) or not self.any.search(text):
            return None
        if self.exclude is not None and self.exclude.search(text):
            return None
        return Match(self.name, tuple(kw for kw, rx in self.terms if rx.search(text)))


class Matcher:
    """Matches texts against every configured brand."""

    def __init__(self, brands: Iterable[BrandConfig]) -> None:
        self._brands = [_BrandMatcher(b) for b in brands]

    def match(self, text: str, brands: Sequence[str] | None = None) -> list[Match]:
        """Every brand the text is about (optionally only among ``brands``), in config order."""
        folded = normalise(text)
        return [
            m
            for b in self._brands
            if brands is None or b.name in brands
            if (m := b.match(folded)) is not None
        ]
