"""The brand pages: how each brand is doing over the last 30 days.

- ``GET /brands``: every configured brand with its 30-day mentions, share negative, negatives still
  unanswered and a small chart of each day;
- ``GET /brands/{name}``: the daily chart with spike days marked, the figures (share
  negative, median times from posting to alert and from alert to the owner's first
  answer, as ``mention-monitor stats`` gives them), the busiest sources, the worst
  negatives (each links to its page) and, when ``web.api_token`` is set, the brand's Atom
  feed of negative mentions. A brand neither configured nor stored is a 404 page.

Days are UTC days, counted by when a mention was posted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from monitor.followup import human
from monitor.store import Store
from monitor.store.stats import (
    DAYS,
    DayCount,
    Window,
    brand_figures,
    daily_counts,
    has_mentions,
    spike_days,
)
from monitor.web.charts import daily_chart
from monitor.web.feeds import feed_path


@dataclass(frozen=True, slots=True)
class BrandLine:
    """One brand on the list page."""

    name: str
    url: str
    inbox_url: str
    mentions: int
    negatives: int
    unanswered: int
    share: str
    chart: Markup


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def brand_url(request: Request, name: str) -> str:
    return f"{_root(request)}/brands/{quote(name, safe='')}"


def inbox_url(request: Request, name: str) -> str:
    """The inbox filtered to the brand's negatives still needing an answer."""
    return f"{_root(request)}/?{urlencode({'brand': name, 'view': 'needs'})}"


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def percent(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _names(request: Request) -> list[str]:
    return [b.name for b in request.app.state.config.brands]


def brands_page(request: Request) -> Response:
    store: Store = request.app.state.store
    window = Window.last_days(request.app.state.clock(), DAYS)
    lines = []
    for name in _names(request):
        days = daily_counts(store, name, window)
        lines.append(_line(request, name, days, spike_days(store, name, window)))
    return _render(request, "brands.html", {"brands": lines, "days": DAYS})


def _line(request: Request, name: str, days: list[DayCount], spikes: set[date]) -> BrandLine:
    mentions = sum(d.mentions for d in days)
    negatives = sum(d.negatives for d in days)
    return BrandLine(
        name=name,
        url=brand_url(request, name),
        inbox_url=inbox_url(request, name),
        mentions=mentions,
        negatives=negatives,
        unanswered=sum(d.unanswered for d in days),
        share=percent(negatives, mentions),
        chart=daily_chart(name, days, spikes, compact=True),
    )


def brand_page(request: Request) -> Response:
    name = str(request.path_params["name"])
    store: Store = request.app.state.store
    configured = name in _names(request)
    if not configured and not has_mentions(store, name):
        return _render(
            request,
            "brand.html",
            {"name": name, "figures": None, "brands_url": f"{_root(request)}/brands"},
            status_code=404,
        )
    now = request.app.state.clock()
    figures = brand_figures(store, name, now)
    r = figures.response
    context = {
        "name": name,
        "figures": figures,
        "configured": configured,
        "chart": daily_chart(name, figures.days, figures.spikes),
        "share": percent(figures.negatives, figures.mentions),
        "to_alert": human(r.median(r.post_to_alert)),
        "to_answer": human(r.median(r.alert_to_ack)),
        "answered": len(r.alert_to_ack),
        "top": figures.top,
        "inbox_url": inbox_url(request, name),
        "brands_url": f"{_root(request)}/brands",
        "feed_url": feed_url(request, name),
        "days": DAYS,
    }
    return _render(request, "brand.html", context)


def feed_url(request: Request, name: str) -> str | None:
    """The brand's Atom feed with its token; None when no ``web.api_token`` is set (the
    feeds are off then)."""
    token: str | None = request.app.state.api_token
    return f"{_root(request)}{feed_path(token, name)}" if token else None


def routes() -> list[BaseRoute]:
    return [
        Route("/brands", brands_page, methods=["GET"], name="brands"),
        Route("/brands/{name:path}", brand_page, methods=["GET"], name="brand"),
    ]
