"""X (formerly Twitter): recent search, through tweepy's API v2 ``Client``.

API: https://docs.x.com/x-api/posts/search/introduction  (``GET /2/tweets/search/recent``),
``GET /2/tweets`` to refresh engagement, ``GET /2/usage/tweets`` for ``check --online``.
Auth: the app's Bearer Token (app-only), from the X Developer Console, in X_BEARER_TOKEN.
Limits (https://docs.x.com/x-api/fundamentals/rate-limits): recent search 450 requests per
15 minutes per app, 10-100 posts a page, queries of at most 512 characters, the last 7 days
only; ``GET /2/tweets`` 3,500 per 15 minutes, 100 ids a call. A 429 carries
``x-rate-limit-reset`` (epoch seconds), never Retry-After.

Cost: X bills every post a read returns (pay-per-usage, $0.005 a post at the time of writing,
https://docs.x.com/x-api/getting-started/pricing); a search that finds nothing costs nothing.
So the posts read this month are counted in ``self.state`` (``reads:YYYY-MM``, UTC, written after
every answer, so the count survives a crash or restart), and no request may ask for more posts
than ``monthly_read_budget`` has left: ``max_results`` shrinks to what is left, and once fewer
than 10 are left (search's minimum page) the connector stops. ``fetch`` returns what it already
has when the budget runs out mid-poll, and raises BudgetExhausted only when it can read nothing
at all. Our count is conservative: X dedupes a post read twice in a UTC day, we do not.

One poll costs one request per query plus one per further page of 100 new posts, up to
``max_pages``: every watched brand's keywords together (``per_brand = False``), OR-joined into
as few queries of at most 512 characters as they fit in (about three brands of ten keywords
a query), so 100 brands cost about 34 requests a poll, not 100. The pipeline's matcher files
each post under the brand it names. A term two brands share is asked once.
The cursor is ``{"since_id": "<newest post id seen>"}``; the first poll reaches back
``lookback`` with ``start_time``. X refuses a ``since_id`` older than 7 days, so a stale cursor
falls back to the oldest ``start_time`` X allows (and says what may have been missed). When the
budget cuts a poll short the cursor does not move: nothing is skipped, the posts already read
are stored, and the store drops them when next month's first poll reads them again.

tweepy's ``Client`` always talks to https://api.twitter.com; a transport adapter mounted on its
``requests`` session sends each request to ``base_url`` instead, with our timeout (tweepy has
no timeout setting), and tweepy is told never to sleep on a 429 (the scheduler defers us).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import requests
import tweepy  # type: ignore[import-untyped]
from pydantic import ByteSize, Field, SecretStr, field_validator

from connectors.base import (
    Connector,
    FetchResult,
    SourceConfig,
    SourceState,
    Usage,
    one_item,
    response_limit,
)
from monitor import __version__
from monitor.config import Duration
from monitor.errors import (
    AuthError,
    BudgetExhausted,
    ConnectorError,
    FetchTimeout,
    ParseError,
    RateLimited,
    SourceUnavailable,
)
from monitor.http import BoundedAdapter, describe_unreachable, parse_retry_after
from monitor.models import Mention, utcnow
from monitor.text import html_to_text

log = logging.getLogger(__name__)
# tweepy logs every request's headers, the bearer token among them, at DEBUG.
logging.getLogger("tweepy").setLevel(logging.INFO)

TWEEPY_HOST = "https://api.twitter.com"
POST_URL = "https://x.com/{}/status/{}"
MAX_QUERY = 512
MIN_PAGE = 10  # recent search refuses max_results below 10
LOOKUP_BATCH = 100
SEARCH_WINDOW = timedelta(days=7) - timedelta(minutes=10)  # a little inside X's 7 days
TWITTER_EPOCH_MS = 1288834974657
TWEET_FIELDS = [
    "created_at",
    "author_id",
    "public_metrics",
    "lang",
    "note_tweet",
    "conversation_id",
    "referenced_tweets",
]
METRICS = {
    "likes": "like_count",
    "reposts": "retweet_count",
    "replies": "reply_count",
    "quotes": "quote_count",
}
USER_AGENT = f"mention-monitor/{__version__} (self-hosted brand mention monitor; tweepy)"
AUTH_HINT = (
    "set X_BEARER_TOKEN to your app's Bearer Token: X Developer Console "
    "(https://console.x.com) > your app > Keys and tokens; config.yaml reads it as "
    "`bearer_token: ${X_BEARER_TOKEN}` under sources.x"
)
_PLAIN = re.compile(r"[#@]?\w+")


class XConfig(SourceConfig):
    #: Escalation thresholds (likes + reposts + replies + quotes), per hour; see SpreadRule.
    SPREAD: ClassVar[dict[str, Any]] = {
        "spreading": 30,
        "viral": 200,
        "min_gain": 10,
        "followers": 10_000,
        # every reading is a billed read: thinner than the default schedule
        "schedule": ["5m", "20m", "1h", "6h"],
    }
    base_url: str = "https://api.x.com"
    bearer_token: SecretStr = Field(description="the app's Bearer Token; write `${X_BEARER_TOKEN}`")
    lang: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$",
        description="only posts X tagged with this language, e.g. `en`; unset: every language",
    )
    max_results: int = Field(
        default=100,
        ge=10,
        le=100,
        description="posts per search request; lowered by itself near the end of the budget",
    )
    max_pages: int = Field(
        default=5,
        ge=1,
        le=50,
        description="at most this many requests per search and poll; older posts beyond them"
        " are skipped, with a warning",
    )
    monthly_read_budget: int = Field(
        default=10_000,
        ge=1,
        description="at most this many posts read per calendar month (UTC), searches and"
        " engagement re-reads together; X bills each one",
    )
    cost_per_post_usd: float = Field(
        default=0.005,
        ge=0,
        description="X's price per post read, in US dollars, for the cost estimate in `check`,"
        " `stats` and the budget alerts",
    )
    lookback: Duration = Field(
        default=timedelta(hours=24),
        description="how far back the first poll reaches (at most 7 days: X's recent search"
        " covers 7 days)",
    )
    #: A page is 100 posts; a long post (note_tweet) holds up to 25,000 characters.
    max_response: ByteSize = response_limit(16_000_000)

    @field_validator("lookback")
    @classmethod
    def _within_recent_search(cls, value: timedelta) -> timedelta:
        if value > timedelta(days=7):
            raise ValueError("X recent search reaches back 7 days at most: use 7d or less")
        return value


def search_terms(keywords: Sequence[str]) -> list[str]:
    """X search terms: @handles, #tags and single words as they are, anything else quoted."""
    terms: dict[str, str] = {}
    for keyword in keywords:
        text = " ".join(keyword.replace('"', " ").split())
        if not text:
            continue
        plain = _PLAIN.fullmatch(text) and text.upper() not in ("OR", "AND")
        term = text if plain else f'"{text}"'
        terms.setdefault(term.casefold(), term)
    return list(terms.values())


