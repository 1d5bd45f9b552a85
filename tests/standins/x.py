"""A stand-in for the X API v2 (https://docs.x.com/x-api), the parts the x connector uses.

- ``GET /2/tweets/search/recent``: ``query`` (at most 512 characters: terms, "quoted phrases",
  ``@handle``, ``#tag``, implicit AND, ``OR``, parentheses, ``-is:retweet``, ``lang:xx``),
  ``since_id`` (refused when older than 7 days, as X does), ``start_time`` (never together
  with ``since_id``), ``max_results`` (10-100), ``next_token``, ``sort_order``, ``expansions=
  author_id``, ``tweet.fields``, ``user.fields``. Answers ``{"data", "includes": {"users"},
  "meta": {"newest_id", "oldest_id", "result_count", "next_token"}}``, newest first; an empty
  result is ``{"meta": {"result_count": 0}}``.
- ``GET /2/tweets?ids=`` (at most 100): found posts in ``data``, the others in ``errors``.
- ``GET /2/usage/tweets``: ``{"data": {"project_usage", "project_cap", ...}}``.

Every call needs ``Authorization: Bearer <token>`` (else 401 with X's problem JSON). Answers
carry ``x-rate-limit-limit/-remaining/-reset``; ``too_many_requests`` builds X's 429 (no
Retry-After). Post ids are snowflakes made from the post's time, like X's. ``served`` counts
posts returned (what X bills).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.standins.server import Request, Response

TOKEN = "test-bearer-token"
EPOCH_MS = 1288834974657
WINDOW = 15 * 60
LIMITS = {"/2/tweets/search/recent": 450, "/2/tweets": 3500, "/2/usage/tweets": 50}
DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")


def snowflake(epoch: float, seq: int = 0) -> str:
    return str(((int(epoch * 1000) - EPOCH_MS) << 22) | (seq & 0x3FFFFF))


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


_seq = iter(range(1, 1 << 22))


def post(
    text: str,
    *,
    author: str = "1001",
    created: float | None = None,
    likes: int = 0,
    retweets: int = 0,
    replies: int = 0,
    quotes: int = 0,
    lang: str = "en",
    retweet: bool = False,
    note: str | None = None,
) -> dict[str, Any]:
    """A post in the v2 object format, with every field the stand-in may be asked for."""
    created = time.time() - 60 if created is None else created
    post_id = snowflake(created, next(_seq))
    tweet: dict[str, Any] = {
        "id": post_id,
        "text": text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
        "edit_history_tweet_ids": [post_id],
        "created_at": iso(created),
        "author_id": author,
        "lang": lang,
        "public_metrics": {
            "retweet_count": retweets,
            "reply_count": replies,
            "like_count": likes,
            "quote_count": quotes,
            "bookmark_count": 0,
            "impression_count": 10 * likes,
        },
    }
    if retweet:
        tweet["referenced_tweets"] = [{"type": "retweeted", "id": snowflake(created - 60)}]
    if note is not None:
        tweet["note_tweet"] = {"text": note}
    return tweet


def user(user_id: str, username: str, followers: int = 0) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": username.title(),
        "username": username,
        "public_metrics": {
            "followers_count": followers,
            "following_count": 1,
            "tweet_count": 10,
            "listed_count": 0,
            "like_count": 0,
        },
    }


def problem(status: int, title: str, detail: str) -> Response:
    return Response(
        status, {"title": title, "detail": detail, "type": "about:blank", "status": status}
    )


def invalid(message: str, **parameters: list[str]) -> Response:
    return Response(
        400,
        {
            "errors": [{"parameters": parameters, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )


def too_many_requests(reset_in: int = 300) -> Response:
    """X's 429: the window's end in ``x-rate-limit-reset`` (epoch seconds), no Retry-After."""
    reset = int(time.time()) + reset_in
    return Response(
        429,
        {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
        {
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        },
    )


# ------------------------------------------------------------ the query language, in small


def _matcher(query: str) -> Callable[[dict[str, Any]], bool]:
    tokens = re.findall(r'"[^"]*"|\(|\)|[^\s()]+', query)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def expr() -> Callable[[dict[str, Any]], bool]:
        nonlocal pos
        options = [conjunction()]
        while peek() == "OR":
            pos += 1
            options.append(conjunction())
        return lambda t: any(o(t) for o in options)

    def conjunction() -> Callable[[dict[str, Any]], bool]:
        parts = []
        while peek() not in (None, ")", "OR"):
            parts.append(atom())
        if not parts:
            raise ValueError("empty clause")
        return lambda t: all(p(t) for p in parts)

    def atom() -> Callable[[dict[str, Any]], bool]:
        nonlocal pos
        token = tokens[pos]
        pos += 1
        if token == "(":
            inner = expr()
            if peek() != ")":
                raise ValueError("unbalanced parentheses")
            pos += 1
            return inner
        if token == "-is:retweet":
            return lambda t: (
                not any(r.get("type") == "retweeted" for r in t.get("referenced_tweets", []))
            )
        if token.startswith("lang:"):
            return lambda t: t.get("lang") == token[5:]
        if ":" in token and not token.startswith('"'):
            raise ValueError(f"unknown operator {token}")
        phrase = token.strip('"').casefold()
        pattern = re.compile(rf"(?<![\w@#]){re.escape(phrase)}(?!\w)")
        return lambda t: bool(pattern.search(_full_text(t).casefold()))

    match = expr()
    if pos != len(tokens):
        raise ValueError("unbalanced parentheses")
    return match


def _full_text(tweet: dict[str, Any]) -> str:
    note = tweet.get("note_tweet") or {}
    return str(note.get("text") or tweet["text"])


def _epoch(iso_time: str) -> float:
    return datetime.fromisoformat(iso_time).timestamp()


class XAPI:
    def __init__(
        self,
        tweets: list[dict[str, Any]] | None = None,
        users: list[dict[str, Any]] | None = None,
        token: str = TOKEN,
    ) -> None:
        self.tweets: list[dict[str, Any]] = list(tweets or [])
        self.users: dict[str, dict[str, Any]] = {u["id"]: u for u in users or []}
        self.token = token
        self.served = 0
        self.calls: dict[str, int] = {}

    def add(self, *tweets: dict[str, Any]) -> None:
        self.tweets.extend(tweets)

    def add_users(self, *users: dict[str, Any]) -> None:
        self.users.update({u["id"]: u for u in users})

    def __call__(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return problem(401, "Unauthorized", "Unauthorized")
        routes = {
            "/2/tweets/search/recent": self.search,
            "/2/tweets": self.lookup,
            "/2/usage/tweets": self.usage,
        }
        route = routes.get(request.path)
        if route is None or request.method != "GET":
            return problem(404, "Not Found Error", "The requested resource could not be found.")
        self.calls[request.path] = self.calls.get(request.path, 0) + 1
        response = route(request.params)
        used = self.calls[request.path]
        response.headers.update(
            {
                "x-rate-limit-limit": str(LIMITS[request.path]),
                "x-rate-limit-remaining": str(max(0, LIMITS[request.path] - used)),
                "x-rate-limit-reset": str(int(time.time()) + WINDOW),
            }
        )
        return response

    def _render(self, tweet: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        keep = set(DEFAULT_TWEET_FIELDS) | fields
        return {k: v for k, v in tweet.items() if k in keep}

    def _users(self, tweets: list[dict[str, Any]], fields: set[str]) -> list[dict[str, Any]]:
        ids = dict.fromkeys(t["author_id"] for t in tweets)
        keep = {"id", "name", "username"} | fields
        return [
            {k: v for k, v in self.users[i].items() if k in keep} for i in ids if i in self.users
        ]

    def search(self, p: dict[str, str]) -> Response:
        query = p.get("query", "")
        if not query or len(query) > 512:
            return invalid(f"Query length {len(query)} must be between 1 and 512", query=[query])
        try:
            match = _matcher(query)
        except ValueError as exc:
            return invalid(f"There were errors processing your request: {exc}", query=[query])
        size = int(p.get("max_results", "10"))
        if not 10 <= size <= 100:
            return invalid(
                f"The `max_results` query parameter value [{size}] is not between 10 and 100",
                max_results=[str(size)],
            )
        if "since_id" in p and "start_time" in p:
            return invalid(
                "Invalid use of 'since_id' or 'until_id' in conjunction with 'start_time' or "
                "'end_time'."
            )
        since_id = int(p["since_id"]) if "since_id" in p else 0
        week_ago = time.time() - 7 * 86400
        if since_id and ((since_id >> 22) + EPOCH_MS) / 1000 < week_ago:
            return invalid(
                f"Invalid 'since_id':'{since_id}'. 'since_id' must be a tweet id created after "
                f"{iso(week_ago)}.",
                since_id=[str(since_id)],
            )
        start = _epoch(p["start_time"]) if "start_time" in p else week_ago
        found = sorted(
            (
                t
                for t in self.tweets
                if int(t["id"]) > since_id and _epoch(t["created_at"]) >= start and match(t)
            ),
            key=lambda t: int(t["id"]),
            reverse=True,
        )
        offset = int(p["next_token"].removeprefix("b26v89c19zqg8o3f")) if "next_token" in p else 0
        page = found[offset : offset + size]
        if not page:
            return Response(200, {"meta": {"result_count": 0}})
        self.served += len(page)
        fields = set(p.get("tweet.fields", "").split(","))
        meta: dict[str, Any] = {
            "newest_id": page[0]["id"],
            "oldest_id": page[-1]["id"],
            "result_count": len(page),
        }
        if offset + size < len(found):
            meta["next_token"] = f"b26v89c19zqg8o3f{offset + size}"
        body: dict[str, Any] = {"data": [self._render(t, fields) for t in page], "meta": meta}
        if "author_id" in p.get("expansions", "").split(","):
            user_fields = set(p.get("user.fields", "").split(","))
            body["includes"] = {"users": self._users(page, user_fields)}
        return Response(200, body)

    def lookup(self, p: dict[str, str]) -> Response:
        ids = [i for i in p.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return invalid(
                f"The number of values in the `ids` query parameter list [{len(ids)}] is not "
                "between 1 and 100",
                ids=ids,
            )
        by_id = {t["id"]: t for t in self.tweets}
        fields = set(p.get("tweet.fields", "").split(","))
        data = [self._render(by_id[i], fields) for i in ids if i in by_id]
        errors = [
            {
                "value": i,
                "detail": f"Could not find tweet with ids: [{i}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": i,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            for i in ids
            if i not in by_id
        ]
        self.served += len(data)
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return Response(200, body)

    def usage(self, p: dict[str, str]) -> Response:
        return Response(
            200,
            {
                "data": {
                    "cap_reset_day": 1,
                    "project_cap": "2000000",
                    "project_id": "1369785403853424",
                    "project_usage": str(self.served),
                }
            },
        )
