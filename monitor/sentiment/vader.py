"""The scorer interface and the plain VADER scorer (the baseline).

VADER (Hutto and Gilbert, 2014; MIT licence) ships its lexicon inside its
package, so nothing is downloaded at run time. ``reasons`` names VADER's
compound score and the negative words it found, so an owner can see why a
mention was flagged. The negative threshold is ``sentiment.negative_below``.
"""

from __future__ import annotations

import re
from typing import Protocol

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.config import SentimentConfig
from monitor.models import Label, Score
from monitor.sentiment.polarity import Polarity, Vader

_WORD = re.compile(r"[\w']+")


class Scorer(Protocol):
    """Anything that turns a mention's text into a Score.

    ``brand`` names the brand the mention was filed under, for scorers that
    apply per-brand tuning; others ignore it.
    """

    def score(self, text: str, brand: str | None = None) -> Score: ...


def label_for(compound: float, negative: bool) -> Label:
    """The label agrees with the negative verdict, whatever threshold the owner set."""
    if negative:
        return "negative"
    return "positive" if compound >= 0.05 else "neutral"


def negative_words(text: str, lexicon: dict[str, float], limit: int = 5) -> list[str]:
    """The strongly negative VADER words in ``text``, first seen first."""
    words: list[str] = []
    for word in _WORD.findall(text.lower()):
        if lexicon.get(word, 0.0) < -1.0 and word not in words:
            words.append(word)
            if len(words) == limit:
                break
    return words


class VaderScorer:
    """VADER's compound score, with the negative words it saw as reasons."""

    def __init__(self, config: SentimentConfig | None = None) -> None:
        self.config = config or SentimentConfig()
        self._vader = SentimentIntensityAnalyzer()
        self._lexicon: dict[str, float] = self._vader.lexicon
        # The same figures as polarity_scores, read faster (polarity.py; tested against it).
        self._reader = Polarity(Vader(), ())

    def score(self, text: str, brand: str | None = None) -> Score:
        compound = self._reader.read(text).compound
        negative = compound <= self.config.negative_below
        reasons = [f"vader {compound:+.2f}"]
        if negative:
            words = negative_words(text, self._lexicon)
            if words:
                reasons.append("negative words: " + ", ".join(words))
        return Score(
            compound=compound,
            label=label_for(compound, negative),
            negative=negative,
            reasons=tuple(reasons),
        )

    def polarity(self, text: str) -> float:
        """Bare VADER compound score (the library's own ``polarity_scores``, untouched), the
        reference of the benchmarks."""
        return float(self._vader.polarity_scores(text)["compound"])