def build_queries(keywords: Sequence[str], lang: str | None = None) -> list[str]:
    """The terms (of every brand) OR-joined, as few queries as fit in X's 512 characters."""
    suffix = " -is:retweet" + (f" lang:{lang}" if lang else "")

    def render(group: list[str]) -> str:
        return (group[0] if len(group) == 1 else f"({' OR '.join(group)})") + suffix

    queries: list[str] = []
    group: list[str] = []
    for term in search_terms(keywords):
        if len(render([term])) > MAX_QUERY:
            raise ConnectorError("x", f"the keyword {term[:40]}... is too long for an X search")
        if group and len(render([*group, term])) > MAX_QUERY:
            queries.append(render(group))
            group = []
        group.append(term)
    return [*queries, render(group)] if group else queries


def snowflake_time(post_id: int) -> datetime:
    return datetime.fromtimestamp(((post_id >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)


class _ToBaseURL(BoundedAdapter):
    """Sends tweepy's requests to ``base_url`` instead of its hard-coded host, with a timeout
    and our bound on the size of an answer."""

    def __init__(self, base_url: str, timeout: float, max_response: int) -> None:
        super().__init__("x", max_response)
        self.base_url = base_url
        self.timeout = (min(timeout, 10.0), timeout)

    def rewrite(self, url: str) -> str:
        if self.base_url != TWEEPY_HOST and url.startswith(TWEEPY_HOST + "/"):
            return self.base_url + url[len(TWEEPY_HOST) :]
        return url

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        url = self.rewrite(request.url or "")
        if url != request.url:
            request.url = url
            if proxies:  # chosen by requests for the old host; choose again for the new one
                proxies = requests.utils.get_environ_proxies(url)
        timeout = self.timeout if timeout is None else timeout
        return super().send(request, stream, timeout, verify, cert, proxies)


class XConnector(Connector):
    """Posts on X that mention a brand, within a monthly budget of posts read."""

    name = "x"
    Config = XConfig
    config: XConfig
    #: One search for every brand: the brands' terms OR-joined into few queries.
    per_brand = False

    def __init__(
        self, config: SourceConfig, http: httpx.Client, state: SourceState | None = None
    ) -> None:
        super().__init__(config, http, state)
        self.clock: Callable[[], datetime] = utcnow
        self._counting = threading.Lock()  # polls and engagement refreshes may overlap
        self._client = tweepy.Client(
            bearer_token=self.config.bearer_token.get_secret_value(),
            return_type=dict,
            wait_on_rate_limit=False,
        )
        self._client.user_agent = USER_AGENT
        adapter = _ToBaseURL(
            self.base_url, self.config.timeout.total_seconds(), self.config.max_response
        )
        self._client.session.mount(TWEEPY_HOST + "/", adapter)

    def close(self) -> None:
        self._client.session.close()

    # ------------------------------------------------------------ fetch

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        self._require_token()
        since_id = self._read_cursor(cursor)
        now = self.clock()
        start_time: datetime | None = None
        stale = since_id is not None and snowflake_time(since_id) < now - SEARCH_WINDOW
        if stale and since_id is not None:
            log.warning(
                "x: not polled since %s, beyond X's 7-day search window: posts older than %s "
                "were not read",
                f"{snowflake_time(since_id):%Y-%m-%d %H:%M} UTC",
                f"{now - SEARCH_WINDOW:%Y-%m-%d %H:%M} UTC",
            )
            since_id, start_time = None, now - SEARCH_WINDOW
        elif since_id is None:
            start_time = now - min(self.config.lookback, SEARCH_WINDOW)
        if self._left() < MIN_PAGE:
            raise self._exhausted()
        found: dict[str, Mention] = {}
        complete = True
        for query in build_queries(queries, self.config.lang):
            tweets, users, complete = self._search(query, since_id, start_time)
            for tweet in tweets:
                mention = self._to_mention(tweet, users)
                if mention is not None:
                    found.setdefault(mention.external_id, mention)
            if not complete:
                log.warning("x: the monthly read budget ran out during this poll; it stops here")
                break
        mentions = sorted(found.values(), key=lambda m: m.created_at)
        newest = max((int(m.external_id) for m in mentions), default=None)
        if not complete:
            return mentions, cursor  # read the rest when the budget allows: skip nothing
        if newest is None or (since_id is not None and newest <= since_id):
            return mentions, None if stale else cursor
        return mentions, json.dumps({"since_id": str(newest)})

    def carry_cursors(self, cursors: Sequence[str]) -> str | None:
        """The oldest of the brands' ``since_id``: nothing after any of them is missed; the
        few posts between the oldest and the newest are read again (and not stored twice)."""
        ids = [i for i in map(self._read_cursor, cursors) if i is not None]
        return json.dumps({"since_id": str(min(ids))}) if ids else None

    def _read_cursor(self, cursor: str | None) -> int | None:
        if not cursor:
            return None
        try:
            return int(json.loads(cursor)["since_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("x: ignoring an unreadable cursor %r", cursor[:80])
            return None

    def _search(
        self, query: str, since_id: int | None, start_time: datetime | None
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], bool]:
        """One query's new posts, page by page; False when the budget stopped it early."""
        tweets: list[dict[str, Any]] = []
        users: dict[str, dict[str, Any]] = {}
        token: str | None = None
        for _ in range(self.config.max_pages):
            allowance = min(self.config.max_results, self._left())
            if allowance < MIN_PAGE:
                return tweets, users, False
            params: dict[str, Any] = {
                "max_results": allowance,
                "sort_order": "recency",
                "expansions": ["author_id"],
                "tweet_fields": TWEET_FIELDS,
                "user_fields": ["public_metrics"],
            }
            if since_id is not None:
                params["since_id"] = str(since_id)
            else:
                params["start_time"] = start_time
            if token:
                params["next_token"] = token
            body = self._call(self._client.search_recent_tweets, query, **params)
            if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
                raise ParseError(self.name, "search answer has no `meta` object")
            page = self._records(body.get("data"), "data")
            self._count(len(page))
            tweets.extend(page)
            includes = body.get("includes")
            found = includes.get("users") if isinstance(includes, dict) else None
            for user in self._records(found, "includes.users"):
                users[str(user.get("id"))] = user
            token = body["meta"].get("next_token")
            if not token or not page:
                break
        else:
            log.warning(
                "x: more than %d new posts for one query in one poll; older ones were skipped "
                "(raise max_pages or poll more often)",
                self.config.max_pages * self.config.max_results,
            )
        return tweets, users, True

    def _records(self, value: Any, where: str) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ParseError(self.name, f"`{where}` in X's answer is not a list")
        return [item for item in value if isinstance(item, dict)]

    @one_item
    def _to_mention(
        self, tweet: dict[str, Any], users: dict[str, dict[str, Any]]
    ) -> Mention | None:
        try:
            post_id = str(int(tweet["id"]))
            created = datetime.fromisoformat(str(tweet["created_at"]))
            text = str(tweet["text"])
        except (KeyError, TypeError, ValueError):
            log.warning("x: skipping a post without id/created_at/text")
            return None
        note = tweet.get("note_tweet")
        if isinstance(note, dict) and isinstance(note.get("text"), str):
            text = note["text"]  # a long post: `text` holds only its first 280 characters
        user = users.get(str(tweet.get("author_id"))) or {}
        username = str(user.get("username") or "")
        metrics = user.get("public_metrics")
        followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
        return Mention(
            source=self.name,
            external_id=post_id,
            url=POST_URL.format(username or "i/web", post_id),
            author=username or str(tweet.get("author_id") or "unknown"),
            author_followers=followers if isinstance(followers, int) else None,
            text=html_to_text(text),  # X escapes &, < and > as HTML entities
            created_at=created,
            engagement=_engagement(tweet),
            raw={"tweet": tweet, "author": user or None},
            reply_to=_answers(tweet, post_id),
        )

    # ------------------------------------------------------------ refresh

    def refresh(self, ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Engagement by post id, 100 ids a request; every post returned counts as a read."""
        self._require_token()
        pending = list(dict.fromkeys(str(i) for i in ids))
        result: dict[str, dict[str, int]] = {}
        asked = False
        while pending:
            allowance = min(LOOKUP_BATCH, self._left())
            if allowance < 1:
                if not asked:
                    raise self._exhausted()
                log.warning(
                    "x: the monthly read budget ran out; %d posts not refreshed", len(pending)
                )
                break
            batch, pending = pending[:allowance], pending[allowance:]
            body = self._call(self._client.get_tweets, batch, tweet_fields=["public_metrics"])
            asked = True
            if not isinstance(body, dict) or not ("data" in body or "errors" in body):
                raise ParseError(self.name, "post lookup answer has neither `data` nor `errors`")
            tweets = self._records(body.get("data"), "data")
            self._count(len(tweets))
            result.update({str(t.get("id")): _engagement(t) for t in tweets})
        return result

    # ------------------------------------------------------------ budget

    def _key(self) -> str:
        return f"reads:{self.clock():%Y-%m}"

    def _used(self) -> int:
        try:
            return int(self.state.get(self._key()) or 0)
        except ValueError:
            log.warning("x: unreadable read count in the database; starting from 0")
            return 0

    def _left(self) -> int:
        return max(0, self.config.monthly_read_budget - self._used())

    def _count(self, posts: int) -> None:
        if posts:
            with self._counting:
                self.state.set(self._key(), str(self._used() + posts))

    def usage(self) -> Usage:
        used = self._used()
        return Usage(
            period=f"{self.clock():%Y-%m}",
            used=used,
            limit=self.config.monthly_read_budget,
            unit="posts read",
            cost_usd=round(used * self.config.cost_per_post_usd, 4),
        )

    def _exhausted(self) -> BudgetExhausted:
        u = self.usage()
        return BudgetExhausted(
            self.name,
            f"monthly read budget used up: {u.used} of {u.limit} posts read in {u.period} "
            f"(about ${u.cost_usd or 0:.2f}); X is polled again from the 1st of next month",
            hint="raise `monthly_read_budget` under sources.x in config.yaml to read more now",
        )

    # ------------------------------------------------------------ check and errors

    def check(self, online: bool = False) -> list[str]:
        self._require_token()
        lines = ["bearer token set (X_BEARER_TOKEN)"]
        if online:
            # The usage endpoint needs the same token and returns no posts: it costs nothing.
            body = self._call(lambda: self._client.request("GET", "/2/usage/tweets").json())
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, dict):
                raise ParseError(self.name, "usage answer has no `data` object")
            seen = data.get("project_usage")
            lines.append(
                "X accepted the bearer token"
                + (f" (X counts {seen} posts read by the project)" if seen is not None else "")
            )
        u = self.usage()
        lines.append(
            f"posts read in {u.period}: {u.used} of {u.limit} "
            f"({100 * u.used / (u.limit or 1):.0f}%), about ${u.cost_usd or 0:.2f}"
        )
        return lines

    def _require_token(self) -> None:
        if not self.config.bearer_token.get_secret_value().strip():
            raise AuthError(self.name, "no bearer token is set", hint=AUTH_HINT)

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Every tweepy call goes through here: its errors become ours."""
        host = urlsplit(self.base_url).hostname or "X"
        try:
            return method(*args, **kwargs)
        except (tweepy.errors.Unauthorized, tweepy.errors.Forbidden) as exc:
            raise AuthError(
                self.name, f"X refused the bearer token ({_describe(exc)})", hint=AUTH_HINT
            ) from exc
        except tweepy.errors.TooManyRequests as exc:
            if exc.reset_time is not None:
                retry_after: float | None = max(0.0, exc.reset_time - time.time())
            else:
                retry_after = parse_retry_after(exc.response.headers.get("Retry-After"))
            wait = f"; the limit resets in {retry_after:.0f}s" if retry_after is not None else ""
            raise RateLimited(
                self.name, f"X is rate limiting us (HTTP 429){wait}", retry_after=retry_after
            ) from exc
        except tweepy.errors.TwitterServerError as exc:
            raise SourceUnavailable(self.name, f"X had a server error ({_describe(exc)})") from exc
        except tweepy.errors.HTTPException as exc:
            raise ConnectorError(self.name, f"X refused the request ({_describe(exc)})") from exc
        except requests.exceptions.JSONDecodeError as exc:
            raise ParseError(self.name, f"{host} answered with something that is not JSON") from exc
        except requests.exceptions.Timeout as exc:
            raise FetchTimeout(self.name, f"no answer from {host} in time") from exc
        except requests.exceptions.RequestException as exc:
            message, hint = describe_unreachable(host, exc)
            raise SourceUnavailable(self.name, message, hint=hint) from exc
        except ValueError as exc:  # e.g. a malformed x-rate-limit-reset header
            raise ParseError(self.name, f"{host} answered outside X's documented format") from exc


def _describe(exc: Any) -> str:
    status = getattr(exc.response, "status_code", "?")
    messages = " ".join(str(m) for m in exc.api_messages)[:200]
    return f"HTTP {status}: {messages}" if messages else f"HTTP {status}"


def _answers(tweet: dict[str, Any], post_id: str) -> str | None:
    """The post this one quotes, or the root of the conversation it replies in."""
    refs = tweet.get("referenced_tweets")
    for ref in refs if isinstance(refs, list) else ():
        if isinstance(ref, dict) and ref.get("type") == "quoted" and ref.get("id"):
            return str(ref["id"])
    root = tweet.get("conversation_id")
    return str(root) if root and str(root) != post_id else None


def _engagement(tweet: dict[str, Any]) -> dict[str, int]:
    metrics = tweet.get("public_metrics")
    if not isinstance(metrics, dict):
        return {}
    return {key: metrics[f] for key, f in METRICS.items() if isinstance(metrics.get(f), int)}
