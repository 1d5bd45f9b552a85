from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from connectors.base import MemoryState
from connectors.rss import RSSConfig, RSSConnector, keyword_needles, unwrap_google_link
from monitor.errors import AuthError, ParseError, RateLimited, SourceUnavailable
from monitor.http import USER_AGENT, make_client
from tests.standins.rss import Entry, FeedSite, ago, google_alerts_link
from tests.standins.server import Response, StandIn

REVIEWS = "/feeds/reviews.xml"
ALERTS = "/alerts/feeds/0123/4567"


@pytest.fixture
def site() -> FeedSite:
    s = FeedSite()
    s.add_feed(REVIEWS)
    s.add_feed(ALERTS, "atom")
    return s


@pytest.fixture
def server(site: FeedSite) -> Iterator[StandIn]:
    with StandIn(site) as s:
        yield s


def connector(
    server: StandIn, client: httpx.Client, feeds: list[object], state: MemoryState | None = None
) -> RSSConnector:
    config = RSSConfig.model_validate({"base_url": server.url, "feeds": feeds})
    return RSSConnector(config, client, state)


def review(n: int, title: str, **kw: object) -> Entry:
    kw.setdefault("published", ago(minutes=n))
    return Entry(f"review-{n}", title, f"https://reviews.example/r/{n}", **kw)  # type: ignore[arg-type]


