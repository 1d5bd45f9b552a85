"""VADER's valence of one word, computed over words lower-cased once per text.

VADER's ``sentiment_valence`` lower-cases the words it looks at each time it looks
(the word, the three before it, and for its negation and idiom checks every word of
the text), checks negations by lower-casing and scanning a list, and builds each
idiom's string to look it up. ``valence`` is the same computation, step for step and
in the same order (so that every floating-point figure is the same), over a list of
the words already in lower case, with the negations in a set and the idioms checked
only where one of their words is near. ``words_of`` and ``cap_differential`` are
``SentiText``'s tokenising and its capitals rule. tests/monitor/test_sentiment_polarity.py
checks each against the library on random texts.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
)

_NEGATE = frozenset(NEGATE)
_PUNCTUATION = string.punctuation
#: VADER's idioms and the boosters of several words ("kind of"), each of which the idiom
#: check may look up.
_PHRASES = [k for k in (*SPECIAL_CASES, *BOOSTER_DICT) if " " in k]
#: One word of each such phrase (its longest): where none of them is within the words the
#: idiom check reads, no phrase can be found there.
_ANCHORS = frozenset(max(p.split(), key=len) for p in _PHRASES)


def negated(word: str) -> bool:
    """VADER's ``negated([word])`` for one lower-case word: a negation, or any "n't"."""
    return word in _NEGATE or "n't" in word


def words_of(text: str) -> list[str]:
    """``SentiText(text).words_and_emoticons``: the words split at white space, each without
    the punctuation around it unless that leaves two characters or fewer (":)")."""
    return [
        token if len(stripped := token.strip(_PUNCTUATION)) <= 2 else stripped
        for token in text.split()
    ]


def cap_differential(words: Sequence[str]) -> bool:
    """VADER's ``allcap_differential``: some words in capitals, but not all."""
    return 0 < sum(map(str.isupper, words)) < len(words)


def valence(
    lexicon: Mapping[str, float],
    words: Sequence[str],
    lowered: Sequence[str],
    cap_diff: bool,
    i: int,
) -> float:
    """VADER's ``sentiment_valence`` of ``words[i]``, a word in ``lexicon``."""
    low = lowered[i]
    value = lexicon[low]
    if low == "no" and i != len(words) - 1 and lowered[i + 1] in lexicon:
        value = 0.0
    if (
        (i > 0 and lowered[i - 1] == "no")
        or (i > 1 and lowered[i - 2] == "no")
        or (i > 2 and lowered[i - 3] == "no" and lowered[i - 1] in ("or", "nor"))
    ):
        value = lexicon[low] * N_SCALAR
    if cap_diff and words[i].isupper():
        if value > 0:
            value += C_INCR
        else:
            value -= C_INCR
    for start_i in range(0, 3):
        j = i - (start_i + 1)
        if i > start_i and lowered[j] not in lexicon:
            scalar = _scalar(words[j], lowered[j], value, cap_diff)
            if start_i == 1 and scalar != 0:
                scalar = scalar * 0.95
            if start_i == 2 and scalar != 0:
                scalar = scalar * 0.9
            value = value + scalar
            value = negation(value, lowered, start_i, i)
            if start_i == 2 and not _ANCHORS.isdisjoint(lowered[i - 3 : i + 3]):
                value = _idioms(value, lowered, i)
    return _least(value, lexicon, lowered, i)


def _scalar(word: str, low: str, value: float, cap_diff: bool) -> float:
    """VADER's ``scalar_inc_dec``."""
    scalar = 0.0
    if low in BOOSTER_DICT:
        scalar = BOOSTER_DICT[low]
        if value < 0:
            scalar *= -1
        if word.isupper() and cap_diff:
            if value > 0:
                scalar += C_INCR
            else:
                scalar -= C_INCR
    return scalar


def negation(value: float, lowered: Sequence[str], start_i: int, i: int) -> float:
    """VADER's ``_negation_check`` (for ``i > start_i``, as VADER calls it)."""
    if start_i == 0:
        if negated(lowered[i - 1]):
            value = value * N_SCALAR
    elif start_i == 1:
        two, one = lowered[i - 2], lowered[i - 1]
        if two == "never" and (one == "so" or one == "this"):
            value = value * 1.25
        elif two == "without" and one == "doubt":
            pass
        elif negated(two):
            value = value * N_SCALAR
    elif start_i == 2:
        three, two, one = lowered[i - 3], lowered[i - 2], lowered[i - 1]
        if (three == "never" and (two == "so" or two == "this")) or (one == "so" or one == "this"):
            value = value * 1.25
        elif three == "without" and (two == "doubt" or one == "doubt"):
            pass
        elif negated(three):
            value = value * N_SCALAR
    return value


def _idioms(value: float, lowered: Sequence[str], i: int) -> float:
    """VADER's ``_special_idioms_check`` (for ``i >= 3``, as VADER calls it)."""
    one, two, three = lowered[i - 1], lowered[i - 2], lowered[i - 3]
    here = lowered[i]
    onezero = f"{one} {here}"
    twoonezero = f"{two} {one} {here}"
    twoone = f"{two} {one}"
    threetwoone = f"{three} {two} {one}"
    threetwo = f"{three} {two}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            value = SPECIAL_CASES[seq]
            break
    if len(lowered) - 1 > i:
        zeroone = f"{here} {lowered[i + 1]}"
        if zeroone in SPECIAL_CASES:
            value = SPECIAL_CASES[zeroone]
    if len(lowered) - 1 > i + 1:
        zeroonetwo = f"{here} {lowered[i + 1]} {lowered[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            value = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            value = value + BOOSTER_DICT[n_gram]
    return value


def _least(value: float, lexicon: Mapping[str, float], lowered: Sequence[str], i: int) -> float:
    """VADER's ``_least_check``."""
    if i > 1 and lowered[i - 1] not in lexicon and lowered[i - 1] == "least":
        if lowered[i - 2] != "at" and lowered[i - 2] != "very":
            value = value * N_SCALAR
    elif i > 0 and lowered[i - 1] not in lexicon and lowered[i - 1] == "least":
        value = value * N_SCALAR
    return value


def but_check(lowered: Sequence[str], sentiments: list[float]) -> list[float]:
    """VADER's ``_but_check`` (changes ``sentiments``): before the first "but" a valence
    counts half, after it one and a half. VADER finds each valence's place by its value
    (the first equal one), and so does this; a valence of 0 is left as it is, as it stays 0."""
    if "but" not in lowered:
        return sentiments
    bi = list(lowered).index("but")
    for position in range(len(sentiments)):
        sentiment = sentiments[position]
        if sentiment == 0:
            continue
        si = sentiments.index(sentiment)
        if si < bi:
            sentiments[si] = sentiment * 0.5
        elif si > bi:
            sentiments[si] = sentiment * 1.5
    return sentiments
