"""Stranger text that breaks encoders: every source, through the real Pipeline and SQLite.

A lone surrogate (a JSON ``"\\ud83d"`` escape decodes to one) in a post's text, author or
title, and bytes that are not UTF-8 in an answer's body, must not stop a source: the
post is stored with U+FFFD in their place, the other posts are stored, the cursor moves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors import load_connector
from monitor.config import BrandConfig, Config
from monitor.http import make_client
from monitor.pipeline import ALL_BRANDS, Pipeline
from monitor.sentiment import VaderScorer
from monitor.store import Store
from tests.connectors.cases import all_cases
from tests.standins import bluesky, hackernews, mastodon, reddit, x
from tests.standins.rss import Entry, FeedSite, ago
from tests.standins.server import Request, Response, Route, StandIn

LONE = "\ud83d"  # half of an emoji's surrogate pair: not a character
BAD = "ZZBADZZ"  # replaced in the body on the wire by bytes that are not UTF-8
BAD_BYTES = b"\xff\xfe\xc3("
GOOD = "ZZGOODZZ"  # replaced by proper UTF-8, which must not turn into mojibake
GOOD_TEXT = "café ☕"


def hostile(text: str) -> str:
    return f"Acme {text} is terrible"


@dataclass
class Source:
    name: str
    api: Callable[[str], Route]  # the hostile string -> a stand-in holding a bad and a good post


def _hn(s: str) -> Route:
    now = int(time.time()) - 60
    return hackernews.HackerNewsAPI(
        [
            hackernews.story(1, hostile(s), text=f"<p>{s}</p>", author=f"ev{s}il", created=now),
            hackernews.story(2, "Acme is lovely " + GOOD, created=now),
        ]
    )


def _x(s: str) -> Route:
    now = time.time() - 60
    return x.XAPI(
        [
            x.post(hostile(s), author="42", created=now),
            x.post("Acme is lovely " + GOOD, author="43"),
        ],
        [x.user("42", f"ev{s}il"), x.user("43", "friend")],
    )


def _reddit(s: str) -> Route:
    now = int(time.time()) - 60
    return reddit.RedditAPI(
        [
            reddit.submission("bad1", hostile(s), selftext=s, author=f"ev{s}il", created=now),
            reddit.submission("good1", "Acme is lovely " + GOOD, created=now),
        ]
    )


def _bluesky(s: str) -> Route:
    return bluesky.BlueskyAPI(
        [
            bluesky.post("3kbad1", hostile(s), handle=f"ev{s}il.bsky.social"),
            bluesky.post("3kgood1", "Acme is lovely " + GOOD),
        ]
    )


def _mastodon(s: str) -> Route:
    now = time.time() - 60
    return mastodon.MastodonAPI(
        [
            mastodon.status(hostile(s), tags=("acme",), username=f"ev{s}il", created=now),
            mastodon.status("Acme is lovely " + GOOD, tags=("acme",), created=now),
        ],
        tokens={"contract-test-token"},
    )


def _rss(s: str) -> Route:
    if s == LONE:  # XML has no surrogates, but a character reference can name one
        return _replaced(_rss("ZZLONEZZ"), {b"ZZLONEZZ": b"&#xD83D;"})
    site = FeedSite()
    site.add_feed("/feeds/reviews.xml")
    site.add(
        "/feeds/reviews.xml",
        Entry("r1", hostile(s), "https://reviews.example/r/1", f"<p>{s}</p>", ago(minutes=2), s),
        Entry(
            "r2", "Acme is lovely " + GOOD, "https://reviews.example/r/2", "", ago(minutes=1), "Jo"
        ),
    )
    return site


SOURCES = {
    "hackernews": _hn,
    "x": _x,
    "reddit": _reddit,
    "bluesky": _bluesky,
    "mastodon": _mastodon,
    "rss": _rss,
}


def _replaced(route: Route, replace: dict[bytes, bytes]) -> Route:
    """The route's answers with these byte strings replaced, on the wire."""

    def answer(request: Request) -> Response:
        response = route(request)
        body = response.encoded()
        for old, new in replace.items():
            body = body.replace(old, new)
        return Response(response.status, body, response.headers, response.delay)

    return answer


def corrupt(route: Route) -> Route:
    """The route's answers with ``BAD`` replaced by bytes that are not UTF-8 (and ``GOOD``
    by UTF-8 text, whose decoding must not suffer from them)."""
    return _replaced(route, {BAD.encode(): BAD_BYTES, GOOD.encode(): GOOD_TEXT.encode()})


