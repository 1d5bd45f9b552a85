"""VADER read once for both lexicons gives what VADER run twice gives.

``Polarity.read`` against ``polarity_scores``, and ``Polarity.without_words`` against
``polarity_scores`` of a VADER without the courtesy words, on random texts built from
the words that steer VADER: lexicon words, the courtesy words, negations, "no",
"least", "but", "kind of", boosters, capitals, punctuation and emoji.
"""

from __future__ import annotations

import random

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.sentiment.complaint import POLITE_WORDS
from monitor.sentiment.polarity import Polarity, Vader, _without

STEERING = [
    "no", "not", "never", "least", "at", "very", "but", "kind", "of", "sort", "so", "this",
    "extremely", "barely", "without", "doubt", "the", "bomb", "isn't", "nor", "or", "yeah",
    "right", "kiss", "death", "to", "die", "for", "beating", "heart", "bad", "ass", "just",
    "enough", "shit", "bus", "stop",
]  # fmt: skip
MARKS = [
    "",
    "",
    "",
    "!",
    "!!",
    "?",
    "??",
    ".",
    ",",
    " :)",
    " :(",
    " 😡",
    " 👍",
    " 🙏",
    "😂",
    "😂😂",
]


@pytest.fixture(scope="module")
def polarity() -> Polarity:
    return Polarity(Vader(), POLITE_WORDS)


#: The library's VADER, untouched, and the same without the courtesy words.
LIBRARY = SentimentIntensityAnalyzer()
POLITE = _without(LIBRARY, POLITE_WORDS)


def _text(rng: random.Random, lexicon: list[str]) -> str:
    words = []
    for _ in range(rng.randint(0, 25)):
        pool = rng.choice([lexicon, list(POLITE_WORDS), STEERING, ["coffee", "order", "it"]])
        word = rng.choice(pool)
        word = rng.choice([word, word, word, word.upper(), word.title()])
        words.append(word + rng.choice(MARKS))
    return " ".join(words)


@pytest.mark.parametrize("seed", range(20))
def test_one_reading_gives_both_scores_vader_gives(polarity: Polarity, seed: int) -> None:
    rng = random.Random(seed)
    lexicon = sorted(polarity.vader.lexicon)
    differ = 0
    for _ in range(100):
        text = _text(rng, lexicon)
        reading = polarity.read(text)
        assert reading.compound == LIBRARY.polarity_scores(text)["compound"], text
        polite = POLITE.polarity_scores(text)["compound"]
        assert polarity.without_words(reading) == polite, text
        differ += polite != reading.compound
    assert differ > 10  # the courtesy words did change scores: the comparison meant something


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "please help, still waiting",
        "No help at all. Thanks for nothing!!",
        "Thank you 🙏 but it is kind of broken",
        "not like the least helpful ever",
        "PLEASE fix this, ok? 😡😡",
        # VADER's idioms, read around the word they follow or lead
        "oh well it was the kiss of death for us",
        "not that the cake was to die for",
        "so sad, yeah right, the bomb",
        "my order from them is the shit honestly",
        "they never so much as said sorry",
        "without a doubt the worst",
        "the help was kind of great but sort of late",
        "a😂b 😂 😂😂c",
    ],
)
def test_plain_texts(polarity: Polarity, text: str) -> None:
    reading = polarity.read(text)
    assert reading.compound == LIBRARY.polarity_scores(text)["compound"]
    assert polarity.without_words(reading) == POLITE.polarity_scores(text)["compound"]
