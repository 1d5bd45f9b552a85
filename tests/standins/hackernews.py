"""A stand-in for the Algolia Hacker News Search API (https://hn.algolia.com/api).

Serves ``GET /api/v1/search_by_date`` from an in-memory list of items in the
documented hit format, honouring ``query`` (every word, case-insensitive, in
the title or text, like Algolia's default), ``tags`` (``story``, ``comment``
or an OR-group ``(story,comment)``), ``numericFilters=created_at_i>N``,
``hitsPerPage`` and ``page``, newest first.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from tests.standins.server import Request, Response

PREFIX = "/api/v1"


def story(
    object_id: int,
    title: str,
    *,
    text: str | None = None,
    created: int | None = None,
    points: int = 1,
    comments: int = 0,
    author: str = "pg_fan",
) -> dict[str, Any]:
    created = created if created is not None else int(time.time())
    return {
        "objectID": str(object_id),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
        "created_at_i": created,
        "author": author,
        "title": title,
        "url": None if text else f"https://example.com/{object_id}",
        "story_text": text,
        "comment_text": None,
        "points": points,
        "num_comments": comments,
        "story_id": None,
        "story_title": None,
        "_tags": ["story", f"author_{author}", f"story_{object_id}"],
    }


def comment(
    object_id: int,
    html_text: str,
    *,
    story_id: int = 1,
    story_title: str = "Ask HN: Favourite coffee?",
    created: int | None = None,
    author: str = "commenter",
) -> dict[str, Any]:
    created = created if created is not None else int(time.time())
    return {
        "objectID": str(object_id),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
        "created_at_i": created,
        "author": author,
        "title": None,
        "url": None,
        "story_text": None,
        "comment_text": html_text,
        "points": None,
        "num_comments": None,
        "story_id": story_id,
        "story_title": story_title,
        "parent_id": story_id,
        "_tags": ["comment", f"author_{author}", f"story_{story_id}"],
    }


class HackerNewsAPI:
    def __init__(self, items: list[dict[str, Any]] | None = None) -> None:
        self.items: list[dict[str, Any]] = list(items or [])

    def add(self, *items: dict[str, Any]) -> None:
        self.items.extend(items)

    def __call__(self, request: Request) -> Response:
        if request.path != f"{PREFIX}/search_by_date":
            return Response(404, {"message": "Not Found", "status": 404})
        p = request.params
        words = [w.casefold() for w in re.findall(r"\w+", p.get("query", ""))]
        tags = [t for t in re.split(r"[(),]", p.get("tags", "")) if t]
        since = -math.inf
        for part in filter(None, p.get("numericFilters", "").split(",")):
            match = re.fullmatch(r"created_at_i>(\d+)", part)
            if not match:
                return Response(400, {"message": f"bad numericFilters {part}", "status": 400})
            since = int(match.group(1))
        per_page = int(p.get("hitsPerPage", 20))
        page = int(p.get("page", 0))

        def hit(item: dict[str, Any]) -> bool:
            text = " ".join(
                str(item.get(k) or "") for k in ("title", "story_text", "comment_text")
            ).casefold()
            return (
                item["created_at_i"] > since
                and (not tags or any(t in item["_tags"] for t in tags))
                and all(re.search(rf"\b{re.escape(w)}", text) for w in words)
            )

        found = sorted(filter(hit, self.items), key=lambda i: i["created_at_i"], reverse=True)
        pages = math.ceil(len(found) / per_page) if found else 0
        return Response(
            200,
            {
                "hits": found[page * per_page : (page + 1) * per_page],
                "nbHits": len(found),
                "page": page,
                "nbPages": pages,
                "hitsPerPage": per_page,
                "exhaustiveNbHits": True,
                "query": p.get("query", ""),
                "params": "",
                "processingTimeMS": 1,
            },
        )
