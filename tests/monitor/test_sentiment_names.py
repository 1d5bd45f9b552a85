# ruff: noqa: RUF001 (the confusable letters are the point)
"""Brand names are taken out before scoring: the Aho-Corasick pre-scan against the one
alternation of every name it stands in for, on random names and texts."""

from __future__ import annotations

import random

import pytest

from monitor.config import BrandConfig
from monitor.sentiment import ComplaintScorer
from monitor.sentiment.names import NameStripper, _case_table

# Characters that re.IGNORECASE holds equal to others that lower() does not give.
TRICKY = ["İ", "ı", "i", "I", "ſ", "s", "S", "Σ", "σ", "ς", "µ", "μ", "Μ", "K", "k", "K"]
TRICKY += ["ß", "ẞ", "ﬅ", "ﬆ", "ϐ", "β", "ᲀ", "в", "В", "ͅ", "ι", "ι", "é", "e\u0301", "ǅ", "ǆ"]
WORDS = ["joy", "bakery", "acme", "coffee", "united", "sis", "kiss", "ios", "café", "straße"]
GLUE = [" ", " ", "  ", "-", ".", ", ", "'", "\u2019", "@", "#", "!", "\n"]


def _word(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(WORDS)
    return "".join(rng.choice(TRICKY + list("aeiosk")) for _ in range(rng.randint(1, 4)))


def _case(rng: random.Random, text: str) -> str:
    return "".join(rng.choice([c, c.upper(), c.lower(), c.title()]) for c in text)


@pytest.mark.parametrize("seed", range(30))
def test_the_pre_scan_takes_out_what_the_full_alternation_does(seed: int) -> None:
    rng = random.Random(seed)
    names = [" ".join(_word(rng) for _ in range(rng.randint(1, 2))) for _ in range(12)]
    stripper = NameStripper(names)
    assert stripper.pattern is not None
    changed = 0
    for _ in range(200):
        parts = []
        for _ in range(rng.randint(1, 10)):
            piece = rng.choice(names) if rng.random() < 0.4 else _word(rng)
            parts += [_case(rng, piece), rng.choice(GLUE)]
        text = "".join(parts)
        expected = stripper.pattern.sub(" ", text)
        assert stripper.sub(text) == expected, (text, names)
        changed += expected != text
    assert changed > 0


def test_the_case_table_is_worked_out_here() -> None:
    """On this Python the fast path is taken (else the test above proves nothing new)."""
    table = _case_table()
    assert table is not None
    assert chr(table[ord("ſ")]) == "s" and chr(table[ord("İ")]) == "i"


def test_among_a_thousand_brands_the_one_named_is_taken_out() -> None:
    many = [BrandConfig(name=f"Happy Shop {i}", keywords=[f"Happy Shop {i}"]) for i in range(1000)]
    text = "Happy Shop 517 lost my order"
    one = ComplaintScorer(brands=[many[517]]).score(text)
    assert ComplaintScorer(brands=many).score(text) == one
    # Without the brand, "happy" is read as praise.
    assert ComplaintScorer(brands=many[:4]).score(text).compound > one.compound
