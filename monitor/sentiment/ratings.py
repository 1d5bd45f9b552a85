"""A review's stars are evidence: they enter the score next to the words.

The scorer reads the words (``Scorer.score(text, brand)``); the pipeline then hands
its Score and the mention's rating (normalised to 1-5, ``Mention.rating``) to
``rated``, which returns the Score the mention is filed with:

- 1-2 stars are negative whatever the words ("Nice staff. 1 star." is a complaint);
  1 star is of ``high`` severity, 2 stars ``negative``;
- 3 stars: the words decide, as for any post;
- 4-5 stars are positive unless the words are a clear complaint (a score at or below
  the middle of ``negative_below`` and ``high_below``: "5 stars but the order never
  came and nobody answers" stays negative; "lovely, a bit slow today" does not);
- a negative review by a reviewer with a large following (``REACH`` followers, where
  the source gives it) is of ``high`` severity.

The reasons say it in owner words ("1-star review"). Severity follows the compound
(monitor/rules.py: at or below ``high_below`` is high), so a rating that raises the
severity lowers the compound to that line, and the scorer's own figure stays in the
reasons ("vader +0.42"). A mention without a rating is returned unchanged: nothing
changes for posts that are not reviews.
"""

from __future__ import annotations

from monitor.config import SentimentConfig
from monitor.models import Score
from monitor.wording import count

#: Followers from which a negative review's author counts as having a large audience.
REACH = 1000
#: How far below ``high_below`` a rating puts a review it makes ``high``.
MARGIN = 0.05


def stars(rating: float) -> str:
    """``1-star``, ``4.5-star``: how a rating is said before "review"."""
    return f"{rating:g}-star"


def clear_complaint(score: Score, config: SentimentConfig) -> bool:
    """The words alone are a clear complaint: negative, and at or below the middle of the
    two thresholds (the point where the scorer's verdict is no longer a close call)."""
    return score.negative and score.compound <= (config.negative_below + config.high_below) / 2


def rated(
    score: Score,
    rating: float | None,
    config: SentimentConfig,
    *,
    followers: int | None = None,
) -> Score:
    """The score of a post with ``rating`` stars (None: not a review, returned as it is)."""
    if rating is None:
        return score
    said = f"{stars(rating)} review"
    high = max(-1.0, config.high_below - MARGIN)
    middle = (config.negative_below + config.high_below) / 2
    compound, negative, label = score.compound, score.negative, score.label
    reasons = list(score.reasons)
    if rating < 1.5:
        compound, negative, label = min(compound, high), True, "negative"
        reasons.insert(0, said)
    elif rating < 2.5:
        compound, negative, label = min(compound, middle), True, "negative"
        reasons.insert(0, said)
    elif rating < 3.5:
        reasons.insert(0, f"{said}: the words decide")
    elif clear_complaint(score, config):
        reasons.insert(0, f"{said}, but the words are a clear complaint")
    else:
        negative, label = False, "positive"
        reasons.insert(0, said)
    if negative and followers is not None and followers >= REACH and compound > high:
        compound = high
        reasons.insert(1, f"the reviewer has {count(followers, 'follower')}")
    return Score(
        compound=round(compound, 4), label=label, negative=negative, reasons=tuple(reasons)
    )
