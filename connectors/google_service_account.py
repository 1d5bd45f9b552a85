"""A Google service account's access token: its JSON key, a signed JWT, the token endpoint.

Google's server-to-server flow (https://developers.google.com/identity/protocols/oauth2/
service-account): the key file a Google Cloud service account gives (``type``:
``service_account``, ``client_email``, ``private_key`` (PEM, RSA), ``private_key_id``,
``token_uri``) signs a JWT with RS256, ``{"iss": client_email, "scope", "aud": token_uri,
"iat", "exp"}`` with ``exp`` at most an hour after ``iat``, which is posted to the token
endpoint as ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`` for
``{"access_token", "expires_in", "token_type"}``. The access token is kept in memory until a
minute before it expires. Google refuses a key it no longer knows (deleted, or of a deleted
account) with 400 ``invalid_grant`` "Invalid JWT Signature." (or "account not found"), and a
JWT whose times it does not believe (this computer's clock is wrong) with ``invalid_grant``
"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe".

The private key never leaves this module's objects: it is masked wherever text leaves our
hands (monitor/redact.py), is no part of any repr, and no error quotes the key file.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from connectors.google_errors import _body, _said
from connectors.google_errors import token_error as refresh_token_error
from monitor.errors import AuthError, ConnectorError, ParseError
from monitor.http import json_of, send
from monitor.redact import REDACTOR

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (an address)
#: The JWT's life: Google takes at most an hour.
LIFE = 3600
#: An access token is renewed this long before Google says it expires.
EARLY = 60.0
NEW_KEY = (
    "make a new JSON key: Google Cloud console > IAM & Admin > Service accounts > your"
    " service account > Keys > Add key > Create new key > JSON, and point"
    " `service_account_file` at it"
)


@dataclass(frozen=True)
class ServiceAccount:
    """What a key file holds that we use. ``key`` is the loaded private key."""

    client_email: str
    key_id: str
    token_uri: str
    key: RSAPrivateKey = field(repr=False)


def read_account(text: str, where: str) -> ServiceAccount:
    """The service account of a key file's text; ValueError in owner words naming ``where``
    (never quoting the text: it holds the private key)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(
            f"{where} is not JSON: give the key file exactly as Google made it"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f"{where} is not a Google key file (a JSON object)")
    if data.get("type") != "service_account":
        kind = data.get("type") if isinstance(data.get("type"), str) else None
        said = f" (its type is '{kind[:40]}')" if kind else ""
        raise ValueError(
            f"{where} is not a service account's key{said}: make a JSON key of a service"
            " account (Google Cloud console > IAM & Admin > Service accounts > Keys); an OAuth"
            " client's file or an API key does not work here"
        )
    private = data.get("private_key")
    if isinstance(private, str) and private.strip():
        _remember(private)
    email = data.get("client_email")
    if not isinstance(email, str) or "@" not in email:
        raise ValueError(f"{where} has no `client_email`: download the key again")
    if not isinstance(private, str) or "PRIVATE KEY" not in private:
        raise ValueError(f"{where} has no `private_key`: download the key again")
    try:
        key = load_pem_private_key(private.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError(
            f"the `private_key` in {where} cannot be read: download the key again"
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(f"the `private_key` in {where} is not an RSA key, as Google's are")
    uri = data.get("token_uri")
    return ServiceAccount(
        client_email=email,
        key_id=str(data.get("private_key_id") or ""),
        token_uri=uri
        if isinstance(uri, str) and uri.startswith(("https://", "http://"))
        else TOKEN_URI,
        key=key,
    )


def read_key_file(path: Path, where: str) -> str:
    """The text of a key file, or ValueError naming it."""
    try:
        return path.expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(
            f"there is no file {path}: write the key file's whole path, like"
            " /etc/mention-monitor/play-key.json"
        ) from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a folder, not the key file ({where})") from None
    except PermissionError:
        raise ValueError(f"mention-monitor may not read {path} ({where})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} cannot be read ({where}): {type(exc).__name__}") from None


def _remember(private: str) -> None:
    """Mask the key wherever text leaves our hands, whole or line by line (an echo may wrap)."""
    REDACTOR.add(private)
    for line in private.splitlines():
        if len(line) >= 16 and "PRIVATE KEY" not in line:
            REDACTOR.add(line)


@dataclass
class _Token:
    value: str = field(repr=False)
    expires: float


class AccessTokens:
    """Access tokens for one service account and scope, each kept until near its expiry."""

    def __init__(
        self, source: str, account: ServiceAccount, scope: str, http: httpx.Client, **how: Any
    ) -> None:
        self.source = source
        self.account = account
        self.scope = scope
        self.http = http
        self.token_url: str = how.get("token_url") or account.token_uri
        self.timeout: float = how.get("timeout", 20.0)
        self.requests = 0
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def drop(self) -> None:
        with self._lock:
            self._token = None

    def get(self) -> str:
        with self._lock:
            if self._token is not None and self._token.expires > time.monotonic():
                return self._token.value
            now = int(time.time())
            claims = {
                "iss": self.account.client_email,
                "scope": self.scope,
                "aud": self.token_url,
                "iat": now,
                "exp": now + LIFE,
            }
            headers = {"kid": self.account.key_id} if self.account.key_id else None
            assertion = jwt.encode(claims, self.account.key, algorithm="RS256", headers=headers)
            self.requests += 1
            response = send(
                self.http,
                self.source,
                "POST",
                self.token_url,
                data={"grant_type": GRANT, "assertion": assertion},
                timeout=self.timeout,
                max_response=100_000,
            )
            if response.status_code >= 400:
                raise token_error(self.source, response, self.account.client_email)
            self._token = self._read(json_of(self.source, response, "the token request"))
            return self._token.value

    def _read(self, body: Any) -> _Token:
        """The token answer: ``access_token``, and ``expires_in`` seconds (an hour if unsaid)."""
        if not isinstance(body, dict) or not body.get("access_token"):
            raise ParseError(self.source, "Google's token answer has no access_token")
        life = body.get("expires_in")
        seconds = float(life) if isinstance(life, int | float) and life > 0 else float(LIFE)
        return _Token(str(body["access_token"]), time.monotonic() + max(0.0, seconds - EARLY))


def token_error(source: str, response: httpx.Response, email: str) -> ConnectorError:
    """The token endpoint refused the service account's signed JWT."""
    status = response.status_code
    body = _body(response)
    code = body.get("error") if isinstance(body.get("error"), str) else ""
    description = " ".join(str(body.get("error_description") or "").split())
    said = _said(description)
    lowered = description.lower()
    if code == "invalid_grant" and ("timeframe" in lowered or "iat" in lowered):
        return AuthError(
            source,
            f"Google does not believe the time in our sign-in{said}",
            hint="this computer's clock is wrong: turn on automatic time (NTP) and try again",
        )
    if code == "invalid_grant" and "not found" in lowered:
        return AuthError(
            source,
            f"Google no longer knows the service account {email}{said}",
            hint=f"it was deleted; make a new service account and key ({NEW_KEY}), and invite"
            " it in Play Console as docs/sources/google_play.md shows",
        )
    if code in ("invalid_grant", "invalid_client", "unauthorized_client") or status == 401:
        return AuthError(
            source,
            f"Google refused the service account's key ({email}){said}",
            hint=f"the key was deleted or disabled in Google Cloud: {NEW_KEY}",
        )
    if status == 429 or status >= 500:
        return refresh_token_error(source, response)  # the same for every Google sign-in
    return AuthError(
        source,
        f"Google refused to sign in the service account {email} (HTTP {status},"
        f" {code or 'no reason'}){said}",
        hint=NEW_KEY,
    )
