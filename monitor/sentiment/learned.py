"""A brand's scorer that learns from its owner's verdicts ("negative", "not negative").

``LearningScorer`` wraps the configured scorer (complaint or VADER). A brand with no
verdicts is scored exactly as before. For a brand with verdicts, the words and word
pairs of the texts the owner judged can tip a mention the scorer judged the other way:

1. The scorer's own figure says how sure it is: ``z = STEEPNESS * (threshold - compound)``
   in log-odds, positive when it flags the mention.
2. The verdicts are split by what the scorer had said of them: flagged (the owner's
   verdicts there teach false alarms) and not flagged (they teach missed complaints),
   so an owner who only ever answers alerts teaches only about alerts.
3. In each half, for each word (or pair of words) in at least ``MIN_SUPPORT`` verdicts:
   how often the owner said negative when it was there, against how often they said
   negative in that half at all, as log-odds, each word's rate pulled toward the
   half's rate by ``SHRINK`` pretend verdicts, so a handful of verdicts changes little.
   Words that go with the owner's usual answer weigh nothing; words that go with the
   scorer's mistakes weigh.
4. The words of a mention add up (damped by ``DAMP``, at most ``CAP``) to ``z``. A
   mention not flagged becomes negative when the sum is positive; a flagged one is
   silenced only when the sum is below ``-SILENCE_MARGIN``: a missed complaint costs
   the owner more than a false alarm.

The reasons say what tipped it: "you marked similar posts negative (refund, delayed)".
The ``compound`` stays the scorer's own figure, which is what the verdicts are learned
against (the store keeps it on every mention), so learning again never rescores old
texts: it counts words (see benchmarks/feedback.py for how long that takes).

Deterministic: the same verdicts give the same model in any order, in any process.
Nothing is downloaded and nothing learned ships: the verdicts are the owner's, read
from their database (``refresh``), and the model lives in memory only.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import Protocol

from monitor.config import BrandSentiment, Config
from monitor.models import Score
from monitor.sentiment.complaint import SENSITIVITY
from monitor.sentiment.names import NameStripper
from monitor.sentiment.vader import Scorer, label_for
from monitor.store.verdicts import VerdictText

log = logging.getLogger(__name__)

#: Log-odds per unit of compound away from the threshold (-0.35 is 1.8 past -0.05).
STEEPNESS = 6.0
#: Pretend verdicts that pull each word's rate toward its half's rate.
SHRINK = 3.0
#: A word weighs once it is in this many verdicts of a half.
MIN_SUPPORT = 2
#: The words of one text are not independent evidence: their sum counts this much.
DAMP = 0.5
#: The most the words can add or take, in log-odds.
CAP = 4.0
#: How clearly the verdicts must say "not negative" to silence a flagged mention.
SILENCE_MARGIN = 1.5
#: Before any verdict: the share of complaints assumed among what the scorer did not
#: flag and among what it flagged, as if seen in ``PRIOR_WEIGHT`` verdicts.
PRIORS = (0.3, 0.85)
PRIOR_WEIGHT = 2.0
#: Weights smaller than this are dropped: they could tip nothing.
MIN_WEIGHT = 0.05
#: How many words a reason names.
SHOWN = 3

_NOT_WORDS = re.compile(r"(?<!\w)@\w+|https?://\S+")
_WORD = re.compile(r"\w+(?:'\w+)*|[!?]")
#: Words too common to name in a reason (they may still weigh).
_PLAIN = frozenset(
    "a an and are as at be but by for from i i'm in is it it's me my of on or so "
    "that the this to was we were with you your".split()
)


class VerdictSource(Protocol):
    """Where verdicts are read from (the Store)."""

    def verdict_marker(self) -> str | None: ...

    def verdict_texts(self) -> list[VerdictText]: ...


@dataclass(frozen=True)
class BrandModel:
    """What one brand's verdicts taught: word weights for texts the scorer did not flag
    (index 0) and for texts it flagged (index 1)."""

    weights: tuple[dict[str, float], dict[str, float]]
    verdicts: int


def features(text: str, names: NameStripper | None = None) -> set[str]:
    """The words and adjacent word pairs of a text, without handles, links and names."""
    low = _NOT_WORDS.sub(" ", text.replace("\u2019", "'")).casefold()
    if names is not None:
        low = names.sub(low)
    words = _WORD.findall(low)
    found = set(words)
    found.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return found


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def learn_brand(examples: Iterable[tuple[Set[str], bool, bool]]) -> BrandModel:
    """A brand's model from (features, flagged by the scorer, owner said negative)."""
    seen: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    said_yes: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    totals = [[0, 0], [0, 0]]
    for feats, flagged, negative in examples:
        half = int(flagged)
        totals[half][int(negative)] += 1
        seen[half].update(feats)
        if negative:
            said_yes[half].update(feats)
    weights: tuple[dict[str, float], dict[str, float]] = ({}, {})
    for half in (0, 1):
        no, yes = totals[half]
        usual = (yes + PRIOR_WEIGHT * PRIORS[half]) / (no + yes + PRIOR_WEIGHT)
        base = _logit(usual)
        pulled = SHRINK * usual
        counted = said_yes[half]
        for f, k in seen[half].items():
            if k >= MIN_SUPPORT:
                w = _logit((counted[f] + pulled) / (k + SHRINK)) - base
                if abs(w) >= MIN_WEIGHT:
                    weights[half][f] = w
    return BrandModel(weights, sum(map(sum, totals)))


