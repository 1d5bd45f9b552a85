"""YouTube: comments on the owner's channels, and (optionally) new videos naming a brand.

API: YouTube Data API v3 (https://developers.google.com/youtube/v3/docs), with an API key
from Google Cloud Console sent as the ``key`` query parameter. Two methods:

- ``commentThreads.list`` with ``allThreadsRelatedToChannelId`` (1 quota unit a call, up to
  100 threads a page, ``order=time``: newest first): every comment thread under the owner's
  videos. Each top-level comment is a Mention of the channel's brand with ``own_page=True``;
  a reply by the channel itself sets ``owner_replied_at``; ``snippet.updatedAt`` after
  ``publishedAt`` is an edit (``edited_at``). The owner's own top-level comments are skipped.
- ``search.list`` (``type=video``, ``order=date``, ``publishedAfter``; 100 units a call, at
  most 50 results a page): only with ``search: true``, at most every ``search_every``, the
  brands' keywords OR-joined (``|``) in one ``q``. Matched by keywords as usual.

Quota: 10,000 units a day per Google Cloud project, reset at midnight Pacific time. The units
this source spends are counted in ``self.state`` (``units:YYYY-MM-DD``, the Pacific date) and
kept under ``daily_quota`` like X's monthly reads: a call that would pass it is not made; a
search is not made past 80% of it, so the owner's own comments keep the last fifth. When
Google itself answers ``quotaExceeded`` (another app may share the project) the day is
counted as used up and polling waits for the reset.

Cursor: ``{"v": 1, "channels": {<id>: {"newest": <epoch>, "seen": {<thread>: [<published>,
<fingerprint>]}}}, "search": {"at": <epoch>, "after": <epoch>}}``. Each poll reads a channel's
threads newest first down to the older of the newest one seen and ``recheck`` ago (at most
``max_pages`` pages), and returns a thread when it is new or its fingerprint (the comment's
``updatedAt`` and the owner's latest reply) changed: an edited comment comes again with its
new text, and the core scores it again.

Limits that bite: the ``replies`` part holds only a few replies of each thread, so an owner's
reply among many others may not be seen; comments older than ``recheck`` are not re-read for
edits. The key is in every request's address: no error or log line of ours quotes an address,
and the key is masked (monitor/redact.py) wherever an answer echoes it.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, SecretStr, model_validator

from connectors.base import Connector, FetchResult, SourceConfig, SourceState, Usage, one_item
from connectors.youtube_api import YouTubeAPI, units_for_poll
from monitor.config import Duration, StrictModel
from monitor.errors import AuthError, BudgetExhausted
from monitor.models import Mention, utcnow
from monitor.wording import count

log = logging.getLogger(__name__)

PACIFIC = ZoneInfo("America/Los_Angeles")
THREADS_COST = 1
SEARCH_COST = 100
SEARCH_SHARE = 0.8  # searches stop once this share of the day's quota is used
REMEMBER = 3000  # thread fingerprints kept per channel
WATCH_URL = "https://www.youtube.com/watch?v={}"
CHANNEL_URL = "https://www.youtube.com/channel/{}"
AUTH_HINT = (
    "set YOUTUBE_API_KEY to an API key of a Google Cloud project with the YouTube Data API v3"
    " enabled (console.cloud.google.com > APIs & Services > Credentials); config.yaml reads it"
    " as `api_key: ${YOUTUBE_API_KEY}` under sources.youtube (see docs/sources/youtube.md)"
)


class Channel(StrictModel):
    """One of the owner's YouTube channels."""

    id: str = Field(
        pattern=r"^UC[A-Za-z0-9_-]{22}$",
        description="the channel's id, `UC` and 22 more characters (YouTube Studio >"
        " Customisation > Basic info shows the channel URL ending in it)",
    )
    brand: str = Field(
        description="the brand this channel belongs to (its `name` under `brands:`): every"
        " comment under its videos is that brand's, whether or not it names it",
    )


