"""The cue dispatch (monitor/sentiment/scan.py) finds what trying every cue at every word
start finds, on random texts made of the cues' own words."""

from __future__ import annotations

import random
import re

import pytest

from monitor.sentiment import scan
from monitor.sentiment.cues import CUES
from monitor.sentiment.scan import _starts, _word_cues, normalise

#: Every cue, tried at every word start: what the dispatch must find, hit for hit.
EVERYTHING = re.compile(r"\b(?:" + "|".join(f"(?P<c{i}>{c[3]})" for i, c in enumerate(CUES)) + ")")
WORD_START = re.compile(r"\b\w")

#: The words the cues are written with ("still", "haven't", "hrs", ...), and a few others.
CUE_WORDS = sorted({w for cue in CUES for w in re.findall(r"[a-z]+(?:'[a-z]+)?", cue[3])})
OTHERS = ["3", "24", "2nd", "1.5", "the", "coffee", "x", "café", "naïve", "_", "don", "t"]
GLUE = [" ", " ", " ", " ", ", ", "-", "'", ". ", "!", "?", " #", " @", "  ", "\u2019"]


def reference(low: str) -> list[tuple[int, str | None, str]]:
    found = []
    for start in WORD_START.finditer(low):
        match = EVERYTHING.match(low, start.start())
        if match is not None:
            found.append((match.start(), match.lastgroup, match.group()))
    return found


def _text(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 40)):
        word = rng.choice(CUE_WORDS if rng.random() < 0.85 else OTHERS)
        # Cut a word short or run two together now and then: prefixes must not fool it.
        if rng.random() < 0.1:
            word = word[: rng.randint(1, len(word))]
        elif rng.random() < 0.05:
            word += rng.choice(CUE_WORDS)
        parts += [word, rng.choice(GLUE)]
    return "".join(parts)


@pytest.mark.parametrize("seed", range(12))
def test_random_texts_of_cue_words_get_the_hits_of_every_cue_everywhere(seed: int) -> None:
    rng = random.Random(seed)
    hits = 0
    for _ in range(300):
        low = normalise(_text(rng))
        found = [(m.start(), m.lastgroup, m.group()) for m in _word_cues(low)]
        assert found == reference(low), low
        hits += len(found)
    assert hits > 100  # the texts did hold cues: the comparison meant something


def test_a_cue_is_dispatched_by_its_first_word_where_that_is_known() -> None:
    assert _starts(r"still (?:waiting|no\b)", 24) == {"still "}
    assert _starts(r"(?:haven'?t|has not) got", 24) == {"haven'", "havent ", "has "}
    assert _starts(r"slip\w*|on hold", 24) is None  # the word goes on: not known
    assert _starts(r"slip\w*|on hold", 3) == {"sli", "on "}
    assert _starts(r"\bsigh\b", 24) == {"sigh"}  # a whole match: words that begin so
    assert _starts(r"(?:very )?", 24) is None  # can match nothing: tried everywhere


def test_without_the_parsers_internals_every_cue_is_tried_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scan, "_parser", lambda: None)
    tables = scan._build()
    assert all(not table for table in tables[:4])
    assert tables[4] is not None and tables[4].indexes == tuple(range(len(CUES)))
