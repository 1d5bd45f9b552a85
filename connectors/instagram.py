"""Instagram: comments on the owner's media, and media that tag the business account.

API: Instagram Graph API with Facebook Login (https://developers.facebook.com/docs/
instagram-platform), on graph.facebook.com, through connectors/meta_graph.py, with the Page
access token of the Facebook Page the Instagram professional account is linked to
(``instagram_basic``, ``instagram_manage_comments``, ``pages_read_engagement``,
``pages_show_list``). Per account and poll, two requests, plus one per further page of
comments:

- ``GET /{ig-user-id}/media`` with ``limit=max_posts`` and the field expansion
  ``comments.limit(N){id,text,username,timestamp,from,replies{id,text,username,timestamp,
  from}}``: the newest media and their comments with replies in one answer. A medium with
  more comments than one page is read on with ``/{media-id}/comments``, at most
  ``max_pages`` pages, while they are newer than the last poll.
- ``GET /{ig-user-id}/tags``: media in which others tagged the account (``caption``,
  ``username``, ``timestamp``, ``permalink``).

Every comment (and tagging medium) is a Mention of the account's brand (``brand_hint``,
``own_page=True``) whose link is the medium's ``permalink``; the business's own comments
are not, but its reply under a comment (a reply whose ``username`` is the account's, the
``username`` of its media) sets that comment's ``owner_replied_at``.

Not read: @mentions in other people's captions and comments. Meta gives them only through
webhooks (``mentioned_media``/``mentioned_comment`` need the id a webhook sends), which a
self-hosted poller without a public address cannot receive; Stories are not in the API.

Cursor: connectors/meta_watch.py, one account per Instagram account, as for Facebook.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from connectors.base import one_item
from connectors.meta_graph import MetaGraph
from connectors.meta_source import Accounts, Found, MetaConfig, MetaSource, Owned
from connectors.meta_watch import fingerprint, parse_time
from monitor.models import Mention

Edge = Literal["comments", "tags"]
COMMENT_FIELDS = "id,text,username,timestamp,from"
MEDIA_FIELDS = "id,permalink,timestamp,username"
TAG_FIELDS = "id,caption,username,timestamp,permalink"
READS = "instagram_basic, instagram_manage_comments, pages_read_engagement"
ACCOUNT_URL = "https://www.instagram.com/{}/"


class Account(Owned):
    """One of the owner's Instagram professional (business or creator) accounts."""


class InstagramConfig(MetaConfig):
    accounts: Accounts[Account] = Field(
        description="your Instagram professional accounts and their brands"
    )
    read: list[Edge] = Field(
        default=["comments", "tags"],
        min_length=1,
        description="what to read: `comments` (on your media), `tags` (media tagging you)",
    )


class InstagramConnector(MetaSource):
    """Comments on the owner's Instagram media, and media that tag the account."""

    name = "instagram"
    Config = InstagramConfig
    config: InstagramConfig
    docs = "docs/sources/instagram.md"

    def owned(self) -> Sequence[Account]:
        return self.config.accounts

    def read(self, graph: MetaGraph, account: Owned, since: datetime) -> Found:
        items: Found = []
        if "comments" in self.config.read:
            items += self._comments(graph, account, since)
        if "tags" in self.config.read:
            items += self._tags(graph, account)
        return items

    def _comments(self, graph: MetaGraph, account: Owned, since: datetime) -> Found:
        nested = f"comments.limit({self.config.comments_per_post})"
        replies = f"replies{{{COMMENT_FIELDS}}}"
        params = {
            "fields": f"{MEDIA_FIELDS},{nested}{{{COMMENT_FIELDS},{replies}}}",
            "limit": str(self.config.max_posts),
        }
        where = f"the media of {account.label}"
        (media,) = graph.edge(f"{account.id}/media", params, where=where, needs=READS, pages=1)
        items: Found = []
        for medium in media:
            ask = (
                f"{medium['id']}/comments",
                {
                    "fields": f"{COMMENT_FIELDS},{replies}",
                    "limit": str(self.config.comments_per_post),
                },
            )
            comments = self.thread(
                graph, medium, ask, where=f"the comments on {where}", needs=READS, since=since
            )
            owner = str(medium.get("username") or "")
            for comment in comments:
                if _by(comment, account.id, owner):
                    continue
                got = self._comment(account, comment, medium, owner)
                if got is not None:
                    items.append(got)
        return items

    def _tags(self, graph: MetaGraph, account: Owned) -> Found:
        params = {"fields": TAG_FIELDS, "limit": "25"}
        where = f"the media that tag {account.label}"
        (media,) = graph.edge(f"{account.id}/tags", params, where=where, needs=READS, pages=1)
        return [got for m in media if (got := self._tagging(account, m)) is not None]

    # ------------------------------------------------------------ one item

    @one_item
    def _comment(
        self, account: Owned, comment: dict[str, Any], medium: dict[str, Any], owner: str
    ) -> tuple[Mention, str]:
        answers = [
            parse_time(r["timestamp"])
            for r in (comment.get("replies") or {}).get("data") or []
            if isinstance(r, dict) and _by(r, account.id, owner) and r.get("timestamp")
        ]
        replied = max(answers) if answers else None
        text = str(comment.get("text") or "")
        mention = Mention(
            source=self.name,
            external_id=str(comment["id"]),
            url=str(medium.get("permalink") or ACCOUNT_URL.format(owner)),
            author=str(comment.get("username") or "an Instagram user"),
            text=text,
            created_at=parse_time(comment["timestamp"]),
            raw={"comment": comment, "media": medium.get("id")},
            brand_hint=account.brand,
            own_page=True,
            owner_replied_at=replied,
        )
        return mention, fingerprint((text,), replied.isoformat() if replied else "")

    @one_item
    def _tagging(self, account: Owned, medium: dict[str, Any]) -> tuple[Mention, str]:
        text = str(medium.get("caption") or "")
        mention = Mention(
            source=self.name,
            external_id=str(medium["id"]),
            url=str(medium["permalink"]),
            author=str(medium.get("username") or "an Instagram user"),
            text=text,
            created_at=parse_time(medium["timestamp"]),
            raw={"tagged": medium},
            brand_hint=account.brand,
            own_page=True,
        )
        return mention, fingerprint((text,), "")

    # ------------------------------------------------------------ check

    def check(self, online: bool = False) -> list[str]:
        def ask(graph: MetaGraph, account: Owned) -> str:
            where = f"the Instagram account {account.id}"
            body = graph.get(account.id, {"fields": "id,username"}, where=where, needs=READS)
            return f"{account.label} ({account.id}): OK, @{body.get('username')}"

        return [f"reading {', '.join(self.config.read)}", *self.check_lines(online, ask)]


def _by(comment: dict[str, Any], account_id: str, owner: str) -> bool:
    """Whether the business itself wrote this comment or reply."""
    author = comment.get("from")
    if isinstance(author, dict) and str(author.get("id")) == account_id:
        return True
    return bool(owner) and str(comment.get("username") or "") == owner
