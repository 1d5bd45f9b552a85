"""Rendering a page: the one place the app's templates are called, typed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``name`` with ``context`` plus ``now`` (the app's clock) and the template globals."""
    templates: Jinja2Templates = request.app.state.templates
    now: datetime = request.app.state.clock()
    context.setdefault("now", now)
    return templates.TemplateResponse(request, name, context, status_code=status, headers=headers)


def problem(request: Request, status: int, message: str, title: str | None = None) -> Response:
    """A page that says, in plain words, why something could not be done."""
    context: dict[str, Any] = {"status": status, "message": message}
    if title:
        context["title"] = title
    return render(request, "error.html", context, status)
