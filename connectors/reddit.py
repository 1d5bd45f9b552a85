"""Reddit: site-wide search and subreddit comments through PRAW, or public RSS feeds without an app.

API: Reddit's Data API (https://www.reddit.com/dev/api) through PRAW 8
(https://praw.readthedocs.io), read-only: application-only OAuth with the owner's app
``client_id``/``client_secret`` (prawcore fetches a bearer token from
``<www_url>/api/v1/access_token`` and renews it). Reddit approves each new API app by
hand (Responsible Builder Policy) and closed its unauthenticated JSON in 2026.
Limits: 100 requests a minute per OAuth client id, averaged over 10 minutes, reported in
``x-ratelimit-used/remaining/reset`` (prawcore paces by them); we also keep under
``requests_per_minute`` (60) ourselves.

Full mode, per poll: one search of all of Reddit, newest first
(``subreddit("all").search(q, sort="new")``, ``q`` = every keyword OR-joined, split above
512 characters), plus one listing of the newest comments of all listed ``subreddits``
together (``subreddit("a+b").comments()``): 2 requests, more only when over 100 items are
new, plus a token request a day. prawcore retries a 5xx, a timeout or a refused
connection twice (sleeping up to 6 s) before we report it. Reduced mode (no app): the
public Atom feeds ``/r/a+b/new/.rss`` and ``/r/a+b/comments/.rss`` (2 requests), read at
most about every ``feed_interval``; a 429 waits its Retry-After, or ``feed_interval``
doubling up to 6 h; no site-wide search and no engagement counts.

Cursor: per stream (``search``, ``comments``, ``posts``) the newest ``created_utc`` seen and
the fullnames seen within ``overlap`` before it. Each poll reads back to newest - overlap
(search indexes posts late) and drops the fullnames already seen: nothing twice, nothing
skipped across a restart. Engagement: ``score``, ``comments`` (num_comments) and, for
posts, ``upvote_ratio`` as a whole percentage (a ratio, not a counter).
"""

from __future__ import annotations

import calendar
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import feedparser  # type: ignore[import-untyped, unused-ignore]
import httpx
import praw
import prawcore
import requests
from praw.exceptions import PRAWException
from praw.models.base import PRAWBase
from praw.models.reddit.base import RedditBase
from pydantic import ByteSize, Field, SecretStr, field_validator, model_validator

from connectors.base import (
    Connector,
    FetchResult,
    SourceConfig,
    SourceState,
    one_item,
    response_limit,
)
from connectors.rss import repair_feed
from monitor import __version__
from monitor.config import Duration, format_duration
from monitor.errors import (
    AuthError,
    ConnectorError,
    FetchTimeout,
    ParseError,
    RateLimited,
    SourceUnavailable,
)
from monitor.http import (
    BoundedAdapter,
    describe_unreachable,
    parse_reset,
    parse_retry_after,
    raise_for_status,
    send,
)
from monitor.models import Mention
from monitor.text import html_to_text

log = logging.getLogger(__name__)
T = TypeVar("T")

WEB = "https://www.reddit.com"
USER_AGENT = f"python:mention-monitor:v{__version__} (self-hosted brand mention monitor)"
APPLY = (
    "Reddit approves each new API app by hand: request access under its Responsible Builder "
    "Policy (https://support.reddithelp.com/hc/en-us/articles/42728983564564), then create a "
    "'script' app at https://www.reddit.com/prefs/apps and set REDDIT_CLIENT_ID and "
    "REDDIT_CLIENT_SECRET (config: client_id: ${REDDIT_CLIENT_ID}, client_secret: "
    "${REDDIT_CLIENT_SECRET})"
)
AUTH_HINT = (
    "check REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET: the id is under the app's name at "
    "https://www.reddit.com/prefs/apps, the secret next to 'secret'; a new app works only once "
    "Reddit has approved it"
)
FEED_HINT = "Reddit refused its public RSS feed to us; " + APPLY
FEED_ACCEPT = "application/atom+xml, application/rss+xml;q=0.9, application/xml;q=0.8"
MAX_QUERY = 512
MAX_SEEN = 500
_SUBREDDIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")
_FULLNAME = re.compile(r"t[13]_[a-z0-9]+")
_PLAIN_TERM = re.compile(r"\w+")
_SUBMITTED_BY = re.compile(r"(?:\s|&#32;)*submitted by(?:\s|&#32;)*<a href=\"[^\"]*/user/")
_PRAW_ONLY = {"comment_limit", "comment_sort"}


