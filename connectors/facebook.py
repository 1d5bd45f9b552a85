"""Facebook: comments, visitor posts, tags and recommendations on the owner's own Pages.

API: Meta Graph API (connectors/meta_graph.py), a Page access token of each Page, with
``pages_read_engagement`` and ``pages_read_user_content`` (``pages_show_list`` to find it).
Per Page and poll, at most four requests, plus one per further page of comments:

- ``GET /{page-id}/published_posts`` with ``limit=max_posts`` and the field expansion
  ``comments.filter(stream).order(reverse_chronological).limit(N){id,message,from,
  created_time,permalink_url,parent{id}}``: the newest ``max_posts`` posts and, in the same
  answer, their newest comments, replies included (``filter=stream`` lists them flat, each
  reply with its ``parent``). A post with more new comments than one page is read on with
  ``/{post-id}/comments`` and the same parameters, at most ``max_pages`` pages.
- ``GET /{page-id}/visitor_posts``: posts by others on the Page (``id,message,from,
  created_time,permalink_url`` and the first comments, for the Page's reply).
- ``GET /{page-id}/tagged``: public posts that tag the Page (``from`` only where Meta gives
  it).
- ``GET /{page-id}/ratings``: recommendations, ``recommendation_type`` ``positive`` (5
  stars) or ``negative`` ("doesn't recommend", 1 star), ``review_text``, ``created_time``,
  ``reviewer``. Meta removed recommendations from Graph API v22.0 (error 12), so the default
  ``base_url`` asks v21.0, available until 21 January 2027; after that Meta answers 12 and the
  source reads the rest without them, saying so once a poll.

Every item is a Mention of the Page's brand (``brand_hint``, ``own_page=True``); the Page's
own posts and comments are not, but a comment by the Page answering an item
(``parent.id``) sets that item's ``owner_replied_at``. Comments carry no edit time: an edit
is seen as changed words and dated when first seen (``edited_at``). A comment removed or
hidden simply stops being listed.

Cursor: connectors/meta_watch.py, one account per Page: ``max_posts`` recent posts are read
whole at every poll, so a new comment on an older post is found as long as the post is among
them; items within ``recheck`` are compared with what was seen, for edits and replies.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from connectors.base import one_item
from connectors.meta_graph import Gone, MetaGraph
from connectors.meta_source import Accounts, Found, MetaConfig, MetaSource, Owned
from connectors.meta_watch import fingerprint, parse_time
from monitor.models import Mention

log = logging.getLogger(__name__)

Edge = Literal["comments", "visitor_posts", "tagged", "recommendations"]
EDGES: tuple[Edge, ...] = ("comments", "visitor_posts", "tagged", "recommendations")
COMMENT_FIELDS = "id,message,from,created_time,permalink_url,parent{id}"
POST_FIELDS = "id,message,from,created_time,permalink_url"
RATING_FIELDS = "created_time,recommendation_type,rating,review_text,reviewer,open_graph_story{id}"
READS = "pages_read_engagement, pages_read_user_content"
SOMEONE = "a Facebook user"
REVIEWS_URL = "https://www.facebook.com/{}/reviews"


class Page(Owned):
    """One of the owner's Facebook Pages."""


class FacebookConfig(MetaConfig):
    pages: Accounts[Page] = Field(description="your Facebook Pages and their brands")
    read: list[Edge] = Field(
        default=list(EDGES),
        min_length=1,
        description="what to read: `comments` (on your posts), `visitor_posts`, `tagged`,"
        " `recommendations`",
    )


