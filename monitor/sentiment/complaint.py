"""The complaint-aware scorer: VADER plus the cues of a customer-service complaint.

How a text is scored (each step shows in ``Score.reasons``):

1. @handles, links and the configured brands' names and keywords are taken
   out ("@united" and "Joy Bakery" are names, not praise), and so are the
   brand's ``not_trouble`` terms ("sick", "killer" for a skate shop).
   VADER's compound score ``v`` is taken of what is left.
2. The complaint cues of ``monitor.sentiment.cues`` and the brand's
   ``trouble`` terms ("cold", "soggy" for a café) are found, each with a
   weight. They combine like independent evidence (0.6 and 0.4 make 0.76),
   less ``resolved`` cues; above ``CUE_FLOOR`` (one weak cue alone is not
   enough), scaled by the sensitivity and capped at ``CUE_CAP``, that is the
   complaint evidence ``e``.
3. If ``v`` is positive and there is a complaint cue: praise next to a real
   complaint is sarcasm ("great, another delay") and counts for nothing;
   otherwise, when the cues are strong, positive words count for less
   (``POSITIVE_KEEP``) and courtesy ("please help", "thanks") not at all.
4. ``compound = v' - e`` when ``v'`` is positive, else the lower of ``v'``
   and ``-e`` (cues do not make a mention VADER already finds negative more
   severe than the strongest of the two says); the mention is negative when
   ``compound <= negative_below`` (``low`` sensitivity lowers that). Without
   any cue this is exactly VADER on the text without handles and names.

Deterministic: nothing changes while scoring, so the same text and brand get
the same Score. Nothing is learned from data at run time or before it: the
weights are hand-set (see cues.py for their provenance). Speed, one core of a
shared two-core machine: about 9,400 short texts/s (benchmarks/sentiment_quality.py)
and 4,100 to 5,300 mentions of 180 characters (benchmarks/pipeline.py), about what
the VADER library's own ``polarity_scores`` does alone (5,300 to 6,500): VADER's
figures are read in less time than VADER takes (polarity.py, valence.py), which
pays for the cues (scan.py) and the names (names.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.config import BrandConfig, BrandSentiment, Sensitivity, SentimentConfig
from monitor.models import Score
from monitor.sentiment.names import NameStripper
from monitor.sentiment.polarity import Polarity, Vader
from monitor.sentiment.scan import Hit, find_cues, normalise, sarcasm_frame
from monitor.sentiment.vader import label_for, negative_words

#: The sum of cue weights must pass this before it counts: one weak cue is not a complaint.
CUE_FLOOR = 0.1
#: The most the cues alone can take off VADER's score: below ``high_below`` (-0.6) by
#: default, so a mention is of ``high`` severity only when VADER finds strong words too.
CUE_CAP = 0.55
#: Cue weights needed before "please" and "thanks" stop counting as praise.
POLITE_EVIDENCE = 0.4
#: How much of VADER's positive score stands next to that much complaint evidence.
POSITIVE_KEEP = 0.7
#: The weight of an owner's ``trouble`` term.
TROUBLE_WEIGHT = 0.45
#: Per sensitivity: how much the cues weigh, and how far the negative threshold moves.
#: ``high`` never moves the threshold above ``negative_below``: a text with no cue and no
#: negative word stays neutral.
SENSITIVITY: dict[str, tuple[float, float]] = {
    "low": (0.6, -0.1),
    "normal": (1.0, 0.0),
    "high": (1.5, 0.0),
}
#: A cue at least this strong, of a category below, makes praise next to it sarcasm.
HARD_WEIGHT = 0.35

#: Words that are courtesy, not praise, in a message to a business; VADER counts them as positive.
POLITE_WORDS = (
    "please",
    "pls",
    "plz",
    "help",
    "helps",
    "helping",
    "thanks",
    "thank",
    "thx",
    "ty",
    "kindly",
    "appreciate",
    "appreciated",
    "hope",
    "hopefully",
    "care",
    "support",
    "ok",
    "okay",
    "sure",
    "yes",
    "like",
    "well",
    "want",
    "free",
    "credit",
    "reward",
    "rewards",
    # Read as praise by VADER, but not in "what a joke", "not a priority", "I wish it worked".
    "joke",
    "priority",
    "wish",
)


#: Complaint categories that make "great", "love how", ... read as sarcasm.
HARD_CATEGORIES = frozenset(
    {
        "waiting",
        "no help",
        "not delivered",
        "failure",
        "money",
        "fed up",
        "harsh words",
        "dislike",
        "lost customer",
        "poor quality",
        "trouble",
    }
)

_POLITE = re.compile(r"\b(?:" + "|".join(POLITE_WORDS) + r")\b")
#: @handles and links name things, they are not opinions ("@united", "@lovelybakery").
_NOT_WORDS = re.compile(r"(?<!\w)@\w+|https?://\S+")


@dataclass(frozen=True)
class BrandTuning:
    """One brand's tuning, compiled: its trouble terms, ignored terms and threshold."""

    trouble: re.Pattern[str] | None
    not_trouble: re.Pattern[str] | None
    sensitivity: Sensitivity