class YouTubeConfig(SourceConfig):
    base_url: str = Field(
        default="https://www.googleapis.com/youtube/v3",
        description="the API's address; change it only for a proxy or a test stand-in",
    )
    every: Duration = Field(
        default=timedelta(minutes=15),
        description="how often to read the channels' comments (1 unit a channel a poll at"
        " least: 15m is 96 units a day per channel, 1m is 1,440)",
    )
    api_key: SecretStr = Field(description="the Google Cloud API key; write `${YOUTUBE_API_KEY}`")
    channels: list[Channel] = Field(
        default_factory=list,
        description="the owner's channels whose comments are read, each `{id: UC..., brand: ...}`",
    )
    search: bool = Field(
        default=False,
        description="also search new videos naming the brands' keywords (100 units each search)",
    )
    search_every: Duration = Field(
        default=timedelta(hours=6),
        description="search at most this often (every 6h is 400 units a day; every 15m would"
        " be 9,600, nearly the whole quota)",
    )
    daily_quota: int = Field(
        default=10_000,
        ge=1,
        description="quota units this source may spend a day (Google's day: midnight to"
        " midnight Pacific time); polling stops there until the reset",
    )
    max_results: int = Field(
        default=100, ge=1, le=100, description="comment threads asked for per request"
    )
    max_pages: int = Field(
        default=5,
        ge=1,
        le=100,
        description="at most this many comment pages per channel and poll (1 unit each)",
    )
    recheck: Duration = Field(
        default=timedelta(days=3),
        description="comments this recent are read again at every poll, so an edit or your"
        " reply is noticed; older ones are not re-read",
    )
    lookback: Duration = Field(
        default=timedelta(hours=24),
        description="how far back the first poll reaches, so old comments send no alerts",
    )

    @model_validator(mode="after")
    def _something_to_read(self) -> YouTubeConfig:
        if not self.channels and not self.search:
            raise ValueError(
                "give `channels:` (your channel ids and their brands) or `search: true`"
            )
        ids = [c.id for c in self.channels]
        if len(set(ids)) != len(ids):
            raise ValueError("a channel is listed twice under `channels:`")
        return self


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


