"""VADER's compound score of a text, and the same without the courtesy words, in one pass.

The complaint scorer reads a text with VADER, and for some texts (a real complaint
that says "please help" or "thanks") again with a lexicon that lacks the courtesy
words (``complaint.POLITE_WORDS``). The second reading used to run VADER whole a
second time: the emoji translation, the tokenising and every word's valence. Here
the first reading is kept (``Reading``) and the second recomputes only the words
whose valence can depend on the missing words: VADER looks up the lexicon for a word
itself, the word after it ("no" before a lexicon word) and the three before it
(modifiers), nothing further; the rest of the computation does not read the lexicon.

Both figures are VADER's own (its ``sentiment_valence``, ``_but_check`` and
``score_valence`` do the work; the loop around them is ``polarity_scores``'s), and
tests/monitor/test_sentiment_polarity.py checks them against ``polarity_scores`` on
many texts. VADER's emoji translation looks at the characters beyond ASCII only (a text
without emoji skips it), and ``Vader`` hands VADER's negation and idiom checks only the
words they read instead of lower-casing the whole text for each word: both give VADER's
own results, in less time.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    SentimentIntensityAnalyzer,
    SentiText,
)

#: How far a word's valence looks at its neighbours' lexicon entries: 3 before, 1 after.
_BEFORE, _AFTER = 3, 1
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class Vader(SentimentIntensityAnalyzer):  # type: ignore[misc]
    """VADER, whose negation and idiom checks are handed only the words they read.

    VADER lower-cases every word of the text each time it checks the three words before a
    sentiment word (``_negation_check``, ``_special_idioms_check``): for a text of n words
    that is n times n. Its own checks run here too, on the few words around the one
    checked (three before it, two after it), at the same places relative to it.
    """

    @staticmethod
    def _negation_check(valence: Any, words: list[str], start_i: int, i: int) -> Any:
        if i <= start_i:  # never, from VADER: the whole list, as VADER would
            return SentimentIntensityAnalyzer._negation_check(valence, words, start_i, i)
        low = max(0, i - 3)
        return SentimentIntensityAnalyzer._negation_check(
            valence, words[low : i + 1], start_i, i - low
        )

    @staticmethod
    def _special_idioms_check(valence: Any, words: list[str], i: int) -> Any:
        if i < 3:  # never, from VADER: the whole list, as VADER would
            return SentimentIntensityAnalyzer._special_idioms_check(valence, words, i)
        return SentimentIntensityAnalyzer._special_idioms_check(valence, words[i - 3 : i + 3], 3)


@dataclass(frozen=True, slots=True)
class Reading:
    """One VADER reading of a text: what a second reading with another lexicon reuses."""

    text: str
    sentitext: SentiText
    #: Each word's valence before the "but" rule, and whether VADER skipped it (a booster,
    #: "kind of") without asking the lexicon.
    valences: tuple[float, ...]
    skipped: frozenset[int]
    compound: float


class Polarity:
    """VADER (``analyzer``), and on demand VADER without the lexicon words ``without``."""

    def __init__(self, analyzer: SentimentIntensityAnalyzer, without: Iterable[str]) -> None:
        self.vader = analyzer
        words = set(without)
        self.polite = _without(analyzer, words)
        self._dropped = frozenset(w for w in words if w in analyzer.lexicon)
        self._emoji = frozenset(k for k in analyzer.emojis if len(k) == 1)

    def read(self, text: str) -> Reading:
        """VADER's reading of ``text``: ``compound`` is ``polarity_scores(text)["compound"]``."""
        text = self._demojize(text)
        sentitext = SentiText(text)
        words = sentitext.words_and_emoticons
        valences: list[float] = []
        skipped: set[int] = set()
        for i, item in enumerate(words):
            if item.lower() in BOOSTER_DICT or (
                i < len(words) - 1 and item.lower() == "kind" and words[i + 1].lower() == "of"
            ):
                valences.append(0)
                skipped.add(i)
                continue
            valences = self.vader.sentiment_valence(0, sentitext, item, i, valences)
        compound = self._compound(words, valences, text)
        return Reading(text, sentitext, tuple(valences), frozenset(skipped), compound)

    def without_words(self, reading: Reading) -> float:
        """The compound VADER gives the same text with the ``without`` words out of its
        lexicon (as ``polite.polarity_scores``), from ``reading``."""
        words = reading.sentitext.words_and_emoticons
        lowered = [w.lower() for w in words]
        near = [i for i, w in enumerate(lowered) if w in self._dropped]
        if not near:
            return reading.compound
        affected = {
            j
            for i in near
            for j in range(max(0, i - _AFTER), min(len(words), i + _BEFORE + 1))
            if j not in reading.skipped
        }
        valences = list(reading.valences)
        for j in sorted(affected):
            valences[j] = self.polite.sentiment_valence(0, reading.sentitext, words[j], j, [])[0]
        return self._compound(words, valences, reading.text)

    def _compound(self, words: list[str], valences: list[float], text: str) -> float:
        # _but_check changes the list it is given: give it a copy.
        sentiments = self.vader._but_check(words, list(valences))
        return float(self.vader.score_valence(sentiments, text)["compound"])

    def _demojize(self, text: str) -> str:
        """``polarity_scores``'s emoji translation, skipped when there is no emoji."""
        if self._emoji.isdisjoint(text):
            return text.strip()
        emojis = self.vader.emojis
        # VADER's loop puts a space before a description unless it starts the text or
        # follows a space, nothing after it. Emoji are beyond ASCII: only those are looked at.
        out: list[str] = []
        done = 0
        for match in _NON_ASCII.finditer(text):
            char = match.group()
            if char in emojis:
                at = match.start()
                out.append(text[done:at])
                if at != 0 and text[at - 1] != " ":
                    out.append(" ")
                out.append(emojis[char])
                done = at + 1
        out.append(text[done:])
        return "".join(out).strip()


def _without(base: SentimentIntensityAnalyzer, words: Iterable[str]) -> SentimentIntensityAnalyzer:
    """A VADER sharing everything with ``base`` but its lexicon, which lacks ``words``."""
    drop = set(words)
    clone = copy.copy(base)
    clone.lexicon = {w: v for w, v in base.lexicon.items() if w not in drop}
    return clone
