"""Who may use the inbox: the owner's password, sessions, CSRF and the login rate limit.

- The password comes from ``web.password`` (an environment variable). It is kept in
  memory only as a scrypt hash with a random salt and compared in constant time; it is
  never logged, stored or shown. Without a password the inbox is open, which config
  allows only when it listens on this machine alone (127.0.0.1).
- A session is Starlette's signed cookie (itsdangerous): HttpOnly, SameSite=Lax, Secure
  when ``web.public_url`` is https, scoped to the inbox's path. Its signing key is random
  per process, never written anywhere: nothing read from the database or a disk can
  forge a session, and a restart of the service logs everyone out.
- Every request that changes state (anything but GET/HEAD/OPTIONS) carries the session's
  random CSRF token, as the form field ``csrf_token`` or the ``X-CSRF-Token`` header; a
  missing or wrong one is a 403 page and nothing changes.
- Login failures are counted per client address: ``MAX_FAILURES`` within ``WINDOW`` and
  further attempts get 429 with Retry-After until the oldest failure is old enough.

Open without a session: ``/login``, ``/healthz``, ``/static/*``; ``/api/*`` and
``/feeds/*``, which check their own token (the API a bearer token, never a cookie, so a
forged cross-site request carries no authority there); ``/slack/actions``, which does
nothing unless Slack's signature of the request verifies (monitor/web/slack_actions.py);
the exports with a valid bearer token. Everything else needs a logged-in session, or the
password-less open inbox, which answers only requests addressed to this machine's own names
(localhost, 127.0.0.1, ::1) or to ``web.public_url``'s host, so that another site cannot
read it by DNS rebinding.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

from markupsafe import Markup, escape
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.web.render import problem, render

#: Failed logins from one address that are allowed within ``WINDOW``.
MAX_FAILURES = 5
WINDOW = timedelta(minutes=5)
#: A form larger than this is refused (413): a note is a few lines.
MAX_FORM_BYTES = 64 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_PATHS = frozenset({"/login", "/healthz"})
OPEN_PREFIXES = ("/static/", "/api/", "/feeds/")
TOKEN_PATHS = frozenset({"/export.csv", "/export.json"})
#: Paths that check a signature of their own instead of a session (Slack's presses).
SIGNED_PATHS = frozenset({"/slack/actions"})


class PasswordCheck:
    """The owner's password as a slow salted hash; the password itself is not kept."""

    def __init__(self, password: str) -> None:
        self._salt = os.urandom(16)
        self._hash = self._derive(password)

    def _derive(self, attempt: str) -> bytes:
        # n=2**14, r=8: about 16 MB and some tens of milliseconds per attempt.
        return hashlib.scrypt(attempt.encode("utf-8"), salt=self._salt, n=2**14, r=8, p=1, dklen=32)

    def matches(self, attempt: str) -> bool:
        return hmac.compare_digest(self._derive(attempt), self._hash)

    def __repr__(self) -> str:
        return "PasswordCheck(****)"


class LoginLimiter:
    """Failed logins per client address, forgotten after ``window``. Thread-safe."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: timedelta = WINDOW) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, client: str, now: datetime) -> int | None:
        """Seconds until ``client`` may try again, or None if it may try now."""
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.max_failures:
                return None
            wait = times[-self.max_failures] + self.window - now
            return max(1, int(wait.total_seconds() + 0.999))

    def failed(self, client: str, now: datetime) -> None:
        with self._lock:
            if len(self._failures) > 10_000:  # many addresses: drop those with nothing recent
                for key in [k for k, v in self._failures.items() if not self._recent(k, now)]:
                    del self._failures[key]
            times = self._recent(client, now)
            times.append(now)
            self._failures[client] = times

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


def new_session_key() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_field(request: Request) -> Markup:
    """The hidden form field every state-changing form carries (a Jinja global)."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(
        escape(csrf_token(request))
    )


def bearer_ok(headers: Headers, api_token: str | None) -> bool:
    """The request carries ``Authorization: Bearer <web.api_token>``."""
    if not api_token:
        return False
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        return False
    return hmac.compare_digest(value.strip().encode(), api_token.encode())


def safe_next(value: str | None) -> str:
    """A path inside the inbox to go back to; anything else (another site) becomes "/"."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 32 or c == "\\" for c in value):
        return "/"
    return value


def route_path(scope: Scope) -> str:
    """The path inside the app, without the reverse proxy's prefix (``root_path``)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path


