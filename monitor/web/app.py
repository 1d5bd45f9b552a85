"""``create_app``: the inbox as one Starlette app over the service's Store.

What every route module can read from ``request.app.state``: ``config``, ``store``,
``clock``, ``templates`` (Jinja2, autoescaped, with the globals ``csrf_field`` and
``path_for``), ``api_token`` and ``public_url``. The routes come from each module's
``routes()``; a module not written yet is left out.

Around every response, errors included: the security headers below. Around every
route: the session (a signed cookie) and ``Guard`` (login and CSRF, see auth.py).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.config import Config
from monitor.models import utcnow
from monitor.store import Store
from monitor.web import charts, words
from monitor.web.auth import Guard, LoginLimiter, PasswordCheck, csrf_field, new_session_key

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}

#: The modules whose ``routes()`` make up the inbox, in the order they are matched.
ROUTE_MODULES = (
    "monitor.web.auth",
    "monitor.web.pages",
    "monitor.web.api",
    "monitor.web.feeds",
    "monitor.web.brands",
    "monitor.web.charts",
    "monitor.web.slack_actions",
)


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every response; pages (not static files) are not cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = "/static/" in scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = dict(SECURITY_HEADERS)
                if not static:
                    extra["cache-control"] = "no-store"
                headers += [
                    (name.encode(), value.encode())
                    for name, value in extra.items()
                    if name.encode() not in present
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class InboxApp(Starlette):
    """Starlette with the security headers outside everything, its error pages too."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def _templates() -> Jinja2Templates:
    folder = resources.files("monitor.web").joinpath("templates")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,  # every template, whatever its name: stranger text is everywhere
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates = Jinja2Templates(env=env, context_processors=[_context])
    env.globals["csrf_field"] = csrf_field
    env.globals["path_for"] = path_for
    env.globals.update(words.TEMPLATE_HELPERS)
    env.globals.update(charts.TEMPLATE_HELPERS)  # spread_chart, for mention.html
    return templates


def _context(request: Request) -> dict[str, Any]:
    """In every template: ``root``, the proxy's path prefix ("" or "/monitor")."""
    return {"root": str(request.scope.get("root_path", ""))}


def path_for(request: Request, name: str, /, **params: Any) -> str:
    """A route's path under the proxy's prefix, as a link from any page (no host)."""
    path = str(request.app.url_path_for(name, **{k: str(v) for k, v in params.items()}))
    return str(request.scope.get("root_path", "")) + path


def _routes() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for name in ROUTE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # another part of the inbox, not here yet
        found.extend(module.routes())
    return found


def create_app(
    config: Config, store: Store, *, clock: Callable[[], datetime] = utcnow
) -> Starlette:
    """The inbox for ``config`` over ``store`` (the caller owns and closes the store)."""
    web = config.web
    static = resources.files("monitor.web").joinpath("static")
    routes = [
        *_routes(),
        Mount("/static", app=StaticFiles(directory=str(static)), name="static"),
    ]
    app = InboxApp(
        routes=routes,
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=new_session_key(),
                session_cookie="mention_monitor_session",
                max_age=7 * 24 * 3600,
                path=web.root_path or "/",
                same_site="lax",
                https_only=web.https,
            ),
            Middleware(Guard),
        ],
    )
    app.state.config = config
    app.state.store = store
    app.state.clock = clock
    app.state.templates = _templates()
    app.state.api_token = web.api_token.get_secret_value() if web.api_token else None
    app.state.public_url = web.public_url.rstrip("/") if web.public_url else None
    app.state.password_check = (
        PasswordCheck(web.password.get_secret_value()) if web.password else None
    )
    app.state.login_limiter = LoginLimiter()
    return app