def alert(n: int, title: str, target: str, **kw: object) -> Entry:
    kw.setdefault("published", ago(minutes=n))
    guid = f"tag:google.com,2013:googlealerts/feed:{1000 + n}"
    return Entry(guid, title, google_alerts_link(target), **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- parsing


def test_rss2_entries_become_mentions(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    when = ago(minutes=5)
    site.add(REVIEWS, review(1, "Acme again", summary="<p>Meh</p>", published=when, author="Ann"))
    mentions, cursor = connector(server, client, [REVIEWS]).fetch(["Acme"], None)
    (m,) = mentions
    assert (m.source, m.external_id, m.url) == ("rss", *["https://reviews.example/r/1"] * 2)
    assert (m.author, m.title, m.text) == ("Ann", "Acme again", "Meh")
    assert m.created_at == when and m.created_at.tzinfo is not None
    assert m.brand_hint is None and m.engagement == {}
    assert json.loads(json.dumps(m.raw))["id"] == "review-1"
    assert m.raw["feed"] == REVIEWS
    assert json.loads(cursor or "")["v"] == 1


def test_rss2_html_description_becomes_plain_text(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    site.add(
        REVIEWS,
        review(
            5,
            "Acme Coffee &amp; cake: 1 star",
            summary="<p>The <b>Acme</b> latte was cold.</p><p>Never again &mdash; really.</p>"
            "<script>alert('x')</script>",
            author="Joe Bloggs",
        ),
    )
    (m,) = connector(server, client, [REVIEWS]).fetch(["Acme"], None)[0]
    assert m.title == "Acme Coffee & cake: 1 star"
    assert m.text == "The Acme latte was cold.\n\nNever again — really."
    assert m.author == "Joe Bloggs"
    assert m.external_id == "https://reviews.example/r/5"


def test_google_alerts_atom_is_unwrapped_and_untagged(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    when = ago(minutes=3)
    site.add(
        ALERTS,
        alert(
            3,
            "Why <b>Acme</b> Coffee lost my order",
            "https://blog.example.org/2026/acme?ref=a&b=c",
            summary="I ordered from <b>Acme</b>&nbsp;Coffee and ...",
            published=when,
        ),
    )
    (m,) = connector(server, client, [ALERTS]).fetch(["Acme Coffee"], None)[0]
    assert m.url == "https://blog.example.org/2026/acme?ref=a&b=c"
    assert m.external_id == m.url
    assert m.title == "Why Acme Coffee lost my order"
    assert m.text == "I ordered from Acme Coffee and ..."
    assert m.author == "blog.example.org"  # no author in the feed: the article's site
    assert m.created_at == when
    assert m.raw["link"].startswith("https://www.google.com/url?")


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (google_alerts_link("https://example.com/review"), "https://example.com/review"),
        ("https://www.google.co.uk/url?q=http://example.co.uk/x&sa=U", "http://example.co.uk/x"),
        ("https://example.com/url?url=https://elsewhere.example/", None),  # not Google
        ("https://www.google.com/url?rct=j&url=javascript:alert(1)", None),  # not a web page
        ("https://www.google.com/search?q=https://example.com/", None),  # not the redirect
        ("https://www.google.com.evil.example/url?url=https://x.example/", None),
    ],
)
def test_unwrap_google_link(link: str, expected: str | None) -> None:
    assert unwrap_google_link(link) == (expected or link)


def test_keyword_needles_are_the_matchers_first_test() -> None:
    assert keyword_needles(["Acme Coffee", "@AcmeCo", "#acme"]) == {"coffee", "acmeco", "acme"}


def test_entries_without_any_keyword_are_left_out(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    site.add(REVIEWS, review(1, "Lovely tea room"), review(2, "#ACME-coffee rocks"))
    mentions, _ = connector(server, client, [REVIEWS]).fetch(["Acme Coffee", "Tea Co"], None)
    assert {m.title for m in mentions} == {"Lovely tea room", "#ACME-coffee rocks"}
    mentions, _ = connector(server, client, [REVIEWS]).fetch(["Acme"], None)
    assert [m.title for m in mentions] == ["#ACME-coffee rocks"]


def test_brand_feed_sets_brand_hint(site: FeedSite, server: StandIn, client: httpx.Client) -> None:
    site.add(ALERTS, alert(1, "<b>Acme</b> news", "https://news.example/1"))
    feeds = [{"url": ALERTS, "brand": "Acme Coffee", "name": "Google Alert: Acme"}]
    (m,) = connector(server, client, feeds).fetch(["Acme"], None)[0]
    assert m.brand_hint == "Acme Coffee"
    assert m.raw["feed"] == "Google Alert: Acme"


# ---------------------------------------------------------------- conditional GET and cursor


def test_conditional_get_sends_validators_and_304_yields_nothing(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    site.add(REVIEWS, review(1, "Acme one"))
    conn = connector(server, client, [REVIEWS])
    first, cursor = conn.fetch(["Acme"], None)
    assert len(first) == 1
    again, cursor2 = conn.fetch(["Acme"], cursor)
    assert again == []
    assert site.served[REVIEWS] == [200, 304]
    request = server.requests[-1]
    assert request.headers["if-none-match"].startswith('"')
    assert request.headers["if-modified-since"].endswith("GMT")
    assert request.headers["user-agent"] == USER_AGENT
    assert "application/rss+xml" in request.headers["accept"]
    assert cursor2 == cursor


def test_last_modified_alone_is_enough_for_a_304(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    site.add_feed("/plain.xml", etag=False)
    site.add("/plain.xml", review(1, "Acme one"))
    conn = connector(server, client, ["/plain.xml"])
    _, cursor = conn.fetch(["Acme"], None)
    conn.fetch(["Acme"], cursor)
    assert "if-none-match" not in server.requests[-1].headers
    assert site.served["/plain.xml"] == [200, 304]


def test_new_entries_between_polls_are_returned_once(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    site.add(REVIEWS, review(10, "Acme one"))
    conn = connector(server, client, [REVIEWS])
    _, cursor = conn.fetch(["Acme"], None)
    site.add(REVIEWS, review(1, "Acme two"))
    second, cursor = conn.fetch(["Acme"], cursor)
    assert [m.title for m in second] == ["Acme two"]
    site.add(REVIEWS, review(0, "Acme three"))
    third, _ = conn.fetch(["Acme"], cursor)
    assert [m.title for m in third] == ["Acme three"]


def test_late_arriving_older_entry_is_returned_once(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    site.add(REVIEWS, review(1, "Acme recent"))
    conn = connector(server, client, [REVIEWS])
    _, cursor = conn.fetch(["Acme"], None)
    site.add(REVIEWS, review(3 * 24 * 60, "Acme from three days ago, published late"))
    late, cursor = conn.fetch(["Acme"], cursor)
    assert [m.title for m in late] == ["Acme from three days ago, published late"]
    site.add(REVIEWS, review(0, "Acme newest"))  # forces a 200 with every entry again
    again, _ = conn.fetch(["Acme"], cursor)
    assert [m.title for m in again] == ["Acme newest"]


def test_first_read_skips_entries_older_than_lookback(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    site.add(REVIEWS, review(2 * 24 * 60, "Acme old news"), review(5, "Acme today"))
    mentions, _ = connector(server, client, [REVIEWS]).fetch(["Acme"], None)
    assert [m.title for m in mentions] == ["Acme today"]


def test_nothing_skipped_or_repeated_across_a_restart(site: FeedSite, server: StandIn) -> None:
    site.add(REVIEWS, review(5, "Acme one"))
    with make_client(timeout=5) as c1:
        _, cursor = connector(server, c1, [REVIEWS]).fetch(["Acme"], None)
    site.add(REVIEWS, review(1, "Acme while we were down"))
    with make_client(timeout=5) as c2:
        mentions, _ = connector(server, c2, [REVIEWS]).fetch(["Acme"], cursor)
    assert [m.title for m in mentions] == ["Acme while we were down"]
    assert "if-none-match" in server.requests[-1].headers


def test_same_article_in_two_feeds_is_one_mention(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    article = "https://reviews.example/r/7"
    site.add(REVIEWS, review(7, "Acme burnt my toast"))
    site.add(ALERTS, alert(6, "<b>Acme</b> burnt my toast", article))
    conn = connector(server, client, [REVIEWS, ALERTS])
    mentions, cursor = conn.fetch(["Acme"], None)
    assert [m.external_id for m in mentions] == [article]
    # The same article reaching a third feed later is not new either.
    site.add_feed("/news.xml")
    site.add("/news.xml", Entry("news-1", "Acme toast", article, published=ago(minutes=1)))
    conn = connector(server, client, [REVIEWS, ALERTS, "/news.xml"])
    later, _ = conn.fetch(["Acme"], cursor)
    assert later == []


def test_an_entry_whose_link_changes_is_known_by_its_guid(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    entry = review(1, "Acme one")
    site.add(REVIEWS, entry)
    conn = connector(server, client, [REVIEWS])
    _, cursor = conn.fetch(["Acme"], None)
    entry.link = "https://reviews.example/r/1?utm_source=rss"
    site.add(REVIEWS)
    mentions, _ = conn.fetch(["Acme"], cursor)
    assert mentions == []


def test_seen_ids_are_bounded(site: FeedSite, server: StandIn, client: httpx.Client) -> None:
    site.add(REVIEWS, *(review(i, f"Acme {i}") for i in range(700)))
    conn = connector(server, client, [REVIEWS])
    _, cursor = conn.fetch(["Acme"], None)
    (state,) = json.loads(cursor or "")["feeds"].values()
    assert len(state["seen"]) == 1400  # link and guid of every entry still in the feed
    del site.feeds[REVIEWS].entries[100:]
    site.add(REVIEWS, *(review(1000 + i, f"Acme {i}") for i in range(100)))
    mentions, cursor = conn.fetch(["Acme"], cursor)
    assert len(mentions) == 100
    (state,) = json.loads(cursor or "")["feeds"].values()
    assert len(state["seen"]) == 500


def test_a_secret_in_a_feed_url_stays_out_of_cursor_logs_and_errors(
    site: FeedSite, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    site.add_feed("/private.xml")
    site.add("/private.xml", review(1, "Acme private"))
    conn = connector(server, client, ["/private.xml?token=s3cret", REVIEWS])
    with caplog.at_level(logging.DEBUG):
        (m,) = conn.fetch(["Acme"], None)[0]
        site.feeds["/private.xml"].broken = Response(401, b"no", {"Content-Type": "text/plain"})
        _, cursor = conn.fetch(["Acme"], None)
        with pytest.raises(AuthError) as info:
            connector(server, client, ["/private.xml?token=s3cret"]).fetch(["Acme"], None)
    assert server.requests[0].params == {"token": "s3cret"}
    texts = [cursor or "", caplog.text, str(info.value), json.dumps(m.raw), m.url, m.author]
    assert not [t for t in texts if "s3cret" in t]


# ---------------------------------------------------------------- failures


def test_malformed_xml_is_a_parse_error_naming_the_feed(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    site.feeds[REVIEWS].broken = Response(
        200, b"<rss><channel><title>x</title><item>", {"Content-Type": "application/rss+xml"}
    )
    conn = connector(server, client, [{"url": REVIEWS, "name": "Reviews"}])
    with pytest.raises(ParseError, match="feed Reviews"):
        conn.fetch(["Acme"], None)


def test_a_feed_with_a_flaw_is_read_as_far_as_possible(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    body = (
        b'<rss version="2.0"><channel><title>A & B</title><item><title>Acme & co</title>'
        b"<link>https://x.example/1</link><description>Acme is bad</description></item>"
        b"<item></item></channel></rss>"  # a bare & is not XML; the empty item is debris
    )
    site.feeds[REVIEWS].broken = Response(200, body, {"Content-Type": "text/xml"})
    (m,) = connector(server, client, [REVIEWS]).fetch(["Acme"], None)[0]
    assert (m.title, m.text, m.url) == ("Acme & co", "Acme is bad", "https://x.example/1")


def test_an_html_page_is_not_a_feed(site: FeedSite, server: StandIn, client: httpx.Client) -> None:
    page = b"<html><head><title>Sign in</title></head><body><form></form></body></html>"
    site.feeds[REVIEWS].broken = Response(200, page, {"Content-Type": "text/html"})
    with pytest.raises(ParseError, match=r"not an RSS or Atom feed \(text/html\)"):
        connector(server, client, [REVIEWS]).fetch(["Acme"], None)


def test_an_empty_feed_is_no_mentions(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    mentions, cursor = connector(server, client, [REVIEWS]).fetch(["Acme"], None)
    assert mentions == [] and cursor


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, AuthError), (429, RateLimited), (500, SourceUnavailable)],
)
def test_statuses_map_to_our_errors_naming_the_feed(
    server: StandIn, client: httpx.Client, status: int, error: type[Exception]
) -> None:
    server.fail_next(Response(status, b"no", {"Retry-After": "30"}))
    with pytest.raises(error, match="feed Reviews") as info:
        connector(server, client, [{"url": REVIEWS, "name": "Reviews"}]).fetch(["Acme"], None)
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == 30
    if isinstance(info.value, AuthError):
        assert "public feed" in (info.value.hint or "")


def test_one_failing_feed_does_not_hide_the_others(
    site: FeedSite, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    site.add(REVIEWS, review(1, "Acme in reviews"))
    site.add(ALERTS, alert(2, "<b>Acme</b> alert", "https://news.example/a"))
    site.feeds[REVIEWS].broken = Response(503, b"down", {"Content-Type": "text/plain"})
    state = MemoryState()
    feeds = [{"url": REVIEWS, "name": "Reviews"}, ALERTS]
    conn = connector(server, client, feeds, state)
    with caplog.at_level(logging.WARNING, "connectors.rss"):
        mentions, cursor = conn.fetch(["Acme"], None)
    assert [m.title for m in mentions] == ["Acme alert"]
    assert "feed Reviews" in caplog.text and "503" in caplog.text
    assert any("feed Reviews failing since" in line for line in conn.check())
    site.feeds[REVIEWS].broken = None  # back: nothing in it was skipped
    mentions, _ = conn.fetch(["Acme"], cursor)
    assert [m.title for m in mentions] == ["Acme in reviews"]
    assert conn.check() == ["no credentials needed; 2 feeds (0 brand-specific)"]


def test_every_feed_failing_raises_the_first_error(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    site.feeds[REVIEWS].broken = Response(403, b"no", {"Content-Type": "text/plain"})
    site.feeds[ALERTS].broken = Response(500, b"no", {"Content-Type": "text/plain"})
    with pytest.raises(AuthError):
        connector(server, client, [REVIEWS, ALERTS]).fetch(["Acme"], None)


def test_a_rate_limited_feed_is_not_asked_again_before_retry_after(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    site.feeds[REVIEWS].broken = Response(429, b"slow", {"Retry-After": "600"})
    conn = connector(server, client, [REVIEWS, ALERTS], MemoryState())
    _, cursor = conn.fetch(["Acme"], None)
    site.feeds[REVIEWS].broken = None
    conn.fetch(["Acme"], cursor)
    assert site.served[REVIEWS] == [429]
    assert site.served[ALERTS] == [200, 304]


def test_connection_refused_is_source_unavailable(client: httpx.Client) -> None:
    conn = RSSConnector(RSSConfig(feeds=["http://127.0.0.1:9/feed.xml"]), client)
    with pytest.raises(SourceUnavailable, match=r"127\.0\.0\.1:9/feed\.xml"):
        conn.fetch(["Acme"], None)


# ---------------------------------------------------------------- config and check


def test_config_accepts_plain_urls_and_rejects_bad_ones() -> None:
    config = RSSConfig.model_validate({"feeds": ["https://example.com/feed"]})
    assert config.feeds[0].url == "https://example.com/feed" and config.base_url == ""
    for bad in (
        {"feeds": []},
        {"feeds": ["ftp://example.com/feed"]},
        {"feeds": ["javascript:alert(1)"]},
        {"feeds": ["/relative.xml"]},  # needs base_url
        {"feeds": ["https://a.example/f", "https://a.example/f"]},
        {"feeds": [{"url": "https://a.example/f", "brnad": "Acme"}]},
    ):
        with pytest.raises(ValidationError):
            RSSConfig.model_validate(bad)


def test_check_online_reports_each_feed_and_raises_on_a_refusal(
    site: FeedSite, server: StandIn, client: httpx.Client
) -> None:
    site.add(REVIEWS, review(1, "Acme"))
    conn = connector(server, client, [{"url": REVIEWS, "name": "Reviews"}, "/missing.xml"])
    lines = conn.check(online=True)
    assert lines[1] == "feed Reviews: OK, 1 entries"
    assert lines[2].startswith("feed /missing.xml: FAILED") and "404" in lines[2]
    site.feeds[REVIEWS].broken = Response(401, b"login", {"Content-Type": "text/plain"})
    with pytest.raises(AuthError, match="feed Reviews"):
        conn.check(online=True)
