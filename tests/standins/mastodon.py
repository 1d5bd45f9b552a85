"""A stand-in for one Mastodon server's REST API (https://docs.joinmastodon.org/methods/).

Serves, from an in-memory list of Status entities in the documented format:

- ``GET /api/v1/timelines/tag/:hashtag``: ``any[]``, ``all[]``, ``none[]`` (statuses with the
  path tag or any of ``any[]``, with all of ``all[]``, with none of ``none[]``; as Mastodon's
  TagFeed, the path tag and ``any[]`` together are cut to 4 tags, ``all[]`` and ``none[]`` to 4
  each), ``max_id``, ``since_id``, ``min_id`` (the page just above it, still newest first),
  ``limit`` (default 20, max 40); a ``Link`` header with ``next`` (``max_id``) and ``prev``
  (``min_id``) that, like Mastodon's, keeps only ``limit`` and the id, not the tag parameters.
  A path tag that does not exist on the server (no status here ever carried it, nor is it in
  ``extra_tags``) gives ``200 []`` whatever ``any[]`` says, as Mastodon's TagController does
  (``@tag.nil? ? []``); with ``missing_tag_404`` it gives the documented 404
  ``{"error": "Record not found"}`` instead. 401 without a token when ``feeds_need_login``.
- ``GET /api/v2/search``: ``q``, ``type``, ``resolve``, ``limit``, ``offset``, ``min_id``,
  ``max_id``. Statuses only for a logged-in token (as Mastodon does), newest first, and only
  from accounts that opted in to search (``indexable``); ``offset`` or ``resolve=true``
  without a token is 401.
- ``GET /api/v1/statuses/:id``, and ``GET /api/v1/statuses?id[]=`` (4.3+; at most 20 ids;
  ``batch=False`` answers 404 like an older server).
- ``GET /api/v1/accounts/verify_credentials``.
- ``GET /api/v2/instance`` (only ``domain`` and ``configuration.urls.streaming``) when
  ``streaming_url`` is set.

A token that is sent but unknown is refused with 401, as Doorkeeper does on every method.
Every answer has ``X-RateLimit-Limit/Remaining/Reset``; past ``rate_limit`` requests the
server answers 429 with those headers only (no Retry-After, like Mastodon's rack-attack).
"""

from __future__ import annotations

import html
import itertools
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from tests.standins.server import Request, Response, StandIn

DOMAIN = "mastodon.example"
_seq = itertools.count(1)
TAGS_PER_MODE = 4  # TagFeed::LIMIT_PER_MODE


def snowflake(created: float) -> str:
    """A Mastodon id: milliseconds since the epoch << 16, plus a sequence in the low bits."""
    return str((int(created * 1000) << 16) | (next(_seq) & 0xFFFF))


def hashtag_html(tag: str, domain: str = DOMAIN) -> str:
    return (
        f'<a href="https://{domain}/tags/{tag}" class="mention hashtag" rel="tag">'
        f"#<span>{tag}</span></a>"
    )


def status(
    text: str,
    *,
    tags: tuple[str, ...] = (),
    content: str | None = None,
    username: str = "alice",
    domain: str = DOMAIN,
    created: float | None = None,
    favourites: int = 0,
    reblogs: int = 0,
    replies: int = 0,
    followers: int = 10,
    spoiler: str = "",
    indexable: bool = True,
) -> dict[str, Any]:
    """A public Status posted on ``domain``, as that server serves it."""
    created = created if created is not None else time.time()
    status_id = snowflake(created)
    if content is None:
        body = html.escape(text) + "".join(" " + hashtag_html(t, domain) for t in tags)
        content = f"<p>{body}</p>"
    return {
        "id": status_id,
        "uri": f"https://{domain}/users/{username}/statuses/{status_id}",
        "url": f"https://{domain}/@{username}/{status_id}",
        "created_at": _iso(datetime.fromtimestamp(created, UTC), "milliseconds"),
        "account": {
            "id": str(abs(hash(username)) % 10**6),
            "username": username,
            "acct": username,
            "display_name": username.title(),
            "url": f"https://{domain}/@{username}",
            "followers_count": followers,
            "following_count": 3,
            "statuses_count": 42,
            "indexable": indexable,
        },
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": bool(spoiler),
        "spoiler_text": spoiler,
        "visibility": "public",
        "language": "en",
        "content": content,
        "reblog": None,
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": t.lower(), "url": f"https://{domain}/tags/{t.lower()}"} for t in tags],
        "emojis": [],
        "favourites_count": favourites,
        "reblogs_count": reblogs,
        "replies_count": replies,
        "edited_at": None,
    }


