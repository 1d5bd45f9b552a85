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
- a brand's ``exclude`` terms drop the mention for that brand;
- a post on the brand's own page or listing (``own_page`` with ``brand_hint``: a
  review of its Google location) belongs to that brand without naming it, and its
  ``exclude`` terms do not apply there (``Matcher.own_page``);
- invisible characters do not hide a mention: a zero-width space separates words
  ("Acme\u200bCoffee" is "Acme Coffee"), every other format or default-ignorable
  character (zero-width joiner and non-joiner, word joiner, soft hyphen, BOM, bidi
  marks, variation selectors, tag characters, ...) vanishes ("A\u200dcme" is "Acme").
  Only matching sees through them: the text is stored and shown as written.

Speed: one Aho-Corasick pass (pyahocorasick) over the folded text finds which brands
could match (one of their keywords is in it, give or take spaces, hyphens and word
boundaries); only those brands' patterns run. A thousand
keywords cost about what ten do (benchmarks/matching.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick

from monitor.config import BrandConfig


def _ranges(points: Iterable[int]) -> str:
    """A regex character class body for these code points, as ranges."""
    ordered = sorted(set(points))
    parts: list[str] = []
    start = prev = ordered[0]
    for point in [*ordered[1:], -1]:
        if point == prev + 1:
            prev = point
            continue
        parts.append(re.escape(chr(start)) + (f"-{re.escape(chr(prev))}" if prev > start else ""))
        start = prev = point
    return "".join(parts)


#: Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties) beyond category Cf: what a
#: renderer shows as nothing. With every Cf character Python's Unicode database knows.
_IGNORABLE = [
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul fillers
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),  # Mongolian free variation selectors
    (0x2065, 0x2065),
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement
]
_SPACE = "\u200b"  # ZERO WIDTH SPACE: separates words, so it becomes a space
_INVISIBLE = re.compile(
    "["
    + _ranges(
        [
            *(p for p in range(0x20000) if unicodedata.category(chr(p)) == "Cf"),
            *(p for p in range(0xE0000, 0xE1000) if unicodedata.category(chr(p)) == "Cf"),
            *(p for low, high in _IGNORABLE for p in range(low, high + 1)),
        ]
    )
    + "]"
)


def normalise(text: str) -> str:
    """Text as matching sees it: invisible characters gone, NFKC, case folded."""
    if not text.isascii():
        text = _INVISIBLE.sub("", text.replace(_SPACE, " "))
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
    return {needle for keyword in keywords if (needle := _needle(keyword))}


def _needle(keyword: str) -> str:
    """The longest word of ``keyword`` as matching sees it ("" when it has none)."""
    words = normalise(keyword).lstrip("@#").split()
    return max(words, key=len) if words else ""


@dataclass(frozen=True, slots=True)
class Match:
    brand: str
    terms: tuple[str, ...]


def _scan_form(text: str) -> str:
    """What the candidate scan reads: hyphens and runs of spaces as one space. A match of
    a keyword's pattern in a text leaves its scan form in the text's scan form.

    Most texts are that already: no hyphen, no two spaces in a row, none at either end,
    and no other space (``isprintable`` is false for every character ``split`` takes for
    a space, but the plain space): they are read as they are, uncopied."""
    if (
        "-" not in text
        and "  " not in text
        and text.isprintable()
        and text[:1] != " "
        and text[-1:] != " "
    ):
        return text
    return " ".join(text.replace("-", " ").split())


def _scan_needles(keyword: str) -> set[str]:
    """The scan forms one of which every match of ``keyword`` contains ("" if none)."""
    words = normalise(keyword).lstrip("@#").split()
    found = {_scan_form(" ".join(words))}
    if len(words) > 1 and not keyword.startswith(("@", "#")):
        found.add(_scan_form("".join(words)))  # the joined handle and tag: #acmecoffee
    return found


