"""Google's refusals in the owner's words, each with its fix (for google_reviews).

Two kinds of answer: the OAuth token endpoint's (RFC 6749: ``{"error": "invalid_grant",
"error_description": "Token has been expired or revoked."}``, 400 for a bad grant, 401 for an
unknown client) and the API's (https://cloud.google.com/apis/design/errors: ``{"error":
{"code": 403, "message", "status": "PERMISSION_DENIED", "details": [{"reason":
"SERVICE_DISABLED", ...}]}}``). Google's own message is quoted (redacted like every error
text) after ours, so nothing it says is lost.
"""

from __future__ import annotations

from typing import Any

import httpx

from monitor.errors import AuthError, ConnectorError, RateLimited, SourceUnavailable
from monitor.http import retry_after_of

#: Seconds to wait after a 429 that does not say: the quota is counted per minute.
RETRY_AFTER_QUOTA = 60.0
PAGE = "docs/sources/google_reviews.md"
ACCESS_FORM = "https://support.google.com/business/contact/api_default"

NEW_TOKEN = (
    f"get a new refresh token as {PAGE} shows (How to get, step 6) and put it in"
    " GOOGLE_REFRESH_TOKEN; if it stops working again after 7 days, your OAuth consent screen"
    " is still in 'Testing': publish the app ('In production') in Google Cloud console >"
    " APIs & Services > OAuth consent screen, then get a new token once more"
)
CLIENT = (
    "check `client_id` and GOOGLE_CLIENT_SECRET: Google Cloud console > APIs & Services >"
    " Credentials > your OAuth 2.0 client shows both; the refresh token must come from the same"
    " client"
)
NOT_APPROVED = (
    "Google lets a Cloud project use the Business Profile API only once it approved the"
    f" project's 'Application for Basic API Access' ({ACCESS_FORM}); until then its quota is 0."
    f" Submit the form with your project number ({PAGE}, How to get, step 2) and wait for"
    " Google's e-mail; if it was approved, wait a minute: this is the per-minute quota"
)


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _api_fault(response: httpx.Response) -> tuple[str, str, set[str]]:
    """Google's (status, message, reasons) of an API error, empty where it said nothing."""
    error = _body(response).get("error")
    if not isinstance(error, dict):
        return "", "", set()
    reasons = {
        str(d.get("reason"))
        for d in error.get("details") or []
        if isinstance(d, dict) and d.get("reason")
    }
    return (
        str(error.get("status") or ""),
        " ".join(str(error.get("message") or "").split()),
        reasons,
    )


def _said(message: str) -> str:
    return f' (Google says: "{message[:300]}")' if message else ""


def token_error(source: str, response: httpx.Response) -> ConnectorError:
    """The token endpoint refused to renew the access token."""
    status = response.status_code
    body = _body(response)
    code = str(body.get("error") or "") if not isinstance(body.get("error"), dict) else ""
    said = _said(" ".join(str(body.get("error_description") or "").split()))
    if code == "invalid_grant":
        return AuthError(
            source,
            "Google no longer accepts the refresh token: it was revoked, expired, or made for"
            f" another client{said}",
            hint=NEW_TOKEN,
        )
    if code in ("invalid_client", "unauthorized_client") or status == 401:
        return AuthError(
            source, f"Google does not accept the OAuth client (HTTP {status}){said}", hint=CLIENT
        )
    if status == 429:
        wait = retry_after_of(response) or RETRY_AFTER_QUOTA
        return RateLimited(
            source, f"Google's sign-in asks us to slow down (HTTP 429){said}", retry_after=wait
        )
    if status >= 500:
        return SourceUnavailable(source, f"Google's sign-in had a server error (HTTP {status})")
    if status in (400, 403):
        return AuthError(
            source,
            f"Google refused to renew the access token (HTTP {status}, {code or 'no reason'})"
            f"{said}",
            hint=f"{CLIENT}; {NEW_TOKEN}",
        )
    return ConnectorError(source, f"Google's sign-in answered HTTP {status}{said}")


def api_error(source: str, response: httpx.Response, label: str, parent: str) -> ConnectorError:
    """The reviews API refused a request for the location ``label`` (``parent``)."""
    status = response.status_code
    kind, message, reasons = _api_fault(response)
    said = _said(message)
    where = f"{label} ({parent})"
    if status == 401:
        return AuthError(
            source,
            f"Google refused our access token for {where} (HTTP 401){said}",
            hint=f"the refresh token needs the business.manage scope; {NEW_TOKEN}",
        )
    if status == 403:
        if "SERVICE_DISABLED" in reasons or "has not been used in project" in message:
            return AuthError(
                source,
                f"the Google My Business API is not enabled in your Google Cloud project{said}",
                hint="Google Cloud console > APIs & Services > Library: search 'Google My"
                " Business API' and click Enable (it is listed only once Google approved the"
                f" project's Business Profile API access); {NOT_APPROVED}",
            )
        if "ACCESS_TOKEN_SCOPE_INSUFFICIENT" in reasons or "insufficient authentication" in (
            message.lower()
        ):
            return AuthError(
                source,
                f"the refresh token was made without the business.manage scope{said}",
                hint=f"when you get it, add the scope https://www.googleapis.com/auth/"
                f"business.manage; {NEW_TOKEN}",
            )
        return AuthError(
            source,
            f"Google refused access to the reviews of {where} (HTTP 403"
            f"{', ' + kind if kind else ''}){said}",
            hint="the Google account of the refresh token must be an owner or manager of this"
            f" Business Profile (Business Profile > ⋮ > Business Profile settings > People and"
            f" access), and the location must be verified; {NOT_APPROVED}",
        )
    if status == 404:
        return ConnectorError(
            source,
            f"Google has no location {parent} for this account{said}",
            hint=f"check `account` and `location` of '{label}' in config.yaml ({PAGE} shows how"
            " to find both numbers)",
        )
    if status == 429:
        wait = retry_after_of(response) or RETRY_AFTER_QUOTA
        return RateLimited(
            source,
            f"Google's quota for the Business Profile API is used up (HTTP 429"
            f"{', ' + kind if kind else ''}); trying again in {wait:.0f}s{said}",
            retry_after=wait,
            hint=f"if this happens at every poll, {NOT_APPROVED}",
        )
    if status >= 500:
        return SourceUnavailable(
            source, f"Google had a server error (HTTP {status}) reading {where}; will retry"
        )
    return ConnectorError(source, f"Google answered HTTP {status} for {where}{said}")
