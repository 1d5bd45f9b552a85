"""A stand-in for Trustpilot's Business Units API (public), https://developers.trustpilot.com/.

Serves, from in-memory business units and their reviews in the documented format:

- ``GET /v1/business-units/{businessUnitId}/reviews``: ``orderBy`` (``createdat.desc``, the
  default, or ``createdat.asc``), ``perPage`` (1-100, default 20; outside it 400), ``page``
  (from 1, default 1; a page past the end is ``{"reviews": []}``). The answer is
  ``{"links": [...], "reviews": [...]}``; ``links`` has ``next-page``/``prev-page`` hrefs.
  Reviews ``deleted`` by their author are no longer listed.
- ``GET /v1/business-units/find?name=<domain>``: the unit whose ``name.identifying`` or
  ``name.referring`` is that domain; 404 otherwise.

The API key is read from the ``apikey`` header or query parameter. No key, or one the
stand-in does not know, is 401; a known key that does not belong to the unit asked for is 403
(as Trustpilot answers a key of another business). An unknown unit is 404. Trustpilot does not
document its error bodies; the stand-in sends a JSON ``{"fault": {"faultstring": ...}}`` body,
which the connector must not depend on. ``rate_limit``: past that many requests, 429 with a
Retry-After.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.standins.server import Request, Response

_ids = itertools.count(1)


def stamp(when: datetime) -> str:
    """Trustpilot's format: ISO 8601 with a Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def new_id() -> str:
    return f"{next(_ids):024x}"


@dataclass
class Review:
    """One review as the stand-in keeps it; ``as_json`` is what the API sends."""

    stars: int
    text: str
    title: str = ""
    created: datetime = field(default_factory=lambda: ago(minutes=5))
    updated: datetime | None = None
    author: str = "Jane D."
    reviews_written: int = 3
    reply: str | None = None
    replied: datetime | None = None
    reply_updated: datetime | None = None
    deleted: bool = False
    id: str = field(default_factory=new_id)

    def edit(self, *, stars: int | None = None, text: str | None = None) -> None:
        self.stars = stars if stars is not None else self.stars
        self.text = text if text is not None else self.text
        self.updated = datetime.now(UTC)

    def answer(self, text: str) -> None:
        now = datetime.now(UTC)
        if self.reply is None:
            self.replied = now
        else:
            self.reply_updated = now
        self.reply = text

    def as_json(self, unit: Unit) -> dict[str, Any]:
        body: dict[str, Any] = {
            "links": [
                {"href": f"/v1/reviews/{self.id}", "method": "GET", "rel": "reviews"},
            ],
            "id": self.id,
            "consumer": {
                "links": [],
                "id": f"{abs(hash(self.author)) % 16**24:024x}",
                "displayName": self.author,
                "displayLocation": None,
                "numberOfReviews": self.reviews_written,
            },
            "businessUnit": {
                "id": unit.id,
                "identifyingName": unit.domain,
                "displayName": unit.name,
            },
            "stars": self.stars,
            "title": self.title,
            "text": self.text,
            "language": "en",
            "createdAt": stamp(self.created),
            "experiencedAt": stamp(self.created - timedelta(days=1)),
            "updatedAt": stamp(self.updated) if self.updated else None,
            "companyReply": None,
            "isVerified": False,
            "numberOfLikes": 0,
            "status": "active",
            "reportData": None,
            "countsTowardsTrustScore": True,
        }
        if self.reply is not None and self.replied is not None:
            body["companyReply"] = {
                "text": self.reply,
                "authorBusinessUserId": "507f191e810c19729de860ea",
                "authorBusinessUserName": "The owner",
                "createdAt": stamp(self.replied),
                "updatedAt": stamp(self.reply_updated) if self.reply_updated else None,
            }
        return body


@dataclass
class Unit:
    domain: str
    name: str = "Acme"
    id: str = field(default_factory=new_id)
    reviews: list[Review] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)  # the API keys of this business


def _fault(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"fault": {"faultstring": text}}, headers or {})


class TrustpilotAPI:
    """The Route: ``units`` with their reviews and keys."""

    def __init__(self, units: list[Unit], *, rate_limit: int | None = None) -> None:
        self.units = {u.id: u for u in units}
        self.rate_limit = rate_limit
        self.served = 0

    def __call__(self, request: Request) -> Response:
        self.served += 1
        if self.rate_limit is not None and self.served > self.rate_limit:
            return _fault(429, "Rate limit quota violation", {"Retry-After": "60"})
        key = request.headers.get("apikey") or request.params.get("apikey")
        known = {k for u in self.units.values() for k in u.keys}
        if not key or key not in known:
            return _fault(401, "Invalid ApiKey")
        parts = request.path.strip("/").split("/")
        if parts[:2] != ["v1", "business-units"] or len(parts) < 3:
            return _fault(404, "Not found")
        if parts[2] == "find" and len(parts) == 3:
            return self._find(request)
        unit = self.units.get(parts[2])
        if unit is None:
            return _fault(404, "Business unit not found")
        if len(parts) == 4 and parts[3] == "reviews":
            if key not in unit.keys:
                return _fault(403, "Forbidden")
            return self._reviews(unit, request)
        return _fault(404, "Not found")

    def _find(self, request: Request) -> Response:
        name = request.params.get("name", "").lower()
        for unit in self.units.values():
            if name in (unit.domain, f"www.{unit.domain}"):
                return Response(
                    200,
                    {
                        "links": [],
                        "id": unit.id,
                        "displayName": unit.name,
                        "name": {
                            "identifying": unit.domain,
                            "referring": [unit.domain, f"www.{unit.domain}"],
                        },
                        "status": "active",
                        "numberOfReviews": {"total": len(unit.reviews)},
                    },
                )
        return _fault(404, "Business unit not found")

    def _reviews(self, unit: Unit, request: Request) -> Response:
        try:
            per_page = int(request.params.get("perPage", "20"))
            page = int(request.params.get("page", "1"))
        except ValueError:
            return _fault(400, "Bad request")
        if not 1 <= per_page <= 100 or page < 1:
            return _fault(400, "perPage must be 1-100 and page at least 1")
        order = request.params.get("orderBy", "createdat.desc")
        if order not in ("createdat.desc", "createdat.asc"):
            return _fault(400, "Unsupported orderBy")
        listed = sorted(
            (r for r in unit.reviews if not r.deleted),
            key=lambda r: r.created,
            reverse=order == "createdat.desc",
        )
        chunk = listed[(page - 1) * per_page : page * per_page]
        base = f"/v1/business-units/{unit.id}/reviews?orderBy={order}&perPage={per_page}"
        links = []
        if page * per_page < len(listed):
            links.append({"href": f"{base}&page={page + 1}", "method": "GET", "rel": "next-page"})
        if page > 1:
            links.append({"href": f"{base}&page={page - 1}", "method": "GET", "rel": "prev-page"})
        return Response(200, {"links": links, "reviews": [r.as_json(unit) for r in chunk]})