@pytest.fixture
def poll(tmp_path: Path) -> Iterator[Callable[[str, Route], tuple[Any, Store]]]:
    cases = all_cases()
    stores: list[Store] = []

    def run(name: str, route: Route) -> tuple[Any, Store]:
        cls = load_connector(name)
        with StandIn(route) as server, make_client(timeout=5) as client:
            config = Config(
                path=None,
                database=f"sqlite:///{tmp_path / (name + '.db')}",
                brands=[BrandConfig(name="Acme", keywords=["Acme"])],
                sources={name: cls.Config.model_validate(cases[name].config(server.url))},
                channels=[],
            )
            store = Store(config.database)
            stores.append(store)
            connector = cls(config.sources[name], client)
            pipeline = Pipeline(config, store, VaderScorer(), {name: connector}, strict=True)
            report = pipeline.poll_source(name)
            connector.close()
        return report, store

    yield run
    for store in stores:
        store.close()


def _cursor(store: Store, name: str) -> str | None:
    return store.get_cursor(name, "Acme") or store.get_cursor(name, ALL_BRANDS)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_lone_surrogate_is_stored_as_a_replacement_character(
    name: str, poll: Callable[[str, Route], tuple[Any, Store]]
) -> None:
    report, store = poll(name, SOURCES[name](LONE))
    assert report.ok, report.error
    rows = store.mentions()
    assert len(rows) == 2
    bad = next(row for row in rows if "terrible" in (row.title or row.text))
    shown = f"{bad.title or ''} {bad.text} {bad.author}"
    assert LONE not in shown and "\ufffd" in (bad.title or bad.text)
    assert "\ufffd" in bad.author
    assert _cursor(store, name)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_bytes_that_are_not_utf8_are_replaced_not_the_answer_rejected(
    name: str, poll: Callable[[str, Route], tuple[Any, Store]]
) -> None:
    report, store = poll(name, corrupt(SOURCES[name](BAD)))
    assert report.ok, report.error
    rows = store.mentions()
    assert len(rows) == 2
    bad = next(row for row in rows if "terrible" in (row.title or row.text))
    assert BAD not in (bad.title or bad.text) and "\ufffd" in (bad.title or bad.text)
    good = next(row for row in rows if "lovely" in (row.title or row.text))
    assert GOOD_TEXT in (good.title or good.text)
    assert _cursor(store, name)


# ---------------------------------------------------------------- one unreadable item

FAR = "9999-12-31T23:00:00.000-05:00"  # a valid ISO time that is past year 9999 in UTC
NOW = int(time.time()) - 77  # the unreadable item's time, replaced on the wire where numeric


def _poisoned(route: Route, numeric: str) -> Route:
    """The route's answers with ``"<numeric>": NOW`` made a time past any calendar."""

    def answer(request: Request) -> Response:
        response = route(request)
        body = response.encoded()
        for value in (f"{float(NOW)}", f"{NOW}"):
            body = body.replace(f'"{numeric}": {value}'.encode(), f'"{numeric}": 1e15'.encode())
        return Response(response.status, body, response.headers, response.delay)

    return answer


def _unreadable(name: str) -> Route:
    if name == "hackernews":
        return _poisoned(
            hackernews.HackerNewsAPI(
                [
                    hackernews.story(1, "Acme poison", created=NOW),
                    hackernews.story(2, "Acme is lovely", created=NOW + 1),
                ]
            ),
            "created_at_i",
        )
    if name == "reddit":
        return _poisoned(
            reddit.RedditAPI(
                [
                    reddit.submission("bad1", "Acme poison", created=NOW),
                    reddit.submission("good1", "Acme is lovely", created=NOW + 1),
                ]
            ),
            "created_utc",
        )
    if name == "x":
        bad = x.post("Acme poison", author="42", created=NOW)
        bad["created_at"] = FAR
        return x.XAPI([bad, x.post("Acme is lovely", author="42")], [x.user("42", "someone")])
    if name == "bluesky":
        bad = bluesky.post("3kbad1", "Acme poison")
        bad["record"]["createdAt"] = FAR
        return bluesky.BlueskyAPI([bad, bluesky.post("3kgood1", "Acme is lovely")])
    assert name == "mastodon"
    bad = mastodon.status("Acme poison", tags=("acme",), created=NOW)
    bad["created_at"] = FAR
    good = mastodon.status("Acme is lovely", tags=("acme",), created=NOW + 1)
    return mastodon.MastodonAPI([bad, good], tokens={"contract-test-token"})


# RSS is left out: feedparser drops a date it cannot read, so an entry always converts.
@pytest.mark.parametrize("name", ["bluesky", "hackernews", "mastodon", "reddit", "x"])
def test_an_item_that_cannot_be_read_is_skipped_and_logged_not_the_batch(
    name: str, poll: Callable[[str, Route], tuple[Any, Store]], caplog: pytest.LogCaptureFixture
) -> None:
    report, store = poll(name, _unreadable(name))
    assert report.ok, report.error
    kept = [(row.title or row.text).split(" #")[0] for row in store.mentions()]
    assert kept == ["Acme is lovely"]
    assert _cursor(store, name)
    assert f"{name}: skipped an item that could not be read" in caplog.text