class FacebookConnector(MetaSource):
    """Comments, visitor posts, tags and recommendations on the owner's Facebook Pages."""

    name = "facebook"
    Config = FacebookConfig
    config: FacebookConfig
    docs = "docs/sources/facebook.md"

    def owned(self) -> Sequence[Page]:
        return self.config.pages

    def read(self, graph: MetaGraph, account: Owned, since: datetime) -> Found:
        readers = {
            "comments": self._comments,
            "visitor_posts": self._visitor_posts,
            "tagged": self._tagged,
            "recommendations": self._recommendations,
        }
        items: Found = []
        for edge in self.config.read:
            try:
                items += readers[edge](graph, account, since)
            except Gone as exc:
                log.warning("%s; the other parts of %s are read", exc, account.label)
        return items

    def _comments(self, graph: MetaGraph, page: Owned, since: datetime) -> Found:
        limit = self.config.comments_per_post
        stream = f"filter(stream).order(reverse_chronological).limit({limit})"
        stream_params = {"filter": "stream", "order": "reverse_chronological", "limit": str(limit)}
        params = {
            "fields": f"id,permalink_url,created_time,comments.{stream}{{{COMMENT_FIELDS}}}",
            "limit": str(self.config.max_posts),
        }
        (posts,) = graph.edge(
            f"{page.id}/published_posts",
            params,
            where=f"the posts of {page.label}",
            needs=READS,
            pages=1,
        )
        items: Found = []
        for post in posts:
            ask = (f"{post['id']}/comments", {**stream_params, "fields": COMMENT_FIELDS})
            comments = self.thread(
                graph,
                post,
                ask,
                where=f"the comments on a post of {page.label}",
                needs=READS,
                since=since,
            )
            replies: dict[str, datetime] = {}
            for comment in comments:
                parent = (comment.get("parent") or {}).get("id")
                if _by(comment, page.id) and parent:
                    when = parse_time(comment["created_time"])
                    replies[str(parent)] = max(replies.get(str(parent), when), when)
            for comment in comments:
                if _by(comment, page.id):
                    continue
                got = self._item(page, comment, post, replies.get(str(comment.get("id"))))
                if got is not None:
                    items.append(got)
        return items

    def _visitor_posts(self, graph: MetaGraph, page: Owned, since: datetime) -> Found:
        return self._posts(graph, page, "visitor_posts", f"the visitor posts of {page.label}")

    def _tagged(self, graph: MetaGraph, page: Owned, since: datetime) -> Found:
        return self._posts(graph, page, "tagged", f"the posts that tag {page.label}")

    def _posts(self, graph: MetaGraph, page: Owned, edge: str, where: str) -> Found:
        params = {"fields": f"{POST_FIELDS},comments.limit(25){{from,created_time}}", "limit": "25"}
        (posts,) = graph.edge(f"{page.id}/{edge}", params, where=where, needs=READS, pages=1)
        items = []
        for post in posts:
            if _by(post, page.id):
                continue
            answers = [
                parse_time(c["created_time"])
                for c in (post.get("comments") or {}).get("data") or []
                if isinstance(c, dict) and _by(c, page.id) and c.get("created_time")
            ]
            got = self._item(page, post, None, max(answers) if answers else None)
            if got is not None:
                items.append(got)
        return items

    def _recommendations(self, graph: MetaGraph, page: Owned, since: datetime) -> Found:
        params = {"fields": RATING_FIELDS, "limit": "25"}
        (ratings,) = graph.edge(
            f"{page.id}/ratings",
            params,
            where=f"the recommendations of {page.label}",
            needs="pages_read_user_content",
            pages=1,
        )
        return [got for r in ratings if (got := self._rating(page, r)) is not None]

    # ------------------------------------------------------------ one item

    @one_item
    def _item(
        self,
        page: Owned,
        item: dict[str, Any],
        post: dict[str, Any] | None,
        replied: datetime | None,
    ) -> tuple[Mention, str]:
        text = str(item.get("message") or "")
        url = item.get("permalink_url") or (post or {}).get("permalink_url")
        mention = Mention(
            source=self.name,
            external_id=str(item["id"]),
            url=str(url or f"https://www.facebook.com/{item['id']}"),
            author=_name(item),
            text=text,
            created_at=parse_time(item["created_time"]),
            raw={"item": item, "post": (post or {}).get("id")},
            brand_hint=page.brand,
            own_page=True,
            owner_replied_at=replied,
        )
        return mention, fingerprint((text,), replied.isoformat() if replied else "")

    @one_item
    def _rating(self, page: Owned, item: dict[str, Any]) -> tuple[Mention, str]:
        kind = item.get("recommendation_type")
        stars = {"positive": 5.0, "negative": 1.0}.get(str(kind))
        if stars is None and isinstance(item.get("rating"), int | float):
            stars = float(item["rating"])
        created = parse_time(item["created_time"])
        reviewer = _object(item, "reviewer")
        story = _object(item, "open_graph_story")
        who = reviewer.get("id") or reviewer.get("name") or ""
        rid = str(story.get("id") or f"rec-{fingerprint((item['created_time'], who), '')[:8]}")
        verb = {"positive": "Recommends", "negative": "Doesn't recommend"}.get(str(kind), "Rated")
        text = str(item.get("review_text") or "")
        mention = Mention(
            source=self.name,
            external_id=rid,
            url=REVIEWS_URL.format(page.id),
            author=str(reviewer.get("name") or SOMEONE),
            title=f"{verb} {page.brand}",
            text=text,
            created_at=created,
            raw={"recommendation": item},
            brand_hint=page.brand,
            own_page=True,
            rating=stars,
        )
        return mention, fingerprint((text, stars), "")

    def check(self, online: bool = False) -> list[str]:
        def ask(graph: MetaGraph, page: Owned) -> str:
            where = f"the Page {page.id}"
            body = graph.get(page.id, {"fields": "id,name"}, where=where, needs="pages_show_list")
            return f"{page.label} ({page.id}): OK, Meta knows it as '{body.get('name')}'"

        return [f"reading {', '.join(self.config.read)}", *self.check_lines(online, ask)]


def _by(item: dict[str, Any], page_id: str) -> bool:
    author = item.get("from")
    return isinstance(author, dict) and str(author.get("id")) == page_id


def _name(item: dict[str, Any]) -> str:
    author = item.get("from")
    return str(author.get("name") or SOMEONE) if isinstance(author, dict) else SOMEONE


def _object(item: dict[str, Any], key: str) -> dict[str, Any]:
    value = item.get(key)
    return value if isinstance(value, dict) else {}
