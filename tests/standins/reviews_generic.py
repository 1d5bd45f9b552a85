"""A minimal review API on loopback, for the core's review tests (not a real provider's).

It is shaped like the review APIs of issue 14 (Google's Business Profile reviews,
Trustpilot's business-unit reviews): ``GET /v1/places/<place>/reviews`` lists the
place's reviews ordered by update time, oldest first, only those updated after
``updatedAfter`` (an ISO 8601 time, exclusive), ``pageSize`` (default 2) at a time with
``nextPageToken``/``pageToken``. Each review: ``id`` (stable across edits), ``rating``
(1-5), ``comment``, ``reviewer``, ``createTime``, ``updateTime`` (moves forward on an
edit, as Google's does), ``reviewReply`` (``{"comment", "updateTime"}``, the business's
answer, or absent) and ``deleted`` (true for a review withdrawn since). An edit or a
reply moves ``updateTime``, so a cursor on update time sees the review again.
Requests need ``Authorization: Bearer <token>``: 401 with a JSON error without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.standins.server import Request, Response

PREFIX = "/v1/places/"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Review:
    id: str
    rating: int
    comment: str
    reviewer: str
    created: datetime
    updated: datetime
    reply: tuple[str, datetime] | None = None
    deleted: bool = False

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "rating": self.rating,
            "comment": self.comment,
            "reviewer": self.reviewer,
            "createTime": iso(self.created),
            "updateTime": iso(self.updated),
            "deleted": self.deleted,
        }
        if self.reply is not None:
            body["reviewReply"] = {"comment": self.reply[0], "updateTime": iso(self.reply[1])}
        return body


class ReviewsAPI:
    """The stand-in: ``post``, ``edit``, ``reply`` and ``delete`` change its reviews."""

    def __init__(self, token: str = "test-token") -> None:
        self.token = token
        self.places: dict[str, dict[str, Review]] = {}
        self.clock = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def _tick(self) -> datetime:
        self.clock += timedelta(minutes=1)
        return self.clock

    def post(self, place: str, review_id: str, rating: int, comment: str, reviewer: str) -> None:
        now = self._tick()
        self.places.setdefault(place, {})[review_id] = Review(
            review_id, rating, comment, reviewer, now, now
        )

    def edit(self, place: str, review_id: str, rating: int, comment: str) -> None:
        review = self.places[place][review_id]
        review.rating, review.comment, review.updated = rating, comment, self._tick()

    def reply(self, place: str, review_id: str, comment: str) -> datetime:
        review = self.places[place][review_id]
        review.updated = self._tick()
        review.reply = (comment, review.updated)
        return review.updated

    def delete(self, place: str, review_id: str) -> None:
        review = self.places[place][review_id]
        review.deleted, review.updated = True, self._tick()

    def __call__(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response(
                401, {"error": {"code": 401, "message": "Request had invalid credentials."}}
            )
        parts = request.path.removeprefix(PREFIX).split("/")
        if not request.path.startswith(PREFIX) or len(parts) != 2 or parts[1] != "reviews":
            return Response(404, {"error": {"code": 404, "message": "Not found."}})
        if parts[0] not in self.places:
            return Response(404, {"error": {"code": 404, "message": "No such place."}})
        after = request.params.get("updatedAfter")
        since = datetime.fromisoformat(after) if after else None
        listed = sorted(
            (r for r in self.places[parts[0]].values() if since is None or r.updated > since),
            key=lambda r: (r.updated, r.id),
        )
        start = int(request.params.get("pageToken") or 0)
        size = int(request.params.get("pageSize") or 2)
        page = listed[start : start + size]
        body: dict[str, Any] = {"reviews": [r.json() for r in page]}
        if start + size < len(listed):
            body["nextPageToken"] = str(start + size)
        return Response(200, body)
