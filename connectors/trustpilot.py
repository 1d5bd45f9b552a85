"""Trustpilot: the reviews of the owner's own business units (their Trustpilot pages).

API: Trustpilot's Business Units API (public part), https://developers.trustpilot.com/
``GET /v1/business-units/{businessUnitId}/reviews`` with ``orderBy=createdat.desc``,
``perPage`` (1-100) and ``page`` (from 1; a page past the end is an empty ``reviews`` list),
and ``GET /v1/business-units/find?name=<domain>`` to turn a domain into a business unit id.
Auth: the owner's API key (Trustpilot Business > Integrations > API), sent in the ``apikey``
header, never in the query string, so no URL we log or quote carries it. 401 is a key
Trustpilot does not know, 403 a key without access (the plan has no API, or the key does
not belong to this business unit), 404 an unknown business unit, 429 the rate limit
(Trustpilot asks for at most 833 calls per 5 minutes and 10,000 an hour per key).

A review is ``id``, ``stars`` (1-5), ``title``, ``text``, ``language``, ``createdAt``,
``updatedAt`` (when the reviewer last changed it), ``consumer`` (``displayName``,
``numberOfReviews``: how many reviews they wrote, not followers, so ``author_followers`` stays
None) and ``companyReply`` (``text``, ``createdAt``, ``updatedAt``): the business's public answer.
Its page is ``https://www.trustpilot.com/reviews/<id>``.

``per_brand = False``: each business unit belongs to one brand (``brand:``), its reviews are
``own_page`` mentions with ``brand_hint`` and are not filtered by keywords.

Cursor: the API orders by creation time only, never by update time. So every poll re-reads the
newest ``recheck_pages`` pages (100 reviews each) and keeps, per unit, a short fingerprint of
each review in them (its stars, title, text, ``updatedAt`` and reply): a review whose
fingerprint changed (edited, re-rated, answered) is returned again, with the same
``external_id``, for the core to re-score. Beyond those pages it reads on only while reviews are
newer than the newest one seen before (a burst), up to ``max_pages``; an edit to a review older
than the re-read pages is not seen (the documented limit). The first poll keeps only reviews
newer than ``lookback``.

Cursor: ``{"v": 1, "units": {<unit id>: {"newest": <createdAt>, "seen": {<id>: <fp>}}}}``.
A ``domain:`` is resolved once with ``find`` and kept in ``self.state`` (``unit:<domain>``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ByteSize, Field, SecretStr, model_validator

from connectors.base import Connector, FetchResult, SourceConfig, one_item, response_limit
from monitor.config import Duration, StrictModel
from monitor.errors import AuthError, ConnectorError, ParseError
from monitor.http import json_of, raise_for_status, send
from monitor.models import Mention
from monitor.wording import count

log = logging.getLogger(__name__)

PER_PAGE = 100  # the API's maximum
REVIEW_URL = "https://www.trustpilot.com/reviews/{}"
AUTH_HINT = (
    "set TRUSTPILOT_API_KEY to your API key: Trustpilot Business (businessapp.b2b.trustpilot.com)"
    " > Integrations > Developers > APIs > your application's API key; config.yaml reads it as"
    " `api_key: ${TRUSTPILOT_API_KEY}` under sources.trustpilot. The API comes with Trustpilot"
    " plans that include API access: ask Trustpilot if your plan has none"
)


class BusinessUnit(StrictModel):
    """One Trustpilot page of the owner's: by its business unit id, or by its domain."""

    id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]{8,64}$",
        description="the business unit id (24 letters and digits, from Trustpilot Business or"
        " `check --online`); or give `domain` instead",
    )
    domain: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
        description="the website the Trustpilot page is for, like `acme-coffee.com`; its id is"
        " looked up once and remembered",
    )
    brand: str = Field(
        description="the brand these reviews are about (its `name` under `brands:`)",
    )

    @model_validator(mode="after")
    def _one_of(self) -> BusinessUnit:
        if (self.id is None) == (self.domain is None):
            raise ValueError("give either `id` or `domain` for each business unit (one of them)")
        return self

    @property
    def label(self) -> str:
        return self.domain or str(self.id)


class TrustpilotConfig(SourceConfig):
    base_url: str = "https://api.trustpilot.com"
    every: Duration = timedelta(minutes=30)
    api_key: SecretStr = Field(description="your Trustpilot API key; write `${TRUSTPILOT_API_KEY}`")
    business_units: list[BusinessUnit] = Field(
        min_length=1, description="your Trustpilot pages, each with the brand it belongs to"
    )
    recheck_pages: int = Field(
        default=1,
        ge=1,
        le=10,
        description="how many pages of the newest 100 reviews are read again at every poll to"
        " see edits, new ratings and your replies (one request each)",
    )
    max_pages: int = Field(
        default=10,
        ge=1,
        le=100,
        description="at most this many pages of 100 reviews per business unit and poll when"
        " catching up; older new reviews beyond them are skipped, with a warning",
    )
    lookback: Duration = Field(
        default=timedelta(days=7),
        description="on the first poll, keep only reviews newer than this, so old reviews"
        " send no alerts",
    )
    #: A page is 100 reviews of at most a few kB each, with their links.
    max_response: ByteSize = response_limit(5_000_000)

    @model_validator(mode="after")
    def _no_twice(self) -> TrustpilotConfig:
        labels = [unit.label.lower() for unit in self.business_units]
        for label in labels:
            if labels.count(label) > 1:
                raise ValueError(f"business unit {label} is listed twice")
        return self


