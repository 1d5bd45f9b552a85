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

Windows: each request asks for ``created_at_i`` in ``(start, end]`` and gets the
newest items of that window. When more items fall in it than one answer holds
(a burst, a long outage), what came back is stored at once (so a fresh complaint
never waits behind a backlog) and the rest, below the oldest item returned, is
read newest first in the next requests: about one request per
``hits_per_page`` items, at most ``max_requests`` a poll. Every answer is handed
to the pipeline with its own cursor (``fetch_pages``), which keeps what is still
unread, so a backlog of any size is worked through in bounded polls, and a poll
that stops short says how far behind it is (``behind``). A poll reaches back
``overlap`` before the cursor, because Algolia indexes items a little after they
are posted (less the time that had passed when that point was read); the store
drops what it has already seen.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import ByteSize, Field

from connectors.base import Connector, FetchResult, SourceConfig, one_item, response_limit
from monitor.config import Duration, format_duration
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
    tags: list[str] = Field(default=["story", "comment"], description="which kinds of item to read")
    hits_per_page: int = Field(
        default=1000, ge=10, le=1000, description="items per request (1,000 is the most)"
    )
    max_requests: int = Field(
        default=10,
        ge=1,
        le=100,
        description="most requests per poll when catching up after an outage; the rest"
        " follows at the next poll",
    )
    lookback: Duration = Field(
        default=timedelta(hours=24), description="how far back the very first poll looks"
    )
    overlap: Duration = Field(
        default=timedelta(minutes=10),
        description="how far before the last poll each poll reaches back, for items listed"
        " late (what was seen is not stored twice)",
    )
    #: A full page is 1,000 hits of about 1-3 kB (long story texts up to 10s of kB).
    max_response: ByteSize = response_limit(20_000_000)


@dataclass(frozen=True, slots=True)
class _Cursor:
    """Every item posted up to ``covered`` has been read (at ``read_at``); while catching
    up, so has everything in ``(gap[0], gap[1]]``, and ``(covered, gap[0]]`` is next."""

    covered: int
    read_at: int
    gap: tuple[int, int] | None = None

    def dump(self) -> str:
        data: dict[str, Any] = {"covered_until": self.covered, "read_at": self.read_at}
        if self.gap is not None:
            data["gap"] = list(self.gap)
        return json.dumps(data)


class HackerNewsConnector(Connector):
    """Stories and comments on Hacker News that mention a brand."""

    name = "hackernews"
    Config = HackerNewsConfig
    config: HackerNewsConfig
    per_brand = False

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        found: dict[str, Mention] = {}
        for mentions, step in self.fetch_pages(queries, cursor):
            for mention in mentions:
                found.setdefault(mention.external_id, mention)
            cursor = step
        return sorted(found.values(), key=lambda m: m.created_at), cursor

    def fetch_pages(self, queries: Sequence[str], cursor: str | None) -> Iterator[FetchResult]:
        """Everything new since the cursor, newest answer first, each step with its cursor.

        An answer holds the newest ``hits_per_page`` items of its window. When the window
        holds more, what came back (down to its oldest second, ``t``) is stored at once,
        and the part below, between the cursor and ``t``, is a gap read the same way in
        the following requests (and polls, as the cursor keeps the gap) until one answer
        holds all of it. Each request reads a new answer's worth: a backlog of any size
        costs about one request per ``hits_per_page`` items, never a poll that starts over.
        """
        now = int(time.time())
        state = self._read_cursor(cursor) or _Cursor(
            now - int(self.config.lookback.total_seconds()), read_at=now
        )
        needles = keyword_needles(queries)
        requests = 0
        while requests < self.config.max_requests:
            if state.gap is not None:
                low, high = state.covered, state.gap[0]
            elif requests == 0 or state.covered < now:
                # Reach back by what Algolia may not have indexed yet when the cursor was
                # read (best effort: the overlap is never a gap of its own).
                late = self.config.overlap.total_seconds() - (state.read_at - state.covered)
                low, high = state.covered - max(0, int(late)), now
                if low >= high:
                    break
            else:
                break
            hits, total = self._window(low, high)
            requests += 1
            oldest = min((int(h.get("created_at_i") or 0) for h in hits), default=high)
            if total <= len(hits) or oldest <= state.covered:
                # Everything after the cursor up to ``high`` is read: a closed gap ends
                # where its window's answer began; a window up to now reaches now.
                end = state.gap[1] if state.gap is not None else high
                state = _Cursor(end, read_at=now if state.gap is None else end)
            else:
                if oldest >= high:
                    log.warning(
                        "hackernews: more than %d items in one second; some were not read",
                        len(hits),
                    )
                    oldest = high - 1
                # (oldest, high] is read (items at ``oldest`` itself may not all be): the
                # gap is what lies below it.
                top = state.gap[1] if state.gap is not None else high
                state = _Cursor(state.covered, read_at=state.read_at, gap=(oldest, top))
            yield self._keep(hits, needles), state.dump()
        self.behind = None
        if state.gap is not None or state.covered < now - 1:
            self.behind = timedelta(seconds=now - state.covered)
            log.warning(
                "hackernews: still catching up after %d requests, %s behind; "
                "the rest comes next poll",
                requests,
                format_duration(self.behind),
            )

    def _keep(self, hits: list[dict[str, Any]], needles: set[str]) -> list[Mention]:
        """The hits that may name a brand, oldest first.

        Comments come back even when they do not name a brand: a negative one in the
        thread of a tracked story adds to its heat (the pipeline decides)."""
        kept = []
        for hit in hits:
            mention = self._to_mention(hit)
            if mention is not None and (
                mention.reply_to is not None
                or any(n in normalise(mention.full_text) for n in needles)
            ):
                kept.append(mention)
        return sorted(kept, key=lambda m: m.created_at)

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

    def _read_cursor(self, cursor: str | None) -> _Cursor | None:
        if not cursor:
            return None
        try:
            data = json.loads(cursor)
            covered = int(data.get("covered_until", data.get("created_at_i")))
            gap = data.get("gap")
            return _Cursor(
                covered,
                read_at=int(data.get("read_at", covered)),
                gap=(int(gap[0]), int(gap[1])) if gap else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
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
