from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from connectors.hackernews import HackerNewsConfig, HackerNewsConnector
from monitor.config import BrandConfig, Config
from monitor.matching import Matcher, _scan_form
from monitor.pipeline import Pipeline
from monitor.sentiment import VaderScorer
from monitor.store import Store
from tests.standins.hackernews import HackerNewsAPI, story

ACME = BrandConfig(
    name="Acme", keywords=["Acme", "@acmecoffee", "#acmecoffee"], exclude=["Acme Corp Ltd"]
)
CAFE = BrandConfig(name="Café Olé", keywords=["Café Olé", "Straße Kaffee"])


@pytest.fixture
def matcher() -> Matcher:
    return Matcher([ACME, CAFE])


@pytest.mark.parametrize(
    "text",
    [
        "acme is great",
        "ACME!!",
        "I went to Acme.",
        "(acme)",
        "love #acme",
        "@acme answer me",
        "hey @acmecoffee",
        "#AcmeCoffee all day",
        "acme\ncoffee",
    ],
)
def test_whole_word_case_insensitive_matches(matcher: Matcher, text: str) -> None:
    assert [m.brand for m in matcher.match(text)] == ["Acme"]


@pytest.mark.parametrize(
    "text",
    [
        "acmemart has it",
        "the acmes",
        "xacme",
        "email info@acmecoffee.com",  # an address is not the handle
        "@acmecoffeeshop is someone else",
        "#acmecoffees",
        "Acme Corp Ltd filed its accounts",  # excluded
        # ... however it is spaced, hyphenated or tagged (its needles rule it in first)
        "ACME-CORP   ltd filed its accounts",
        "news of #AcmeCorpLtd today",
        "",
    ],
)
def test_no_match(matcher: Matcher, text: str) -> None:
    assert matcher.match(text) == []


def test_an_exclude_term_is_tried_only_where_its_words_are() -> None:
    """The exclude pattern is not tried on a text whose scan holds none of its needles;
    where they are but the term is not, the brand still matches."""
    matcher = Matcher([ACME])
    brand = matcher._brands[0]
    assert brand.exclude_needles is not None and "acme corp ltd" in brand.exclude_needles
    assert not brand._excluded("acme is fine", "acme is fine")
    assert [m.brand for m in matcher.match("Acme, the corp, ltd edition")] == ["Acme"]
    assert matcher.match("acme corp ltd") == []


def test_a_text_already_in_scan_form_is_read_as_it_is() -> None:
    """The quick path of ``_scan_form`` gives what splitting and joining gives, for every
    kind of space Python's ``split`` knows, at the ends, doubled and beside hyphens."""
    spaces = [" ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85"]
    spaces += ["\xa0", "\u1680", "\u2000", "\u200a", "\u2028", "\u2029", "\u202f"]
    spaces += ["\u205f", "\u3000", "-", "--", " - "]
    words = ["acme", "caf\u00e9", "\U0001f600", "\u200b", "x"]
    rng = random.Random(15)
    for _ in range(3000):
        parts = [rng.choice(words + spaces) for _ in range(rng.randint(0, 6))]
        text = "".join(parts)
        assert _scan_form(text) == " ".join(text.replace("-", " ").split()), repr(text)
    assert _scan_form("acme coffee is cold") == "acme coffee is cold"


def test_a_phrase_matches_its_joined_hashtag_and_handle() -> None:
    m = Matcher([BrandConfig(name="Acme Coffee", keywords=["Acme Coffee"])])
    assert m.match("so good #AcmeCoffee")[0].terms == ("Acme Coffee",)
    assert m.match("hey @acmecoffee!") != []
    assert m.match("acmecoffee.com is down") == []  # the joined word alone is not the phrase
    assert m.match("#acmecoffeeshop") == []


def test_matched_terms_are_reported(matcher: Matcher) -> None:
    (match,) = matcher.match("Acme, answer me @acmecoffee")
    assert match.terms == ("Acme", "@acmecoffee")


