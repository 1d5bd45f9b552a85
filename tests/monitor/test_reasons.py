"""Why a mention was flagged, in owner words: every scorer reason, without numbers."""

from __future__ import annotations

import re

import pytest

from monitor.config import SentimentConfig
from monitor.reasons import CATEGORY_WORDS, reason_words, why, why_text
from monitor.sentiment import make_scorer
from monitor.sentiment.cues import CUES


def test_every_cue_category_has_owner_words() -> None:
    assert {category for category, *_ in CUES} <= set(CATEGORY_WORDS)


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("vader -0.44", None),
        ('complaint: waiting ("still waiting")', 'waiting: "still waiting"'),
        ('complaint: no help ("nobody")', 'no help: "nobody"'),
        ('trouble ("cold")', 'your trouble word: "cold"'),
        (
            'resolved ("sorted it the same day")',
            'sorted out (counts against): "sorted it the same day"',
        ),
        ("negative words: worst, never", "angry words: worst, never"),
        ("positive words discounted: +0.12", "kind words next to a complaint count for less"),
        ("not trouble here: sick", "not trouble here: sick"),
        ("you marked this not negative", "you marked this not negative"),
    ],
)
def test_reasons_in_owner_words(reason: str, said: str | None) -> None:
    assert reason_words(reason) == said


def test_real_scores_explain_without_numbers_or_jargon() -> None:
    scorer = make_scorer(SentimentConfig())
    texts = [
        "Still waiting for my refund after 3 weeks, worst service, nobody answers",
        "Great, another delay. Love how nobody ever picks up the phone.",
        "Charged me twice and the app keeps crashing. Fed up, cancelling.",
    ]
    for text in texts:
        said = why(scorer.score(text).reasons)
        assert said, text
        for line in said:
            assert not re.search(r"[+-]?\d\.\d\d", line), line
            assert "vader" not in line and "complaint:" not in line, line


def test_one_line_of_reasons_each_once_and_nothing_for_a_bare_number() -> None:
    reasons = [
        "vader -0.67",
        'complaint: money ("refund")',
        'complaint: money ("refund")',
        "negative words: rude, no",
    ]
    assert why_text(reasons) == 'money: "refund"; angry words: rude, no'
    assert why_text(["vader -0.30"]) == ""
    assert why_text(None) == ""
