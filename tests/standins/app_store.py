"""A stand-in for App Store Connect API's customer reviews and Apple's public reviews feed.

App Store Connect (https://developer.apple.com/documentation/appstoreconnectapi):

- every request needs ``Authorization: Bearer <JWT>``, verified as Apple does: signed ES256
  by the key registered here (``Key``), header ``kid`` that key's id and ``typ: JWT``, claims
  ``iss`` (the issuer), ``aud: appstoreconnect-v1``, ``iat`` and ``exp`` not past, at most 20
  minutes apart. Anything else is 401 ``NOT_AUTHORIZED``. A key whose ``role`` cannot read
  reviews gets 403 ``FORBIDDEN_ERROR``.
- ``GET /v1/apps/{id}`` (``fields[apps]``): the app; 404 ``NOT_FOUND`` for another id.
- ``GET /v1/apps/{id}/customerReviews``: ``sort`` (``createdDate``, ``-createdDate``,
  ``rating``, ``-rating``), ``limit`` (1-200, default 50; else 400 ``PARAMETER_ERROR.INVALID``),
  ``include=response`` (the responses in ``included``), ``cursor`` (from ``links.next``, an
  absolute URL). ``{"data", "included", "links": {"self", "next"}, "meta": {"paging"}}``.
- every answer carries ``X-Rate-Limit: user-hour-lim:L;user-hour-rem:R;``; past ``hour_limit``
  requests it is 429 ``RATE_LIMIT_EXCEEDED`` (Apple documents no Retry-After).
- errors are ``{"errors": [{"id", "status", "code", "title", "detail"}]}``.

The feed, ``GET /{country}/rss/customerreviews/page={n}/id={id}/sortby=mostrecent/json``:
that country's reviews, newest ``updated`` first, 50 a page, pages 1 to 10 (else 400); each
value wrapped in ``{"label": ...}``; no ``entry`` when a page is empty, and one entry alone
as an object rather than a list. Reviews the reviewer edits keep their id in both.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.standins.server import Request, Response

ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
KEY_ID = "2X9R4HXF34"
APP_ID = "1234567890"
RIVAL = "2222222222"  # a competitor's app
_ids = itertools.count(1)
_FEED = re.compile(r"^/([a-z]{2})/rss/customerreviews/page=(\d+)/id=(\d+)/sortby=mostrecent/json$")
_APP = re.compile(r"^/v1/apps/(\d+)(/customerReviews)?$")
PACIFIC = timezone(timedelta(hours=-8))


def new_key() -> tuple[str, ec.EllipticCurvePublicKey]:
    """A fresh P-256 key, as App Store Connect makes them: (the .p8 text, its public half)."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, private.public_key()


def apple_time(moment: datetime) -> str:
    """Apple's ISO 8601 with a Pacific offset: ``2017-11-15T08:10:34-08:00``."""
    return moment.astimezone(PACIFIC).replace(microsecond=0).isoformat()


