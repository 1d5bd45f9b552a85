"""A tiny review connector for the core's tests, over tests/standins/reviews_generic.py.

It follows the review-source conventions of issue 14 (the real ones are
connectors/google_reviews.py, trustpilot.py, youtube.py): one place of the owner's,
configured with the ``brand`` it belongs to; every review is a Mention with
``own_page``, ``brand_hint``, ``rating``, ``edited_at`` (when the update time is later
than the creation time and not just the business's reply), ``owner_replied_at`` and
``deleted``; the cursor is the newest update time seen, so an edited or answered
review comes again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar

from pydantic import SecretStr

from connectors.base import Connector, FetchResult, SourceConfig, one_item
from monitor.http import get_json
from monitor.models import Mention


class ReviewsConfig(SourceConfig):
    base_url: str
    place: str
    brand: str
    token: SecretStr


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


class ReviewsConnector(Connector):
    """The owner's reviews of one place, newest updates last."""

    name: ClassVar[str] = "reviews"
    per_brand: ClassVar[bool] = False
    config: ReviewsConfig

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        mentions: list[Mention] = []
        for page, new_cursor in self.fetch_pages(queries, cursor):
            mentions.extend(page)
            cursor = new_cursor
        return mentions, cursor

    def fetch_pages(self, queries: Sequence[str], cursor: str | None) -> Iterator[FetchResult]:
        token: str | None = None
        while True:
            params: dict[str, str] = {}
            if cursor:
                params["updatedAfter"] = cursor
            if token:
                params["pageToken"] = token
            body = get_json(
                self.http,
                self.name,
                f"{self.base_url}/v1/places/{self.config.place}/reviews",
                params=params,
                headers={"Authorization": f"Bearer {self.config.token.get_secret_value()}"},
            )
            items = body.get("reviews") or []
            mentions = [m for m in (self.review(r) for r in items) if m is not None]
            if items:
                cursor = max(str(r["updateTime"]) for r in items)
            yield mentions, cursor
            token = body.get("nextPageToken")
            if not token:
                return

    @one_item
    def review(self, item: dict[str, Any]) -> Mention:
        created, updated = _time(item["createTime"]), _time(item["updateTime"])
        reply = item.get("reviewReply")
        replied = _time(reply["updateTime"]) if reply else None
        # In this API a reply moves updateTime too: that is not the author's edit.
        edited = updated if updated > created and updated != replied else None
        return Mention(
            source=self.name,
            external_id=str(item["id"]),
            url=f"https://reviews.example/{self.config.place}/{item['id']}",
            author=str(item["reviewer"]),
            text=str(item.get("comment") or ""),
            created_at=created,
            brand_hint=self.config.brand,
            own_page=True,
            rating=float(item["rating"]),
            edited_at=edited,
            owner_replied_at=replied,
            deleted=bool(item.get("deleted")),
        )