@pytest.mark.parametrize(
    "text",
    [
        "CAFÉ OLÉ was cold",
        "cafe\u0301 ole\u0301 (decomposed accents)",  # NFKC composes them
        "café   olé",
        "café-olé",
        "STRASSE KAFFEE",  # casefold: ß == ss
    ],
)
def test_unicode_aware(matcher: Matcher, text: str) -> None:
    assert [m.brand for m in matcher.match(text)] == ["Café Olé"]


def test_unicode_word_boundaries(matcher: Matcher) -> None:
    assert matcher.match("cafés olé") == []
    assert matcher.match("кафе Acme") != []
    assert matcher.match("Acmeé") == []


def test_exclusion_only_drops_its_own_brand(matcher: Matcher) -> None:
    assert [m.brand for m in matcher.match("Acme Corp Ltd sells Café Olé beans")] == ["Café Olé"]


def test_brand_filter(matcher: Matcher) -> None:
    assert matcher.match("acme and café olé", ["Café Olé"])[0].brand == "Café Olé"
    assert len(matcher.match("acme and café olé")) == 2


# ---------------------------------------------------------------- invisible characters

COFFEE = BrandConfig(name="Acme Coffee", keywords=["Acme Coffee", "Acme"])


@pytest.mark.parametrize(
    "text",
    [
        "Acme\u200bCoffee is awful",  # zero-width space: a space you cannot see
        "A\u200dcme Coffee is awful",  # zero-width joiner inside a word
        "Acme Cof\u00adfee is awful",  # soft hyphen
        "A\u200ccme\u2060 Coffee",  # zero-width non-joiner, word joiner
        "Ac\ufeffme Coffee",  # byte order mark (zero width no-break space)
        "\u202eAcme\u202c Coffee",  # bidi override and pop
        "Ac\u034fme Co\ufe0fffee",  # combining grapheme joiner, variation selector
        "A\U000e0041cme Coffee",  # a tag character
    ],
)
def test_invisible_characters_do_not_hide_a_mention(text: str) -> None:
    (match,) = Matcher([COFFEE]).match(text)
    assert match.terms == ("Acme Coffee", "Acme")


def test_a_zero_width_space_separates_words_other_invisibles_join_them() -> None:
    only_phrase = Matcher([BrandConfig(name="Acme Coffee", keywords=["Acme Coffee"])])
    assert only_phrase.match("Acme\u200bCoffee") != []
    assert only_phrase.match("Acme\u200dCoffee") == []  # it reads "AcmeCoffee": no phrase
    single = Matcher([BrandConfig(name="Acme", keywords=["Acme"])])
    assert single.match("Acme\u200bmart") != []  # "Acme mart"
    assert single.match("Acme\u00admart") == []  # "Acmemart", another word


def test_keywords_with_invisible_characters_match_their_visible_form() -> None:
    m = Matcher([BrandConfig(name="Acme", keywords=["Ac\u00adme"])])
    assert m.match("acme is late") != []


def test_through_hacker_news_invisibles_are_matched_and_stored_as_written(
    tmp_path: Path, hn_api: HackerNewsAPI, hn_url: str, client: httpx.Client
) -> None:
    """HN's own keyword pre-filter and the matcher both see through them; the store keeps
    what was written (an emoji ZWJ sequence stays one family)."""
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    titles = [f"Acme\u200bCoffee was awful {family}", "A\u200dcme Coffee broke", "Cof\u00adfee"]
    hn_api.add(*(story(i, title) for i, title in enumerate(titles, 1)))
    config = Config(
        path=None,
        database=f"sqlite:///{tmp_path / 'm.db'}",
        brands=[BrandConfig(name="Acme Coffee", keywords=["Acme Coffee"])],
        sources={"hackernews": HackerNewsConfig(base_url=hn_url)},
        channels=[],
    )
    connector = HackerNewsConnector(config.sources["hackernews"], client)  # type: ignore[arg-type]
    store = Store(config.database)
    pipeline = Pipeline(config, store, VaderScorer(), {"hackernews": connector}, strict=True)
    assert pipeline.poll_source("hackernews").new == 2
    stored = sorted(row.title or "" for row in store.mentions())
    store.close()
    assert stored == sorted(titles[:2])
