"""A stand-in web site serving RSS 2.0 and Atom feeds, with conditional GET.

Each feed lives at a path (``/feeds/reviews.xml``) and is rendered from its
entries on every request: RSS 2.0 like a review site (HTML descriptions in
CDATA, RFC 822 ``pubDate``, ``guid``) or Atom like a Google Alerts feed
(``title type="html"`` with ``<b>`` around the matched words, links through
``https://www.google.com/url?...&url=<article>``, empty ``author/name``).

Responses carry an ``ETag`` (a hash of the body) and a ``Last-Modified`` that
moves forward whenever entries are added; a request whose ``If-None-Match``
matches the ETag, or (without If-None-Match) whose ``If-Modified-Since`` is not
older than Last-Modified, gets ``304 Not Modified`` with no body (RFC 9110
13.1.1-13.1.3). ``served`` records the status of every answer, per path.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from tests.standins.server import Request, Response


def google_alerts_link(target: str) -> str:
    return (
        "https://www.google.com/url?rct=j&sa=t&url="
        + quote(target, safe=":/")
        + "&ct=ga&cd=CAIyGjE4ZjM0YmI3NTk1YjBmMmU6Y29tOmVuOlVT&usg=AOvVaw2GmQ0x1n5KQ0zY"
    )


@dataclass
class Entry:
    id: str
    title: str  # HTML allowed (escaped in Atom, raw in RSS <title>)
    link: str | None
    summary: str = ""  # HTML
    published: datetime | None = None
    author: str | None = None


@dataclass
class Feed:
    kind: str  # "rss" or "atom"
    title: str
    link: str
    entries: list[Entry] = field(default_factory=list)
    etag: bool = True
    last_modified: bool = True
    modified: int = 0
    broken: Response | None = None  # served instead of the feed until cleared

    def render(self) -> bytes:
        items = sorted(self.entries, key=lambda e: e.published or datetime.now(UTC), reverse=True)
        return (self._atom(items) if self.kind == "atom" else self._rss(items)).encode()

    def _rss(self, items: list[Entry]) -> str:
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">',
            f"<channel><title>{html.escape(self.title)}</title><link>{self.link}</link>",
            "<description>Latest reviews</description>",
        ]
        for e in items:
            out.append(f"<item><title>{html.escape(e.title)}</title>")
            if e.link:
                out.append(f"<link>{html.escape(e.link)}</link>")
            if e.id:
                out.append(f'<guid isPermaLink="false">{html.escape(e.id)}</guid>')
            out.append(f"<description><![CDATA[{e.summary}]]></description>")
            if e.published:
                out.append(f"<pubDate>{email.utils.format_datetime(e.published)}</pubDate>")
            if e.author:
                out.append(f"<dc:creator>{html.escape(e.author)}</dc:creator>")
            out.append("</item>")
        out.append("</channel></rss>")
        return "\n".join(out)

    def _atom(self, items: list[Entry]) -> str:
        def stamp(when: datetime | None) -> str:
            return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")

        out = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:idx="urn:atom-extension:indexing">',
            "<id>tag:google.com,2005:reader/user/0123/state/com.google/alerts/4567</id>",
            f"<title>{html.escape(self.title)}</title>",
            f'<link href="{html.escape(self.link)}" rel="self"></link>',
            f"<updated>{stamp(datetime.fromtimestamp(self.modified, UTC))}</updated>",
        ]
        for e in items:
            out += [
                f"<entry><id>{html.escape(e.id)}</id>",
                f'<title type="html">{html.escape(e.title)}</title>',
                f'<link href="{html.escape(e.link)}"></link>' if e.link else "",
                f"<published>{stamp(e.published)}</published>" if e.published else "",
                f"<updated>{stamp(e.published)}</updated>" if e.published else "",
                f'<content type="html">{html.escape(e.summary)}</content>',
                f"<author><name>{html.escape(e.author or '')}</name></author></entry>",
            ]
        out.append("</feed>")
        return "\n".join(out)


ATOM_SELF = "https://www.google.com/alerts/feeds/0123/4567"


class FeedSite:
    """The Route: feeds by path, with validators and 304s."""

    def __init__(self) -> None:
        self.feeds: dict[str, Feed] = {}
        self.served: dict[str, list[int]] = {}

    def add_feed(
        self,
        path: str,
        kind: str = "rss",
        *,
        title: str | None = None,
        etag: bool = True,
        last_modified: bool = True,
    ) -> Feed:
        if kind == "atom":
            feed = Feed(kind, title or "Google Alert - acme", ATOM_SELF, etag=etag)
        else:
            feed = Feed(kind, title or "Coffee Reviews", "https://reviews.example/", etag=etag)
        feed.last_modified = last_modified
        feed.modified = int(time.time()) - 3600
        self.feeds[path] = feed
        return feed

    def add(self, path: str, *entries: Entry) -> None:
        feed = self.feeds[path]
        feed.entries.extend(entries)
        # Strictly later, even twice in one second: HTTP dates have one-second resolution.
        feed.modified = max(int(time.time()), feed.modified + 1)

    def __call__(self, request: Request) -> Response:
        feed = self.feeds.get(request.path)
        if feed is None:
            return self._answer(
                request, Response(404, b"Not Found", {"Content-Type": "text/plain"})
            )
        if feed.broken is not None:
            return self._answer(request, feed.broken)
        body = feed.render()
        headers = {
            "Content-Type": f"application/{feed.kind}+xml; charset=utf-8",
            "Cache-Control": "max-age=300",
        }
        etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
        if feed.etag:
            headers["ETag"] = etag
        if feed.last_modified:
            headers["Last-Modified"] = email.utils.formatdate(feed.modified, usegmt=True)
        if self._not_modified(request, feed, etag):
            headers.pop("Content-Type")
            return self._answer(request, Response(304, b"", headers))
        return self._answer(request, Response(200, body, headers))

    @staticmethod
    def _not_modified(request: Request, feed: Feed, etag: str) -> bool:
        match = request.headers.get("if-none-match")
        if match is not None:
            return feed.etag and etag in [t.strip().removeprefix("W/") for t in match.split(",")]
        since = request.headers.get("if-modified-since")
        if since is None or not feed.last_modified:
            return False
        try:
            when = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        return feed.modified <= when.timestamp()

    def _answer(self, request: Request, response: Response) -> Response:
        self.served.setdefault(request.path, []).append(response.status)
        return response


def ago(**delta: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(**delta)
