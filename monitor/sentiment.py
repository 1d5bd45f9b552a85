"""Sentiment scoring behind one small interface.

``Scorer.score(text) -> Score(compound, label, negative, reasons)``. For now the
scorer is VADER (Hutto and Gilbert, 2014; MIT licence), which ships its lexicon
inside its package, so nothing is downloaded at run time. ``reasons`` names
VADER's compound score and the negative words it found, so an owner can see
why a mention was flagged. The negative threshold is configurable
(``sentiment.negative_below``).
"""

from __future__ import annotations

import re
from typing import Protocol

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.config import SentimentConfig
from monitor.models import Label, Score

_WORD = re.compile(r"[\w']+")


class Scorer(Protocol):
    def score(self, text: str) -> Score: ...


def label_for(compound: float, negative: bool) -> Label:
    """The label agrees with the negative verdict, whatever threshold the owner set."""
    if negative:
        return "negative"
    return "positive" if compound >= 0.05 else "neutral"


class VaderScorer:
    """VADER's compound score, with the negative words it saw as reasons."""

    def __init__(self, config: SentimentConfig | None = None) -> None:
        self.config = config or SentimentConfig()
        self._vader = SentimentIntensityAnalyzer()
        self._lexicon: dict[str, float] = self._vader.lexicon

    def score(self, text: str) -> Score:
        compound = float(self._vader.polarity_scores(text)["compound"])
        negative = compound <= self.config.negative_below
        reasons = [f"vader {compound:+.2f}"]
        if negative:
            words = []
            for word in _WORD.findall(text.lower()):
                if self._lexicon.get(word, 0.0) < -1.0 and word not in words:
                    words.append(word)
            if words:
                reasons.append("negative words: " + ", ".join(words[:5]))
        return Score(
            compound=compound,
            label=label_for(compound, negative),
            negative=negative,
            reasons=tuple(reasons),
        )

    def polarity(self, text: str) -> float:
        """Bare VADER compound score, for benchmarks."""
        return float(self._vader.polarity_scores(text)["compound"])
