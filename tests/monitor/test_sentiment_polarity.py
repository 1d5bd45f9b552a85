"""VADER read once for both lexicons gives what VADER run twice gives, and each faster
step of that reading (monitor/sentiment/valence.py) gives what VADER's own step gives.

``Polarity.read`` against ``polarity_scores``, and ``Polarity.without_words`` against
``polarity_scores`` of a VADER without the courtesy words, on random texts built from
the words that steer VADER: lexicon words, the courtesy words, negations, "no",
"least", "but", "kind of", boosters, capitals, punctuation and emoji.
"""

from __future__ import annotations

import random

import pytest
from vaderSentiment.vaderSentiment import NEGATE, SentimentIntensityAnalyzer, SentiText
from vaderSentiment.vaderSentiment import negated as vader_negated

from monitor.sentiment.complaint import POLITE_WORDS
from monitor.sentiment.polarity import Polarity, Vader, _without
from monitor.sentiment.vader import VaderScorer
from monitor.sentiment.valence import but_check, cap_differential, negated, valence, words_of

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


# ---------------------------------------------------------------- the parts, one by one

#: Tokens whose punctuation VADER strips or keeps (two characters or fewer are kept).
PUNCTUATED = [
    "'quoted'", "(paren)", "...", "--", "#tag", "@handle", ":-)", ":D", "a.", "ok!", "x",
    "!!!", "n't", "won't", "it's", "'ok'", "(no)", "<3", "</3", "...but", "not...", "'",
    "\u00e9t\u00e9!", "NO!!", "GREAT,", "Kind", "OF", "b.u.t",
]  # fmt: skip


def _words(rng: random.Random, lexicon: list[str]) -> list[str]:
    pools = [lexicon, list(POLITE_WORDS), STEERING, PUNCTUATED, ["coffee", "order", "it"]]
    out = []
    for _ in range(rng.randint(0, 30)):
        word = rng.choice(rng.choice(pools))
        out.append(rng.choice([word, word, word.upper(), word.title()]) + rng.choice(MARKS))
    return out


@pytest.mark.parametrize("seed", range(10))
def test_each_step_is_vaders_own(seed: int) -> None:
    """SentiText's words and capitals rule, the valence of every lexicon word, the skip of
    every other word and the "but" rule, each against the library's own function."""
    rng = random.Random(1000 + seed)
    lexicon = sorted(LIBRARY.lexicon)
    skipped = 0
    for _ in range(100):
        text = rng.choice([" ", "  ", "\t", "\n", " \u00a0"]).join(_words(rng, lexicon))
        said = SentiText(text)
        words = words_of(text)
        assert words == said.words_and_emoticons, text
        assert cap_differential(words) == said.is_cap_diff, text
        lowered = [w.lower() for w in words]
        for i, word in enumerate(words):
            theirs = LIBRARY.sentiment_valence(0, said, word, i, [])
            if lowered[i] in LIBRARY.lexicon:
                ours = valence(LIBRARY.lexicon, words, lowered, said.is_cap_diff, i)
                assert [ours] == theirs, (text, i)
            else:
                assert theirs == [0], (text, i)  # what Polarity.read appends without asking
                skipped += 1
        # Values that halve into one another: VADER finds a valence's place by its value.
        values = [rng.choice([0, 0, 3.0, 1.5, 0.75, -2.0, -1.0, 0.7]) for _ in words]
        expected = SentimentIntensityAnalyzer._but_check(list(words), list(values))
        assert but_check(lowered, list(values)) == expected, (text, values)
    assert skipped > 100


def test_negated_is_vaders_for_one_word() -> None:
    words = [*NEGATE, "no", "not", "nor", "never", "Isn't", "n't", "dont", "fine", "", "kn'tx"]
    for word in words:
        assert negated(word.lower()) == vader_negated([word]), word


def test_vaders_subclass_and_the_vader_scorer_give_the_librarys_figures() -> None:
    rng = random.Random(7)
    lexicon = sorted(LIBRARY.lexicon)
    ours, scorer = Vader(), VaderScorer()
    for _ in range(300):
        text = " ".join(_words(rng, lexicon))
        expected = LIBRARY.polarity_scores(text)
        assert ours.polarity_scores(text) == expected, text
        assert scorer.score(text).compound == expected["compound"] == scorer.polarity(text)


def test_the_but_rule_finds_a_valence_by_its_value_as_vader_does() -> None:
    words = ["great", "but", "ok", "good"]
    values = [3.0, 0, 1.5, 1.5]
    # VADER halves 3.0 to 1.5 before "but", then finds that 1.5 for the first 1.5 after it
    # (and halves it again), and the first 1.5 after "but" for the second.
    expected = SentimentIntensityAnalyzer._but_check(words, list(values))
    assert expected == [0.75, 0, 2.25, 1.5]
    assert but_check(words, list(values)) == expected