@dataclass
class UnitState:
    newest: str | None = None  # createdAt of the newest review seen, as Trustpilot wrote it
    seen: dict[str, str] = field(default_factory=dict)  # review id -> fingerprint


def _when(value: Any) -> datetime:
    """A Trustpilot time (``2013-09-07T13:37:00`` or with ``Z``/offset), as UTC."""
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def fingerprint(review: dict[str, Any]) -> str:
    """What changes when a review is edited, re-rated or answered: a short hash of it."""
    reply = review.get("companyReply")
    reply = reply if isinstance(reply, dict) else {}
    parts = [
        review.get("stars"),
        review.get("title"),
        review.get("text"),
        review.get("updatedAt"),
        review.get("status"),
        reply.get("text"),
        reply.get("createdAt"),
        reply.get("updatedAt"),
    ]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:12]


class TrustpilotConnector(Connector):
    """Reviews of the owner's Trustpilot business units, re-read to see edits and replies."""

    name = "trustpilot"
    Config = TrustpilotConfig
    config: TrustpilotConfig
    per_brand = False

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        self._require_key()
        states = self._read_cursor(cursor)
        kept: dict[str, UnitState] = {}
        found: list[Mention] = []
        errors: list[ConnectorError] = []
        read = 0
        self.behind = None
        for unit in self.config.business_units:
            try:
                unit_id = self._unit_id(unit)
                mentions, state = self._read_unit(unit, unit_id, states.get(unit_id))
            except ConnectorError as exc:
                errors.append(exc)
                continue
            read += 1
            kept[unit_id] = state
            found.extend(mentions)
        for unit_id, state in states.items():
            kept.setdefault(unit_id, state)  # a unit that failed keeps what it had
        if read == 0 and errors:
            raise errors[0]
        for error in errors:
            log.warning("%s; the other business units were read, this one is tried again", error)
        found.sort(key=lambda m: m.created_at)
        units = {k: {"newest": s.newest, "seen": s.seen} for k, s in kept.items()}
        return found, json.dumps({"v": 1, "units": units}, sort_keys=True)

    def _read_unit(
        self, unit: BusinessUnit, unit_id: str, previous: UnitState | None
    ) -> tuple[list[Mention], UnitState]:
        now = datetime.now(UTC)
        cutoff = now - self.config.lookback if previous is None else None
        before = _when(previous.newest) if previous and previous.newest else None
        seen = previous.seen if previous else {}
        window: dict[str, str] = {}
        newest = previous.newest if previous else None
        newest_at = before
        mentions: list[Mention] = []
        for page in range(1, self.config.max_pages + 1):
            reviews = self._page(unit, unit_id, page)
            oldest: datetime | None = None
            for review in reviews:
                converted = self._to_mention(unit, review)
                if converted is None:
                    continue
                mention, mark = converted
                oldest = mention.created_at if oldest is None else min(oldest, mention.created_at)
                if newest_at is None or mention.created_at > newest_at:
                    newest_at, newest = mention.created_at, str(review["createdAt"])
                rechecked = page <= self.config.recheck_pages
                if rechecked:
                    window[mention.external_id] = mark
                if cutoff is not None and mention.created_at < cutoff:
                    continue
                if rechecked:
                    if seen.get(mention.external_id) != mark:
                        mentions.append(mention)
                elif before is None or mention.created_at > before:
                    mentions.append(mention)
            if len(reviews) < PER_PAGE or oldest is None:
                break  # the last page
            if page >= self.config.recheck_pages:
                reached = before if before is not None else cutoff
                if reached is None or oldest <= reached:
                    break  # what comes next was read before, or is older than `lookback`
        else:
            self.behind = now - oldest if oldest is not None else None
            log.warning(
                "trustpilot: more than %s new reviews of %s in one poll; older ones were skipped"
                " (raise max_pages or poll more often)",
                self.config.max_pages * PER_PAGE,
                unit.label,
            )
        return mentions, UnitState(newest, window)

    @one_item
    def _to_mention(self, unit: BusinessUnit, review: dict[str, Any]) -> tuple[Mention, str] | None:
        review_id = str(review["id"])
        if not review_id.isalnum():
            raise ValueError("a review id is letters and digits")
        stars = review.get("stars")
        rating = float(stars) if isinstance(stars, int | float) and 1 <= stars <= 5 else None
        created = _when(review["createdAt"])
        updated = _when(review["updatedAt"]) if review.get("updatedAt") else None
        consumer = review.get("consumer")
        consumer = consumer if isinstance(consumer, dict) else {}
        reply = review.get("companyReply")
        reply = reply if isinstance(reply, dict) else {}
        replied = reply.get("updatedAt") or reply.get("createdAt")
        title = review.get("title")
        mention = Mention(
            source=self.name,
            external_id=review_id,
            url=REVIEW_URL.format(review_id),
            author=str(consumer.get("displayName") or "a Trustpilot reviewer"),
            title=str(title) if title else None,
            text=str(review.get("text") or ""),
            created_at=created,
            raw={"unit": unit.label, "review": review},
            brand_hint=unit.brand,
            own_page=True,
            rating=rating,
            edited_at=updated if updated is not None and updated > created else None,
            owner_replied_at=_when(replied) if replied else None,
        )
        return mention, fingerprint(review)

    # ------------------------------------------------------------------ wire

    def _unit_id(self, unit: BusinessUnit) -> str:
        if unit.id is not None:
            return unit.id
        assert unit.domain is not None
        key = f"unit:{unit.domain.lower()}"
        known = self.state.get(key)
        if known:
            return known
        found = self._find(unit.domain)
        self.state.set(key, found)
        return found

    def _find(self, domain: str) -> str:
        body = self._get(
            "/v1/business-units/find",
            {"name": domain},
            missing=(
                f"Trustpilot has no business unit for the domain {domain}",
                "write the domain as it appears in your Trustpilot page's address"
                " (trustpilot.com/review/<domain>), or give the unit's `id` instead",
            ),
        )
        unit_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(unit_id, str) or not unit_id.isalnum():
            raise ParseError(self.name, f"Trustpilot's answer for {domain} has no business unit id")
        return unit_id

    def _page(self, unit: BusinessUnit, unit_id: str, page: int) -> list[dict[str, Any]]:
        body = self._get(
            f"/v1/business-units/{unit_id}/reviews",
            {"orderBy": "createdat.desc", "perPage": PER_PAGE, "page": page},
            missing=(
                f"Trustpilot knows no business unit {unit_id} ({unit.label})",
                "check the `id` under sources.trustpilot.business_units (run"
                " `mention-monitor check --online`), or give the unit's `domain` instead",
            ),
        )
        reviews = body.get("reviews") if isinstance(body, dict) else None
        if not isinstance(reviews, list):
            raise ParseError(self.name, "Trustpilot's answer has no `reviews` list")
        return [r for r in reviews if isinstance(r, dict)]

    def _get(self, path: str, params: dict[str, Any], *, missing: tuple[str, str]) -> Any:
        response = send(
            self.http,
            self.name,
            "GET",
            self.base_url + path,
            params=params,
            headers={"apikey": self.config.api_key.get_secret_value()},
            timeout=self.config.timeout.total_seconds(),
            max_response=self.config.max_response,
        )
        if response.status_code == 404:
            raise ConnectorError(self.name, missing[0], hint=missing[1])
        if response.status_code == 403:
            raise AuthError(
                self.name,
                "Trustpilot refused the API key for this business unit (HTTP 403)",
                hint="the key must be one made in the Trustpilot Business account that owns this"
                " page, on a plan with API access; " + AUTH_HINT,
            )
        raise_for_status(self.name, response, auth_hint=AUTH_HINT)
        return json_of(self.name, response, "reviews")

    # ------------------------------------------------------------------ check and state

    def check(self, online: bool = False) -> list[str]:
        self._require_key()
        units = count(len(self.config.business_units), "business unit")
        lines = [f"API key set (TRUSTPILOT_API_KEY); {units}"]
        if not online:
            return lines
        for unit in self.config.business_units:
            # One review is the cheapest call that proves the key for this unit.
            unit_id = self._unit_id(unit)
            body = self._get(
                f"/v1/business-units/{unit_id}/reviews",
                {"orderBy": "createdat.desc", "perPage": 1},
                missing=(
                    f"Trustpilot knows no business unit {unit_id} ({unit.label})",
                    "check the `id` under sources.trustpilot.business_units, or give `domain`",
                ),
            )
            if not isinstance(body, dict) or not isinstance(body.get("reviews"), list):
                raise ParseError(self.name, "Trustpilot's answer has no `reviews` list")
            lines.append(
                f"business unit {unit.label} (id {unit_id}, brand {unit.brand}): Trustpilot"
                " accepted the API key"
            )
        return lines

    def _require_key(self) -> None:
        if not self.config.api_key.get_secret_value().strip():
            raise AuthError(self.name, "no API key is set", hint=AUTH_HINT)

    def _read_cursor(self, cursor: str | None) -> dict[str, UnitState]:
        if not cursor:
            return {}
        try:
            units = json.loads(cursor)["units"]
            return {
                str(k): UnitState(
                    str(s["newest"]) if s.get("newest") else None,
                    {str(i): str(f) for i, f in s.get("seen", {}).items()},
                )
                for k, s in units.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("trustpilot: ignoring an unreadable cursor; reviews are read as new")
            return {}