class _BrandMatcher:
    """One brand's exact rules: a text whose scan holds one of its ``scan_needles`` is
    confirmed (or not) here, keyword by keyword, with the whole-word patterns."""

    def __init__(self, brand: BrandConfig) -> None:
        self.name = brand.name
        self.needles = keyword_needles(brand.keywords)
        #: Each keyword's scan needles, by the keyword's place; and all of them.
        self.keyword_needles = [_scan_needles(keyword) - {""} for keyword in brand.keywords]
        self.scan_needles: set[str] = set()
        for keyword in brand.keywords:
            self.scan_needles |= _scan_needles(keyword)
        #: A keyword with no word in it ("@", "#-") is only tried, as it always was, when
        #: the longest word of a keyword is in the text: such a brand is not left to the
        #: scan but confirmed for every text (config.yaml hardly ever has one).
        self.wordless = "" in self.scan_needles
        self.scan_needles.discard("")
        self.terms = [(kw, re.compile(_pattern(kw))) for kw in brand.keywords]
        self.any = re.compile("|".join(f"(?:{_pattern(kw)})" for kw in brand.keywords))
        self.exclude = (
            re.compile("|".join(f"(?:{_pattern(x)})" for x in brand.exclude))
            if brand.exclude
            else None
        )
        #: The exclude terms' scan needles: a text whose scan holds none of them cannot
        #: match ``exclude``, which is then not tried (None: a wordless term, always tried).
        found = set().union(*(_scan_needles(x) for x in brand.exclude))
        self.exclude_needles: tuple[str, ...] | None = None if "" in found else tuple(found)

    def confirm(
        self, text: str, hit: Collection[int] | None = None, scan: str | None = None
    ) -> Match | None:
        """The match in ``text`` (already ``normalise``d), whose scan holds a needle.

        ``hit``: the keywords (by place) whose scan needles are in the text's scan; the
        others cannot match, so only these are tried (None: every keyword). ``scan``: the
        text's scan form, which rules out the exclude terms none of whose needles it holds
        (None: they are tried)."""
        if self.wordless and not any(needle in text for needle in self.needles):
            return None
        if hit is None or self.wordless:
            if not self.any.search(text):
                return None
            terms = tuple(kw for kw, rx in self.terms if rx.search(text))
        else:
            places = hit if len(hit) == 1 else sorted(hit)
            terms = tuple(self.terms[i][0] for i in places if self.terms[i][1].search(text))
            if not terms:
                return None
        if self._excluded(text, scan):
            return None
        return Match(self.name, terms)

    def _excluded(self, text: str, scan: str | None) -> bool:
        if self.exclude is None:
            return False
        if scan is not None and self.exclude_needles is not None:
            if not any(needle in scan for needle in self.exclude_needles):
                return False
        return self.exclude.search(text) is not None


class Matcher:
    """Matches texts against every configured brand.

    One Aho-Corasick automaton (pyahocorasick) holds every brand's keywords in their
    scan form (words joined by one space; a phrase also joined up, for its tag): one
    pass over the text's scan form names the brands it could be about, whatever their
    number, and only those are confirmed with their whole-word patterns. A keyword's
    match always leaves its scan form in the text's, so a brand the scan does not name
    cannot match: the result is what trying every brand's patterns would give.
    """

    def __init__(self, brands: Iterable[BrandConfig]) -> None:
        self._brands = [_BrandMatcher(b) for b in brands]
        self._by_name: dict[str, _BrandMatcher] = {}
        for b in self._brands:
            self._by_name.setdefault(b.name, b)
        # Each needle names the brands and keywords (by place) whose needle it is.
        needles: dict[str, list[tuple[int, int]]] = {}
        for index, brand in enumerate(self._brands):
            for place, found in enumerate(brand.keyword_needles):
                for needle in found:
                    needles.setdefault(needle, []).append((index, place))
        self._automaton: Any = ahocorasick.Automaton()
        for needle, places in needles.items():
            self._automaton.add_word(needle, tuple(places))
        self._empty = not needles
        self._always = {i for i, b in enumerate(self._brands) if b.wordless}
        if not self._empty:
            self._automaton.make_automaton()

    def own_page(self, text: str, brand: str) -> Match | None:
        """A post on ``brand``'s own page or listing (a review of its Google location, a
        comment under its video) is about it whether or not it names it; its ``exclude``
        terms do not apply there (they drop other people's things of the same name, and
        this is the owner's own page). None for a brand not configured."""
        b = self._by_name.get(brand)
        if b is None:
            return None
        folded = normalise(text)
        return Match(b.name, tuple(kw for kw, rx in b.terms if rx.search(folded)))

    def candidates(self, folded: str) -> list[int]:
        """The brands (by position) with a needle in ``folded`` (a ``normalise``d text)."""
        return sorted(self._hits(folded))

    def _hits(self, folded: str, scan: str | None = None) -> dict[int, set[int]]:
        """The brands with a needle in ``folded`` (whose scan form ``scan`` is, if given),
        each with its keywords (by place) whose needle it is (a brand with a wordless
        keyword: always, with all its keywords)."""
        found: dict[int, set[int]] = {i: set() for i in self._always}
        if self._empty:
            return found
        for _, places in self._automaton.iter(_scan_form(folded) if scan is None else scan):
            for index, place in places:
                found.setdefault(index, set()).add(place)
        return found

    def match(self, text: str, brands: Collection[str] | None = None) -> list[Match]:
        """Every brand the text is about (optionally only among ``brands``), in config order.

        ``brands`` is best a set (the pipeline passes one per batch): it is only asked
        about the few brands the text could be about. Only the keywords whose needle is
        in the text are tried: the others cannot match.
        """
        folded = normalise(text)
        scan = _scan_form(folded)
        out = []
        hits = self._hits(folded, scan)
        for index in hits if len(hits) == 1 else sorted(hits):
            b = self._brands[index]
            if brands is not None and b.name not in brands:
                continue
            m = b.confirm(folded, hits[index], scan)
            if m is not None:
                out.append(m)
        return out
