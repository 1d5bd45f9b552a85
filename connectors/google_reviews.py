"""Google reviews of the owner's own Business Profile locations.

API: Google My Business API v4, ``GET /v4/accounts/{a}/locations/{l}/reviews``
(https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews/list)
with ``orderBy=updateTime desc``, ``pageSize`` (at most 50) and ``pageToken``; the answer is
``{"reviews": [Review], "averageRating", "totalReviewCount", "nextPageToken"}``, every field
left out when empty. A Review has ``name``, ``reviewId``, ``reviewer{displayName,
profilePhotoUrl, isAnonymous}``, ``starRating`` (``ONE``..``FIVE``), ``comment``,
``createTime``, ``updateTime`` and ``reviewReply{comment, updateTime}``.

Auth: OAuth 2.0, the owner's ``client_id``/``client_secret`` and a ``refresh_token`` with the
``https://www.googleapis.com/auth/business.manage`` scope, exchanged at ``token_url``
(``grant_type=refresh_token``) for an access token kept in memory until a minute before it
expires; a 401 from the API drops it and asks for a new one, once. Google refuses a revoked
or expired refresh token with 400 ``invalid_grant``, a wrong client with 401
``invalid_client``. API errors are ``{"error": {"code", "message", "status", "details"}}``;
each refusal becomes an error in the owner's words with its fix (google_errors.py).

Limits: free; 300 requests a minute per Cloud project, and 0 until Google approves the
project's "Application for Basic API Access" (then every call is a 429 RESOURCE_EXHAUSTED).
A poll costs one request per location, plus one per further 50 new or edited reviews, plus
one token request an hour.

``per_brand = False`` and ``own_page``: each location names its brand, and its reviews carry
``brand_hint`` and ``own_page=True`` whatever their words; the keywords are not sent anywhere.

Cursor: ``{"v": 1, "locations": {<account/location>: {"since": newest updateTime seen,
"at": [ids with that updateTime], "replies": {id: reply updateTime or ""}}}}``. Reviews are
read newest-updated first down to ``since``, so an edited review (a newer updateTime) comes
again and the core re-scores it. The reviews on the first page are compared with
``replies`` too: one whose owner reply appeared or changed comes again, so that the reply
marks it answered (Google does not say whether a reply changes the review's updateTime).
A first poll reaches back ``lookback``. Deleted reviews simply stop being listed: the API
has no way to tell them apart from reviews on pages we no longer read.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import httpx
from pydantic import ByteSize, Field, SecretStr, field_validator, model_validator

from connectors.base import (
    Connector,
    FetchResult,
    SourceConfig,
    SourceState,
    one_item,
    response_limit,
)
from connectors.google_errors import api_error, token_error
from monitor.config import Duration, StrictModel
from monitor.errors import AuthError, ConnectorError, ParseError, RateLimited
from monitor.http import json_of, send
from monitor.models import Mention
from monitor.wording import count

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/business.manage"
STARS = {"ONE": 1.0, "TWO": 2.0, "THREE": 3.0, "FOUR": 4.0, "FIVE": 5.0}
PAGE_SIZE = 50  # the API's maximum
REMEMBER_REPLIES = 200  # reviews per location whose reply state is remembered
#: An access token is renewed this long before Google says it expires.
EARLY = 60.0
#: What a Google Maps search for the place looks like (Maps URLs, ``api=1``).
MAPS_SEARCH = "https://www.google.com/maps/search/?api=1&query={}"
#: Keys an answer of reviews.list may have; an object with none of them is not one.
LIST_KEYS = {"reviews", "averageRating", "totalReviewCount", "nextPageToken"}
ANONYMOUS = "A Google user"


class Location(StrictModel):
    """One Business Profile location whose reviews are read."""

    account: str | None = Field(
        default=None,
        description="the account's number (`123` of `accounts/123`); may be left out when"
        " `location` is written whole, `accounts/123/locations/456`",
    )
    location: str = Field(
        description="the location's number (`456` of `locations/456`), or"
        " `accounts/123/locations/456`"
    )
    brand: str = Field(description="the brand (its `name` under `brands:`) these reviews belong to")
    name: str | None = Field(
        default=None,
        description="a label for this place in logs, errors and `check`, e.g. `Main Street`;"
        " unset: the brand's name",
    )
    link: str | None = Field(
        default=None,
        description="the place's Google Maps address (Maps > your place > Share > Copy link),"
        " the link each review opens; unset: a Google Maps search for the brand's name",
    )

    @model_validator(mode="before")
    @classmethod
    def _whole_name(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        value = str(data.get("location") or "").strip().strip("/")
        parts = value.split("/")
        if len(parts) == 4 and parts[0] == "accounts" and parts[2] == "locations":
            if data.get("account") not in (None, parts[1]):
                raise ValueError(f"`account` says {data['account']} but `location` {parts[1]}")
            return {**data, "account": parts[1], "location": parts[3]}
        if len(parts) == 2 and parts[0] == "locations":
            return {**data, "location": parts[1]}
        return data

    @field_validator("account", "location")
    @classmethod
    def _number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().removeprefix("accounts/").removeprefix("locations/")
        if not value.isdigit():
            raise ValueError(
                f"'{value}' is not a Google number: write the digits only, like `123456789`"
            )
        return value

    @field_validator("link")
    @classmethod
    def _web(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("write the whole link, starting with https://")
        return value

    @model_validator(mode="after")
    def _has_account(self) -> Location:
        if self.account is None:
            raise ValueError(
                "say which account the location is in: `account: 123`, or write `location` as"
                " `accounts/123/locations/456`"
            )
        return self

    @property
    def parent(self) -> str:
        return f"accounts/{self.account}/locations/{self.location}"

    @property
    def label(self) -> str:
        return self.name or self.brand


class GoogleReviewsConfig(SourceConfig):
    base_url: str = "https://mybusiness.googleapis.com"
    every: Duration = Field(default=timedelta(minutes=15), description="how often to poll")
    token_url: str = Field(
        default="https://oauth2.googleapis.com/token",
        description="Google's OAuth token address; change it only for a proxy or a test stand-in",
    )
    client_id: str = Field(
        description="the OAuth client's ID (`...apps.googleusercontent.com`), from Google"
        " Cloud console > APIs & Services > Credentials"
    )
    client_secret: SecretStr = Field(
        description="that OAuth client's secret; write `${GOOGLE_CLIENT_SECRET}`"
    )
    refresh_token: SecretStr = Field(
        description="a refresh token of a Google account that manages the locations, with the"
        " `business.manage` scope; write `${GOOGLE_REFRESH_TOKEN}`"
    )
    locations: list[Location] = Field(
        min_length=1, description="the Business Profile locations whose reviews are read"
    )
    lookback: Duration = Field(
        default=timedelta(days=7),
        description="how far back the first poll reaches (older reviews are not reported)",
    )
    max_pages: int = Field(
        default=10,
        ge=1,
        le=100,
        description="at most this many requests (of 50 reviews) per location and poll;"
        " older changes beyond them are skipped, with a warning",
    )
    #: A page is 50 reviews of at most a few kB each.
    max_response: ByteSize = response_limit(5_000_000)

    @model_validator(mode="after")
    def _distinct(self) -> GoogleReviewsConfig:
        seen: set[str] = set()
        for place in self.locations:
            if place.parent in seen:
                raise ValueError(f"location {place.parent} is listed twice")
            seen.add(place.parent)
        return self


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp as Google writes it (``2026-12-01T10:00:00.123456789Z``)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most 6 digits of a fraction; Google sends up to 9
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    when = datetime.fromisoformat(text)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def rating(value: object) -> float | None:
    """``ONE``..``FIVE`` -> 1.0..5.0; ``STAR_RATING_UNSPECIFIED`` or anything else -> None."""
    return STARS.get(value) if isinstance(value, str) else None


@dataclass
class Place:
    """What the cursor keeps of one location."""

    since: str | None = None
    at: list[str] = field(default_factory=list)
    replies: dict[str, str] = field(default_factory=dict)


@dataclass
class _Token:
    value: str = field(repr=False)
    expires: float


class GoogleReviewsConnector(Connector):
    """Reviews of the owner's Google Business Profile locations, edits and replies included."""

    name = "google_reviews"
    Config = GoogleReviewsConfig
    config: GoogleReviewsConfig
    per_brand = False

    def __init__(
        self, config: SourceConfig, http: httpx.Client, state: SourceState | None = None
    ) -> None:
        super().__init__(config, http, state)
        self._token: _Token | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ fetch

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        found: list[Mention] = []
        last = cursor
        for mentions, step in self.fetch_pages(queries, cursor):
            found.extend(mentions)
            last = step
        return found, last

    def fetch_pages(self, queries: Sequence[str], cursor: str | None) -> Iterator[FetchResult]:
        """One step per location, each with the cursor that covers it and those before."""
        places = self._read_cursor(cursor)
        self.behind = None
        errors: list[ConnectorError] = []
        read = 0
        for place in self.config.locations:
            try:
                mentions, kept = self._read_place(place, places.get(place.parent))
            except (AuthError, RateLimited):
                raise  # the same credential and quota serve every location
            except ConnectorError as exc:
                errors.append(exc)
                continue
            read += 1
            places[place.parent] = kept
            yield mentions, self._write_cursor(places)
        if read == 0 and errors:
            raise errors[0]
        for error in errors:
            log.warning("%s; the other locations were read, this one is tried again later", error)

    def _read_place(self, place: Location, known: Place | None) -> tuple[list[Mention], Place]:
        """The new and changed reviews of one location, and what to remember of it."""
        now = datetime.now(UTC)
        since = parse_time(known.since) if known and known.since else None
        floor = since or now - self.config.lookback
        at = set(known.at) if known else set()
        replies = dict(known.replies) if known else {}
        found: dict[str, Mention] = {}
        newest: tuple[datetime, list[str]] | None = None
        seen_replies: dict[str, str] = {}
        token: str | None = None
        first = True
        for _ in range(self.config.max_pages):
            body = self._list(place, token)
            reached = False
            for review in body.get("reviews") or []:
                converted = self._to_mention(place, review)
                if converted is None:
                    continue
                mention, updated, reply = converted
                rid = mention.external_id
                if first:
                    seen_replies[rid] = reply
                if newest is None or updated > newest[0]:
                    newest = (updated, [rid])
                elif updated == newest[0]:
                    newest[1].append(rid)
                fresh = updated > floor or (updated == floor and rid not in at)
                if fresh and not reached:
                    found.setdefault(rid, mention)
                    continue
                reached = reached or updated < floor
                if rid in replies and replies[rid] != reply and reply:
                    found.setdefault(rid, mention)  # the owner answered (again)
            first = False
            token = body.get("nextPageToken") or None
            if reached or not token:
                break
        else:
            if token:
                log.warning(
                    "google_reviews: more than %d new or changed reviews at %s in one poll;"
                    " older changes were skipped (raise max_pages or poll more often)",
                    self.config.max_pages * PAGE_SIZE,
                    place.label,
                )
        kept = Place(known.since if known else None, list(at), {})
        if newest is not None and (since is None or newest[0] >= since):
            stamp = newest[0].isoformat().replace("+00:00", "Z")
            ids = newest[1] + (list(at) if newest[0] == since else [])
            kept = Place(stamp, sorted(set(ids)), {})
        merged = {**replies, **seen_replies}
        kept.replies = dict(list(merged.items())[-REMEMBER_REPLIES:])
        mentions = sorted(found.values(), key=lambda m: m.created_at)
        return mentions, kept

    # ------------------------------------------------------------------ one review

    @one_item
    def _to_mention(self, place: Location, review: dict[str, Any]) -> tuple[Mention, datetime, str]:
        """The review as a Mention, its update time, and its reply's update time ("" if none)."""
        rid = str(review["reviewId"])
        created = parse_time(review.get("createTime"))
        updated = parse_time(review.get("updateTime")) or created
        if created is None or updated is None:
            raise ValueError("a review without createTime")
        reviewer = review.get("reviewer") or {}
        anonymous = bool(reviewer.get("isAnonymous")) or not reviewer.get("displayName")
        reply = review.get("reviewReply") or {}
        replied = parse_time(reply.get("updateTime")) if isinstance(reply, dict) else None
        link = place.link or MAPS_SEARCH.format(quote_plus(place.brand))
        mention = Mention(
            source=self.name,
            external_id=rid,
            url=link,
            author=ANONYMOUS if anonymous else str(reviewer["displayName"]),
            text=str(review.get("comment") or ""),
            created_at=created,
            raw={
                "name": str(review.get("name") or ""),
                "location": place.label,
                "starRating": str(review.get("starRating") or ""),
                "createTime": str(review.get("createTime") or ""),
                "updateTime": str(review.get("updateTime") or ""),
                "reply": str(reply.get("comment") or "") if isinstance(reply, dict) else "",
            },
            brand_hint=place.brand,
            own_page=True,
            rating=rating(review.get("starRating")),
            edited_at=updated if updated - created > timedelta(seconds=1) else None,
            owner_replied_at=replied,
        )
        return mention, updated, replied.isoformat() if replied else ""

    # ------------------------------------------------------------------ wire

    def _list(self, place: Location, token: str | None) -> dict[str, Any]:
        params = {"pageSize": str(PAGE_SIZE), "orderBy": "updateTime desc"}
        if token:
            params["pageToken"] = token
        body = self._api("GET", f"/v4/{place.parent}/reviews", place, params)
        if not isinstance(body, dict) or (body and not LIST_KEYS & body.keys()):
            raise ParseError(self.name, f"{place.label}: the answer is not a list of reviews")
        if not isinstance(body.get("reviews", []), list):
            raise ParseError(self.name, f"{place.label}: `reviews` in the answer is not a list")
        return body

    def _api(self, method: str, path: str, place: Location, params: dict[str, str]) -> Any:
        """One API call with a valid access token; a 401 renews the token once."""
        for attempt in (1, 2):
            token = self._access_token()
            response = send(
                self.http,
                self.name,
                method,
                self.base_url + path,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.config.timeout.total_seconds(),
                max_response=self.config.max_response,
            )
            if response.status_code == 401 and attempt == 1:
                with self._lock:
                    self._token = None
                continue
            if response.status_code >= 400:
                raise api_error(self.name, response, place.label, place.parent)
            return json_of(self.name, response, "the reviews request")
        raise AssertionError("unreachable")  # pragma: no cover

    def _access_token(self) -> str:
        with self._lock:
            if self._token is not None and self._token.expires > time.monotonic():
                return self._token.value
            response = send(
                self.http,
                self.name,
                "POST",
                self.config.token_url,
                data={
                    "client_id": self.config.client_id,
                    "client_secret": self.config.client_secret.get_secret_value(),
                    "refresh_token": self.config.refresh_token.get_secret_value(),
                    "grant_type": "refresh_token",
                },
                timeout=self.config.timeout.total_seconds(),
                max_response=100_000,
            )
            if response.status_code >= 400:
                raise token_error(self.name, response)
            body = json_of(self.name, response, "the token request")
            value = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(value, str) or not value:
                raise ParseError(self.name, "Google's token answer has no access_token")
            try:
                life = float(body.get("expires_in") or 3600)
            except (TypeError, ValueError):
                life = 3600.0
            self._token = _Token(value, time.monotonic() + max(0.0, life - EARLY))
            return value

    # ------------------------------------------------------------------ check

    def check(self, online: bool = False) -> list[str]:
        places = count(len(self.config.locations), "location")
        lines = [f"OAuth client {self.config.client_id}; refresh token set; {places}"]
        if not online:
            return lines
        for place in self.config.locations:
            body = self._list_one(place)
            total = body.get("totalReviewCount", 0)
            average = body.get("averageRating")
            stars = f", {average:.1f} stars on average" if isinstance(average, int | float) else ""
            lines.append(
                f"{place.label} ({place.parent}): OK, {count(int(total), 'review')}{stars}"
            )
        return lines

    def _list_one(self, place: Location) -> dict[str, Any]:
        body = self._api("GET", f"/v4/{place.parent}/reviews", place, {"pageSize": "1"})
        return body if isinstance(body, dict) else {}

    # ------------------------------------------------------------------ cursor

    def _read_cursor(self, cursor: str | None) -> dict[str, Place]:
        if not cursor:
            return {}
        try:
            data = json.loads(cursor)["locations"]
            return {
                str(key): Place(
                    str(value["since"]) if value.get("since") else None,
                    [str(i) for i in value.get("at") or []],
                    {str(k): str(v) for k, v in (value.get("replies") or {}).items()},
                )
                for key, value in data.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("google_reviews: ignoring an unreadable cursor; reading from lookback")
            return {}

    def _write_cursor(self, places: dict[str, Place]) -> str:
        wanted = {p.parent for p in self.config.locations}
        return json.dumps(
            {"v": 1, "locations": {k: vars(v) for k, v in places.items() if k in wanted}}
        )