class Guard:
    """Pure ASGI middleware inside the session middleware: login and CSRF for every page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state = request.app.state
        path = route_path(scope)
        if (
            path.startswith(OPEN_PREFIXES)
            or path in SIGNED_PATHS
            or path == "/healthz"  # no session, no cookie: an uptime check is no visitor
            or (path in TOKEN_PATHS and bearer_ok(request.headers, state.api_token))
        ):
            await self.app(scope, receive, send)
            return
        if state.password_check is None and not _local_host(request, state.public_url):
            # An open inbox answers only to this machine's own names: a web page elsewhere
            # that points its own name at 127.0.0.1 (DNS rebinding) reads nothing.
            message = (
                "This inbox has no password, so it answers only at 127.0.0.1 or localhost "
                "(or web.public_url). Open it there, or set web.password."
            )
            await _error(request, 421, message)(scope, receive, send)
            return
        logged_in = state.password_check is None or request.session.get("auth") is True
        if not logged_in and path not in OPEN_PATHS:
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + (f"?{query}" if query else "")
            if scope["method"] not in SAFE_METHODS:
                target = "/"  # a button pressed after the login expired: press it again
            login = f"{scope.get('root_path', '')}/login?next={quote(target, safe='')}"
            await RedirectResponse(login, status_code=303)(scope, receive, send)
            return
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            await _error(request, 413, "That form is too large.")(scope, receive, send)
            return
        form = _form(request.headers, body)
        sent = request.headers.get("x-csrf-token") or form.get("csrf_token")
        if not sent or not hmac.compare_digest(sent.encode(), csrf_token(request).encode()):
            message = (
                "This form has expired or did not come from the inbox, so nothing was "
                "changed. Go back, reload the page and try again."
            )
            await _error(request, 403, message)(scope, receive, send)
            return
        # The endpoints are sync functions: they read the parsed form from request.state.
        scope.setdefault("state", {})["form"] = form
        await self.app(scope, _replay(body), send)


def _local_host(request: Request, public_url: str | None) -> bool:
    """The request names this machine (localhost, 127.x, ::1) or the public_url's host."""
    host = (request.url.hostname or "").strip("[]").lower()
    if public_url and host == (urlsplit(public_url).hostname or "").lower():
        return True
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    done = False

    async def receive() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _form(headers: Headers, body: bytes) -> dict[str, str]:
    """An urlencoded form's fields (the first value of each); the pages post nothing else."""
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}  # a script sends the token as the X-CSRF-Token header
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {key: values[0] for key, values in parsed.items()}


def form_of(request: Request) -> dict[str, str]:
    """The form of a POST that passed the CSRF check (parsed by ``Guard``)."""
    form = getattr(request.state, "form", None)
    return form if isinstance(form, dict) else {}


def _error(request: Request, status: int, message: str) -> Response:
    return problem(request, status, message)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def _home(request: Request, target: str = "/") -> RedirectResponse:
    return RedirectResponse(request.scope.get("root_path", "") + target, status_code=303)


def login_page(request: Request) -> Response:
    if request.app.state.password_check is None or request.session.get("auth") is True:
        return _home(request, safe_next(request.query_params.get("next")))
    return render(request, "login.html", {"next": safe_next(request.query_params.get("next"))})


def login(request: Request) -> Response:
    check: PasswordCheck | None = request.app.state.password_check
    form = form_of(request)
    target = safe_next(form.get("next") or "/")
    if check is None:
        return _home(request, target)
    limiter: LoginLimiter = request.app.state.login_limiter
    client, now = _client(request), _now(request)
    wait = limiter.retry_after(client, now)
    if wait is not None:
        minutes = max(1, round(wait / 60))
        return render(
            request,
            "login.html",
            {
                "next": target,
                "error": f"Too many wrong passwords. Wait {minutes} minute"
                + ("s" if minutes > 1 else "")
                + " and try again.",
            },
            429,
            headers={"Retry-After": str(wait)},
        )
    if not check.matches(form.get("password", "")):  # slow on purpose; a sync endpoint
        limiter.failed(client, now)
        return render(
            request, "login.html", {"next": target, "error": "That password is not right."}, 401
        )
    limiter.succeeded(client)
    request.session.clear()  # a fresh session: nothing from before the login carries over
    request.session["auth"] = True
    csrf_token(request)
    return _home(request, target)


def logout(request: Request) -> Response:
    request.session.clear()
    target = "/login" if request.app.state.password_check is not None else "/"
    return _home(request, target)


def routes() -> list[BaseRoute]:
    return [
        Route("/login", login_page, methods=["GET"], name="login_page"),
        Route("/login", login, methods=["POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
    ]
