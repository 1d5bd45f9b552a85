"""A stand-in for Google's OAuth token endpoint and the My Business API v4 reviews list.

- ``POST /token`` (form: ``client_id``, ``client_secret``, ``refresh_token``,
  ``grant_type=refresh_token``): ``{"access_token", "expires_in", "scope", "token_type"}``; a
  revoked or unknown refresh token is 400 ``{"error": "invalid_grant", "error_description":
  "Token has been expired or revoked."}``, a wrong client 401 ``invalid_client``, as Google does.
- ``GET /v4/accounts/{a}/locations/{l}/reviews`` (``pageSize`` at most 50, ``pageToken``,
  ``orderBy`` one of ``updateTime desc`` (the default), ``rating``, ``rating desc``): the
  location's reviews in that order, ``{"reviews", "averageRating", "totalReviewCount",
  "nextPageToken"}``, every empty field left out (a place without reviews answers ``{}``).
  It needs ``Authorization: Bearer <a token from /token, not expired>``, else 401
  UNAUTHENTICATED. Errors are Google's ``{"error": {"code", "message", "status",
  "details"}}``: 404 NOT_FOUND for an unknown location, 403 PERMISSION_DENIED with reason
  SERVICE_DISABLED when the API is ``disabled``, plain PERMISSION_DENIED for a location the
  account does not manage, 429 RESOURCE_EXHAUSTED (no Retry-After, as Google) while the
  project is not ``approved``, 400 INVALID_ARGUMENT for a bad pageSize or orderBy.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from tests.standins.server import Request, Response

CLIENT_ID = "1234-test.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-test-client-secret-9876"
REFRESH_TOKEN = "1//0g-test-refresh-token-4242"
SCOPE = "https://www.googleapis.com/auth/business.manage"
ACCOUNT = "111"
LOCATION = "222"
_PATH = re.compile(r"^/v4/accounts/(\d+)/locations/(\d+)/reviews$")
STARS = ("ONE", "TWO", "THREE", "FOUR", "FIVE")


def stamp(epoch: float) -> str:
    """Google's RFC 3339 with nanoseconds: ``2026-12-03T08:00:00.123456789Z``."""
    whole = datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S")
    nanos = min(round((epoch - int(epoch)) * 1e9), 999_999_999)
    return f"{whole}.{nanos:09d}Z"


def review(
    rid: str,
    comment: str | None,
    stars: int = 1,
    *,
    created: float | None = None,
    updated: float | None = None,
    reviewer: str = "Jo Bloggs",
    anonymous: bool = False,
    location: tuple[str, str] = (ACCOUNT, LOCATION),
) -> dict[str, Any]:
    """A Review as the API sends it (``comment`` None: a rating without words)."""
    created = time.time() - 60 if created is None else created
    item: dict[str, Any] = {
        "name": f"accounts/{location[0]}/locations/{location[1]}/reviews/{rid}",
        "reviewId": rid,
        "reviewer": {"displayName": reviewer, "profilePhotoUrl": "https://lh3.example/p.jpg"},
        "starRating": STARS[stars - 1],
        "createTime": stamp(created),
        "updateTime": stamp(created if updated is None else updated),
    }
    if anonymous:
        item["reviewer"] = {"isAnonymous": True}
    if comment is not None:
        item["comment"] = comment
    return item


def error(code: int, status: str, message: str, reason: str | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason:
        body["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "mybusiness.googleapis.com"},
            }
        ]
    return Response(code, {"error": body})


@dataclass
class GoogleAPI:
    """The token endpoint and the reviews of each location, keyed by (account, location)."""

    places: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    refresh_token: str = REFRESH_TOKEN
    revoked: bool = False
    approved: bool = True
    disabled: bool = False
    forbidden: set[tuple[str, str]] = field(default_factory=set)
    token_life: int = 3599
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry
    token_requests: int = 0
    list_requests: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: dict[str, Any], place: tuple[str, str] = (ACCOUNT, LOCATION)) -> None:
        self.places.setdefault(place, []).append(item)

    def find(self, rid: str) -> dict[str, Any]:
        return next(r for items in self.places.values() for r in items if r["reviewId"] == rid)

    def edit(self, rid: str, comment: str, stars: int, when: float | None = None) -> None:
        item = self.find(rid)
        item.update(comment=comment, starRating=STARS[stars - 1])
        item["updateTime"] = stamp(time.time() if when is None else when)

    def reply(self, rid: str, comment: str, when: float | None = None) -> None:
        """The owner answers: Google sets ``reviewReply`` and leaves the review's updateTime."""
        moment = time.time() if when is None else when
        self.find(rid)["reviewReply"] = {"comment": comment, "updateTime": stamp(moment)}

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def __call__(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/token":
            return self._token(request)
        match = _PATH.match(request.path)
        if request.method == "GET" and match:
            return self._reviews(request, (match.group(1), match.group(2)))
        return error(404, "NOT_FOUND", "Requested entity was not found.")

    def _token(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        with self._lock:
            self.token_requests += 1
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Response(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type"})
        if self.revoked or form.get("refresh_token") != self.refresh_token:
            return Response(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        token = f"ya29.test-access-{next(self._ids)}"
        with self._lock:
            self.tokens[token] = time.time() + self.token_life
        return Response(
            200,
            {
                "access_token": token,
                "expires_in": self.token_life,
                "scope": SCOPE,
                "token_type": "Bearer",
            },
        )

    def _reviews(self, request: Request, place: tuple[str, str]) -> Response:
        with self._lock:
            self.list_requests += 1
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.tokens.get(bearer, 0) < time.time():
            return error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token,"
                " login cookie or other valid authentication credential.",
                "ACCESS_TOKEN_EXPIRED" if bearer in self.tokens else "CREDENTIALS_MISSING",
            )
        if self.disabled:
            return error(
                403,
                "PERMISSION_DENIED",
                "Google My Business API has not been used in project 555 before or it is"
                " disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
                "mybusiness.googleapis.com/overview?project=555 then retry.",
                "SERVICE_DISABLED",
            )
        if not self.approved:
            return error(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of"
                " service 'mybusiness.googleapis.com' for consumer 'project_number:555'.",
                "RATE_LIMIT_EXCEEDED",
            )
        if place in self.forbidden:
            return error(403, "PERMISSION_DENIED", "The caller does not have permission")
        if place not in self.places:
            return error(404, "NOT_FOUND", "Requested entity was not found.")
        size = int(request.params.get("pageSize") or 50)
        order = request.params.get("orderBy", "updateTime desc")
        if not 1 <= size <= 50 or order not in ("updateTime desc", "rating", "rating desc"):
            return error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        items = list(self.places[place])
        if order == "updateTime desc":
            items.sort(key=lambda r: r["updateTime"], reverse=True)
        else:
            items.sort(key=lambda r: STARS.index(r["starRating"]), reverse=order == "rating desc")
        start = int(request.params.get("pageToken") or 0)
        page = items[start : start + size]
        body: dict[str, Any] = {}
        if items:
            body["reviews"] = page
            body["averageRating"] = sum(STARS.index(r["starRating"]) + 1 for r in items) / len(
                items
            )
            body["totalReviewCount"] = len(items)
        if start + size < len(items):
            body["nextPageToken"] = str(start + size)
        return Response(200, body)
