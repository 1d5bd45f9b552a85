"""A stand-in for Google's service-account token endpoint and Google Play's reviews.list.

- ``POST /token`` (form ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``,
  ``assertion=<JWT>``): the JWT is verified as Google does, RS256 against the public half of
  the test key (``KEY``, made here for the tests: a key the stand-in does not know is 400
  ``invalid_grant`` "Invalid JWT Signature."), ``iss`` a known service account, ``aud`` this
  endpoint, ``scope`` the androidpublisher scope, ``exp`` at most an hour after ``iat`` and
  ``iat`` not far from now (else ``invalid_grant`` "Invalid JWT: Token must be a short-lived
  token (60 minutes) and in a reasonable timeframe..."). Answers ``{"access_token",
  "expires_in", "token_type"}``.
- ``GET /androidpublisher/v3/applications/{package}/reviews`` (``maxResults``, 10 when not
  given, at most 100; ``token``; ``translationLanguage``): the app's reviews created or
  modified in the last 7 days that have words, most recently modified first,
  ``{"reviews", "tokenPagination": {"nextPageToken"}}`` (``{}`` when there is none). Needs
  ``Authorization: Bearer`` a live token (else 401 UNAUTHENTICATED). Errors are Google's:
  403 PERMISSION_DENIED "The caller does not have permission" for an app the service account
  is not invited to, 403 SERVICE_DISABLED when the API is ``disabled``, 404 "No application
  was found for the given package name.", 429 RESOURCE_EXHAUSTED past ``hourly`` GETs of an
  app in an hour.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.standins.server import Request, Response

EMAIL = "mention-monitor@acme-play-123.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/androidpublisher"
PACKAGE = "com.acme.app"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
WEEK = 7 * 86_400
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie"
    " or other valid authentication credential."
)
DISABLED = (
    "Google Play Android Developer API has not been used in project 555 before or it is"
    " disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
    "androidpublisher.googleapis.com/overview?project=555 then retry."
)
_PATH = re.compile(r"^/androidpublisher/v3/applications/([^/]+)/reviews$")


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


#: The test service account's key, made once per test run (never a real one).
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_file(token_uri: str, *, key: rsa.RSAPrivateKey = KEY, email: str = EMAIL) -> dict[str, Any]:
    """A service account's JSON key as Google Cloud console makes it."""
    return {
        "type": "service_account",
        "project_id": "acme-play-123",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": _pem(key),
        "client_email": email,
        "client_id": "109876543210987654321",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }


def stamp(epoch: float) -> dict[str, Any]:
    """A protobuf Timestamp in JSON: int64 seconds as a string, nanos as a number."""
    return {"seconds": str(int(epoch)), "nanos": round((epoch - int(epoch)) * 1e9)}


@dataclass
class Review:
    rid: str
    text: str
    stars: int
    modified: float
    author: str = "Jo Bloggs"
    reply: tuple[str, float] | None = None
    version: str = "2.4.1"

    def json(self) -> dict[str, Any]:
        user: dict[str, Any] = {
            "text": self.text,
            "lastModified": stamp(self.modified),
            "starRating": self.stars,
            "reviewerLanguage": "en",
            "device": "a52q",
            "androidOsVersion": 34,
            "appVersionCode": 241,
            "appVersionName": self.version,
            "thumbsUpCount": 2,
            "thumbsDownCount": 0,
        }
        comments: list[dict[str, Any]] = [{"userComment": user}]
        if self.reply is not None:
            comments.append(
                {"developerComment": {"text": self.reply[0], "lastModified": stamp(self.reply[1])}}
            )
        item: dict[str, Any] = {"reviewId": self.rid, "comments": comments}
        if self.author:
            item["authorName"] = self.author
        return item


def error(code: int, status: str, message: str, reason: str | None = None) -> Response:
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "errors": [{"message": message, "domain": "global", "reason": "forbidden"}],
        "status": status,
    }
    if reason:
        body["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "androidpublisher.googleapis.com"},
            }
        ]
    return Response(code, {"error": body})


