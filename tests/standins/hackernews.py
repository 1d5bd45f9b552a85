"""A stand-in for the Algolia Hacker News Search API (https://hn.algolia.com/api).

Serves ``GET /api/v1/search_by_date`` and ``GET /api/v1/search`` from an
in-memory list of items in the documented hit format, honouring ``query``
(every word, case-insensitive, in the title or text, like Algolia's default),
``tags`` (comma-separated tags are ANDed, a parenthesised group is ORed:
``story,(story_1,story_2)``), ``numericFilters`` on ``created_at_i`` with
``<``, ``<=``, ``>``, ``>=`` (comma-separated, ANDed), ``hitsPerPage`` and
``page``; ``search_by_date`` answers newest first. ``nbHits`` counts every
match, as Algolia does, so a client can tell that an answer was cut short.
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
        if request.path not in (f"{PREFIX}/search_by_date", f"{PREFIX}/search"):
            return Response(404, {"message": "Not Found", "status": 404})
        p = request.params
        words = [w.casefold() for w in re.findall(r"\w+", p.get("query", ""))]
        # "a,(b,c)" -> [{"a"}, {"b", "c"}]: every group must have one of its tags.
        groups = [
            set(g.strip("()").split(","))
            for g in re.findall(r"\([^)]*\)|[^,()]+", p.get("tags", ""))
        ]
        tests = []
        for part in filter(None, p.get("numericFilters", "").split(",")):
            match = re.fullmatch(r"created_at_i(<=|>=|<|>)(\d+)", part)
            if not match:
                return Response(400, {"message": f"bad numericFilters {part}", "status": 400})
            tests.append((match.group(1), int(match.group(2))))
        per_page = int(p.get("hitsPerPage", 20))
        page = int(p.get("page", 0))
        compare = {
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }

        def hit(item: dict[str, Any]) -> bool:
            text = " ".join(
                str(item.get(k) or "") for k in ("title", "story_text", "comment_text")
            ).casefold()
            return (
                all(compare[op](item["created_at_i"], n) for op, n in tests)
                and all(group & set(item["_tags"]) for group in groups)
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
