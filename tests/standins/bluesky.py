"""A stand-in for Bluesky's XRPC API as a PDS (or the bsky.social entryway) serves it.

Serves, at the top-level ``/xrpc/<nsid>`` paths of https://atproto.com/specs/xrpc:

- ``POST com.atproto.server.createSession`` ({identifier, password} -> accessJwt, refreshJwt,
  handle, did), limited like Bluesky to ``login_limit`` per 5 minutes (429 RateLimitExceeded);
- ``POST com.atproto.server.refreshSession`` (Bearer refreshJwt; rotates both tokens: the refresh
  token used is spent);
- ``GET com.atproto.server.getSession`` (Bearer accessJwt) -> {handle, did, ...};
- ``GET app.bsky.feed.searchPosts`` (q, sort, since (inclusive, on sortAt), until, lang, limit
  1-100, cursor) -> {posts, cursor, hitsTotal}, newest first;
- ``GET app.bsky.feed.getPosts`` (``uris``, at most 25) -> {posts}.

Data calls need ``Authorization: Bearer <accessJwt>``. Errors are XRPC's ``{"error", "message"}``
bodies: a missing token is 401 AuthenticationRequired, an expired one ``expired_status`` (400 from
a PDS, 401 from the entryway) ExpiredToken, an unknown one 400 InvalidToken. Every answer carries
RateLimit-Limit/-Remaining/-Reset (epoch seconds)/-Policy headers.

Tokens expire as the reference PDS's do: an access token ``access_ttl`` (2 hours) after it was
issued, a refresh token after ``refresh_ttl`` (90 days). Tests move the stand-in's clock on with
``advance(seconds)`` instead of sleeping, expire tokens at once (``expire_access_tokens``,
``revoke_refresh_tokens``), and read ``calls`` per NSID (``calls[CREATE]`` counts logins).

``tests.standins.server.Request`` keeps only the last value of a repeated query parameter, so
``BlueskyStandIn`` hands the route the raw query string too (getPosts repeats ``uris``).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from tests.standins.server import Request, Response, Route, StandIn

RAW_QUERY = "x-standin-raw-query"
WINDOW = 300
ACCESS_TTL = 2 * 3600.0
REFRESH_TTL = 90 * 86400.0


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def post(
    rkey: str,
    text: str,
    *,
    handle: str = "alice.bsky.social",
    did: str = "did:plc:alice123",
    created: float | None = None,
    indexed: float | None = None,
    likes: int = 0,
    reposts: int = 0,
    replies: int = 0,
    quotes: int = 0,
    langs: tuple[str, ...] = ("en",),
) -> dict[str, Any]:
    """A PostView (app.bsky.feed.defs#postView) of an app.bsky.feed.post record."""
    created = created if created is not None else time.time() - 60
    indexed = indexed if indexed is not None else created + 1
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": f"bafyreib{rkey.lower()}",
        "author": {
            "did": did,
            "handle": handle,
            "displayName": handle.split(".")[0].title(),
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/x@jpeg",
            "labels": [],
            "createdAt": "2023-04-01T00:00:00.000Z",
        },
        "record": {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": iso(created),
            "langs": list(langs),
        },
        "replyCount": replies,
        "repostCount": reposts,
        "likeCount": likes,
        "quoteCount": quotes,
        "indexedAt": iso(indexed),
        "labels": [],
    }


def _sort_at(view: dict[str, Any]) -> str:
    return str(min(view["record"]["createdAt"], view["indexedAt"]))


def _error(status: int, error: str, message: str, headers: dict[str, str]) -> Response:
    return Response(status, {"error": error, "message": message}, headers)