def federated(original: dict[str, Any], origin: str = DOMAIN) -> dict[str, Any]:
    """The copy of a status another server holds: its own local id, the same uri and url."""
    created = datetime.fromisoformat(original["created_at"]).timestamp()
    account = {**original["account"], "acct": f"{original['account']['username']}@{origin}"}
    return {**original, "id": snowflake(created), "account": account}


def boost(original: dict[str, Any], *, username: str = "booster") -> dict[str, Any]:
    """A reblog: a status of its own, empty, whose ``reblog`` is the original.

    It is listed under the original's tags here, so that a test can show the connector
    never takes a boost for a new post wherever one turns up.
    """
    wrapper = status("", username=username, content="")
    return {**wrapper, "reblog": original, "tags": original["tags"]}


def _iso(when: datetime, timespec: str) -> str:
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def _key(status_id: str) -> tuple[int, str]:
    return len(status_id), status_id


def _words(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", " ", html_text)).casefold()


class MastodonAPI:
    def __init__(
        self,
        statuses: list[dict[str, Any]] | None = None,
        *,
        tokens: set[str] | None = None,
        batch: bool = True,
        feeds_need_login: bool = False,
        missing_tag_404: bool = False,
    ) -> None:
        self.statuses: list[dict[str, Any]] = list(statuses or [])
        self.tokens = set(tokens or ())
        self.batch = batch
        self.feeds_need_login = feeds_need_login
        self.missing_tag_404 = missing_tag_404
        self.extra_tags: set[str] = set()  # tags that exist with no status here (e.g. deleted)
        #: ``configuration.urls.streaming`` of ``GET /api/v2/instance`` (the streaming
        #: stand-in's address, tests/standins/mastodon_streaming.py); None: no such method.
        self.streaming_url: str | None = None
        self.rate_limit: int | None = None  # requests allowed before 429
        self.reset_at = datetime.now(UTC) + timedelta(minutes=5)
        self.calls = 0

    def add(self, *statuses: dict[str, Any]) -> None:
        self.statuses.extend(statuses)

    def __call__(self, request: Request) -> Response:
        self.calls += 1
        limit = self.rate_limit if self.rate_limit is not None else 300
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - self.calls)),
            "X-RateLimit-Reset": _iso(self.reset_at, "microseconds"),
        }
        if self.rate_limit is not None and self.calls > self.rate_limit:
            return Response(429, {"error": "Too many requests"}, headers)
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        if auth and token not in self.tokens:
            return Response(401, {"error": "The access token is invalid"}, headers)
        response = self._route(request, token is not None)
        response.headers.update(headers)
        return response

    def _route(self, request: Request, logged_in: bool) -> Response:
        path, p = request.path, request.params
        if path.startswith("/api/v1/timelines/tag/"):
            if self.feeds_need_login and not logged_in:
                return Response(401, {"error": "This API requires an authenticated user"})
            return self._tag(request, unquote(path.rsplit("/", 1)[1]).casefold())
        if path == "/api/v2/search":
            if not logged_in and ("offset" in p or p.get("resolve") == "true"):
                return Response(401, {"error": "The access token is invalid"})
            return self._search(p, logged_in)
        if path == "/api/v1/statuses" and self.batch:
            return self._many(request)
        if path.startswith("/api/v1/statuses/"):
            found = self._by_id(path.rsplit("/", 1)[1])
            return Response(200, found) if found else Response(404, {"error": "Record not found"})
        if path == "/api/v2/instance" and self.streaming_url is not None:
            urls = {"streaming": self.streaming_url}
            return Response(200, {"domain": DOMAIN, "configuration": {"urls": urls}})
        if path == "/api/v1/accounts/verify_credentials":
            if not logged_in:
                return Response(401, {"error": "The access token is invalid"})
            return Response(200, {"id": "1", "username": "shop", "acct": "shop", "source": {}})
        return Response(404, {"error": "Not Found"})

    def _page(self, found: list[dict[str, Any]], p: dict[str, str]) -> list[Any]:
        limit = min(int(p.get("limit", 20)), 40)
        max_id, since_id, min_id = p.get("max_id"), p.get("since_id"), p.get("min_id")
        found = [
            s
            for s in found
            if (max_id is None or _key(s["id"]) < _key(max_id))
            and (since_id is None or _key(s["id"]) > _key(since_id))
            and (min_id is None or _key(s["id"]) > _key(min_id))
        ]
        if min_id is not None:  # the page just above min_id, served newest first
            return sorted(found, key=lambda s: _key(s["id"]))[:limit][::-1]
        return sorted(found, key=lambda s: _key(s["id"]), reverse=True)[:limit]

    def _tag(self, request: Request, tag: str) -> Response:
        existing = self.extra_tags | {t["name"] for s in self.statuses for t in s["tags"]}
        if tag not in existing:
            if self.missing_tag_404:
                return Response(404, {"error": "Record not found"})
            return Response(200, [])  # any[] is never looked at without the path tag

        def given(name: str) -> list[str]:  # Rails reads both any[]=a&any[]=b and any=a
            values = request.multi.get(f"{name}[]", []) + request.multi.get(name, [])
            return list(dict.fromkeys(v.casefold() for v in values))

        any_of = set(list(dict.fromkeys([tag, *given("any")]))[:TAGS_PER_MODE])
        all_of = set(given("all")[:TAGS_PER_MODE])
        none_of = set(given("none")[:TAGS_PER_MODE])
        tagged = [
            s
            for s in self.statuses
            if (names := {t["name"] for t in s["tags"]}) & any_of
            and all_of <= names
            and not names & none_of
        ]
        page = self._page(tagged, request.params)
        headers = {}
        if page:
            base = f"http://{request.headers['host']}{request.path}"
            limit = request.params.get("limit", "20")
            headers["Link"] = (
                f'<{base}?limit={limit}&max_id={page[-1]["id"]}>; rel="next", '
                f'<{base}?limit={limit}&min_id={page[0]["id"]}>; rel="prev"'
            )
        return Response(200, page, headers)

    def _search(self, p: dict[str, str], logged_in: bool) -> Response:
        result: dict[str, Any] = {"accounts": [], "statuses": [], "hashtags": []}
        if p.get("type") not in (None, "statuses") or not logged_in:
            return Response(200, result)  # no full-text search of statuses without a login
        q = p.get("q", "")
        terms = [x.casefold() for x in re.findall(r'"([^"]+)"', q)]
        terms += [w.casefold() for w in re.findall(r"\w+", re.sub(r'"[^"]+"', " ", q))]
        min_id, max_id = p.get("min_id"), p.get("max_id")

        def hit(s: dict[str, Any]) -> bool:
            text = _words(s["content"])
            return (
                bool(s["account"].get("indexable"))
                and (min_id is None or _key(s["id"]) > _key(min_id))
                and (max_id is None or _key(s["id"]) < _key(max_id))
                and all(re.search(rf"(?<!\w){re.escape(t)}(?!\w)", text) for t in terms)
            )

        found = sorted(filter(hit, self.statuses), key=lambda s: _key(s["id"]), reverse=True)
        offset, limit = int(p.get("offset", 0)), min(int(p.get("limit", 20)), 40)
        result["statuses"] = found[offset : offset + limit]
        return Response(200, result)

    def _by_id(self, status_id: str) -> dict[str, Any] | None:
        return next((s for s in self.statuses if s["id"] == status_id), None)

    def _many(self, request: Request) -> Response:
        ids = request.multi.get("id[]", [])
        if len(ids) > 20:
            return Response(422, {"error": "Validation failed"})
        return Response(200, [s for i in ids if (s := self._by_id(i)) is not None])


def serve(api: MastodonAPI) -> StandIn:
    """A StandIn for ``api`` (repeated query parameters reach it through ``Request.multi``)."""
    return StandIn(api)
