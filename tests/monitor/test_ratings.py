"""Stars are evidence (monitor/sentiment/ratings.py), with the default complaint scorer."""

from __future__ import annotations

import pytest

from monitor.config import BrandConfig, SentimentConfig
from monitor.matching import Matcher
from monitor.models import Score
from monitor.rules import severity_of
from monitor.sentiment import ComplaintScorer
from monitor.sentiment.ratings import rated

CONFIG = SentimentConfig()
SCORER = ComplaintScorer(CONFIG)


def score(text: str, rating: float | None, followers: int | None = None) -> Score:
    return rated(SCORER.score(text), rating, CONFIG, followers=followers)


@pytest.mark.parametrize(
    "text",
    ["Nice staff.", "Lovely place, friendly people.", "", "Waited 40 minutes, rude staff."],
)
def test_one_star_is_a_serious_complaint_whatever_the_words(text: str) -> None:
    s = score(text, 1)
    assert s.negative and s.label == "negative" and severity_of(s, CONFIG) == "high"
    assert s.reasons[0] == "1-star review"


def test_two_stars_are_negative_and_not_serious_on_their_own() -> None:
    s = score("Nice staff.", 2)
    assert s.negative and severity_of(s, CONFIG) == "negative"
    assert s.reasons[0] == "2-star review"


def test_two_stars_from_a_reviewer_with_a_large_following_are_serious() -> None:
    s = score("Nice staff.", 2, followers=25_000)
    assert severity_of(s, CONFIG) == "high"
    assert s.reasons[:2] == ("2-star review", "the reviewer has 25,000 followers")
    assert severity_of(score("Nice staff.", 2, followers=40), CONFIG) == "negative"


def test_three_stars_leave_it_to_the_words() -> None:
    assert score("Lovely coffee.", 3) == rated(SCORER.score("Lovely coffee."), 3, CONFIG)
    assert not score("Lovely coffee.", 3).negative
    complaint = score("Still waiting for my refund, nobody answers.", 3)
    assert complaint.negative
    assert complaint.reasons[0] == "3-star review: the words decide"
    words = SCORER.score("Still waiting for my refund, nobody answers.")
    assert (complaint.compound, complaint.negative) == (words.compound, words.negative)


def test_four_and_five_stars_are_positive_unless_a_clear_complaint() -> None:
    mild = "Great coffee, a bit of a wait today."
    assert SCORER.score("Great coffee, but still waiting on my order.").negative  # the words alone
    s = score("Great coffee, but still waiting on my order.", 5)
    assert not s.negative and s.label == "positive" and s.reasons[0] == "5-star review"
    assert not score(mild, 4).negative
    clear = score("Five stars? No. They charged me twice, rude staff, worst refund ever.", 5)
    assert clear.negative
    assert clear.reasons[0] == "5-star review, but the words are a clear complaint"


def test_without_a_rating_nothing_changes() -> None:
    for text in ("Still waiting for my refund.", "Lovely!", "Nice staff. 1 star."):
        assert score(text, None) == SCORER.score(text)


def test_a_post_on_the_brands_own_page_belongs_to_it_without_naming_it() -> None:
    matcher = Matcher([BrandConfig(name="Acme", keywords=["Acme"], exclude=["staff"])])
    match = matcher.own_page("Nice staff, bad coffee.", "Acme")
    assert match is not None and (match.brand, match.terms) == ("Acme", ())
    assert matcher.match("Acme: nice staff, bad coffee.") == []  # elsewhere, exclude applies
    named = matcher.own_page("Acme is great", "Acme")
    assert named is not None and named.terms == ("Acme",)
    assert matcher.own_page("anything", "Not configured") is None