class YouTubeConnector(Connector):
    """Comments on the owner's YouTube channels, and new videos naming the brands."""

    name = "youtube"
    Config = YouTubeConfig
    config: YouTubeConfig
    per_brand = False

    def __init__(
        self, config: SourceConfig, http: httpx.Client, state: SourceState | None = None
    ) -> None:
        super().__init__(config, http, state)
        self.clock: Callable[[], datetime] = utcnow
        self._counting = threading.Lock()
        self.api = YouTubeAPI(self, self.config, http)

    # ------------------------------------------------------------ fetch

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        self._require_key()
        state = self._read_cursor(cursor)
        now = self.clock()
        searching = self.config.search and self._search_due(state, now)
        needs = THREADS_COST if self.config.channels else SEARCH_COST if searching else 0
        if needs and self._left() < needs:
            raise self._exhausted()
        self.behind = None
        found: list[Mention] = []
        channels = state.setdefault("channels", {})
        for channel in self.config.channels:
            previous = channels.get(channel.id)
            mentions, channels[channel.id] = self._read_channel(channel, previous, now)
            found.extend(mentions)
        if searching and queries:
            if self._used() + SEARCH_COST <= self.config.daily_quota * SEARCH_SHARE:
                found.extend(self._search(queries, state, now))
            else:
                log.warning(
                    "youtube: the video search is skipped: %d%% of today's quota is used and"
                    " the rest is kept for your channels' comments",
                    100 * SEARCH_SHARE,
                )
        found.sort(key=lambda m: m.created_at)
        return found, json.dumps(state, separators=(",", ":"))

    def _read_cursor(self, cursor: str | None) -> dict[str, Any]:
        if not cursor:
            return {"v": 1}
        try:
            state = json.loads(cursor)
            if isinstance(state, dict) and state.get("v") == 1:
                return state
        except ValueError:
            pass
        log.warning("youtube: ignoring an unreadable cursor")
        return {"v": 1}

    def _read_channel(
        self, channel: Channel, previous: Any, now: datetime
    ) -> tuple[list[Mention], dict[str, Any]]:
        """The channel's new or changed threads, and its state for the cursor."""
        first = not isinstance(previous, dict) or not isinstance(previous.get("seen"), dict)
        seen: dict[str, list[Any]] = {} if first else dict(previous["seen"])
        newest = 0.0 if first else float(previous.get("newest") or 0)
        if first:
            stop_at = (now - self.config.lookback).timestamp()
        else:
            stop_at = min(newest, (now - self.config.recheck).timestamp())
        mentions: list[Mention] = []
        token: str | None = None
        for page in range(self.config.max_pages):
            if self._left() < THREADS_COST:
                log.warning("youtube: today's quota ran out while reading %s", channel.id)
                break
            body = self.api.comment_threads(channel.id, token)
            self._count(THREADS_COST)
            if body is None:  # comments are turned off for this channel: nothing to read
                break
            items = body["items"]
            oldest = now.timestamp()
            for thread in items:
                mention = self._to_mention(thread, channel)
                if mention is None:
                    continue
                published = mention.created_at.timestamp()
                oldest = min(oldest, published)
                newest = max(newest, published)
                fingerprint = _fingerprint(mention)
                known = seen.get(mention.external_id)
                seen[mention.external_id] = [published, fingerprint]
                if known is not None and known[1] == fingerprint:
                    continue
                if first and max(published, _ts(mention.edited_at)) < stop_at:
                    continue
                if not first and known is None and published < stop_at:
                    continue  # older than anything we watch; first seen now
                mentions.append(mention)
            token = body.get("nextPageToken")
            if not token or not items or oldest < stop_at:
                break
            if page == self.config.max_pages - 1 and oldest > newest_before(previous):
                self.behind = max(self.behind or timedelta(0), now - _at(oldest))
                log.warning(
                    "youtube: more new comments on %s than %d pages in one poll; older ones"
                    " were skipped (raise max_pages or poll more often)",
                    channel.id,
                    self.config.max_pages,
                )
        keep_from = (now - self.config.recheck - timedelta(days=1)).timestamp()
        kept = sorted(
            ((k, v) for k, v in seen.items() if float(v[0]) >= keep_from),
            key=lambda kv: -float(kv[1][0]),
        )[:REMEMBER]
        return mentions, {"newest": newest, "seen": dict(kept)}

    @one_item
    def _to_mention(self, thread: dict[str, Any], channel: Channel) -> Mention | None:
        snippet = thread["snippet"]
        top = snippet["topLevelComment"]
        comment = top["snippet"]
        author_id = (comment.get("authorChannelId") or {}).get("value")
        if author_id == channel.id:
            return None  # the owner's own comment
        published = _time(comment["publishedAt"])
        updated = _time(comment.get("updatedAt") or comment["publishedAt"])
        video = snippet.get("videoId") or comment.get("videoId")
        url = (
            f"{WATCH_URL.format(video)}&lc={top['id']}" if video else CHANNEL_URL.format(channel.id)
        )
        replied: datetime | None = None
        replies = thread.get("replies") or {}
        for reply in replies.get("comments") or []:
            said = reply["snippet"]
            if (said.get("authorChannelId") or {}).get("value") == channel.id:
                when = _time(said.get("updatedAt") or said["publishedAt"])
                replied = when if replied is None else max(replied, when)
        engagement = {"likes": int(comment.get("likeCount") or 0)}
        engagement["replies"] = int(snippet.get("totalReplyCount") or 0)
        return Mention(
            source=self.name,
            external_id=str(thread["id"]),
            url=url,
            author=str(comment.get("authorDisplayName") or "unknown"),
            text=str(comment.get("textOriginal") or comment.get("textDisplay") or ""),
            created_at=published,
            engagement=engagement,
            raw={"thread": thread},
            brand_hint=channel.brand,
            own_page=True,
            edited_at=updated if updated > published else None,
            owner_replied_at=replied,
        )

    def _search(
        self, queries: Sequence[str], state: dict[str, Any], now: datetime
    ) -> list[Mention]:
        previous = state.get("search")
        if not isinstance(previous, dict):
            previous = {}
        after = float(previous.get("after") or (now - self.config.lookback).timestamp())
        body = self.api.search(search_query(queries), datetime.fromtimestamp(after, UTC))
        self._count(SEARCH_COST)
        own = {c.id for c in self.config.channels}
        mentions = []
        for item in body["items"]:
            mention = self._video(item, own)
            if mention is not None:
                mentions.append(mention)
                after = max(after, mention.created_at.timestamp() + 1)
        state["search"] = {"at": now.timestamp(), "after": after}
        return mentions

    @one_item
    def _video(self, item: dict[str, Any], own: set[str]) -> Mention | None:
        video = str(item["id"]["videoId"])
        snippet = item["snippet"]
        if snippet.get("channelId") in own:
            return None  # the owner's own video
        return Mention(
            source=self.name,
            external_id=video,
            url=WATCH_URL.format(video),
            author=html.unescape(str(snippet.get("channelTitle") or "unknown")),
            title=html.unescape(str(snippet.get("title") or "")),
            text=html.unescape(str(snippet.get("description") or "")),
            created_at=_time(snippet["publishedAt"]),
            raw={"video": item},
        )

    def _search_due(self, state: dict[str, Any], now: datetime) -> bool:
        previous = state.get("search")
        at = previous.get("at") if isinstance(previous, dict) else None
        return not isinstance(at, int | float) or (
            now.timestamp() - at >= self.config.search_every.total_seconds()
        )

    # ------------------------------------------------------------ budget

    def _day(self) -> str:
        return f"{self.clock().astimezone(PACIFIC):%Y-%m-%d}"

    def _used(self) -> int:
        try:
            return int(self.state.get(f"units:{self._day()}") or 0)
        except ValueError:
            log.warning("youtube: unreadable quota count in the database; starting from 0")
            return 0

    def _left(self) -> int:
        return max(0, self.config.daily_quota - self._used())

    def _count(self, units: int) -> None:
        with self._counting:
            self.state.set(f"units:{self._day()}", str(self._used() + units))

    def use_up_today(self) -> None:
        """Google said the project's quota is used up: count the day as spent."""
        with self._counting:
            self.state.set(f"units:{self._day()}", str(max(self._used(), self.config.daily_quota)))

    def until_reset(self) -> str:
        local = self.clock().astimezone(PACIFIC)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        hours = (midnight - local).total_seconds() / 3600
        return (
            f"at midnight Pacific time, in about {hours:.0f} h" if hours >= 1 else "within the hour"
        )

    def usage(self) -> Usage:
        per_poll, per_day = units_for_poll(self.config)
        return Usage(
            period=f"the Pacific day {self._day()}",
            used=self._used(),
            limit=self.config.daily_quota,
            unit=f"quota units (a poll costs about {per_poll}, {per_day:,} a day)",
            setting="daily_quota",
            resets="midnight Pacific time",
        )

    def _exhausted(self) -> BudgetExhausted:
        u = self.usage()
        return BudgetExhausted(
            self.name,
            f"today's YouTube quota is used up: {u.used:,} of {u.limit:,} units in {u.period};"
            f" polling resumes {self.until_reset()}",
            hint="raise `daily_quota` under sources.youtube (Google's own limit is 10,000 a"
            " day unless Google granted more), poll less often, or turn `search` off",
        )

    # ------------------------------------------------------------ check

    def check(self, online: bool = False) -> list[str]:
        self._require_key()
        lines = ["API key set (YOUTUBE_API_KEY)"]
        if online:
            lines += self.api.verify([c.id for c in self.config.channels])
            self._count(THREADS_COST)
        per_poll, per_day = units_for_poll(self.config)
        lines.append(
            f"a poll costs about {count(per_poll, 'unit')}; about {per_day:,} units a day at this"
            f" `every`{' and `search_every`' if self.config.search else ''}"
        )
        u = self.usage()
        lines.append(
            f"quota units used in {u.period}: {u.used:,} of {u.limit:,}"
            f" ({100 * u.used / (u.limit or 1):.0f}%)"
        )
        return lines

    def _require_key(self) -> None:
        if not self.config.api_key.get_secret_value().strip():
            raise AuthError(self.name, "no API key is set", hint=AUTH_HINT)


def search_query(keywords: Sequence[str]) -> str:
    """The keywords as one YouTube ``q``: single words as they are, phrases quoted, ``|``-ORed."""
    terms: dict[str, str] = {}
    for keyword in keywords:
        text = " ".join(keyword.replace('"', " ").replace("|", " ").split())
        if text:
            terms.setdefault(text.casefold(), f'"{text}"' if " " in text else text)
    return "|".join(terms.values())


def _fingerprint(mention: Mention) -> str:
    said = f"{_ts(mention.edited_at)}|{_ts(mention.owner_replied_at)}|{mention.text}"
    return f"{zlib.crc32(said.encode()):08x}"


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _ts(when: datetime | None) -> float:
    return when.timestamp() if when is not None else 0.0


def newest_before(previous: Any) -> float:
    return float(previous.get("newest") or 0) if isinstance(previous, dict) else 0.0
