"""The sources page (is each source working, and if not, what to do) and the alerts page
(what was sent where, what could not be delivered, and "Send again")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.errors import MonitorError
from monitor.store import DEAD, PENDING, SENDING, SENT, AlertRow, SourceHealthRow, Store
from monitor.store.answers import Notice, recent_alerts, retry_alert, source_notices
from monitor.web.render import render

ALERT_STATES = {
    PENDING: "waiting to be sent",
    SENDING: "being sent",
    SENT: "sent",
    DEAD: "could not be delivered",
}
KIND_WORDS = {
    "mention": "negative mention",
    "escalation": "spreading",
    "reminder": "reminder",
    "spike": "spike",
    "health": "source health",
    "digest": "digest",
}
#: What to do about a source whose last poll failed, when no health notice said more.
DEFAULT_FIX = "`mention-monitor check --online` says what is wrong with it and how to fix it."


@dataclass
class SourceState:
    """One source as the sources page shows it."""

    name: str
    enabled: bool
    every: str
    health: SourceHealthRow | None
    notices: list[Notice] = field(default_factory=list)
    configured: bool = True

    @property
    def state(self) -> tuple[str, str]:
        """(words, css class): working, failing, waiting, not polled yet, disabled."""
        h = self.health
        if not self.configured:
            return "no longer in the configuration", "state-warn"
        if not self.enabled:
            return "disabled", "state-warn"
        if h is None:
            return "not polled yet", "state-warn"
        if h.consecutive_failures:
            return f"failing ({h.consecutive_failures} polls in a row)", "state-bad"
        return "working", "state-ok"

    @property
    def fix(self) -> str | None:
        """The latest notice's advice for a failing source, else the generic one."""
        if self.health is None or not self.health.consecutive_failures:
            return None
        for notice in self.notices:
            if notice.kind == "failing" and "Fix:" in notice.text:
                return notice.text.split("Fix:", 1)[1].split(". `mention-monitor", 1)[0].strip()
        return DEFAULT_FIX


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def sources(request: Request) -> Response:
    from monitor.config import format_duration

    config = request.app.state.config
    store = _store(request)
    health = store.health()
    notices = source_notices(store)
    rows = [
        SourceState(
            name,
            bool(getattr(cfg, "enabled", True)),
            format_duration(cfg.every) if getattr(cfg, "every", None) else "",
            health.get(name),
            notices.get(name, []),
        )
        for name, cfg in config.sources.items()
    ]
    # Sources polled once but no longer configured still tell their story.
    rows += [
        SourceState(name, False, "", row, notices.get(name, []), configured=False)
        for name, row in sorted(health.items())
        if name not in config.sources
    ]
    return render(request, "sources.html", {"sources": rows})


def alerts(request: Request) -> Response:
    store = _store(request)
    only = request.query_params.get("status", "")
    rows = recent_alerts(store, status=only if only in ALERT_STATES else None, limit=100)
    counts = store.alert_counts()
    channels = sorted({channel for channel, _ in counts})
    return render(
        request,
        "alerts.html",
        {
            "rows": rows,
            "only": only if only in ALERT_STATES else "",
            "states": ALERT_STATES,
            "kinds": KIND_WORDS,
            "channels": [
                {
                    "name": name,
                    "counts": {s: counts.get((name, s), 0) for s in ALERT_STATES},
                }
                for name in channels
            ],
            "paused": store.paused_channels(),
            "waits": store.channel_waits(),
            "subject": subject,
        },
    )


def subject(row: AlertRow) -> str:
    """What an alert was about, in a few words (the mention's page links the rest)."""
    payload: dict[str, Any] = row.payload or {}
    if payload.get("title"):
        return str(payload["title"])
    if row.mention_id is not None:
        return f"mention #{row.mention_id}"
    return KIND_WORDS.get(row.kind, row.kind)


def retry(request: Request) -> Response:
    alert_id = request.path_params["alert_id"]
    now: datetime = request.app.state.clock()
    try:
        retry_alert(_store(request), alert_id, now)
    except MonitorError as exc:
        return render(request, "error.html", {"status": 400, "message": str(exc)}, status=400)
    root = str(request.scope.get("root_path", ""))
    return RedirectResponse(f"{root}/alerts?status={PENDING}", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/sources", sources, methods=["GET"], name="sources"),
        Route("/alerts", alerts, methods=["GET"], name="alerts"),
        Route("/alerts/{alert_id:int}/retry", retry, methods=["POST"], name="alert_retry"),
    ]