class RedditConfig(SourceConfig):
    #: Escalation thresholds (score + comments), per hour; see SpreadRule.
    SPREAD: ClassVar[dict[str, Any]] = {"spreading": 20, "viral": 100, "min_gain": 8}
    base_url: str = "https://oauth.reddit.com"
    www_url: str = Field(
        default=WEB,
        description="where the sign-in and the RSS feeds are; change it only for a proxy or"
        " a test stand-in",
    )
    client_id: SecretStr | None = Field(
        default=None,
        description="the app's client id, as `${REDDIT_CLIENT_ID}`; with `client_secret`, full"
        " mode",
    )
    client_secret: SecretStr | None = Field(
        default=None,
        description="the app's secret, as `${REDDIT_CLIENT_SECRET}`; set both or neither",
    )
    user_agent: str = Field(
        default=USER_AGENT,
        min_length=7,
        description="how mention-monitor introduces itself to Reddit; add your Reddit name,"
        " `(by /u/yourname)`, as Reddit asks",
    )
    subreddits: list[str] = Field(
        default=[],
        description="subreddits whose new comments (and, without credentials, new posts) are"
        " read, e.g. `[Coffee, r/Exampleville]`; required without credentials",
    )
    max_items: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="most posts, and most comments, read per poll; beyond them the newest are"
        " kept, with a warning",
    )
    lookback: Duration = Field(
        default=timedelta(hours=24), description="how far back the very first poll looks"
    )
    overlap: Duration = Field(
        default=timedelta(minutes=5),
        description="how far before the newest item seen each poll reaches back, for posts"
        " Reddit lists late",
    )
    requests_per_minute: int = Field(
        default=60, ge=1, le=100, description="our own cap on requests to Reddit"
    )
    feed_interval: Duration = Field(
        default=timedelta(minutes=10),
        description="without credentials: the shortest time between two reads of the RSS feeds",
    )
    #: A listing is 100 items; a self post holds up to 40,000 characters, sent twice
    #: (markdown and HTML).
    max_response: ByteSize = response_limit(20_000_000)

    @field_validator("subreddits")
    @classmethod
    def _subreddits(cls, value: list[str]) -> list[str]:
        names: dict[str, str] = {}
        for raw in value:
            name = raw.strip().removeprefix("/").removeprefix("r/").strip("/")
            if not _SUBREDDIT.fullmatch(name):
                raise ValueError(f"{raw!r} is not a subreddit name: write it as in r/<name>")
            names.setdefault(name.casefold(), name)
        return list(names.values())

    @model_validator(mode="after")
    def _credentials(self) -> RedditConfig:
        given = {
            key: bool(secret and secret.get_secret_value())
            for key, secret in (
                ("client_id", self.client_id),
                ("client_secret", self.client_secret),
            )
        }
        if any(given.values()) and not all(given.values()):
            missing = next(key for key, ok in given.items() if not ok)
            raise ValueError(
                f"{missing} is missing: set both client_id and client_secret, or neither"
            )
        if not any(given.values()) and not self.subreddits:
            raise ValueError(
                "without client_id/client_secret Reddit can only be watched through the RSS "
                "feeds of `subreddits`: list some, or set the credentials"
            )
        return self


def search_queries(keywords: Sequence[str], limit: int = MAX_QUERY) -> list[str]:
    """Reddit search queries for these keywords: ``"a phrase" OR word``, each under ``limit``."""
    terms: dict[str, str] = {}
    for keyword in keywords:
        term = " ".join(keyword.lstrip("@#").replace('"', " ").split())
        plain = _PLAIN_TERM.fullmatch(term) and term.upper() not in {"OR", "AND", "NOT"}
        if term:
            terms.setdefault(term.casefold(), term if plain else f'"{term}"')
    queries: list[str] = []
    for term in terms.values():
        joined = f"{queries[-1]} OR {term}" if queries else term
        if queries and len(joined) <= limit:
            queries[-1] = joined
        else:
            queries.append(term)
    return queries


