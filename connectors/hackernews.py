"""Hacker News, through the Algolia HN Search API (no key needed).

API: https://hn.algolia.com/api  (``GET /search_by_date``)
Auth: none. Limits: 10,000 requests per hour per IP address.

Each poll asks for stories and comments newer than the brand's cursor
(``numericFilters=created_at_i>...``), newest first, page by page. Algolia's
query language has no OR, so a brand costs one request per distinct search
term (``@acme`` and ``#acme`` are one term, ``acme``) plus the pages actually
needed. The cursor is the newest ``created_at_i`` seen; each poll reaches back
``overlap`` before it, because Algolia indexes items a little after they are
posted, and the store drops what it has already seen.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from connectors.base import Connector, FetchResult, SourceConfig
from monitor.config import Duration
from monitor.errors import ParseError
from monitor.http import get_json
from monitor.models import Mention
from monitor.text import html_to_text

log = logging.getLogger(__name__)

ITEM_URL = "https://news.ycombinator.com/item?id={}"


class HackerNewsConfig(SourceConfig):
    base_url: str = "https://hn.algolia.com/api/v1"
    tags: list[str] = ["story", "comment"]
    hits_per_page: int = Field(default=100, ge=1, le=1000)
    max_pages: int = Field(default=5, ge=1, le=50)
    lookback: Duration = timedelta(hours=24)
    overlap: Duration = timedelta(minutes=10)


def search_terms(keywords: Sequence[str]) -> list[str]:
    """Distinct Algolia queries for a brand: @handles and #tags become plain words."""
    terms: dict[str, str] = {}
    for keyword in keywords:
        term = " ".join(keyword.lstrip("@#").split())
        if term:
            terms.setdefault(term.casefold(), f'"{term}"' if " " in term else term)
    return list(terms.values())


class HackerNewsConnector(Connector):
    """Stories and comments on Hacker News that mention a brand."""

    name = "hackernews"
    Config = HackerNewsConfig
    config: HackerNewsConfig

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        newest = self._read_cursor(cursor)
        if newest is None:
            since = int(time.time() - self.config.lookback.total_seconds())
        else:
            since = newest - int(self.config.overlap.total_seconds())
        found: dict[str, Mention] = {}
        for term in search_terms(queries):
            for hit in self._search(term, since):
                mention = self._to_mention(hit)
                if mention is not None:
                    found.setdefault(mention.external_id, mention)
        mentions = sorted(found.values(), key=lambda m: m.created_at)
        if mentions:
            newest = max(newest or 0, max(int(m.raw["created_at_i"]) for m in mentions))
        return mentions, json.dumps({"created_at_i": newest}) if newest is not None else cursor

    def _read_cursor(self, cursor: str | None) -> int | None:
        if not cursor:
            return None
        try:
            return int(json.loads(cursor)["created_at_i"])
        except (ValueError, KeyError, TypeError):
            log.warning("hackernews: ignoring an unreadable cursor %r", cursor[:80])
            return None

    def _search(self, term: str, since: int) -> list[dict[str, Any]]:
        hits: list[dict[str, Any]] = []
        tags = ",".join(self.config.tags)
        for page in range(self.config.max_pages):
            body = get_json(
                self.http,
                self.name,
                f"{self.base_url}/search_by_date",
                params={
                    "query": term,
                    "tags": f"({tags})" if len(self.config.tags) > 1 else tags,
                    "numericFilters": f"created_at_i>{since}",
                    "hitsPerPage": self.config.hits_per_page,
                    "page": page,
                },
                timeout=self.config.timeout.total_seconds(),
            )
            if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
                raise ParseError(self.name, "search answer has no `hits` list")
            hits.extend(h for h in body["hits"] if isinstance(h, dict))
            pages = body.get("nbPages")
            if not isinstance(pages, int) or page + 1 >= pages or not body["hits"]:
                break
        else:
            log.warning(
                "hackernews: more than %d new items for %s in one poll; older ones were skipped "
                "(raise max_pages or poll more often)",
                self.config.max_pages * self.config.hits_per_page,
                term,
            )
        return hits

    def _to_mention(self, hit: dict[str, Any]) -> Mention | None:
        try:
            object_id = str(hit["objectID"])
            created = int(hit["created_at_i"])
        except (KeyError, TypeError, ValueError):
            log.warning("hackernews: skipping a hit without objectID/created_at_i")
            return None
        is_comment = hit.get("comment_text") is not None
        if is_comment:
            title = None
            text = html_to_text(str(hit.get("comment_text") or ""))
        else:
            title = str(hit.get("title") or "") or None
            text = html_to_text(str(hit.get("story_text") or ""))
        engagement = {
            key: int(hit[field])
            for key, field in (("score", "points"), ("comments", "num_comments"))
            if isinstance(hit.get(field), int)
        }
        return Mention(
            source=self.name,
            external_id=object_id,
            url=ITEM_URL.format(object_id),
            author=str(hit.get("author") or "unknown"),
            title=title,
            text=text,
            created_at=datetime.fromtimestamp(created, UTC),
            engagement=engagement,
            raw=hit,
        )
