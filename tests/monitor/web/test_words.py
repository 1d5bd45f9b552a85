"""What the pages say: every scorer reason in owner words, and only safe links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import SentimentConfig
from monitor.sentiment import make_scorer
from monitor.sentiment.cues import CUES
from monitor.web.words import CATEGORY_WORDS, age, link_url, reach, reason_words, why


def test_every_cue_category_has_owner_words() -> None:
    assert {category for category, *_ in CUES} <= set(CATEGORY_WORDS)


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("vader -0.44", None),
        ('complaint: waiting ("still waiting")', "waiting: still waiting"),
        ('complaint: no help ("nobody")', "no help: nobody"),
        ('trouble ("cold")', "your trouble word: cold"),
        (
            'resolved ("sorted it the same day")',
            "sorted out (counts against): sorted it the same day",
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


def test_only_http_and_https_addresses_become_links() -> None:
    assert link_url("https://x.example/a?b=1") == "https://x.example/a?b=1"
    assert link_url(" http://x.example/ ") == "http://x.example/"
    for bad in (
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>",
        "vbscript:x",
        "//x.example/a",
        "https://",
        "https://x.example/\nx",
        "",
        None,
    ):
        assert link_url(bad) is None, bad


def test_ages_and_reach() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert age(now - timedelta(seconds=20), now) == "just now"
    assert age(now - timedelta(minutes=5), now) == "5 min ago"
    assert age(now - timedelta(hours=3), now) == "3 h ago"
    assert age(now - timedelta(days=3), now) == "3 days ago"
    assert age(None, now) == "never"
    assert reach(None) == "" and reach(1) == "1 follower" and reach(999) == "999 followers"
    assert reach(1234) == "1.2k followers" and reach(45_000) == "45k followers"
    assert reach(2_500_000) == "2.5M followers"