class BlueskyAPI:
    def __init__(
        self,
        posts: list[dict[str, Any]] | None = None,
        *,
        handle: str = "acme.bsky.social",
        password: str = "abcd-efgh-ijkl-mnop",
        did: str = "did:plc:acmeowner",
        login_limit: int = 30,
        expired_status: int = 400,
        access_ttl: float = ACCESS_TTL,
        refresh_ttl: float = REFRESH_TTL,
    ) -> None:
        self.posts: list[dict[str, Any]] = list(posts or [])
        self.handle, self.password, self.did = handle, password, did
        self.login_limit = login_limit
        self.expired_status = expired_status
        self.access_ttl, self.refresh_ttl = access_ttl, refresh_ttl
        self.calls: Counter[str] = Counter()
        self.access: dict[str, float] = {}  # token -> when it expires
        self.refresh: dict[str, float] = {}
        self.expired: set[str] = set()
        self.logins: list[float] = []
        self.skew = 0.0
        self._ids = itertools.count(1)

    def add(self, *posts: dict[str, Any]) -> None:
        self.posts.extend(posts)

    def now(self) -> float:
        return time.time() + self.skew

    def advance(self, seconds: float) -> None:
        """Move the server's clock on: tokens expire as if that much time had passed."""
        self.skew += seconds

    def expire_access_tokens(self) -> None:
        self.expired |= set(self.access)
        self.access.clear()

    def revoke_refresh_tokens(self) -> None:
        self.expired |= set(self.refresh)
        self.refresh.clear()

    def _valid(self, tokens: dict[str, float], token: str | None) -> bool:
        if token is None or token not in tokens:
            return False
        if tokens[token] <= self.now():
            del tokens[token]
            self.expired.add(token)
            return False
        return True

    def __call__(self, request: Request) -> Response:
        nsid = request.path.removeprefix("/xrpc/")
        self.calls[nsid] += 1
        now = time.time()  # rate limits on the real clock; token expiry on now()
        headers = {
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": "2999",
            "RateLimit-Reset": str(int(now) + WINDOW),
            "RateLimit-Policy": f"3000;w={WINDOW}",
        }
        if nsid == "com.atproto.server.createSession" and request.method == "POST":
            return self._create_session(request, now, headers)
        if nsid == "com.atproto.server.refreshSession" and request.method == "POST":
            token = self._bearer(request)
            if not self._valid(self.refresh, token):
                return self._bad_token(token, headers)
            del self.refresh[str(token)]
            self.expired.add(str(token))
            return Response(200, self._session(), headers)
        routes = {
            "app.bsky.feed.searchPosts": self._search,
            "app.bsky.feed.getPosts": self._get,
            "com.atproto.server.getSession": self._get_session,
        }
        if nsid not in routes or request.method != "GET":
            return _error(404, "MethodNotImplemented", "Method Not Implemented", headers)
        token = self._bearer(request)
        if not self._valid(self.access, token):
            return self._bad_token(token, headers)
        return routes[nsid](request, headers)

    # ---------------------------------------------------------------- session

    def _create_session(self, request: Request, now: float, headers: dict[str, str]) -> Response:
        self.logins = [t for t in self.logins if t > now - WINDOW]
        reset = int((self.logins[0] if self.logins else now) + WINDOW)
        remaining = self.login_limit - len(self.logins)
        headers = {
            **headers,
            "RateLimit-Limit": str(self.login_limit),
            "RateLimit-Remaining": str(max(0, remaining - 1)),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{self.login_limit};w={WINDOW}",
        }
        if remaining <= 0:
            return _error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        self.logins.append(now)
        try:
            body = json.loads(request.body)
            identifier, password = str(body["identifier"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            return _error(
                400, "InvalidRequest", 'Input must have the property "identifier"', headers
            )
        if identifier.casefold() not in (self.handle, self.did) or password != self.password:
            return _error(401, "AuthenticationRequired", "Invalid identifier or password", headers)
        return Response(200, self._session(), headers)

    def _session(self) -> dict[str, Any]:
        n = next(self._ids)
        access, refresh = f"eyJ.access-{n}.sig", f"eyJ.refresh-{n}.sig"
        self.access[access] = self.now() + self.access_ttl
        self.refresh[refresh] = self.now() + self.refresh_ttl
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": self.handle,
            "did": self.did,
            "email": "owner@acme.example",
            "emailConfirmed": True,
            "active": True,
        }

    def _get_session(self, request: Request, headers: dict[str, str]) -> Response:
        body = {"handle": self.handle, "did": self.did, "active": True}
        return Response(200, body, headers)

    def _bearer(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

    def _bad_token(self, token: str | None, headers: dict[str, str]) -> Response:
        if token is None:
            return _error(401, "AuthenticationRequired", "Authentication Required", headers)
        if token in self.expired:
            return _error(self.expired_status, "ExpiredToken", "Token has expired", headers)
        return _error(400, "InvalidToken", "Token could not be verified", headers)

    # ---------------------------------------------------------------- data

    def _search(self, request: Request, headers: dict[str, str]) -> Response:
        p = request.params
        if not p.get("q"):
            return _error(400, "InvalidRequest", 'Params must have the property "q"', headers)
        limit = int(p.get("limit", 25))
        if not 1 <= limit <= 100:
            return _error(400, "InvalidRequest", "limit can not be greater than 100", headers)
        needles = [a or b for a, b in re.findall(r'"([^"]+)"|(\S+)', p["q"])]

        def hit(view: dict[str, Any]) -> bool:
            text = view["record"]["text"].casefold()
            sort_at = _sort_at(view)
            return (
                all(re.search(rf"(?<!\w){re.escape(n.casefold())}(?!\w)", text) for n in needles)
                and ("since" not in p or sort_at >= _normal(p["since"]))
                and ("until" not in p or sort_at < _normal(p["until"]))
                and ("lang" not in p or p["lang"] in view["record"].get("langs", []))
            )

        found = sorted(filter(hit, self.posts), key=_sort_at, reverse=True)
        offset = int(p.get("cursor") or 0)
        body: dict[str, Any] = {"posts": found[offset : offset + limit], "hitsTotal": len(found)}
        if offset + limit < len(found):
            body["cursor"] = str(offset + limit)
        return Response(200, body, headers)

    def _get(self, request: Request, headers: dict[str, str]) -> Response:
        raw = request.headers.get(RAW_QUERY)
        uris = parse_qs(raw).get("uris", []) if raw is not None else [request.params["uris"]]
        if len(uris) > 25:
            return _error(
                400, "InvalidRequest", "uris must not have more than 25 elements", headers
            )
        by_uri = {v["uri"]: v for v in self.posts}
        return Response(200, {"posts": [by_uri[u] for u in uris if u in by_uri]}, headers)


def _normal(value: str) -> str:
    """A since/until parameter in the stored form, so that strings compare as times."""
    when = datetime.fromisoformat(value)
    return iso((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


class BlueskyStandIn(StandIn):
    """A StandIn whose requests also carry their raw query string (header ``RAW_QUERY``)."""

    def __init__(self, route: Route) -> None:
        super().__init__(route)
        base: Any = self.server.RequestHandlerClass

        class Handler(base):  # type: ignore[misc]
            def _handle(self) -> None:
                self.headers[RAW_QUERY] = self.path.partition("?")[2]
                super()._handle()

        self.server.RequestHandlerClass = Handler