def ago(**delta: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(**delta)


@dataclass
class Review:
    rating: int
    body: str
    title: str = "About the app"
    nickname: str = "Appfan99"
    created: datetime = field(default_factory=lambda: ago(minutes=10))
    territory: str = "USA"
    country: str = "us"
    version: str = "2.4.1"
    updated: datetime | None = None  # when the reviewer last changed it (the feed's `updated`)
    response: tuple[str, datetime, str] | None = None  # body, lastModifiedDate, state
    id: str = field(default_factory=lambda: f"00000028-b08c-0014-{next(_ids):04x}-fbd500000000")
    feed_id: str = field(default_factory=lambda: str(9_000_000_000 + next(_ids)))

    def edit(self, rating: int, body: str) -> None:
        self.rating, self.body = rating, body
        self.updated = ago()

    def answer(self, text: str, state: str = "PUBLISHED") -> None:
        self.response = (text, ago(), state)

    def resource(self) -> dict[str, Any]:
        link = f"https://api.appstoreconnect.apple.com/v1/customerReviews/{self.id}"
        related: dict[str, Any] = {
            "links": {"self": f"{link}/relationships/response", "related": f"{link}/response"}
        }
        return {
            "type": "customerReviews",
            "id": self.id,
            "attributes": {
                "rating": self.rating,
                "title": self.title,
                "body": self.body,
                "reviewerNickname": self.nickname,
                "createdDate": apple_time(self.created),
                "territory": self.territory,
            },
            "relationships": {"response": related},
            "links": {"self": link},
        }

    def entry(self) -> dict[str, Any]:
        return {
            "author": {
                "uri": {"label": f"https://itunes.apple.com/{self.country}/reviews/id7148108"},
                "name": {"label": self.nickname},
                "label": "",
            },
            "updated": {"label": apple_time(self.updated or self.created)},
            "im:rating": {"label": str(self.rating)},
            "im:version": {"label": self.version},
            "id": {"label": self.feed_id},
            "title": {"label": self.title},
            "content": {"label": self.body, "attributes": {"type": "text"}},
            "link": {"attributes": {"rel": "related", "href": "https://apps.apple.com/review"}},
            "im:voteSum": {"label": "0"},
            "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
            "im:voteCount": {"label": "0"},
        }


def error(status: int, code: str, title: str, detail: str) -> Response:
    body = {"errors": [{"id": str(uuid.uuid4()), "status": str(status), "code": code}]}
    body["errors"][0].update(title=title, detail=detail)
    return Response(status, body)


@dataclass
class AppStore:
    """Both APIs over the same apps: ``apps`` maps an app id to (name, reviews)."""

    public_key: ec.EllipticCurvePublicKey
    apps: dict[str, tuple[str, list[Review]]] = field(default_factory=dict)
    key_id: str = KEY_ID
    issuer: str = ISSUER
    can_read_reviews: bool = True  # the key's role
    hour_limit: int = 3600
    served: int = 0
    feed_requests: int = 0
    tokens: list[dict[str, Any]] = field(default_factory=list)  # the claims of each accepted JWT

    def add(self, review: Review, app: str = APP_ID, name: str = "Acme App") -> Review:
        self.apps.setdefault(app, (name, []))[1].append(review)
        return review

    def __call__(self, request: Request) -> Response:
        feed = _FEED.match(request.path)
        if feed:
            return self._feed(feed.group(1), int(feed.group(2)), feed.group(3))
        self.served += 1
        left = max(0, self.hour_limit - self.served)
        limits = {"X-Rate-Limit": f"user-hour-lim:{self.hour_limit};user-hour-rem:{left};"}
        answer = self._connect(request) if self.served <= self.hour_limit else self._too_many()
        answer.headers.update(limits)
        return answer

    # ---------------------------------------------------------------- App Store Connect

    def _too_many(self) -> Response:
        return error(
            429,
            "RATE_LIMIT_EXCEEDED",
            "The request rate limit has been reached.",
            "We've received too many requests for this API. Please wait and try again or slow"
            " down your request rate.",
        )

    def _authorized(self, request: Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["ES256"],
                audience="appstoreconnect-v1",
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError:
            return False
        if header.get("kid") != self.key_id or header.get("typ") != "JWT":
            return False
        if claims["exp"] - claims["iat"] > 20 * 60 or claims["iat"] > time.time() + 60:
            return False
        self.tokens.append(claims)
        return True

    def _connect(self, request: Request) -> Response:
        if not self._authorized(request):
            return error(
                401,
                "NOT_AUTHORIZED",
                "Authentication credentials are missing or invalid.",
                "Provide a properly configured and signed bearer token, and make sure that it"
                " has not expired. Learn more about Generating Tokens for API Requests"
                " https://developer.apple.com/go/?id=api-generating-tokens",
            )
        match = _APP.match(request.path)
        if not match or match.group(1) not in self.apps:
            return error(
                404,
                "NOT_FOUND",
                "The specified resource does not exist",
                f"The path provided does not match a defined resource type. ({request.path})",
            )
        name, reviews = self.apps[match.group(1)]
        if not match.group(2):
            attributes = {"name": name, "bundleId": "com.acme.app", "sku": "ACME1"}
            wanted = request.params.get("fields[apps]")
            if wanted:
                attributes = {k: v for k, v in attributes.items() if k in wanted.split(",")}
            return Response(
                200, {"data": {"type": "apps", "id": match.group(1), "attributes": attributes}}
            )
        if not self.can_read_reviews:
            return error(
                403,
                "FORBIDDEN_ERROR",
                "This request is forbidden for security reasons",
                "The API key in use does not allow this request",
            )
        return self._reviews(request, reviews)

    def _reviews(self, request: Request, reviews: list[Review]) -> Response:
        try:
            limit = int(request.params.get("limit", "50"))
            start = int(request.params.get("cursor", "0"))
        except ValueError:
            limit = 0
        sort = request.params.get("sort", "-createdDate")
        if not 1 <= limit <= 200 or sort not in (
            "createdDate",
            "-createdDate",
            "rating",
            "-rating",
        ):
            return error(
                400,
                "PARAMETER_ERROR.INVALID",
                "A parameter has an invalid value",
                f"'{request.params.get('limit')}' is not a valid value for 'limit'",
            )
        key = (lambda r: r.created) if sort.endswith("createdDate") else (lambda r: r.rating)
        listed = sorted(reviews, key=key, reverse=sort.startswith("-"))
        page = listed[start : start + limit]
        data = [r.resource() for r in page]
        included = []
        if "response" in request.params.get("include", "").split(","):
            for review, item in zip(page, data, strict=True):
                rel = item["relationships"]["response"]
                rel["data"] = None
                if review.response is not None:
                    rid = f"resp-{review.id}"
                    rel["data"] = {"type": "customerReviewResponses", "id": rid}
                    text, modified, state = review.response
                    included.append(
                        {
                            "type": "customerReviewResponses",
                            "id": rid,
                            "attributes": {
                                "responseBody": text,
                                "lastModifiedDate": apple_time(modified),
                                "state": state,
                            },
                        }
                    )
        here = f"http://{request.headers.get('host')}{request.path}"
        links = {"self": f"{here}?{urlencode(request.params)}"}
        if start + limit < len(listed):
            links["next"] = f"{here}?{urlencode({**request.params, 'cursor': start + limit})}"
        body: dict[str, Any] = {
            "data": data,
            "links": links,
            "meta": {"paging": {"total": len(listed), "limit": limit}},
        }
        if included:
            body["included"] = included
        return Response(200, body)

    # ---------------------------------------------------------------- the public feed

    def _feed(self, country: str, page: int, app: str) -> Response:
        self.feed_requests += 1
        if not 1 <= page <= 10:
            return Response(400, b"Invalid page", {"Content-Type": "text/plain"})
        reviews = [r for r in self.apps.get(app, ("", []))[1] if r.country == country]
        reviews.sort(key=lambda r: r.updated or r.created, reverse=True)
        chunk = [r.entry() for r in reviews[(page - 1) * 50 : page * 50]]
        feed: dict[str, Any] = {
            "author": {
                "name": {"label": "iTunes Store"},
                "uri": {"label": "http://www.apple.com/"},
            },
            "updated": {"label": apple_time(datetime.now(UTC))},
            "id": {
                "label": f"https://itunes.apple.com/{country}/rss/customerreviews/id={app}/json"
            },
            "title": {"label": "iTunes Store: Customer Reviews"},
        }
        if chunk:
            feed["entry"] = chunk[0] if len(chunk) == 1 else chunk
        return Response(200, {"feed": feed})


def two_apps(public_key: ec.EllipticCurvePublicKey) -> AppStore:
    """The stand-in with the owner's app (``APP_ID``, "Acme App") and a competitor's
    (``RIVAL``), both without reviews yet."""
    store = AppStore(public_key)
    store.apps[APP_ID] = ("Acme App", [])
    store.apps[RIVAL] = ("Rival App", [])
    return store