@dataclass
class PlayAPI:
    """The token endpoint and each app's reviews (by package)."""

    apps: dict[str, dict[str, Review]] = field(default_factory=lambda: {PACKAGE: {}})
    invited: set[str] = field(default_factory=lambda: {PACKAGE})
    emails: set[str] = field(default_factory=lambda: {EMAIL})
    disabled: bool = False
    hourly: int = 200
    token_life: int = 3599
    tokens: dict[str, float] = field(default_factory=dict)
    token_requests: int = 0
    list_requests: int = 0
    gets: dict[tuple[str, int], int] = field(default_factory=dict)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        rid: str,
        text: str,
        stars: int,
        *,
        ago: float = 60,
        package: str = PACKAGE,
        **more: Any,
    ) -> Review:
        review = Review(rid, text, stars, time.time() - ago, **more)
        self.apps.setdefault(package, {})[rid] = review
        return review

    def edit(self, rid: str, text: str, stars: int, package: str = PACKAGE) -> None:
        review = self.apps[package][rid]
        review.text, review.stars, review.modified = text, stars, time.time()

    def reply(self, rid: str, text: str, package: str = PACKAGE) -> None:
        """The developer answers: the reply has its own time; the review's stays."""
        self.apps[package][rid].reply = (text, time.time())

    def __call__(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/token":
            return self._token(request)
        match = _PATH.match(request.path)
        if request.method == "GET" and match:
            return self._reviews(request, match.group(1))
        return error(404, "NOT_FOUND", "Requested entity was not found.")

    def _token(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        with self._lock:
            self.token_requests += 1
        if form.get("grant_type") != GRANT:
            return Response(400, {"error": "unsupported_grant_type", "error_description": ""})
        public = KEY.public_key()
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                public,
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["iss", "aud", "exp", "iat"]},
            )
        except jwt.InvalidSignatureError:
            return Response(
                400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            )
        except jwt.PyJWTError:
            return self._timeframe()
        self.assertions.append(claims)
        now = time.time()
        if claims["exp"] - claims["iat"] > 3600 or abs(claims["iat"] - now) > 300:
            return self._timeframe()
        if not str(claims["aud"]).endswith("/token") or claims.get("scope") != SCOPE:
            return Response(400, {"error": "invalid_scope", "error_description": "Bad scope."})
        if claims["iss"] not in self.emails:
            return Response(
                400, {"error": "invalid_grant", "error_description": "account not found"}
            )
        token = f"ya29.c.play-test-{next(self._ids)}"
        with self._lock:
            self.tokens[token] = now + self.token_life
        return Response(
            200, {"access_token": token, "expires_in": self.token_life, "token_type": "Bearer"}
        )

    @staticmethod
    def _timeframe() -> Response:
        return Response(
            400,
            {
                "error": "invalid_grant",
                "error_description": "Invalid JWT: Token must be a short-lived token (60"
                " minutes) and in a reasonable timeframe. Check your iat and exp values in the"
                " JWT claim.",
            },
        )

    def _reviews(self, request: Request, package: str) -> Response:
        with self._lock:
            self.list_requests += 1
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.tokens.get(bearer, 0) < time.time():
            expired = bearer in self.tokens
            why = "ACCESS_TOKEN_EXPIRED" if expired else "CREDENTIALS_MISSING"
            return error(401, "UNAUTHENTICATED", UNAUTHENTICATED, why)
        if self.disabled:
            return error(403, "PERMISSION_DENIED", DISABLED, "SERVICE_DISABLED")
        if package not in self.apps:
            return error(404, "NOT_FOUND", "No application was found for the given package name.")
        if package not in self.invited:
            return error(403, "PERMISSION_DENIED", "The caller does not have permission")
        hour = int(time.time() // 3600)
        with self._lock:
            used = self.gets[(package, hour)] = self.gets.get((package, hour), 0) + 1
        if used > self.hourly:
            return error(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Get requests' and limit 'Get requests per"
                " hour per app' of service 'androidpublisher.googleapis.com'.",
                "RATE_LIMIT_EXCEEDED",
            )
        size = min(int(request.params.get("maxResults") or 10), 100)
        cutoff = time.time() - WEEK
        listed = sorted(
            (r for r in self.apps[package].values() if r.text and r.modified >= cutoff),
            key=lambda r: r.modified,
            reverse=True,
        )
        start = int(request.params.get("token") or 0)
        body: dict[str, Any] = {}
        page = listed[start : start + size]
        if page:
            body["reviews"] = [r.json() for r in page]
        if start + size < len(listed):
            body["tokenPagination"] = {"nextPageToken": str(start + size)}
        return Response(200, body)
