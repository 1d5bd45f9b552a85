"""Bluesky, through the AT Protocol's XRPC HTTP API.

API: ``app.bsky.feed.searchPosts`` and ``app.bsky.feed.getPosts``
(https://docs.bsky.app/docs/api/app-bsky-feed-search-posts), with a session from
``com.atproto.server.createSession`` / ``refreshSession`` (https://atproto.com/specs/xrpc).

Auth: post search has needed a logged-in session since 2025, so the owner gives a ``handle`` and
an app password. The session (access and refresh tokens) is kept in ``self.state``, the database,
so that the next process (a cron ``poll``) goes on with it instead of logging in again; it is
sealed there with Fernet under a key derived (PBKDF2-HMAC-SHA256, 600,000 rounds, a random salt
and the handle) from the app password, so the row is useless without the password, and a new
password or handle makes it unreadable: then the connector just logs in afresh. When a call is
refused with ``ExpiredToken``/``InvalidToken`` (HTTP 400 from a PDS, 401 from the entryway or
AppView) it first takes up a session another process saved meanwhile, else calls
``refreshSession`` (which spends the refresh token); only if that fails too does it log in again.
A refused login is raised as AuthError and not tried again until the service restarts with new
credentials. Every call goes to ``base_url`` (the ``bsky.social`` entryway, or the owner's own
PDS), which proxies ``app.bsky.*`` to the Bluesky AppView: the AppView hosts (api.bsky.app,
public.api.bsky.app) accept no authentication and refuse search without it, so there is no
separate AppView URL to set.

Limits (https://docs.bsky.app/docs/advanced-guides/rate-limits): 3,000 requests per 5 minutes
per IP address; ``createSession`` 30 per 5 minutes and 300 per day per account (the entryway has
been seen to allow fewer). So that a restart loop can never lock the owner's account out, login
times (timestamps only) are kept in ``self.state``, and beyond 5 logins in 5 minutes or 25 in a
day, or while Bluesky's own 429 on login lasts, the connector raises RateLimited instead of
logging in. 429 answers give ``retry_after`` from Retry-After or RateLimit-Reset (epoch seconds).

Search: Bluesky documents quoted phrases but no OR (bluesky-social/atproto#3751: a query
with OR finds nothing, search is AND over its words), so a poll costs one request per
distinct term of every watched brand together (``per_brand = False``: ``@acme`` and ``#acme``
are one term, ``acme``; a keyword containing another, "Acme Coffee app", is covered by it,
whichever brand the other belongs to), ``sort=latest``, paging with ``cursor`` up to
``max_pages``. The pipeline's matcher files each post under the brand it names. ``since``
(inclusive) filters on a post's sortAt, the earlier of its createdAt
and indexedAt. The cursor is ``{"since": newest sortAt seen, "seen": {uri: sortAt}}`` for the
posts of the last ``overlap``: each poll asks from ``since - overlap`` (posts are indexed a little
after they are written) and drops the URIs it already returned, so nothing is fetched twice.
Cost per poll: (distinct terms of every brand) x (pages needed, usually 1) requests;
``refresh`` reads 25 posts per ``getPosts`` call.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from pydantic import ByteSize, Field, SecretStr, field_validator

from connectors.base import (
    BrandJobsConfig,
    Connector,
    FetchResult,
    SourceConfig,
    SourceState,
    one_item,
    response_limit,
)
from monitor.config import Duration
from monitor.errors import AuthError, ParseError, RateLimited
from monitor.http import json_of, parse_retry_after, raise_for_status, send
from monitor.models import Mention

log = logging.getLogger(__name__)

CREATE_SESSION = "com.atproto.server.createSession"
REFRESH_SESSION = "com.atproto.server.refreshSession"
GET_SESSION = "com.atproto.server.getSession"
SEARCH_POSTS = "app.bsky.feed.searchPosts"
GET_POSTS = "app.bsky.feed.getPosts"
POST_URL = "https://bsky.app/profile/{}/post/{}"
GET_POSTS_BATCH = 25  # the lexicon's maxLength for `uris`
#: Our own ceiling on logins, well under Bluesky's 30 per 5 minutes and 300 per day.
LOGIN_LIMITS = ((300.0, 5), (86400.0, 25))
TOKEN_ERRORS = {"ExpiredToken", "InvalidToken"}
#: The state key of the sealed session, and the PBKDF2 rounds of its key (OWASP's 2023 advice).
SESSION_KEY = "session"
KDF_ROUNDS = 600_000
SESSION_FIELDS = ("did", "handle", "access", "refresh")
MAX_SEEN = 1000
COUNTS = (
    ("likes", "likeCount"),
    ("reposts", "repostCount"),
    ("replies", "replyCount"),
    ("quotes", "quoteCount"),
)
AUTH_HINT = (
    "set `handle` to your Bluesky handle (e.g. acme.bsky.social) and BLUESKY_APP_PASSWORD to an "
    "app password from Bluesky's Settings > Privacy and security > App passwords"
)

Params = list[tuple[str, str]]


class BlueskyConfig(BrandJobsConfig):
    #: Escalation thresholds (likes + reposts + replies + quotes), per hour; see SpreadRule.
    SPREAD: ClassVar[dict[str, Any]] = {"spreading": 20, "viral": 100, "min_gain": 8}
    base_url: str = "https://bsky.social"
    handle: str | None = Field(
        default=None,
        description="the Bluesky handle that signs in, without the `@`, e.g."
        " `acmecoffee.bsky.social`; needed, since Bluesky lets only signed-in accounts search",
    )
    app_password: SecretStr | None = Field(
        default=None,
        description="an app password of that handle, as `${BLUESKY_APP_PASSWORD}`; needed",
    )
    lang: str | None = Field(
        default=None, description="only posts in this language, e.g. `en`; unset: every language"
    )
    limit: int = Field(default=100, ge=1, le=100, description="posts per search request")
    max_pages: int = Field(
        default=5,
        ge=1,
        le=50,
        description="at most this many requests per search term and poll; older posts beyond"
        " them are skipped, with a warning",
    )
    lookback: Duration = Field(
        default=timedelta(hours=24), description="how far back the first poll reaches"
    )
    overlap: Duration = Field(
        default=timedelta(minutes=10),
        description="each poll also re-reads this much before the newest post seen, to catch"
        " posts Bluesky listed late (never reported twice)",
    )
    #: A page is 100 post views of a few kB (text of 300 characters, embeds, counts).
    max_response: ByteSize = response_limit(5_000_000)

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.lstrip("@").strip() or None


@dataclass(slots=True)
class _Session:
    did: str
    handle: str
    access: str = field(repr=False)
    refresh: str = field(repr=False)


def search_terms(keywords: Sequence[str]) -> list[str]:
    """Distinct searchPosts queries for these keywords (of every brand): @handles and #tags
    become plain words.

    Search is AND over words and phrases, so a keyword that contains another keyword's
    words in a row ("Acme Coffee app" holds "Acme Coffee") is covered by it and dropped.
    """
    terms: dict[str, str] = {}
    for keyword in keywords:
        term = " ".join(keyword.replace('"', " ").lstrip("@#").split())
        if term:
            terms.setdefault(term.casefold(), term)

    def covered(words: list[str]) -> bool:
        for other in terms:
            inner = other.split()
            if inner != words and any(
                words[i : i + len(inner)] == inner for i in range(len(words) - len(inner) + 1)
            ):
                return True
        return False

    return [
        f'"{term}"' if " " in term else term
        for key, term in terms.items()
        if not covered(key.split())
    ]


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def retry_after(headers: httpx.Headers, now: float) -> float | None:
    """Seconds to wait: Retry-After, else RateLimit-Reset (Bluesky sends epoch seconds)."""
    wait = parse_retry_after(headers.get("Retry-After"), now=now)
    if wait is not None:
        return wait
    try:
        reset = float(headers.get("RateLimit-Reset", ""))
    except ValueError:
        return None
    return max(0.0, reset - now if reset > 1e9 else reset)


def _xrpc_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def _token_rejected(response: httpx.Response) -> bool:
    status = response.status_code
    return status == 401 or (status == 400 and _xrpc_error(response) in TOKEN_ERRORS)


def _answers(record: dict[str, Any]) -> str | None:
    """The post this one replies to (its thread's root) or quotes, by AT URI."""
    reply = record.get("reply")
    if isinstance(reply, dict):
        root = reply.get("root")
        if isinstance(root, dict) and isinstance(root.get("uri"), str):
            return str(root["uri"])
    embed = record.get("embed")
    if isinstance(embed, dict):
        quoted = embed.get("record")
        if isinstance(quoted, dict) and isinstance(quoted.get("record"), dict):
            quoted = quoted["record"]  # app.bsky.embed.recordWithMedia
        if isinstance(quoted, dict) and isinstance(quoted.get("uri"), str):
            return str(quoted["uri"])
    return None


def engagement(post: dict[str, Any]) -> dict[str, int]:
    return {key: post[name] for key, name in COUNTS if isinstance(post.get(name), int)}


class BlueskyConnector(Connector):
    """Posts on Bluesky that mention a brand, found with the owner's logged-in session."""

    name = "bluesky"
    Config = BlueskyConfig
    config: BlueskyConfig
    #: One round for every brand: searchPosts has no OR, but a term two brands share (or
    #: one that covers another brand's keyword) is then asked once.
    per_brand = False
    #: A request per term: several workers share the brands (``brands_per_job``).
    splits_by_brand = True

    def __init__(
        self, config: SourceConfig, http: httpx.Client, state: SourceState | None = None
    ) -> None:
        super().__init__(config, http, state)
        self._session: _Session | None = None
        self._refused: str | None = None
        self._lock = threading.Lock()
        self._salt: bytes | None = None
        self._fernet: tuple[bytes, Fernet] | None = None

    # ------------------------------------------------------------------ fetch

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        since, seen = self._read_cursor(cursor)
        overlap = self.config.overlap
        start = since - overlap if since else datetime.now(UTC) - self.config.lookback
        found: dict[str, tuple[Mention, datetime]] = {}
        for term in search_terms(queries):
            for post in self._search(term, start):
                uri = post.get("uri")
                if isinstance(uri, str) and uri not in seen and uri not in found:
                    converted = self._to_mention(post)
                    if converted is not None:
                        found[uri] = converted
        if not found:
            return [], cursor
        newest = max([t for _, t in found.values()] + ([since] if since else []))
        window = newest - overlap
        recent = {**seen, **{uri: t for uri, (_, t) in found.items()}}
        kept = sorted(((t, u) for u, t in recent.items() if t >= window), reverse=True)
        new_cursor = {"since": iso(newest), "seen": {u: iso(t) for t, u in kept[:MAX_SEEN]}}
        mentions = sorted((m for m, _ in found.values()), key=lambda m: m.created_at)
        return mentions, json.dumps(new_cursor)

    def carry_cursors(self, cursors: Sequence[str]) -> str | None:
        """The oldest of the brands' ``since``, with every post they had seen."""
        read = [self._read_cursor(c) for c in cursors]
        starts = [since for since, _ in read if since is not None]
        if not starts:
            return None
        seen = {uri: t for _, each in read for uri, t in each.items()}
        kept = sorted(((t, u) for u, t in seen.items()), reverse=True)[:MAX_SEEN]
        return json.dumps({"since": iso(min(starts)), "seen": {u: iso(t) for t, u in kept}})

    def _read_cursor(self, cursor: str | None) -> tuple[datetime | None, dict[str, datetime]]:
        if not cursor:
            return None, {}
        try:
            data = json.loads(cursor)
            since = parse_time(data["since"])
            seen = {str(u): parse_time(t) for u, t in dict(data.get("seen") or {}).items()}
        except (ValueError, KeyError, TypeError):
            log.warning("bluesky: ignoring an unreadable cursor %r", cursor[:80])
            return None, {}
        return since, {u: t for u, t in seen.items() if t is not None}

    def _search(self, term: str, since: datetime) -> list[dict[str, Any]]:
        params: Params = [("q", term), ("sort", "latest"), ("since", iso(since))]
        params.append(("limit", str(self.config.limit)))
        if self.config.lang:
            params.append(("lang", self.config.lang))
        posts: list[dict[str, Any]] = []
        page: str | None = None
        for _ in range(self.config.max_pages):
            body = self._query(SEARCH_POSTS, params + ([("cursor", page)] if page else []))
            batch = body.get("posts")
            if not isinstance(batch, list):
                raise ParseError(self.name, "searchPosts answer has no `posts` list")
            posts.extend(p for p in batch if isinstance(p, dict))
            page = body.get("cursor") if isinstance(body.get("cursor"), str) else None
            if not batch or not page:
                break
        else:
            log.warning(
                "bluesky: more than %d new posts for %s in one poll; older ones were skipped "
                "(raise max_pages or poll more often)",
                self.config.max_pages * self.config.limit,
                term,
            )
        return posts

    @one_item
    def _to_mention(self, post: dict[str, Any]) -> tuple[Mention, datetime] | None:
        uri, record, author = post.get("uri"), post.get("record"), post.get("author")
        if not (isinstance(uri, str) and isinstance(record, dict) and isinstance(author, dict)):
            log.warning("bluesky: skipping a post without uri/record/author")
            return None
        created = parse_time(record.get("createdAt"))
        indexed = parse_time(post.get("indexedAt"))
        if created is None and indexed is None:
            log.warning("bluesky: skipping %s: it has no readable createdAt", uri)
            return None
        sort_at = min(t for t in (created, indexed) if t is not None)
        handle = author.get("handle")
        if not isinstance(handle, str) or not handle or handle == "handle.invalid":
            handle = str(author.get("did") or uri.removeprefix("at://").split("/")[0])
        mention = Mention(
            source=self.name,
            external_id=uri,
            url=POST_URL.format(handle, uri.rstrip("/").rsplit("/", 1)[-1]),
            author=handle,
            text=str(record.get("text") or ""),
            created_at=created or sort_at,
            engagement=engagement(post),
            raw=post,
            reply_to=_answers(record),
        )
        return mention, sort_at

    def refresh(self, ids: Sequence[str]) -> dict[str, dict[str, int]]:
        uris = list(dict.fromkeys(ids))
        current: dict[str, dict[str, int]] = {}
        for i in range(0, len(uris), GET_POSTS_BATCH):
            batch = uris[i : i + GET_POSTS_BATCH]
            body = self._query(GET_POSTS, [("uris", uri) for uri in batch])
            posts = body.get("posts")
            if not isinstance(posts, list):
                raise ParseError(self.name, "getPosts answer has no `posts` list")
            for post in posts:
                if isinstance(post, dict) and isinstance(post.get("uri"), str):
                    current[post["uri"]] = engagement(post)
        return current

    def check(self, online: bool = False) -> list[str]:
        self._require_credentials()
        lines = [f"handle {self.config.handle}, app password set"]
        if online:
            body = self._query(GET_SESSION, [])
            lines.append(
                f"logged in as {body.get('handle')} ({body.get('did')}); the session is kept "
                "in the database, sealed with the app password, so checks and polls reuse it"
            )
        return lines

    def close(self) -> None:
        self._session = None

    # ------------------------------------------------------------------ session

    def _password(self) -> str:
        secret = self.config.app_password
        return secret.get_secret_value() if secret is not None else ""

    def _current_session(self) -> _Session:
        with self._lock:
            if self._session is None:
                self._session = self._stored_session() or self._login()
            return self._session

    def _renew(self, stale: _Session) -> _Session:
        with self._lock:
            if self._session is not None and self._session is not stale:
                return self._session  # another thread renewed it meanwhile
            stored = self._stored_session()
            if stored is not None and stored.access != stale.access:
                self._session = stored  # another process renewed it meanwhile
                return stored
            response = self._send("POST", REFRESH_SESSION, token=stale.refresh)
            if _token_rejected(response):
                log.info(
                    "bluesky: the session has ended (HTTP %d); logging in again",
                    response.status_code,
                )
                self._session = None
                self._session = self._login()
            else:
                self._session = self._parse_session(self._json(response, REFRESH_SESSION))
                self._keep(self._session)
            return self._session

    # The session as the database keeps it: sealed with a key only the app password opens.

    def _fernet_for(self, salt: bytes) -> Fernet:
        if self._fernet is None or self._fernet[0] != salt:
            handle, password = self._require_credentials()
            kdf = PBKDF2HMAC(
                algorithm=hashes.SHA256(),
                length=32,
                salt=salt + handle.casefold().encode(),
                iterations=KDF_ROUNDS,
            )
            key = base64.urlsafe_b64encode(kdf.derive(password.encode()))
            self._fernet = (salt, Fernet(key))
        return self._fernet[1]

    def _keep(self, session: _Session) -> None:
        if self._salt is None:
            self._salt = os.urandom(16)
        plain = json.dumps({name: getattr(session, name) for name in SESSION_FIELDS})
        sealed = self._fernet_for(self._salt).encrypt(plain.encode()).decode("ascii")
        salt = base64.b64encode(self._salt).decode("ascii")
        self.state.set(SESSION_KEY, json.dumps({"salt": salt, "sealed": sealed}))

    def _stored_session(self) -> _Session | None:
        """The session an earlier process saved, or None if there is none this password opens."""
        saved = self.state.get(SESSION_KEY)
        if not saved:
            return None
        try:
            outer = json.loads(saved)
            salt = base64.b64decode(outer["salt"], validate=True)
            inner = json.loads(self._fernet_for(salt).decrypt(outer["sealed"].encode("ascii")))
            session = _Session(*(str(inner[name]) for name in SESSION_FIELDS))
        except (InvalidToken, ValueError, KeyError, TypeError, AttributeError):
            log.debug("bluesky: the saved session does not open with this handle and password")
            return None
        self._salt = salt
        return session

    def _require_credentials(self) -> tuple[str, str]:
        handle, password = self.config.handle, self._password()
        if not handle or not password:
            raise AuthError(self.name, "a handle and an app password are needed", hint=AUTH_HINT)
        return handle, password

    def _login(self) -> _Session:
        handle, password = self._require_credentials()
        if self._refused:
            raise AuthError(self.name, self._refused, hint=AUTH_HINT)
        now = time.time()
        self.state.set("logins", json.dumps([*self._recent_logins(now), now]))
        body = {"identifier": handle, "password": password}
        response = self._send("POST", CREATE_SESSION, body=body)
        if response.status_code in (401, 403):
            error = _xrpc_error(response)
            status = f"{error or 'HTTP'} {response.status_code}"
            self._refused = f"Bluesky refused the login for {handle} ({status})"
            if error == "AuthFactorTokenRequired":
                self._refused += ": that is the account password, use an app password instead"
            raise AuthError(self.name, self._refused, hint=AUTH_HINT)
        if response.status_code == 429:
            wait = retry_after(response.headers, now)
            self.state.set("login_wait_until", str(now + (300.0 if wait is None else wait)))
        session = self._parse_session(self._json(response, CREATE_SESSION))
        self._keep(session)
        return session

    def _recent_logins(self, now: float) -> list[float]:
        """This account's logins of the last day; RateLimited if one more would be too many."""
        try:
            times = sorted(float(t) for t in json.loads(self.state.get("logins") or "[]"))
            waits = [float(self.state.get("login_wait_until") or 0) - now]
        except (ValueError, TypeError):
            times, waits = [], []
        for window, limit in LOGIN_LIMITS:
            recent = [t for t in times if t > now - window]
            if len(recent) >= limit:
                waits.append(recent[-limit] + window - now)
        if max(waits, default=0.0) > 0:
            raise RateLimited(
                self.name,
                f"not logging in to Bluesky again yet ({len(times)} logins in the last day)",
                retry_after=max(waits),
                hint="Bluesky limits logins per account; the service keeps one session",
            )
        return [t for t in times if t > now - 86400]

    def _parse_session(self, body: dict[str, Any]) -> _Session:
        values = [body.get(k) for k in ("did", "handle", "accessJwt", "refreshJwt")]
        if not all(isinstance(v, str) and v for v in values):
            raise ParseError(self.name, "the session answer lacks did/handle/accessJwt/refreshJwt")
        return _Session(*(str(v) for v in values))

    # ------------------------------------------------------------------ wire

    def _query(self, nsid: str, params: Params) -> dict[str, Any]:
        session = self._current_session()
        response = self._send("GET", nsid, params=params, token=session.access)
        if _token_rejected(response):
            session = self._renew(session)
            response = self._send("GET", nsid, params=params, token=session.access)
        return self._json(response, nsid)

    def _send(
        self,
        method: str,
        nsid: str,
        *,
        params: Params | None = None,
        body: dict[str, str] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        """One XRPC call: the one place where httpx's errors become ours."""
        url = f"{self.base_url}/xrpc/{nsid}"
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return send(
            self.http,
            self.name,
            method,
            url,
            params=tuple(params) if params else None,
            json=body,
            headers=headers,
            timeout=self.config.timeout.total_seconds(),
            max_response=self.config.max_response,
        )

    def _json(self, response: httpx.Response, nsid: str) -> dict[str, Any]:
        host = response.request.url.host
        if response.status_code == 429:
            wait = retry_after(response.headers, time.time())
            said = f"; it asks us to wait {wait:.0f}s" if wait is not None else ""
            raise RateLimited(
                self.name, f"{host} is rate limiting {nsid} (HTTP 429){said}", retry_after=wait
            )
        if response.status_code == 400 and _xrpc_error(response) in TOKEN_ERRORS:
            raise AuthError(self.name, f"{host} refused our session for {nsid}", hint=AUTH_HINT)
        raise_for_status(self.name, response, auth_hint=AUTH_HINT)
        body = json_of(self.name, response, nsid)
        if not isinstance(body, dict):
            raise ParseError(self.name, f"{host} answered {nsid} with JSON that is not an object")
        return body
