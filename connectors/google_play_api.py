"""The wire of the Google Play source: reviews.list, its hourly quota, its errors in owner words.

``GET {base_url}/androidpublisher/v3/applications/{packageName}/reviews`` with ``maxResults``
(10 by default, at most 100), ``token`` (``tokenPagination.nextPageToken`` of the page before)
and ``translationLanguage``, an access token of the service account in the Authorization
header (connectors/google_service_account.py). Errors are Google's ``{"error": {"code",
"message", "status", "errors": [{"reason"}], "details": [{"reason"}]}}``:

- 403 ``PERMISSION_DENIED`` "The caller does not have permission" (or 401 ``permissionDenied``
  "The current user has insufficient permissions..."): the service account is not invited in
  Play Console, or not for this app -> AuthError with the Play Console steps;
- 403 with reason ``SERVICE_DISABLED`` ("Google Play Android Developer API has not been used
  in project ... or it is disabled") -> AuthError: enable the API;
- 404 "No application was found for the given package name." -> ConnectorError naming it;
- 429 (the reviews quota: 200 GET requests an hour per app) -> RateLimited until the next hour
  when Google does not say, and the hour is counted as used up.

Quota (https://developers.google.com/android-publisher/reply-to-reviews, quota request form):
GET requests of the reviews API are limited per app, 200 an hour; POST (replies) 2,000 a day.
``HourlyBudget`` counts this source's GETs per app and UTC hour in the source's state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from connectors.base import SourceState
from connectors.google_errors import _api_fault, _body, _said
from connectors.google_service_account import AccessTokens
from connectors.youtube_api import reasons_of
from monitor.errors import AuthError, ConnectorError, ParseError, RateLimited, SourceUnavailable
from monitor.http import json_of, retry_after_of, send

PATH = "/androidpublisher/v3/applications/{}/reviews"
PAGE = "docs/sources/google_play.md"
#: Keys a reviews.list answer may have; an object with none of them is not one.
LIST_KEYS = {"reviews", "tokenPagination", "pageInfo"}
INVITE = (
    "in Play Console (play.google.com/console) > Users and permissions > Invite new users,"
    " enter the service account's e-mail ({email}), and under App permissions add this app"
    " with 'View app information (read-only)' and 'Reply to reviews'; Google can take a day"
    f" or two to apply it ({PAGE}, How to get)"
)
ENABLE = (
    "Google Cloud console > APIs & Services > Library: pick the service account's project,"
    " search 'Google Play Android Developer API' and click Enable (a few minutes to apply)"
)


class HourlyBudget:
    """GET requests per app in the current UTC hour, kept in the source's state."""

    def __init__(self, state: SourceState, limit: int, clock: Callable[[], datetime]) -> None:
        self.state = state
        self.limit = limit
        self.clock = clock

    def hour(self) -> str:
        return f"{self.clock():%Y-%m-%dT%H}"

    def used(self, package: str) -> int:
        try:
            return int(self.state.get(f"gets:{package}:{self.hour()}") or 0)
        except ValueError:
            return 0

    def left(self, package: str) -> int:
        return max(0, self.limit - self.used(package))

    def count(self, package: str, requests: int = 1) -> None:
        self.state.set(f"gets:{package}:{self.hour()}", str(self.used(package) + requests))

    def use_up(self, package: str) -> None:
        self.state.set(f"gets:{package}:{self.hour()}", str(max(self.used(package), self.limit)))

    def seconds_to_reset(self) -> float:
        now = self.clock()
        nxt = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return max(1.0, (nxt - now).total_seconds())


