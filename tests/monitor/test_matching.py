from __future__ import annotations

import pytest

from monitor.config import BrandConfig
from monitor.matching import Matcher

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
        "",
    ],
)
def test_no_match(matcher: Matcher, text: str) -> None:
    assert matcher.match(text) == []


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