def _terms_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    cleaned = sorted({normalise(t) for t in terms if t.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alternatives = "|".join(re.escape(t) for t in cleaned)
    return re.compile(r"(?<!\w)(?:" + alternatives + r")(?!\w)", re.IGNORECASE)


_NEGATED_TERM = re.compile(
    r"\b(?:not|no|never|isn'?t|wasn'?t|weren'?t|aren'?t|nor|without)(?: \w+)? $"
)


class ComplaintScorer:
    """VADER plus complaint cues, tunable per brand. See the module docstring.

    ``brands``: the configured brands. Their names and keywords are names, never
    sentiment ("Joy Bakery", "@united"), and each brand's ``sentiment:`` block tunes
    the mentions filed under it (``score(text, brand=name)``).
    """

    def __init__(
        self, config: SentimentConfig | None = None, brands: Iterable[BrandConfig] = ()
    ) -> None:
        self.config = config or SentimentConfig()
        self._vader = Vader()
        self._polarity = Polarity(self._vader, POLITE_WORDS)
        brands = list(brands)
        self._names = NameStripper(k for b in brands for k in (b.name, *b.keywords))
        self._tuning: dict[str, BrandTuning] = {}
        for brand in brands:
            settings = brand.sentiment or BrandSentiment()
            self._tuning[brand.name.casefold()] = BrandTuning(
                trouble=_terms_pattern(settings.trouble),
                not_trouble=_terms_pattern(settings.not_trouble),
                sensitivity=settings.sensitivity or self.config.sensitivity,
            )

    def score(self, text: str, brand: str | None = None) -> Score:
        tuning = self._tuning.get(brand.casefold()) if brand else None
        scale, shift = SENSITIVITY[tuning.sensitivity if tuning else self.config.sensitivity]
        threshold = self.config.negative_below + shift
        reasons: list[str] = []
        stripped = self._strip(text, tuning, reasons)
        low = normalise(stripped)
        reading = self._polarity.read(stripped)
        v = reading.compound
        hits = find_cues(low)
        if tuning is not None and tuning.trouble is not None:
            hits.extend(_trouble_hits(tuning.trouble, low))
        adjusted = v
        if v > 0 and any(h.weight > 0 for h in hits):
            frame = _sarcasm(hits, low)
            if frame is not None:
                hits.append(frame)
            if any(h.category == "sarcasm" for h in hits):
                adjusted = 0.0  # "great, another delay": the "great" is not praise
            elif _combine(hits) >= POLITE_EVIDENCE and v - _evidence(hits, scale) > threshold:
                # Next to a real complaint, positive words count for less, and courtesy
                # ("please help", "thanks") not at all; only asked when it could matter.
                adjusted = v * POSITIVE_KEEP
                if _POLITE.search(low):
                    # VADER without the courtesy words, from the same reading.
                    polite = self._polarity.without_words(reading)
                    adjusted = min(adjusted, polite)
        evidence = _evidence(hits, scale)
        # Cues pull a positive or neutral score down; a score VADER already finds negative
        # takes the stronger of the two, so cues add no severity VADER did not see.
        compound = adjusted - evidence if adjusted > 0 else min(adjusted, -evidence)
        negative = compound <= threshold
        reasons.insert(0, f"vader {v:+.2f}")
        if adjusted != v:
            reasons.append(f"positive words discounted: {adjusted:+.2f}")
        for hit in sorted(hits, key=lambda h: -h.weight):
            if hit.weight > 0:
                prefix = "trouble" if hit.category == "trouble" else f"complaint: {hit.category}"
                reasons.append(f'{prefix} ("{hit.text}")')
            else:
                reasons.append(f'{hit.category} ("{hit.text}")')
        if negative:
            words = negative_words(low, self._vader.lexicon)
            if words:
                reasons.append("negative words: " + ", ".join(words))
        return Score(
            compound=round(compound, 4),
            label=label_for(compound, negative),
            negative=negative,
            reasons=tuple(reasons),
        )

    def _strip(self, text: str, tuning: BrandTuning | None, reasons: list[str]) -> str:
        """The text without handles, links, brand names and the brand's ``not_trouble`` terms.

        What is left keeps its case: VADER reads capitals as emphasis of its own words.
        """
        stripped = _NOT_WORDS.sub(" ", text.replace("\u2019", "'").replace("\u2018", "'"))
        stripped = self._names.sub(stripped)
        if tuning is not None and tuning.not_trouble is not None:
            ignored = tuning.not_trouble.findall(stripped)
            if ignored:
                stripped = tuning.not_trouble.sub(" ", stripped)
                found = dict.fromkeys(t.lower() for t in ignored)
                reasons.append("not trouble here: " + ", ".join(found))
        return stripped


def _sarcasm(hits: list[Hit], low: str) -> Hit | None:
    """A praise frame ("love how", "great job") close to a real complaint cue."""
    if any(h.category == "sarcasm" for h in hits):
        return None
    near = [h.start for h in hits if h.category in HARD_CATEGORIES and h.weight >= HARD_WEIGHT]
    return sarcasm_frame(low, near) if near else None


def _combine(hits: Iterable[Hit]) -> float:
    """Complaint cues combine like independent pieces of evidence (0.6 and 0.4 make 0.76);
    ``resolved`` cues are then taken off."""
    doubt = 1.0
    against = 0.0
    for hit in hits:
        if hit.weight > 0:
            doubt *= 1.0 - hit.weight
        else:
            against -= hit.weight
    return 1.0 - doubt - against


def _evidence(hits: Iterable[Hit], scale: float = 1.0) -> float:
    """What the cues take off VADER's score: their combined weight less the floor, capped."""
    return round(min(CUE_CAP, max(0.0, _combine(hits) * scale - CUE_FLOOR)), 4)


def _trouble_hits(pattern: re.Pattern[str], low: str) -> list[Hit]:
    for match in pattern.finditer(low):
        if not _NEGATED_TERM.search(low, max(0, match.start() - 25), match.start()):
            return [Hit("trouble", TROUBLE_WEIGHT, match.group())]
    return []