class PlayAPI:
    """reviews.list for one source: a valid access token, each refusal one of our errors."""

    def __init__(
        self, source: str, base_url: str, tokens: AccessTokens, budget: HourlyBudget, **how: Any
    ) -> None:
        self.source = source
        self.base_url = base_url
        self.tokens = tokens
        self.budget = budget
        self.http: httpx.Client = tokens.http
        self.timeout: float = how.get("timeout", 20.0)
        self.max_response: int = how.get("max_response", 5_000_000)
        self.translation: str | None = how.get("translation")

    def reviews(self, package: str, label: str, token: str | None, size: int) -> dict[str, Any]:
        """One page of the app's reviews, newest created or changed first (counted)."""
        params = {"maxResults": str(size)}
        if token:
            params["token"] = token
        if self.translation:
            params["translationLanguage"] = self.translation
        for attempt in (1, 2):
            bearer = self.tokens.get()
            self.budget.count(package)
            response = send(
                self.http,
                self.source,
                "GET",
                self.base_url + PATH.format(package),
                params=params,
                headers={"Authorization": f"Bearer {bearer}"},
                timeout=self.timeout,
                max_response=self.max_response,
            )
            refused = response.status_code == 401 and "permissionDenied" in _reasons(response)
            if response.status_code == 401 and attempt == 1 and not refused:
                self.tokens.drop()  # expired early, or revoked: one new token, once
                continue
            if response.status_code >= 400:
                raise self._refused(response, package, label)
            return self._page(response, label)
        raise AssertionError("unreachable")  # pragma: no cover

    def _page(self, response: httpx.Response, label: str) -> dict[str, Any]:
        body = json_of(self.source, response, "the reviews request")
        if not isinstance(body, dict) or (body and not LIST_KEYS & body.keys()):
            raise ParseError(self.source, f"{label}: the answer is not a list of reviews")
        if not isinstance(body.get("reviews", []), list):
            raise ParseError(self.source, f"{label}: `reviews` in the answer is not a list")
        return body

    def _refused(self, response: httpx.Response, package: str, label: str) -> ConnectorError:
        status = response.status_code
        kind, message, _ = _api_fault(response)
        reasons = _reasons(response)
        said = _said(message)
        where = f"{label} ({package})"
        email = self.tokens.account.client_email
        if status == 403 and ("SERVICE_DISABLED" in reasons or "has not been used" in message):
            return AuthError(
                self.source,
                f"the Google Play Android Developer API is not enabled in the service account's"
                f" Google Cloud project{said}",
                hint=ENABLE,
            )
        if status == 403 or (status == 401 and "permissionDenied" in reasons):
            return AuthError(
                self.source,
                f"Google Play does not let the service account {email} read the reviews of"
                f" {where} (HTTP {status}{', ' + kind if kind else ''}){said}",
                hint=INVITE.format(email=email),
            )
        if status == 401:
            return AuthError(
                self.source,
                f"Google refused our access token for {where} (HTTP 401){said}",
                hint=f"check that the key belongs to the service account invited in Play"
                f" Console; {INVITE.format(email=email)}",
            )
        if status == 404:
            return ConnectorError(
                self.source,
                f"Google Play has no app {package}{said}",
                hint="check `package` under sources.google_play `apps:`: it is the app's id, the"
                " `id=` part of its Play Store address (play.google.com/store/apps/details?id=...)",
            )
        if status == 429:
            self.budget.use_up(package)
            wait = retry_after_of(response) or self.budget.seconds_to_reset()
            return RateLimited(
                self.source,
                f"Google Play's reviews quota for {where} is used up (HTTP 429"
                f"{', ' + kind if kind else ''}); trying again in {wait:.0f}s{said}",
                retry_after=wait,
                hint="the reviews API allows 200 requests an hour per app: poll less often, or"
                " ask Google for more (Play Console help > Reply to Reviews API quota request)",
            )
        if status >= 500:
            return SourceUnavailable(
                self.source, f"Google Play had a server error (HTTP {status}) reading {where}"
            )
        return ConnectorError(self.source, f"Google Play answered HTTP {status} for {where}{said}")


def _reasons(response: httpx.Response) -> set[str]:
    """Google's reasons, from ``errors[]`` (androidpublisher's ``permissionDenied``) and
    ``details[]`` (``SERVICE_DISABLED``) alike."""
    return reasons_of(_body(response))[0]
