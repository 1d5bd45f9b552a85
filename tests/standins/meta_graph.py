"""A stand-in for Meta's Graph API: Facebook Pages and Instagram professional accounts.

Serves, under ``/{version}`` (``v21.0`` by default), in the documented formats
(https://developers.facebook.com/docs/graph-api):

- ``/{page-id}`` and ``/{ig-user-id}`` (their ``fields``), ``/{page-id}/published_posts``,
  ``/visitor_posts``, ``/tagged``, ``/ratings``, ``/{post-id}/comments``,
  ``/{ig-user-id}/media``, ``/tags`` and ``/{media-id}/comments``;
- ``fields`` with field expansion: ``comments.filter(stream).order(reverse_chronological)
  .limit(50){id,message,from}`` projects each object to the fields asked (``id`` always),
  nested connections as ``{"data": [...], "paging": {...}}``. Only the fields asked are
  sent, so a connector that forgets ``from`` does not get it.
- Connections: ``limit`` (default 25), ``after``; ``paging`` has ``cursors`` and a ``next``
  address while more follow. Posts, media and recommendations come newest first; comments
  oldest first unless ``order=reverse_chronological``. Facebook comments with a ``parent``
  (replies) are listed only with ``filter=stream``; Instagram replies under ``replies``.
- Auth: ``Authorization: Bearer <token>`` or ``access_token``; an unknown token is 400
  ``OAuthException`` code 190 (subcode 463 once ``expired``). ``granted`` permissions: an edge
  whose permission is missing is 403 code 10 naming it.
- Limits: every answer carries ``X-App-Usage`` and ``X-Business-Use-Case-Usage`` with
  ``usage`` percent; ``throttled`` answers 400 code 80001 with ``estimated_time_to_regain_access``.
  Recommendations (``/ratings``) answer code 12 in versions from v22.0, as Meta's do.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.standins.server import Request, Response

TOKEN = "EAAGstandinPageToken0123456789abcdefXYZ"
VERSION = "v21.0"
ALL = {
    "pages_show_list",
    "pages_read_engagement",
    "pages_read_user_content",
    "instagram_basic",
    "instagram_manage_comments",
}
NEEDS = {
    "published_posts": "pages_read_engagement",
    "visitor_posts": "pages_read_user_content",
    "tagged": "pages_read_user_content",
    "ratings": "pages_read_user_content",
    "comments": "pages_read_engagement",
    "media": "instagram_basic",
    "tags": "instagram_manage_comments",
}
_ids = itertools.count(1000)


def stamp(when: datetime) -> str:
    """Graph's time format: ``2026-12-01T10:00:00+0000``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def new_id() -> str:
    return str(next(_ids))


def graph_error(
    status: int, message: str, code: int, *, subcode: int | None = None, kind: str = ""
) -> Response:
    error: dict[str, Any] = {
        "message": message,
        "type": kind or ("OAuthException" if code in (190, 10, 200) else "GraphMethodException"),
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return Response(status, {"error": error})


# ------------------------------------------------------------------ what the stand-in holds


@dataclass
class FacebookPage:
    id: str
    name: str = "Acme Coffee"
    posts: list[dict[str, Any]] = field(default_factory=list)
    visitor_posts: list[dict[str, Any]] = field(default_factory=list)
    tagged: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)

    def post(self, message: str = "Our new autumn menu", *, when: datetime | None = None) -> str:
        pid = f"{self.id}_{new_id()}"
        created = when or ago(days=1)
        self.posts.insert(
            0,
            {
                "id": pid,
                "message": message,
                "created_time": stamp(created),
                "permalink_url": f"https://www.facebook.com/{self.id}/posts/{pid}",
                "from": {"id": self.id, "name": self.name},
                "comments": [],
            },
        )
        return pid

    def comment(
        self,
        post: str,
        message: str,
        *,
        who: str = "Jane Doe",
        who_id: str = "9001",
        when: datetime | None = None,
        parent: str | None = None,
        cid: str | None = None,
    ) -> str:
        target = next(p for p in self.posts if p["id"] == post)
        cid = cid or f"{post.split('_')[1]}_{new_id()}"
        item: dict[str, Any] = {
            "id": cid,
            "message": message,
            "created_time": stamp(when or ago(minutes=5)),
            "from": {"id": who_id, "name": who},
            "permalink_url": f"https://www.facebook.com/{post}?comment_id={cid}",
        }
        if parent:
            item["parent"] = {"id": parent}
        target["comments"].append(item)
        return cid

    def reply(self, post: str, parent: str, message: str, *, when: datetime | None = None) -> str:
        return self.comment(post, message, who=self.name, who_id=self.id, when=when, parent=parent)

    def edit(self, post: str, cid: str, message: str) -> None:
        target = next(p for p in self.posts if p["id"] == post)
        next(c for c in target["comments"] if c["id"] == cid)["message"] = message

    def recommend(
        self, positive: bool, text: str, *, who: str = "Sam Smith", when: datetime | None = None
    ) -> str:
        story = new_id()
        self.ratings.insert(
            0,
            {
                "created_time": stamp(when or ago(minutes=5)),
                "recommendation_type": "positive" if positive else "negative",
                "review_text": text,
                "has_review": True,
                "has_rating": False,
                "reviewer": {"id": new_id(), "name": who},
                "open_graph_story": {"id": story},
            },
        )
        return story