class LearningScorer:
    """The configured scorer, tipped per brand by the owner's verdicts (module docstring).

    ``refresh(store)`` learns again when the verdicts changed (one row read per call);
    the pipeline calls it once per batch. ``score`` then needs no database.
    """

    def __init__(self, base: Scorer, config: Config) -> None:
        self.base = base
        sentiment = config.sentiment
        self._names = NameStripper(k for b in config.brands for k in (b.name, *b.keywords))
        self._default = sentiment.negative_below
        self._thresholds: dict[str, float] = {}
        if sentiment.scorer == "complaint":
            self._default += SENSITIVITY[sentiment.sensitivity][1]
            for brand in config.brands:
                sensitivity = (brand.sentiment or BrandSentiment()).sensitivity
                shift = SENSITIVITY[sensitivity or sentiment.sensitivity][1]
                self._thresholds[brand.name.casefold()] = sentiment.negative_below + shift
        self._models: dict[str, BrandModel] = {}
        self._marker: str | None = None
        #: The features of each mention with a verdict: its text never changes, so
        #: learning again only counts.
        self._features: dict[int, frozenset[str]] = {}

    def threshold(self, brand: str) -> float:
        return self._thresholds.get(brand.casefold(), self._default)

    def refresh(self, store: VerdictSource) -> bool:
        """Learn again if any process gave a verdict since the last call; True if it did."""
        marker = store.verdict_marker()
        if marker == self._marker:
            return False
        self.learn(store.verdict_texts())
        self._marker = marker
        return True

    def learn(self, verdicts: Iterable[VerdictText]) -> None:
        """Replace what was learned by what these verdicts teach."""
        by_brand: dict[str, list[tuple[Set[str], bool, bool]]] = {}
        known, self._features = self._features, {}
        for v in verdicts:
            feats = known.get(v.mention_id)
            if feats is None:
                feats = frozenset(features(v.text, self._names))
            self._features[v.mention_id] = feats
            flagged = v.compound <= self.threshold(v.brand)
            by_brand.setdefault(v.brand.casefold(), []).append((feats, flagged, v.negative))
        self._models = {brand: learn_brand(examples) for brand, examples in by_brand.items()}
        log.debug("learned from the verdicts on %d brands", len(self._models))

    def model(self, brand: str) -> BrandModel | None:
        return self._models.get(brand.casefold())

    def score(self, text: str, brand: str | None = None) -> Score:
        score = self.base.score(text, brand)
        model = self._models.get(brand.casefold()) if brand else None
        if model is None:
            return score
        weights = model.weights[int(score.negative)]
        if not weights:
            return score
        found = [(f, weights[f]) for f in features(text, self._names) if f in weights]
        if not found:
            return score
        evidence = max(-CAP, min(CAP, DAMP * sum(w for _, w in found)))
        z = STEEPNESS * (self.threshold(brand or "") - score.compound) + evidence
        negative = z > -SILENCE_MARGIN if score.negative else z > 0
        if negative == score.negative:
            return score
        # The words that pushed the way it went, strongest first; plain words only if
        # nothing else did.
        pushed = sorted((kv for kv in found if (kv[1] > 0) == negative), key=_strongest)
        named = [f for f, _ in pushed if f not in _PLAIN] or [f for f, _ in pushed]
        said = "negative" if negative else "not negative"
        reason = f"you marked similar posts {said} ({', '.join(named[:SHOWN])})"
        return Score(
            compound=score.compound,
            label=label_for(score.compound, negative),
            negative=negative,
            reasons=(*score.reasons, reason),
        )


def _strongest(item: tuple[str, float]) -> tuple[float, str]:
    return (-abs(item[1]), item[0])