class _Pacer:
    """At most ``per_minute`` requests in any 60 seconds: waits for a free slot."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self.sent: deque[float] = deque()

    def wait(self) -> None:
        now = self.clock()
        while self.sent and self.sent[0] <= now - 60:
            self.sent.popleft()
        if len(self.sent) >= self.per_minute:
            self.sleep(self.sent[0] + 60 - now)
            self.sent.popleft()
            now = self.clock()
        self.sent.append(now)


class _Requestor(prawcore.Requestor):
    """PRAW's HTTP layer, with our timeout on every request and our own pace."""

    def __init__(self, *, pacer: _Pacer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pacer = pacer

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> requests.Response:
        self.pacer.wait()
        return super().request(*args, timeout=self.timeout, **kwargs)


@dataclass
class _Stream:
    """One listing's place: the newest ``created_utc`` seen and the fullnames seen near it."""

    newest: int | None = None
    seen: dict[str, int] = field(default_factory=dict)

    def advance(self, mentions: Iterable[Mention], overlap: int) -> None:
        for mention in mentions:
            created = int(mention.created_at.timestamp())
            self.seen[mention.external_id] = created
            self.newest = created if self.newest is None else max(self.newest, created)
        if self.newest is not None:
            floor = self.newest - overlap
            kept = sorted(((t, n) for n, t in self.seen.items() if t >= floor), reverse=True)
            self.seen = {name: t for t, name in kept[:MAX_SEEN]}


def _load(cursor: str | None) -> dict[str, _Stream]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
        return {
            key: _Stream(int(value["newest"]), {str(n): int(t) for n, t in value["seen"].items()})
            for key, value in data.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("reddit: ignoring an unreadable cursor %r", cursor[:80])
        return {}


def _plain(value: object) -> Any:
    """A PRAW object's attributes as the JSON Reddit sent (authors and subreddits by name)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {
            str(k): _plain(v)
            for k, v in value.items()
            if not str(k).startswith("_") and k not in _PRAW_ONLY
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, RedditBase):
        return str(value)
    if isinstance(value, PRAWBase):
        return _plain(vars(value))
    return str(value)


def _engagement(data: dict[str, Any]) -> dict[str, int]:
    counts = {
        key: int(data[field])
        for key, field in (("score", "score"), ("comments", "num_comments"))
        if isinstance(data.get(field), int)
    }
    if isinstance(data.get("upvote_ratio"), int | float):
        counts["upvote_ratio"] = round(float(data["upvote_ratio"]) * 100)
    return counts


class RedditConnector(Connector):
    """New Reddit posts that mention a brand, and new comments in the owner's subreddits."""

    name = "reddit"
    Config = RedditConfig
    config: RedditConfig
    per_brand = False

    def __init__(
        self, config: SourceConfig, http: httpx.Client, state: SourceState | None = None
    ) -> None:
        super().__init__(config, http, state)
        self.clock: Callable[[], float] = time.monotonic
        self._pacer = _Pacer(self.config.requests_per_minute)
        self._feeds_due = 0.0
        self._strikes = 0
        self._told = False
        self._session: requests.Session | None = None
        self._reddit: praw.Reddit | None = None
        client_id, secret = self.config.client_id, self.config.client_secret
        if client_id and secret:
            self._session = requests.Session()
            adapter = BoundedAdapter(self.name, self.config.max_response)
            self._session.mount("https://", adapter)
            self._session.mount("http://", adapter)
            self._reddit = praw.Reddit(
                "DEFAULT",
                client_id=client_id.get_secret_value(),
                client_secret=secret.get_secret_value(),
                user_agent=self.config.user_agent,
                username=None,
                password=None,
                refresh_token=None,
                check_for_updates=False,
                check_for_async=False,
                oauth_url=self.base_url,
                reddit_url=self.config.www_url.rstrip("/"),
                requestor_class=_Requestor,
                requestor_kwargs={
                    "session": self._session,
                    "timeout": self.config.timeout.total_seconds(),
                    "pacer": self._pacer,
                },
            )

    # ------------------------------------------------------------------ fetch

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        streams = _load(cursor)
        first = int(time.time() - self.config.lookback.total_seconds())
        if self._reddit is None:
            mentions = self._fetch_feeds(streams, first)
        else:
            mentions = self._fetch_api(self._reddit, queries, streams, first)
        kept = {k: s for k, s in streams.items() if s.newest is not None}
        if not kept:
            return mentions, cursor
        state = {k: {"newest": s.newest, "seen": s.seen} for k, s in sorted(kept.items())}
        return mentions, json.dumps(state, separators=(",", ":"))

    def _fetch_api(
        self, reddit: praw.Reddit, queries: Sequence[str], streams: dict[str, _Stream], first: int
    ) -> list[Mention]:
        limit = self.config.max_items
        found: list[Mention] = []
        search = streams.setdefault("search", _Stream())
        posts: dict[str, Mention] = {}
        for query in search_queries(queries):
            listing = reddit.subreddit("all").search(query, sort="new", limit=limit)
            for mention in self._take(search, self._converted(listing), first, limit, query):
                posts.setdefault(mention.external_id, mention)
        found += self._advance(search, posts.values())
        if self.config.subreddits:
            comments = streams.setdefault("comments", _Stream())
            where = "+".join(self.config.subreddits)
            listing = reddit.subreddit(where).comments(limit=limit)
            taken = self._take(comments, self._converted(listing), first, limit, f"r/{where}")
            found += self._advance(comments, taken)
        return sorted(found, key=lambda m: m.created_at)

    def _converted(self, things: Iterable[object]) -> Iterator[Mention | None]:
        return (self._from_thing(thing) for thing in self._each(things))

    def _take(
        self, stream: _Stream, items: Iterable[Mention | None], first: int, limit: int, what: str
    ) -> list[Mention]:
        """The unseen items of a newest-first listing, down to the stream's reach-back."""
        since = first if stream.newest is None else stream.newest - self._overlap
        taken: list[Mention] = []
        count = 0
        for mention in items:
            count += 1
            if mention is None:
                continue
            if mention.created_at.timestamp() < since:
                return taken
            if mention.external_id not in stream.seen:
                taken.append(mention)
        if count >= limit:
            log.warning(
                "reddit: more than %d new items for %s in one poll; older ones may have been "
                "skipped (raise max_items or poll more often)",
                limit,
                what,
            )
        return taken

    @property
    def _overlap(self) -> int:
        return int(self.config.overlap.total_seconds())

    def _advance(self, stream: _Stream, mentions: Iterable[Mention]) -> list[Mention]:
        mentions = list(mentions)
        stream.advance(mentions, self._overlap)
        return mentions

    # ------------------------------------------------------------------ PRAW boundary

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """The one place where PRAW's and prawcore's errors become ours."""
        try:
            yield
        except prawcore.OAuthException as exc:
            message = f"Reddit refused the app's credentials ({exc.error})"
            raise AuthError(self.name, message, hint=AUTH_HINT) from exc
        except prawcore.BadJSON as exc:
            raise ParseError(self.name, "Reddit answered with something that is not JSON") from exc
        except prawcore.RequestException as exc:
            original = exc.original_exception
            if isinstance(original, ConnectorError):  # ours, from BoundedAdapter
                raise original from exc
            if isinstance(original, requests.Timeout):
                raise FetchTimeout(self.name, "no answer from Reddit in time") from exc
            host = urlsplit(self.base_url).hostname or "Reddit"
            message, hint = describe_unreachable(host, original)
            raise SourceUnavailable(self.name, message, hint=hint) from exc
        except prawcore.ResponseException as exc:
            raise self._status_error(exc.response) from exc
        except (prawcore.PrawcoreException, PRAWException) as exc:
            raise ConnectorError(self.name, f"PRAW failed: {type(exc).__name__}: {exc}") from exc
        except (KeyError, ValueError, TypeError) as exc:
            message = "Reddit's answer is not in the documented format"
            raise ParseError(self.name, message) from exc

    def _status_error(self, response: requests.Response) -> ConnectorError:
        status = response.status_code
        if status in (401, 403):
            hint = AUTH_HINT if status == 401 else "a listed subreddit may be private; " + AUTH_HINT
            return AuthError(self.name, f"Reddit refused our app (HTTP {status})", hint=hint)
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is None:
                wait = parse_reset(response.headers.get("x-ratelimit-reset"))
            said = f"; it asks us to wait {wait:.0f}s" if wait is not None else ""
            return RateLimited(
                self.name, f"Reddit is rate limiting us (HTTP 429){said}", retry_after=wait
            )
        if status >= 500:
            return SourceUnavailable(self.name, f"Reddit had a server error (HTTP {status})")
        if status in (301, 302, 404):
            return ConnectorError(
                self.name,
                f"Reddit has no such listing (HTTP {status})",
                hint="check the names in `subreddits` in config.yaml",
            )
        return ConnectorError(self.name, f"Reddit answered HTTP {status}")

    def _each(self, things: Iterable[T]) -> Iterator[T]:
        """Iterate a lazy PRAW listing, each page's request inside the translation."""
        iterator = iter(things)
        while True:
            with self._translated():
                thing = next(iterator, None)
            if thing is None:
                return
            yield thing

    @one_item
    def _from_thing(self, thing: object) -> Mention | None:
        data: dict[str, Any] = vars(thing)  # never getattr: PRAW would fetch what is missing
        try:
            fullname = str(data["name"])
            created = float(data["created_utc"])
            permalink = str(data["permalink"])
        except (KeyError, TypeError, ValueError):
            log.warning("reddit: skipping an item without name/created_utc/permalink")
            return None
        is_post = fullname.startswith("t3_")
        author = data.get("author")
        return Mention(
            source=self.name,
            external_id=fullname,
            url=WEB + permalink,
            author=str(author) if author else "[deleted]",
            title=(str(data.get("title") or "") or None) if is_post else None,
            text=str(data.get("selftext" if is_post else "body") or ""),
            created_at=datetime.fromtimestamp(created, UTC),
            engagement=_engagement(data),
            raw=_plain(data),
            reply_to=None if is_post or not data.get("link_id") else str(data["link_id"]),
        )

    # ------------------------------------------------------------------ reduced mode

    def _fetch_feeds(self, streams: dict[str, _Stream], first: int) -> list[Mention]:
        if not self._told:
            log.warning(
                "reddit: reduced mode (no API app credentials): reading the RSS feeds of %s at "
                "most every %s; no site-wide search, no engagement counts. %s",
                ", ".join(f"r/{s}" for s in self.config.subreddits),
                format_duration(self.config.feed_interval),
                APPLY,
            )
            self._told = True
        now = self.clock()
        if now < self._feeds_due:
            return []
        limit = min(self.config.max_items, 100)
        where = "+".join(self.config.subreddits)
        found: list[Mention] = []
        for key, path in (("posts", "new"), ("comments", "comments")):
            stream = streams.setdefault(key, _Stream())
            entries = self._feed(f"{self.config.www_url.rstrip('/')}/r/{where}/{path}/.rss", limit)
            items = sorted(
                filter(None, map(self._from_entry, entries)),
                key=lambda m: m.created_at,
                reverse=True,
            )
            found += self._advance(stream, self._take(stream, items, first, limit, f"{key} feed"))
        self._strikes = 0
        self._feeds_due = now + 0.9 * self.config.feed_interval.total_seconds()
        return sorted(found, key=lambda m: m.created_at)

    def _feed(self, url: str, limit: int) -> list[Any]:
        """GET one feed; transport errors and statuses become ours, 429s back off."""
        self._pacer.wait()
        response = send(
            self.http,
            self.name,
            "GET",
            url,
            params={"limit": limit},
            headers={"User-Agent": self.config.user_agent, "Accept": FEED_ACCEPT},
            timeout=self.config.timeout.total_seconds(),
            max_response=self.config.max_response,
        )
        try:
            raise_for_status(self.name, response, auth_hint=FEED_HINT)
        except RateLimited as exc:
            self._strikes += 1
            if exc.retry_after is not None:
                raise
            backoff = self.config.feed_interval.total_seconds() * 2 ** (self._strikes - 1)
            wait = min(backoff, 6 * 3600.0)
            message = f"{exc.message}; backing off {wait:.0f}s"
            raise RateLimited(self.name, message, retry_after=wait) from exc
        parsed = feedparser.parse(
            repair_feed(response.content, response.headers.get("Content-Type", ""))
        )
        if not parsed.get("version"):
            raise ParseError(
                self.name, f"{response.request.url.host} answered with something that is not a feed"
            )
        return list(parsed.entries)

    @one_item
    def _from_entry(self, entry: Any) -> Mention | None:
        fullname = str(entry.get("id") or "")
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        link = str(entry.get("link") or "")
        if not _FULLNAME.fullmatch(fullname) or when is None or not link:
            log.warning("reddit: skipping a feed entry without id/date/link")
            return None
        is_post = fullname.startswith("t3_")
        content = entry.get("content") or [{}]
        body = str(content[0].get("value") or entry.get("summary") or "")
        if is_post:
            body = _SUBMITTED_BY.split(body, maxsplit=1)[0]
        tags = entry.get("tags") or [{}]
        raw = {
            "id": fullname,
            "link": link,
            "title": entry.get("title"),
            "author": entry.get("author"),
            "subreddit": tags[0].get("term"),
            "published": entry.get("published") or entry.get("updated"),
            "content": body,
        }
        return Mention(
            source=self.name,
            external_id=fullname,
            url=link,
            author=str(entry.get("author") or "").removeprefix("/u/") or "[deleted]",
            title=(str(entry.get("title") or "") or None) if is_post else None,
            text=html_to_text(body),
            created_at=datetime.fromtimestamp(calendar.timegm(when), UTC),
            raw=raw,
        )

    # ------------------------------------------------------------------ the rest

    def refresh(self, ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Current score, comments and upvote ratio by fullname, 100 per request.

        The RSS feeds of reduced mode carry no counts: there it returns nothing.
        """
        if self._reddit is None:
            return {}
        wanted = {i: True for i in ids if _FULLNAME.fullmatch(i)}
        found: dict[str, dict[str, int]] = {}
        for thing in self._each(self._reddit.info(fullnames=list(wanted))):
            data = vars(thing)
            if data.get("name") in wanted:
                found[str(data["name"])] = _engagement(data)
        return found

    def can_refresh(self) -> bool:
        return self._reddit is not None and super().can_refresh()

    def check(self, online: bool = False) -> list[str]:
        subs = ", ".join(f"r/{s}" for s in self.config.subreddits)
        if self._reddit is None:
            lines = [
                f"reduced mode: no Reddit API app set; reading the RSS feeds of {subs} (new posts "
                f"and comments) at most every {format_duration(self.config.feed_interval)}; no "
                "site-wide search, no engagement counts",
                "for full mode: " + APPLY,
            ]
            if online:
                www = self.config.www_url.rstrip("/")
                self._feed(f"{www}/r/{self.config.subreddits[0]}/new/.rss", 1)
                lines.append("the RSS feeds answer")
            return lines
        where = f" and new comments in {subs}" if subs else ""
        lines = [f"full mode: Reddit API app set; searching all of Reddit{where}"]
        if self.config.user_agent == USER_AGENT:
            lines.append(
                "tip: set user_agent to '<platform>:<app ID>:<version> (by /u/<your username>)' "
                "as Reddit asks"
            )
        if online:
            with self._translated():
                self._reddit.auth.scopes()
            lines.append("Reddit accepted the app (read-only token granted)")
        return lines

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