@dataclass
class InstagramAccount:
    id: str
    username: str = "acmecoffee"
    media: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, caption: str = "Fresh beans today", *, when: datetime | None = None) -> str:
        mid = new_id()
        self.media.insert(
            0,
            {
                "id": mid,
                "caption": caption,
                "timestamp": stamp(when or ago(days=1)),
                "permalink": f"https://www.instagram.com/p/{mid}/",
                "username": self.username,
                "media_type": "IMAGE",
                "comments": [],
            },
        )
        return mid

    def comment(
        self, media: str, text: str, *, who: str = "jane_d", when: datetime | None = None
    ) -> str:
        target = next(m for m in self.media if m["id"] == media)
        cid = new_id()
        target["comments"].append(
            {
                "id": cid,
                "text": text,
                "username": who,
                "timestamp": stamp(when or ago(minutes=5)),
                "from": {"id": new_id(), "username": who},
                "replies": [],
            }
        )
        return cid

    def reply(self, media: str, parent: str, text: str, *, when: datetime | None = None) -> str:
        target = next(m for m in self.media if m["id"] == media)
        top = next(c for c in target["comments"] if c["id"] == parent)
        rid = new_id()
        top["replies"].append(
            {
                "id": rid,
                "text": text,
                "username": self.username,
                "timestamp": stamp(when or ago(minutes=1)),
                "from": {"id": self.id, "username": self.username},
                "parent_id": parent,
            }
        )
        return rid


# ------------------------------------------------------------------ fields and paging


def split_fields(spec: str) -> list[str]:
    """``a,b.limit(2){c,d{e}},f`` -> ``["a", "b.limit(2){c,d{e}}", "f"]``."""
    parts, depth, current = [], 0, ""
    for char in spec:
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def parse_field(spec: str) -> tuple[str, dict[str, str], str | None]:
    sub = None
    if "{" in spec:
        sub = spec[spec.index("{") + 1 : spec.rindex("}")]
        spec = spec[: spec.index("{")]
    name, _, rest = spec.partition(".")
    modifiers = dict(re.findall(r"(\w+)\(([^)]*)\)", rest))
    return name, modifiers, sub


def _cursor(index: int) -> str:
    return base64.b64encode(f"i:{index}".encode()).decode()


