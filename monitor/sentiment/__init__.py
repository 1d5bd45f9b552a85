"""Sentiment scoring behind one small interface.

``Scorer.score(text, brand=None) -> Score(compound, label, negative, reasons)``.

Two scorers, picked by ``sentiment.scorer`` in config.yaml:

- ``complaint`` (the default, ``ComplaintScorer``): VADER plus the cues of a
  customer-service complaint that has no negative word in it ("still waiting
  on my refund", "on hold for 2 hours", "great, another delay"), tunable per
  brand (``brands[].sentiment``). Modules: ``complaint`` (the scorer) and
  ``cues`` (the hand-written cues and where they came from).
- ``vader`` (``VaderScorer``, module ``vader``): VADER alone, the baseline.

Either is taught by the owner's verdicts in the service: the pipeline wraps it in
``LearningScorer`` (module ``learned``), which tips a brand's mentions the way that
brand's verdicts point and says so in the reasons.

Both are pure Python, deterministic and load nothing from the network: VADER
(Hutto and Gilbert, 2014; MIT licence) ships its lexicon in its package.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.config import BrandConfig, SentimentConfig
from monitor.sentiment.complaint import ComplaintScorer
from monitor.sentiment.learned import LearningScorer
from monitor.sentiment.vader import Scorer, VaderScorer, label_for

__all__ = ["ComplaintScorer", "LearningScorer", "Scorer", "VaderScorer", "label_for", "make_scorer"]


def make_scorer(config: SentimentConfig, brands: Iterable[BrandConfig] = ()) -> Scorer:
    """The scorer config.yaml asks for, with each brand's ``sentiment:`` tuning."""
    if config.scorer == "vader":
        return VaderScorer(config)
    return ComplaintScorer(config, brands)
