from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from alerts.console import ConsoleConfig
from monitor.cli import cli
from monitor.config import BrandConfig, BrandSentiment, SentimentConfig, parse_config
from monitor.errors import ConfigError
from monitor.rules import decide, severity_of
from monitor.sentiment import ComplaintScorer, VaderScorer, make_scorer


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


# ---------------------------------------------------------------- the complaint scorer

CAFE = BrandConfig(
    name="Harbour Café",
    keywords=["Harbour Café", "@harbourcafe"],
    sentiment=BrandSentiment(trouble=["cold", "soggy"]),
)
SKATE = BrandConfig(
    name="Deckhouse",
    keywords=["Deckhouse"],
    sentiment=BrandSentiment(not_trouble=["sick", "killer"]),
)
PLAIN = BrandConfig(name="Joy Bakery", keywords=["Joy Bakery"])


def test_the_complaint_scorer_is_the_default() -> None:
    assert isinstance(make_scorer(SentimentConfig()), ComplaintScorer)
    assert isinstance(make_scorer(SentimentConfig(scorer="vader")), VaderScorer)
    assert SentimentConfig().scorer == "complaint"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("still waiting on my refund", 'complaint: waiting ("still waiting")'),
        ("on hold for 2 hours", 'complaint: waiting ("on hold")'),
        ("my order never arrived", 'complaint: not delivered ("never arrived")'),
        ("they took my money twice for one coffee", 'complaint: money ("took my money")'),
        ("the app won't let me log in", 'complaint: failure ("won\'t let me log in")'),
        ("can someone call me back", 'complaint: help request ("can someone call")'),
        ("great, another delay", 'complaint: sarcasm ("great,")'),
        ("sent four emails, nobody has replied", 'complaint: no help ("nobody has replied")'),
        ("won't be back", 'complaint: lost customer ("won\'t be back")'),
    ],
)
def test_complaints_without_a_negative_word_are_flagged_with_reasons(
    text: str, reason: str
) -> None:
    assert not VaderScorer().score(text).negative  # what VADER alone misses
    score = ComplaintScorer().score(text)
    assert score.negative and score.label == "negative" and score.compound < -0.05
    assert score.reasons[0].startswith("vader ")
    assert reason in score.reasons, score.reasons


def test_reasons_explain_vader_and_the_discounted_praise() -> None:
    score = ComplaintScorer().score("The latte was cold and the barista was rude. Awful.")
    assert score.negative and score.reasons[0].startswith("vader -0.")
    assert "negative words: rude, awful" in score.reasons
    polite = ComplaintScorer().score(
        "Thanks so much for your help, I really appreciate it, but my parcel never arrived"
    )
    assert polite.negative
    assert "positive words discounted: +0.00" in polite.reasons


def test_praise_questions_news_and_resolved_problems_are_not_flagged() -> None:
    scorer = ComplaintScorer()
    for text in (
        "Best flat white in town, lovely staff!",
        "what time does the Harbour St shop open on sundays?",
        "Acme Coffee opens a new shop on Harbour Road on Monday",
        "they refunded me straight away, great service",
        "no delays at all on my train this week, nice",
        "can't wait for the new menu",
    ):
        assert not scorer.score(text).negative, text


def test_without_cues_it_is_vader() -> None:
    text = "Acme Coffee opens a new shop on Harbour Road on Monday"
    assert ComplaintScorer().score(text) == VaderScorer().score(text)
    assert ComplaintScorer().score("I love this coffee").label == "positive"


def test_handles_and_brand_names_are_not_sentiment() -> None:
    # VADER reads "united" and "joy" as praise.
    assert VaderScorer().score("@united my bag is still missing").compound > 0
    assert ComplaintScorer().score("@united my bag is still missing").negative
    text = "Joy Bakery, where is my cake order?"
    assert VaderScorer().score(text).compound > 0
    with_brand = ComplaintScorer(brands=[PLAIN]).score(text)
    assert with_brand.negative and with_brand.reasons[0] == "vader +0.00"


def test_a_brand_adds_its_own_trouble_terms() -> None:
    scorer = ComplaintScorer(brands=[CAFE, SKATE])
    text = "my latte was cold again"
    assert not scorer.score(text).negative
    assert not scorer.score(text, brand="Deckhouse").negative
    cafe = scorer.score(text, brand="harbour café")  # names match ignoring case
    assert cafe.negative and 'trouble ("cold")' in cafe.reasons
    assert not scorer.score("the soup was not cold at all", brand="Harbour Café").negative


def test_a_brand_says_what_is_not_trouble() -> None:
    scorer = ComplaintScorer(brands=[CAFE, SKATE])
    text = "that new deck is sick, killer graphics"
    assert scorer.score(text).negative  # VADER: "sick" and "killer" are bad
    skate = scorer.score(text, brand="Deckhouse")
    assert not skate.negative
    assert "not trouble here: sick, killer" in skate.reasons
    assert scorer.score("the wheels are sick but the bearings broke", brand="Deckhouse").negative