def _index(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(base64.b64decode(cursor).decode().split(":")[1])


def _time(item: dict[str, Any]) -> str:
    return str(item.get("created_time") or item.get("timestamp") or "")


class MetaAPI:
    """The Route. ``pages`` and ``instagram`` hold the owner's accounts."""

    def __init__(
        self,
        pages: list[FacebookPage] | None = None,
        instagram: list[InstagramAccount] | None = None,
        *,
        token: str = TOKEN,
        version: str = VERSION,
    ) -> None:
        self.pages = {p.id: p for p in pages or []}
        self.instagram = {a.id: a for a in instagram or []}
        self.token = token
        self.version = version
        self.granted = set(ALL)
        self.expired = False
        self.throttled = False
        self.usage = 5
        self.base = ""

    def __call__(self, request: Request) -> Response:
        self.base = f"http://{request.headers.get('host', '127.0.0.1')}/{self.version}"
        response = self._answer(request)
        usage = {"call_count": self.usage, "total_cputime": 1, "total_time": 1}
        buc = {"type": "pages", **usage, "estimated_time_to_regain_access": 0}
        response.headers.setdefault("X-App-Usage", json.dumps(usage))
        response.headers.setdefault(
            "X-Business-Use-Case-Usage", json.dumps({next(iter(self.pages), "1"): [buc]})
        )
        return response

    def _answer(self, request: Request) -> Response:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        token = bearer or request.params.get("access_token", "")
        if token != self.token:
            return graph_error(400, "Invalid OAuth access token - Cannot parse access token", 190)
        if self.expired:
            return graph_error(
                400,
                "Error validating access token: Session has expired on Tuesday.",
                190,
                subcode=463,
            )
        if self.throttled:
            response = graph_error(400, "There have been too many calls to this Page.", 80001)
            buc = {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 9,
                "total_time": 9,
                "estimated_time_to_regain_access": 17,
            }
            response.headers["X-Business-Use-Case-Usage"] = json.dumps({"1": [buc]})
            return response
        parts = request.path.strip("/").split("/")
        if not parts or parts[0] != self.version:
            return graph_error(400, "Unknown path components", 2500)
        path = parts[1:]
        if len(path) == 1:
            return self._node(path[0], request)
        if len(path) == 2:
            return self._edge(path[0], path[1], request)
        return graph_error(400, "Unknown path components", 2500)

    def _node(self, node: str, request: Request) -> Response:
        fields = request.params.get("fields", "id")
        if node in self.pages:
            page = self.pages[node]
            return Response(200, self._project({"id": page.id, "name": page.name}, fields))
        if node in self.instagram:
            account = self.instagram[node]
            return Response(
                200, self._project({"id": account.id, "username": account.username}, fields)
            )
        return self._missing(node)

    def _missing(self, node: str) -> Response:
        return graph_error(
            400,
            f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded"
            " due to missing permissions, or does not support this operation.",
            100,
            subcode=33,
        )

    def _edge(self, node: str, edge: str, request: Request) -> Response:
        needed = NEEDS.get(edge)
        if needed and needed not in self.granted:
            return graph_error(403, f"(#10) This endpoint requires the '{needed}' permission.", 10)
        items = self._items(node, edge)
        if items is None:
            return self._missing(node)
        if isinstance(items, Response):
            return items
        params = request.params
        modifiers = {k: params[k] for k in ("limit", "order", "filter") if k in params}
        body = self._connection(
            items,
            edge,
            modifiers,
            params.get("fields") or "id",
            f"{node}/{edge}",
            params.get("after"),
        )
        return Response(200, body)

    def _items(self, node: str, edge: str) -> list[dict[str, Any]] | Response | None:
        page = self.pages.get(node)
        if page is not None:
            if edge == "ratings" and float(self.version.lstrip("v")) >= 22:
                return graph_error(
                    400, "(#12) ratings is deprecated for versions v22.0 and higher", 12
                )
            return {
                "published_posts": page.posts,
                "visitor_posts": page.visitor_posts,
                "tagged": page.tagged,
                "ratings": page.ratings,
            }.get(edge)
        account = self.instagram.get(node)
        if account is not None:
            return {"media": account.media, "tags": account.tags}.get(edge)
        if edge == "comments":
            for holder in [
                *[p for pg in self.pages.values() for p in pg.posts],
                *[m for a in self.instagram.values() for m in a.media],
            ]:
                if holder["id"] == node:
                    return list(holder["comments"])
        return None

    def _connection(
        self,
        items: list[dict[str, Any]],
        edge: str,
        modifiers: dict[str, str],
        fields: str,
        path: str,
        after: str | None,
    ) -> dict[str, Any]:
        listed = list(items)
        if edge in ("comments", "replies"):
            if edge == "comments" and modifiers.get("filter") != "stream":
                listed = [c for c in listed if "parent" not in c]
            listed.sort(key=_time, reverse=modifiers.get("order") == "reverse_chronological")
        limit = int(modifiers.get("limit") or 25)
        start = _index(after)
        chunk = listed[start : start + limit]
        body: dict[str, Any] = {"data": [self._project(item, fields) for item in chunk]}
        if chunk:
            paging: dict[str, Any] = {
                "cursors": {"before": _cursor(start), "after": _cursor(start + len(chunk))}
            }
            if start + limit < len(listed):
                query = {
                    **modifiers,
                    "fields": fields,
                    "limit": str(limit),
                    "after": _cursor(start + len(chunk)),
                }
                paging["next"] = f"{self.base}/{path}?" + "&".join(
                    f"{k}={v}" for k, v in query.items()
                )
            body["paging"] = paging
        return body

    def _project(self, obj: dict[str, Any], fields: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": obj["id"]} if "id" in obj else {}
        for spec in split_fields(fields):
            name, modifiers, sub = parse_field(spec)
            if name not in obj:
                continue
            value = obj[name]
            if isinstance(value, list):
                out[name] = self._connection(
                    value, name, modifiers, sub or "id", f"{obj.get('id')}/{name}", None
                )
            elif isinstance(value, dict) and sub:
                out[name] = self._project(value, sub)
            else:
                out[name] = value
        return out
