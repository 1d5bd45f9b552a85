"""Atom feeds of a brand's negative mentions, for a feed reader (like Google Alerts' feeds).

``GET /feeds/{brand}.atom?token=...``: the newest ``FEED_SIZE`` negative mentions of the
brand, newest first. A feed reader cannot send a header, so the token is in the address:
``feed_token(api_token, brand)``, an HMAC-SHA256 of the brand under ``web.api_token``, so
one brand's address shows nothing of another's and never the API token itself. The brand
page shows the address. Without ``web.api_token`` the feeds are off (404).

The XML is built by ElementTree, which escapes every stranger's string; characters XML
cannot carry at all (control characters) are dropped first. An entry's id and link are the
mention's page in the inbox when ``web.public_url`` is set, else the post's own address
(an http(s) one only: a ``javascript:`` link is never handed to a feed reader).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from urllib.parse import quote
from xml.etree import ElementTree as ET

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.links import InboxLinks
from monitor.reasons import why_text
from monitor.redact import redact
from monitor.store import MentionRow, Store
from monitor.store.listing import MentionFilter, list_mentions
from monitor.web.words import link_url

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
TITLE_WORDS = 12
#: What XML 1.0 cannot hold, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def feed_token(api_token: str, brand: str) -> str:
    """The token in a brand's feed address: HMAC-SHA256(api_token, brand), hex."""
    return hmac.new(api_token.encode(), brand.encode(), hashlib.sha256).hexdigest()


def feed_path(api_token: str, brand: str) -> str:
    """A brand's feed address inside the inbox (no host, no proxy prefix)."""
    return f"/feeds/{quote(brand, safe='')}.atom?token={feed_token(api_token, brand)}"


def _text(value: str | None) -> str:
    return redact(_NOT_XML.sub("", value or ""))


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _entry(feed: ET.Element, row: MentionRow, public_url: str | None) -> None:
    entry = _add(feed, "entry")
    page = InboxLinks(public_url).mention(row.id) if public_url else None
    post = link_url(row.url)
    _add(entry, "id", _text(page or post or f"urn:mention-monitor:mention:{row.id}"))
    words = _text(row.title or row.text).split()
    headline = " ".join(words[:TITLE_WORDS]) + (" ..." if len(words) > TITLE_WORDS else "")
    _add(entry, "title", f"{_text(row.author)} on {row.source}: {headline}", type="text")
    _add(entry, "updated", _when(row.first_seen_at))
    _add(entry, "published", _when(row.created_at))
    author = _add(entry, "author")
    _add(author, "name", _text(row.author) or "unknown")
    if page:
        _add(entry, "link", href=page, rel="alternate")
    if post:
        _add(entry, "link", href=_text(post), rel="related" if page else "alternate")
    summary = _text(row.text)
    if said := why_text(row.reasons):
        summary += "\n\nWhy flagged: " + _text(said)
    summary += f"\nStatus: {row.status}"
    _add(entry, "summary", summary, type="text")
    _add(entry, "category", term=row.severity)


def atom(brand: str, rows: list[MentionRow], public_url: str | None, now: datetime) -> bytes:
    """The Atom 1.0 document of ``brand``'s ``rows``."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    feed_id = f"{public_url}/brands/{quote(brand, safe='')}" if public_url else None
    _add(feed, "id", feed_id or f"urn:mention-monitor:feed:{quote(brand, safe='')}")
    _add(feed, "title", f"Negative mentions of {_text(brand)}", type="text")
    updated = rows[0].first_seen_at if rows else now
    _add(feed, "updated", _when(updated))
    _add(feed, "generator", "mention-monitor")
    if feed_id:
        _add(feed, "link", href=feed_id, rel="alternate")
    for row in rows:
        _entry(feed, row, public_url)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def brand_feed(request: Request) -> Response:
    api_token: str | None = request.app.state.api_token
    if not api_token:
        return PlainTextResponse(
            "Feeds are off: set web.api_token in the config to turn them on.", 404
        )
    brand: str = request.path_params["brand"]
    given = request.query_params.get("token", "")
    if not hmac.compare_digest(given.encode(), feed_token(api_token, brand).encode()):
        return PlainTextResponse(
            "This feed address is not complete or not current: copy it again from the "
            "brand's page in the inbox.",
            403,
        )
    names = [b.name for b in request.app.state.config.brands]
    if brand not in names:
        return PlainTextResponse(f"No brand {brand!r} is watched.", 404)
    store: Store = request.app.state.store
    page = list_mentions(store, MentionFilter(brand=brand, negative=True), limit=FEED_SIZE)
    body = atom(brand, page.rows, request.app.state.public_url, request.app.state.clock())
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def routes() -> list[BaseRoute]:
    return [Route("/feeds/{brand:path}.atom", brand_feed, methods=["GET"], name="brand_feed")]
