"""The sources page (is each source working, and if not, what to do) and the alerts page
(what was sent where, what could not be delivered, and "Send again")."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from connectors import load_connector
from connectors.base import Connector, Usage
from monitor.config import Config
from monitor.errors import MonitorError
from monitor.http import make_client
from monitor.store import DEAD, PENDING, SENDING, SENT, AlertRow, SourceHealthRow, Store, StoreState
from monitor.store.answers import Notice, recent_alerts, retry_alert, source_notices
from monitor.web.render import render

log = logging.getLogger(__name__)

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
    usage: Usage | None = None
    #: In the config, but left out here because its secret is not set (`mention-monitor web`).
    left_out: bool = False

    @property
    def budget(self) -> tuple[str, str] | None:
        """A metered source's budget this month, in words, and its css class."""
        u = self.usage
        if u is None or not u.limit:
            return None
        cost = f" (about ${u.cost_usd:.2f})" if u.cost_usd is not None else ""
        said = f"{u.used:,} of {u.limit:,} {u.unit} in {u.period}{cost}"
        if u.used >= u.limit:
            return f"Budget used up: {said}; polling is paused until next month", "state-bad"
        share = u.used / u.limit
        return f"Budget: {said}, {share:.0%}", "state-warn" if share >= 0.8 else ""

    @property
    def state(self) -> tuple[str, str]:
        """(words, css class): working, failing, waiting, not polled yet, disabled."""
        h = self.health
        if self.left_out:
            return "configured; its secret is not set for this inbox", "state-warn"
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


def usages(config: Config, store: Store) -> dict[str, Usage]:
    """This month's use of each metered source (X), as ``stats`` reports it. Only the
    sources that meter are built, and none of them makes a request to tell."""
    found: dict[str, Usage] = {}
    metered = {
        name: cls
        for name, cfg in config.sources.items()
        if getattr(cfg, "enabled", True)
        and (cls := load_connector(name)).usage is not Connector.usage
    }
    if not metered:
        return found
    with make_client() as http:
        for name, cls in metered.items():
            try:
                connector = cls(config.sources[name], http, StoreState(store, name))
                try:
                    usage = connector.usage()
                finally:
                    connector.close()
            except MonitorError as exc:
                log.warning("%s: its budget cannot be read: %s", name, exc)
                continue
            if usage is not None:
                found[name] = usage
    return found


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def sources(request: Request) -> Response:
    from monitor.config import format_duration

    config = request.app.state.config
    store = _store(request)
    health = store.health()
    notices = source_notices(store)
    metered = usages(config, store)
    rows = [
        SourceState(
            name,
            bool(getattr(cfg, "enabled", True)),
            format_duration(cfg.every) if getattr(cfg, "every", None) else "",
            health.get(name),
            notices.get(name, []),
            usage=metered.get(name),
        )
        for name, cfg in config.sources.items()
    ]
    # Sources polled once but no longer configured (or whose secret this process does not
    # have: `mention-monitor web` needs none) still tell their story.
    left_out = {
        line.split(":", 1)[0].removeprefix("source ")
        for line in config.left_out
        if line.startswith("source ")
    }
    rows += [
        SourceState(
            name,
            False,
            "",
            health.get(name),
            notices.get(name, []),
            configured=False,
            left_out=name in left_out,
        )
        for name in sorted((set(health) | left_out) - set(config.sources))
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
