from __future__ import annotations

from tests.connectors.cases import Case
from tests.standins.rss import Entry, FeedSite, ago


def make_api() -> FeedSite:
    site = FeedSite()
    site.add_feed("/feeds/reviews.xml")
    site.add(
        "/feeds/reviews.xml",
        Entry(
            "review-1",
            "Acme is terrible today",
            "https://reviews.example/r/1",
            "<p>Cold coffee, rude staff.</p>",
            published=ago(minutes=1),
            author="Joe",
        ),
    )
    return site


CASE = Case(
    "rss",
    make_api,
    lambda url: {"base_url": url, "feeds": ["/feeds/reviews.xml"], "timeout": "0.5s"},
)
