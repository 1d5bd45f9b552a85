from __future__ import annotations

from alerts.console import ConsoleConfig
from monitor.config import SentimentConfig
from monitor.rules import decide, severity_of
from monitor.sentiment import VaderScorer


def test_negative_text_is_flagged_with_reasons() -> None:
    score = VaderScorer().score("The latte was cold and the barista was rude. Awful.")
    assert score.negative and score.label == "negative"
    assert score.compound < -0.5
    assert score.reasons[0].startswith("vader -0.")
    assert "rude" in score.reasons[1] and "awful" in score.reasons[1]


def test_positive_and_neutral() -> None:
    scorer = VaderScorer()
    assert scorer.score("Best flat white in town, lovely staff!").label == "positive"
    neutral = scorer.score("Acme Coffee opens a new shop on Harbour Road on Monday")
    assert neutral.label == "neutral" and not neutral.negative
    assert neutral.reasons == (f"vader {neutral.compound:+.2f}",)


def test_threshold_is_configurable() -> None:
    text = "the coffee was a bit meh"
    default = VaderScorer().score(text)
    strict = VaderScorer(SentimentConfig(negative_below=-0.9)).score(text)
    assert default.negative and not strict.negative
    assert default.compound == strict.compound
    # The label follows the owner's threshold, so it never says "negative" without an alert.
    assert (default.label, strict.label) == ("negative", "neutral")


def test_severity_and_routing() -> None:
    config = SentimentConfig()
    scorer = VaderScorer(config)
    terrible = scorer.score("Worst, most disgusting coffee ever. I hate this awful place.")
    mild = scorer.score("a bit disappointed with the coffee")
    happy = scorer.score("great coffee")
    assert severity_of(terrible, config) == "high"
    assert severity_of(mild, config) == "negative"
    assert severity_of(happy, config) == "info"
    everything = ConsoleConfig.model_validate(
        {"type": "console", "name": "all", "min_severity": "all"}
    )
    loud = ConsoleConfig.model_validate({"type": "console", "name": "loud", "min_severity": "high"})
    other = ConsoleConfig.model_validate({"type": "console", "name": "other", "brands": ["Other"]})
    channels = [everything, loud, other]
    assert decide(["Acme"], happy, channels, config).channels == ("all",)
    assert decide(["Acme"], mild, channels, config).channels == ("all",)
    assert decide(["Acme"], terrible, channels, config).channels == ("all", "loud")
    assert decide(["Other"], mild, channels, config).channels == ("all", "other")
    # A mention about two brands reaches the channels of either.
    assert decide(["Acme", "Other"], mild, channels, config).channels == ("all", "other")
