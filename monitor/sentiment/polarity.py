"""VADER's compound score of a text, and the same without the courtesy words, in one pass.

The complaint scorer reads a text with VADER, and for some texts (a real complaint
that says "please help" or "thanks") again with a lexicon that lacks the courtesy
words (``complaint.POLITE_WORDS``). The second reading used to run VADER whole a
second time: the emoji translation, the tokenising and every word's valence. Here
the first reading is kept (``Reading``) and the second recomputes only the words
whose valence can depend on the missing words: VADER looks up the lexicon for a word
itself, the word after it ("no" before a lexicon word) and the three before it
(modifiers), nothing further; the rest of the computation does not read the lexicon.

Both figures are VADER's own, computed as ``polarity_scores`` computes them, in less
time: the emoji translation looks at the characters beyond ASCII only (a text without
emoji skips it); the words are lower-cased once (VADER does it again for every word it
looks at, and for every sentiment word the whole text); a word that is neither in the
lexicon nor a booster gets valence 0 without more ado (``sentiment_valence`` looks at
nothing else for it); a lexicon word's valence is ``valence.valence``, VADER's
``sentiment_valence`` step for step; its "but" rule is ``valence.but_check``, and of
``score_valence`` only the compound is worked out. tests/monitor/test_sentiment_polarity.py
checks both figures against the untouched library's ``polarity_scores`` on many random
texts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    SentimentIntensityAnalyzer,
    normalize,
)

from monitor.sentiment.valence import but_check, cap_differential, negation, valence, words_of

#: How far a word's valence looks at its neighbours' lexicon entries: 3 before, 1 after.
_BEFORE, _AFTER = 3, 1
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class Vader(SentimentIntensityAnalyzer):  # type: ignore[misc]
    """VADER, whose negation check lower-cases only the words it reads.

    VADER lower-cases every word of the text each time it checks the three words before a
    sentiment word (``_negation_check``, ``_special_idioms_check``): for a text of n words
    that is n times n. ``Polarity`` does not call these; a caller of this class's own
    ``polarity_scores`` gets the same figures as VADER's, sooner.
    """

    @staticmethod
    def _negation_check(valence: Any, words: list[str], start_i: int, i: int) -> Any:
        if i <= start_i:  # never, from VADER: the whole list, as VADER would
            return SentimentIntensityAnalyzer._negation_check(valence, words, start_i, i)
        low = max(0, i - 3)
        lowered = [w.lower() for w in words[low : i + 1]]
        return negation(valence, lowered, start_i, i - low)

    @staticmethod
    def _special_idioms_check(valence: Any, words: list[str], i: int) -> Any:
        if i < 3:  # never, from VADER: the whole list, as VADER would
            return SentimentIntensityAnalyzer._special_idioms_check(valence, words, i)
        return SentimentIntensityAnalyzer._special_idioms_check(valence, words[i - 3 : i + 3], 3)


@dataclass(frozen=True, slots=True)
class Reading:
    """One VADER reading of a text: what a second reading with another lexicon reuses."""

    text: str
    #: VADER's words (``SentiText.words_and_emoticons``), as written and in lower case.
    words: tuple[str, ...]
    lowered: tuple[str, ...]
    #: ``SentiText.is_cap_diff``: some words in capitals, not all.
    cap_diff: bool
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
        words = words_of(text)
        lowered = [w.lower() for w in words]
        cap_diff = cap_differential(words)
        lexicon = self.vader.lexicon
        last = len(words) - 1
        valences: list[float] = []
        skipped: set[int] = set()
        for i, low in enumerate(lowered):
            if low in BOOSTER_DICT or (low == "kind" and i < last and lowered[i + 1] == "of"):
                valences.append(0)
                skipped.add(i)
            elif low in lexicon:
                valences.append(valence(lexicon, words, lowered, cap_diff, i))
            else:
                valences.append(0)  # what sentiment_valence gives a word not in the lexicon
        compound = self._compound(lowered, valences, text)
        return Reading(
            text,
            tuple(words),
            tuple(lowered),
            cap_diff,
            tuple(valences),
            frozenset(skipped),
            compound,
        )

    def without_words(self, reading: Reading) -> float:
        """The compound VADER gives the same text with the ``without`` words out of its
        lexicon (as ``polite.polarity_scores``), from ``reading``."""
        words, lowered = reading.words, reading.lowered
        near = [i for i, w in enumerate(lowered) if w in self._dropped]
        if not near:
            return reading.compound
        affected = {
            j
            for i in near
            for j in range(max(0, i - _AFTER), min(len(words), i + _BEFORE + 1))
            if j not in reading.skipped
        }
        lexicon = self.polite.lexicon
        valences = list(reading.valences)
        for j in sorted(affected):
            valences[j] = (
                valence(lexicon, words, lowered, reading.cap_diff, j)
                if lowered[j] in lexicon
                else 0
            )
        return self._compound(lowered, valences, reading.text)

    def _compound(self, lowered: Sequence[str], valences: Sequence[float], text: str) -> float:
        """``score_valence(_but_check(words, valences), text)["compound"]``."""
        sentiments = but_check(lowered, list(valences))
        if not sentiments:
            return 0.0
        total = float(sum(sentiments))
        if total > 0:
            total += self.vader._punctuation_emphasis(text)
        elif total < 0:
            total -= self.vader._punctuation_emphasis(text)
        return float(round(normalize(total), 4))

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
