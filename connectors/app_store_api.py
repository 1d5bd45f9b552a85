"""App Store Connect's wire for the app_store source: the signed token, the hourly
request budget, Apple's refusals in the owner's words, the public reviews feed's shape, and
what the cursor keeps (``Seen`` per app read with the key, ``Fed`` per app and country).

Token (https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests):
a JWT signed ES256 with the owner's private key (the ``.p8`` file App Store Connect lets
them download once), header ``kid`` (the Key ID) and ``typ: JWT``, claims ``iss`` (the
Issuer ID), ``iat``, ``exp`` (at most 20 minutes later) and ``aud: appstoreconnect-v1``. One
token is reused until a minute before it expires, and masked wherever an answer echoes it.

Errors are ``{"errors": [{"id", "status", "code", "title", "detail"}]}``: 401
``NOT_AUTHORIZED`` (a wrong, revoked or expired key, or a clock that is wrong), 403
``FORBIDDEN_ERROR`` (the key's role may not do this), 404 ``NOT_FOUND``, 429
``RATE_LIMIT_EXCEEDED``. Every answer carries ``X-Rate-Limit: user-hour-lim:3600;
user-hour-rem:3121;``: the requests one key may make in a rolling hour, and how many are left
(https://developer.apple.com/documentation/appstoreconnectapi/identifying-rate-limits).

The public feed (no key) is ``{"feed": {"entry": [...]}}``, each value wrapped as
``{"label": ...}``; ``entry`` is missing when there is nothing, and a lone entry may come as an
object rather than a list. Older answers put the app's own record first (it has no
``im:rating``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from monitor.errors import AuthError, ConnectorError, ParseError, RateLimited, SourceUnavailable
from monitor.http import retry_after_of
from monitor.redact import REDACTOR

log = logging.getLogger(__name__)

AUDIENCE = "appstoreconnect-v1"
#: Apple refuses a token that lives longer than 20 minutes; ours lives 19, renewed after 18.
LIFETIME = 19 * 60
EARLY = 60
#: Seconds to wait after a 429 that does not say: Apple counts a rolling hour.
RETRY_AFTER_LIMIT = 600.0
PAGE = "docs/sources/app_store.md"
FEED_PAGES = 10  # the feed serves pages 1 to 10
KEYS_PLACE = "App Store Connect > Users and Access > Integrations > App Store Connect API"

KEY_HINT = (
    f"check `issuer_id` (the Issuer ID shown above the keys in {KEYS_PLACE}), `key_id` (the"
    " Key ID of your key there) and that the private key is that key's .p8 file; a revoked"
    " key is refused too (make a new one, as"
    f" {PAGE} shows). The token carries the time: the computer's clock must be right"
)
ROLE_HINT = (
    "the key's role may not read customer reviews: in"
    f" {KEYS_PLACE} > Team Keys, generate a key with the Customer Support role (Admin and App"
    " Manager can too) and use it instead; a key's role cannot be changed. An individual key"
    " has its user's role and only that user's apps"
)


def load_private_key(text: str) -> None:
    """Raises ValueError (in words, never quoting the key) unless ``text`` is an EC P-256
    private key in PEM, as App Store Connect's .p8 files are."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if "-----BEGIN PRIVATE KEY-----" not in text:
        raise ValueError(
            "this is not the contents of an App Store Connect .p8 key file (it starts with"
            " -----BEGIN PRIVATE KEY-----)"
        )
    try:
        key = load_pem_private_key(text.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError(
            "the .p8 key cannot be read: it is damaged or cut short; download a new key"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("this key is not an App Store Connect key (an ES256 / P-256 key)")


@dataclass
class Signer:
    """Makes and keeps the token for one key."""

    issuer_id: str
    key_id: str
    private_key: str = field(repr=False)
    _token: str = field(default="", repr=False)
    _expires: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def token(self, now: float | None = None) -> str:
        with self._lock:
            now = time.time() if now is None else now
            if self._token and now < self._expires - EARLY:
                return self._token
            issued = int(now)
            claims = {"iss": self.issuer_id, "iat": issued, "exp": issued + LIFETIME}
            claims["aud"] = AUDIENCE
            headers = {"kid": self.key_id, "typ": "JWT"}
            self._token = jwt.encode(claims, self.private_key, algorithm="ES256", headers=headers)
            self._expires = issued + LIFETIME
            REDACTOR.add(self._token)
            return self._token

    def forget(self) -> None:
        with self._lock:
            self._token, self._expires = "", 0.0


_LIMIT = re.compile(r"user-hour-(lim|rem):(\d+)")


def hourly_limit(response: httpx.Response) -> tuple[int, int] | None:
    """(limit, remaining) of ``X-Rate-Limit``, or None when the answer has none."""
    found = dict(_LIMIT.findall(response.headers.get("x-rate-limit", "")))
    if "lim" not in found or "rem" not in found:
        return None
    return int(found["lim"]), int(found["rem"])


def _apple_error(response: httpx.Response) -> tuple[str, str]:
    """Apple's (code, "title: detail") of the first error, empty where it said nothing."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, dict):
        return "", ""
    words = [str(first.get(k) or "").strip() for k in ("title", "detail")]
    said = ": ".join(w for w in words if w)
    return str(first.get("code") or ""), " ".join(said.split())[:300]


def connect_error(source: str, response: httpx.Response, app: str) -> ConnectorError:
    """App Store Connect refused a request about the app ``app``."""
    status = response.status_code
    code, message = _apple_error(response)
    said = f' (Apple says: "{message}")' if message else ""
    label = f"HTTP {status}{', ' + code if code else ''}"
    if status == 401:
        return AuthError(
            source, f"Apple refused the App Store Connect key ({label}){said}", hint=KEY_HINT
        )
    if status == 403:
        return AuthError(
            source,
            f"the App Store Connect key may not read the reviews of app {app} ({label}){said}",
            hint=ROLE_HINT,
        )
    if status == 404:
        return ConnectorError(
            source,
            f"App Store Connect knows no app {app} for this key ({label}){said}",
            hint="write the app's Apple ID, the number in App Store Connect > your app > App"
            " Information > Apple ID (also the digits after `id` in its App Store link)",
        )
    if status == 429:
        wait = retry_after_of(response) or RETRY_AFTER_LIMIT
        return RateLimited(
            source,
            f"App Store Connect's hourly request limit for this key is used up ({label});"
            f" trying again in {wait:.0f}s{said}",
            retry_after=wait,
            hint="other tools that use the same key (build uploads, fastlane, dashboards) share"
            " the limit: give mention-monitor a key of its own, or poll less often",
        )
    if status >= 500:
        return SourceUnavailable(
            source, f"App Store Connect had a server error ({label}); will retry"
        )
    return ConnectorError(source, f"App Store Connect answered {label} for app {app}{said}")


def responses_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The attributes of each review response in ``included``, by the response's id."""
    included = body.get("included") or []
    return {
        str(r.get("id")): r["attributes"]
        for r in included
        if isinstance(r, dict)
        and r.get("type") == "customerReviewResponses"
        and isinstance(r.get("attributes"), dict)
    }


def next_link(source: str, body: dict[str, Any], base_url: str) -> str | None:
    """``links.next``, followed only on the API's own host: the token goes with it."""
    links = body.get("links")
    link = links.get("next") if isinstance(links, dict) else None
    if not isinstance(link, str) or not link:
        return None
    if httpx.URL(link).host != httpx.URL(base_url).host:
        raise ParseError(source, "App Store Connect's next page is on another host")
    return link


@dataclass
class Seen:
    """What the cursor keeps of one app read with the key."""

    newest: str | None = None
    seen: dict[str, str] = field(default_factory=dict)


@dataclass
class Fed:
    """What the cursor keeps of one app's feed in one country."""

    since: str | None = None
    at: list[str] = field(default_factory=list)
    first: dict[str, int] = field(default_factory=dict)


def when(value: object) -> datetime:
    """Apple's ISO 8601 time (``2017-11-15T08:10:34-08:00``), as UTC."""
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def mark(*parts: object) -> str:
    """A short fingerprint of what may change in a review."""
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:12]


def feed_entries(source: str, body: Any, where: str) -> list[dict[str, Any]]:
    """The review entries of one feed page (the app's own record, if any, left out)."""
    feed = body.get("feed") if isinstance(body, dict) else None
    if not isinstance(feed, dict):
        raise ParseError(source, f"the reviews feed for {where} has no `feed`")
    entries = feed.get("entry", [])
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise ParseError(source, f"`entry` in the reviews feed for {where} is not a list")
    return [e for e in entries if isinstance(e, dict) and "im:rating" in e]


def label(entry: dict[str, Any], *path: str) -> str:
    """The ``label`` at ``path`` of a feed entry (``author``, ``name``), "" when absent."""
    node: Any = entry
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    value = node.get("label") if isinstance(node, dict) else None
    return value if isinstance(value, str) else ""


def read_cursor(cursor: str | None) -> tuple[dict[str, Seen], dict[str, Fed]]:
    """The cursor's apps (read with the key) and feeds ("<app>/<country>"); empty if unreadable."""
    if not cursor:
        return {}, {}
    try:
        data = json.loads(cursor)
        apps = {str(k): Seen(**v) for k, v in data.get("apps", {}).items()}
        feeds = {str(k): Fed(**v) for k, v in data.get("feeds", {}).items()}
    except (ValueError, TypeError, AttributeError):
        log.warning("app_store: ignoring an unreadable cursor; reading from lookback")
        return {}, {}
    return apps, feeds


def write_cursor(apps: dict[str, Seen], feeds: dict[str, Fed], wanted: set[str]) -> str:
    """The cursor, keeping only the ``wanted`` apps (an app taken out of config.yaml goes)."""
    return json.dumps(
        {
            "v": 1,
            "apps": {k: asdict(v) for k, v in apps.items() if k in wanted},
            "feeds": {k: asdict(v) for k, v in feeds.items() if k.split("/")[0] in wanted},
        },
        sort_keys=True,
    )
