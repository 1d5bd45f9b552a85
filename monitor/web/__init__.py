"""The inbox: the owner's web page to see, answer and teach, served by the service itself.

An ASGI app (Starlette, Jinja2 templates with autoescape, static files from the package)
whose endpoints are plain synchronous functions over the same Store as the service.

- app.py: ``create_app``: the app, its state, the middleware (security headers, sessions,
  login and CSRF) and the routes of every module below;
- auth.py: the owner's password, login/logout, sessions, CSRF, the login rate limit;
- pages.py: the inbox, a mention's page, the confirm page and the status buttons;
- health.py: the sources and alerts pages;
- words.py: what the pages say: reasons in owner words, ages, links that are safe;
- serve.py: uvicorn in a thread (``run``) or in front (``mention-monitor web``).
"""

from __future__ import annotations

from monitor.web.app import create_app

__all__ = ["create_app"]
