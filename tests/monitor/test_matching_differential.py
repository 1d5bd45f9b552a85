"""The matcher's Aho-Corasick scan against the rules themselves, on random texts.

The reference tries every brand's whole-word patterns on every text (what the
matcher did before it had a candidate scan); the Matcher must give the same
brands and terms, in the same order, for random keywords and texts full of the
things that make matching hard: case, accents (composed and not), ß, dotted and
dotless i, final sigma, ligatures, hyphens, runs of spaces, @ and #, punctuation,
zero-width and other invisible characters.
"""

from __future__ import annotations

import random
import re

import pytest

from monitor.config import BrandConfig
from monitor.matching import Match, Matcher, _pattern, keyword_needles, normalise

WORDS = [
    "acme",
    "acmes",
    "coffee",
    "café",
    "cafe\u0301",
    "olé",
    "straße",
    "strasse",
    "İstanbul",
    "istanbul",
    "\u0131stanbul",  # dotless i
    "ΣΊΣΥΦΟΣ",
    "σίσυφος",
    "ﬅore",
    "store",
    "bolt",
    "bikes",
    "roastery",
    "lane",
    "x",
    "a",
    "co",
    "ltd",
    "кафе",
    "東京",
    "\uff21\uff23\uff2d\uff25",  # fullwidth ACME: NFKC makes it acme
    "mart",
    "coca-cola",
    "a--b",
    "-",
    "@",
    "acme.io",
]
GLUE = [" ", " ", " ", "  ", "-", "\n", "\u200b", "\u200d", "\u00ad", ", ", ".", "!", "'", "/"]
CASES = [str, str.upper, str.title, str.lower, str.casefold]


def _term(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))]
    return rng.choice(["", "", "", "@", "#"]) + " ".join(words)


def _text(rng: random.Random, terms: list[str]) -> str:
    parts = []
    for _ in range(rng.randint(0, 12)):
        if terms and rng.random() < 0.3:
            piece = rng.choice(terms)
            if rng.random() < 0.3:
                piece = piece.replace(" ", rng.choice(GLUE))
        else:
            piece = rng.choice(WORDS)
        parts.append(rng.choice(["", "", "", "@", "#", "(", "x"]) + rng.choice(CASES)(piece))
        parts.append(rng.choice(GLUE))
    return "".join(parts)


def _reference(brands: list[BrandConfig], text: str, among: set[str] | None) -> list[Match]:
    """Every brand's patterns tried on the text: the rules, without any shortcut but the
    one that always was a rule for a keyword with no word in it ("@"): it counts only
    when the longest word of another keyword of its brand is in the text."""
    folded = normalise(text)
    out = []
    for brand in brands:
        if among is not None and brand.name not in among:
            continue
        if not any(needle in folded for needle in keyword_needles(brand.keywords)):
            continue
        terms = tuple(k for k in brand.keywords if re.search(_pattern(k), folded))
        if not terms:
            continue
        if any(re.search(_pattern(x), folded) for x in brand.exclude):
            continue
        out.append(Match(brand.name, terms))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_random_texts_and_keywords_match_as_the_rules_say(seed: int) -> None:
    rng = random.Random(seed)
    brands = [
        BrandConfig(
            name=f"brand {i}",
            keywords=list(dict.fromkeys(_term(rng) for _ in range(rng.randint(1, 4)))),
            exclude=[_term(rng) for _ in range(rng.choice([0, 0, 1, 2]))],
        )
        for i in range(rng.randint(1, 8))
    ]
    matcher = Matcher(brands)
    terms = [k for b in brands for k in (*b.keywords, *b.exclude)]
    names = [b.name for b in brands]
    matched = 0
    for _ in range(150):
        text = _text(rng, terms)
        among = set(rng.sample(names, rng.randint(1, len(names)))) if rng.random() < 0.3 else None
        expected = _reference(brands, text, among)
        assert matcher.match(text, among) == expected, (text, brands)
        matched += bool(expected)
    assert matched > 0  # the generator does produce matches


def test_a_keyword_with_no_word_matches_nothing_on_its_own() -> None:
    """A brand whose only keyword is "@" has no word to look for: as before, it never matches."""
    assert Matcher([BrandConfig(name="At", keywords=["@"])]).match("@ home") == []


def test_brands_given_as_a_list_or_a_set_filter_alike() -> None:
    matcher = Matcher(
        [BrandConfig(name="Acme", keywords=["Acme"]), BrandConfig(name="Bolt", keywords=["Bolt"])]
    )
    text = "acme and bolt"
    assert (
        matcher.match(text, ["Bolt"]) == matcher.match(text, {"Bolt"}) == [Match("Bolt", ("Bolt",))]
    )
    assert matcher.match(text, frozenset()) == []