def test_sensitivity_moves_the_verdict() -> None:
    low = ComplaintScorer(SentimentConfig(sensitivity="low"))
    high = ComplaintScorer(SentimentConfig(sensitivity="high"))
    text = "waiting for my order"  # a weak cue, that alone is not enough
    assert not ComplaintScorer().score(text).negative and high.score(text).negative
    late = "the bus was late"  # a middling cue: enough, unless sensitivity is low
    assert ComplaintScorer().score(late).negative and not low.score(late).negative
    assert low.score("still waiting on my refund").negative
    mild = "the coffee was a bit meh"  # VADER -0.08: below -0.05, not below -0.15
    assert ComplaintScorer().score(mild).negative and not low.score(mild).negative
    # A brand's own sensitivity wins over the global one.
    touchy = BrandConfig(
        name="Touchy", keywords=["Touchy"], sentiment=BrandSentiment(sensitivity="high")
    )
    scorer = ComplaintScorer(brands=[touchy])
    assert scorer.score(text, brand="Touchy").negative and not scorer.score(text).negative
    # High sensitivity never makes a text with no cue and no negative word negative.
    assert not high.score("picked up a loaf on the way home").negative


def test_the_threshold_still_applies() -> None:
    text = "the coffee was a bit meh"
    strict = ComplaintScorer(SentimentConfig(negative_below=-0.9))
    assert ComplaintScorer().score(text).negative and not strict.score(text).negative


def test_cue_only_complaints_are_negative_not_high() -> None:
    config = SentimentConfig()
    scorer = ComplaintScorer(config)
    waiting = scorer.score("still waiting on my refund, third time asking, no reply")
    assert severity_of(waiting, config) == "negative"
    terrible = scorer.score("Worst, most disgusting coffee ever. I hate this awful place.")
    assert severity_of(terrible, config) == "high"
    vader = VaderScorer(config).score(
        "Worst, most disgusting coffee ever. I hate this awful place."
    )
    assert terrible.compound == vader.compound  # cues add no severity VADER did not see


def test_scoring_is_deterministic() -> None:
    texts = [
        "great, another delay",
        "still waiting on my refund",
        "my latte was cold again",
        "that new deck is sick",
        "Best flat white in town",
    ]
    one = ComplaintScorer(brands=[CAFE, SKATE])
    two = ComplaintScorer(brands=[CAFE, SKATE])
    first = [one.score(t, brand=b) for b in (None, "Harbour Café", "Deckhouse") for t in texts]
    # Again, in another order and on another instance: the same scores.
    again = [two.score(t, brand=b) for b in ("Deckhouse", "Harbour Café", None) for t in texts]
    assert first == again[10:] + again[5:10] + again[:5]
    assert first == [
        one.score(t, brand=b) for b in (None, "Harbour Café", "Deckhouse") for t in texts
    ]


def test_brand_sentiment_in_yaml() -> None:
    config = parse_config(
        """
brands:
  - name: Harbour Café
    keywords: ["Harbour Café"]
    sentiment:
      trouble: [cold, soggy]
      not_trouble: [sick]
      sensitivity: high
sources:
  hackernews: {}
sentiment:
  scorer: complaint
  sensitivity: low
"""
    )
    settings = config.brands[0].sentiment
    assert settings is not None and settings.trouble == ["cold", "soggy"]
    assert settings.sensitivity == "high" and config.sentiment.sensitivity == "low"
    scorer = make_scorer(config.sentiment, config.brands)
    assert scorer.score("my tea was cold", brand="Harbour Café").negative


def test_brand_sentiment_mistakes_are_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            """
brands:
  - name: Harbour Café
    keywords: ["Harbour Café"]
    sentiment:
      troubles: [cold]
      sensitivity: very
sources:
  hackernews: {}
sentiment:
  scorer: bert
"""
        )
    text = str(caught.value)
    assert "brands[0].sentiment.troubles: is not a setting here; did you mean `trouble`?" in text
    assert "brands[0].sentiment.sensitivity" in text and "sentiment.scorer" in text


def test_score_command_applies_a_brands_tuning(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        """
brands:
  - name: Harbour Café
    keywords: ["Harbour Café"]
    sentiment: {trouble: [soggy]}
sources:
  hackernews: {}
""",
        encoding="utf-8",
    )
    runner = CliRunner()
    plain = runner.invoke(cli, ["score", "--json", "-c", str(config)], input="soggy chips\n")
    assert json.loads(plain.stdout)["negative"] is False
    tuned = runner.invoke(
        cli,
        ["score", "--json", "-c", str(config), "--brand", "harbour café"],
        input="soggy chips\n",
    )
    row = json.loads(tuned.stdout)
    assert row["negative"] is True and 'trouble ("soggy")' in row["reasons"]
    unknown = runner.invoke(cli, ["score", "-c", str(config), "--brand", "Nope"], input="x\n")
    assert unknown.exit_code == 2 and "no brand 'Nope'" in unknown.output
    alone = runner.invoke(cli, ["score", "--brand", "Harbour Café"], input="x\n")
    assert alone.exit_code == 2 and "needs -c" in alone.output


def test_the_first_character_dispatch_finds_what_one_big_pattern_finds() -> None:
    import re

    from monitor.sentiment.cues import CUES
    from monitor.sentiment.scan import _word_cues, normalise
    from tests.monitor.test_sentiment_quality import SAMPLE

    everything = re.compile(
        r"\b(?=\w)(?:" + "|".join(f"(?P<c{i}>{cue[3]})" for i, cue in enumerate(CUES)) + ")"
    )

    def reference(low: str) -> list[tuple[int, str | None, str]]:
        found = []
        match = everything.search(low)
        while match is not None:
            found.append((match.start(), match.lastgroup, match.group()))
            match = everything.search(low, match.start() + 1)
        return found

    texts = [normalise(text) for text, _ in SAMPLE] + ["4 hours late", "2nd time", "#fail ?!"]
    for low in texts:
        assert [(m.start(), m.lastgroup, m.group()) for m in _word_cues(low)] == reference(low)
