"""Hacker News, through the Algolia HN Search API (no key needed).

API: https://hn.algolia.com/api  (``GET /search_by_date``)
Auth: none. Limits: 10,000 requests per hour per IP address; at most 1,000 hits
per query (``hitsPerPage`` up to 1,000, pagination capped at 1,000 hits).

Algolia's query language has no OR, so searching each keyword would cost a
request per keyword per brand. Hacker News is small (about 10,000 stories and
comments a day, some 35 every five minutes), so this connector instead reads
*every* story and comment posted since the cursor, in one request per poll for
all brands together (``per_brand = False``), and keeps those that contain a
keyword's longest word; the pipeline then matches them properly. Nothing
depends on Algolia's tokenising of handles, tags or phrases.

Windows: each request asks for ``created_at_i`` in ``(start, end]``. If more
items fall in the window than one answer holds (after a long outage), the
window is shrunk in proportion to the count Algolia reports (``nbHits``), and
the poll walks forward window by window
(at most ``max_requests``); the cursor is the end of what was read completely,
so nothing is skipped and the next poll goes on from there. Each poll reaches
back ``overlap`` before the cursor, because Algolia indexes items a little
after they are posted; the store drops what it has already seen.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import ByteSize, Field

from connectors.base import Connector, FetchResult, SourceConfig, one_item, response_limit
from monitor.config import Duration
from monitor.errors import ParseError
from monitor.http import get_json
from monitor.matching import keyword_needles, normalise
from monitor.models import Mention
from monitor.text import html_to_text

log = logging.getLogger(__name__)

ITEM_URL = "https://news.ycombinator.com/item?id={}"


class HackerNewsConfig(SourceConfig):
    #: Escalation thresholds (points + comments) per hour; see SpreadRule.
    SPREAD: ClassVar[dict[str, Any]] = {"spreading": 10, "viral": 40, "min_gain": 5}
    base_url: str = "https://hn.algolia.com/api/v1"
    tags: list[str] = ["story", "comment"]
    hits_per_page: int = Field(default=1000, ge=10, le=1000)
    max_requests: int = Field(default=10, ge=1, le=100)
    lookback: Duration = timedelta(hours=24)
    overlap: Duration = timedelta(minutes=10)
    #: A full page is 1,000 hits of about 1-3 kB (long story texts up to 10s of kB).
    max_response: ByteSize = response_limit(20_000_000)


class HackerNewsConnector(Connector):
    """Stories and comments on Hacker News that mention a brand."""

    name = "hackernews"
    Config = HackerNewsConfig
    config: HackerNewsConfig
    per_brand = False

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        covered = self._read_cursor(cursor)
        now = int(time.time())
        if covered is None:
            start = now - int(self.config.lookback.total_seconds())
        else:
            start = covered - int(self.config.overlap.total_seconds())
        needles = keyword_needles(queries)
        found: dict[str, Mention] = {}
        end, requests = now, 0
        while start < now and requests < self.config.max_requests:
            hits, total = self._window(start, end)
            requests += 1
            if total > len(hits) and end - start > 1:
                # Too many for one answer: a window that should hold about 90% of a page.
                end = start + max(1, int((end - start) * 0.9 * len(hits) / total))
                continue
            for hit in hits:
                mention = self._to_mention(hit)
                # Comments come back even when they do not name a brand: a negative one in
                # the thread of a tracked story adds to its heat (the pipeline decides).
                if mention is not None and (
                    mention.reply_to is not None
                    or any(n in normalise(mention.full_text) for n in needles)
                ):
                    found.setdefault(mention.external_id, mention)
            covered = max(covered or 0, end)
            start, end = end, now
        if start < now:
            log.warning(
                "hackernews: still catching up after %d requests; the rest comes next poll",
                requests,
            )
        mentions = sorted(found.values(), key=lambda m: m.created_at)
        new_cursor = json.dumps({"covered_until": covered}) if covered is not None else cursor
        return mentions, new_cursor

    def trackable(self, mention: Mention) -> bool:
        return mention.reply_to is None  # a story; Algolia keeps no points for comments

    def refresh(self, ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Points and comment counts of stories, 100 a request (``tags=story,(story_1,...)``).

        Algolia has no points for comments, so comment ids get nothing back.
        """
        found: dict[str, dict[str, int]] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 100):
            chunk = unique[start : start + 100]
            body = get_json(
                self.http,
                self.name,
                f"{self.base_url}/search",
                params={
                    "tags": "story,(" + ",".join(f"story_{i}" for i in chunk) + ")",
                    "hitsPerPage": len(chunk),
                },
                timeout=self.config.timeout.total_seconds(),
                max_response=self.config.max_response,
            )
            if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
                raise ParseError(self.name, "search answer has no `hits` list")
            for hit in body["hits"]:
                mention = self._to_mention(hit) if isinstance(hit, dict) else None
                if mention is not None and mention.external_id in chunk:
                    found[mention.external_id] = mention.engagement
        return found

    def _read_cursor(self, cursor: str | None) -> int | None:
        if not cursor:
            return None
        try:
            data = json.loads(cursor)
            return int(data.get("covered_until", data.get("created_at_i")))
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("hackernews: ignoring an unreadable cursor %r", cursor[:80])
            return None

    def _window(self, start: int, end: int) -> tuple[list[dict[str, Any]], int]:
        """The items posted in (start, end] that one answer holds, and how many there are."""
        tags = ",".join(self.config.tags)
        body = get_json(
            self.http,
            self.name,
            f"{self.base_url}/search_by_date",
            params={
                "tags": f"({tags})" if len(self.config.tags) > 1 else tags,
                "numericFilters": f"created_at_i>{start},created_at_i<={end}",
                "hitsPerPage": self.config.hits_per_page,
                "page": 0,
            },
            timeout=self.config.timeout.total_seconds(),
            max_response=self.config.max_response,
        )
        if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
            raise ParseError(self.name, "search answer has no `hits` list")
        hits = [h for h in body["hits"] if isinstance(h, dict)]
        total = body.get("nbHits")
        return hits, total if isinstance(total, int) else len(hits)

    @one_item
    def _to_mention(self, hit: dict[str, Any]) -> Mention | None:
        try:
            object_id = str(hit["objectID"])
            created = int(hit["created_at_i"])
        except (KeyError, TypeError, ValueError):
            log.warning("hackernews: skipping a hit without objectID/created_at_i")
            return None
        if hit.get("comment_text") is not None:
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
            reply_to=str(hit["story_id"]) if hit.get("story_id") is not None else None,
        )
