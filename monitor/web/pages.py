"""The inbox, a mention's page, the confirm page, and the owner's answers.

Every answer goes through the core: ``Store.set_status`` for acknowledge, resolve and
ignore (one history record each, as ``mention-monitor mentions ack``), and
``monitor.feedback.give_verdict`` for "negative" / "not negative". A GET never changes
anything: mail scanners and link previews follow every link in an alert.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.errors import MonitorError
from monitor.store import ACKNOWLEDGED, IGNORED, NEW, RESOLVED, MentionRow, Store
from monitor.store.answers import mention_alerts
from monitor.web import health
from monitor.web.auth import form_of, safe_next
from monitor.web.render import problem, render
from monitor.web.words import parse_since

PAGE_SIZE = 25
COUNT_CAP = 10_000
ANSWERS = {ACKNOWLEDGED: "Acknowledged", RESOLVED: "Resolved", IGNORED: "Ignored"}
VIEWS = {
    "needs": "Needs an answer",
    "all": "All mentions",
    "unflagged": "Not flagged",
}
VERDICTS = ("negative", "not_negative")


@dataclass(frozen=True)
class InboxQuery:
    """The inbox's filters, as its GET form and links carry them."""

    view: str = "needs"
    brand: str = ""
    source: str = ""
    status: str = ""
    negative: str = "all"
    q: str = ""
    since: str = ""
    cursor: str = ""

    @classmethod
    def of(cls, request: Request) -> InboxQuery:
        p = request.query_params
        view = p.get("view", "needs")
        status = p.get("status", "")
        negative = p.get("negative", "all")
        return cls(
            view=view if view in VIEWS else "needs",
            brand=p.get("brand", "").strip(),
            source=p.get("source", "").strip(),
            status=status if status in (NEW, *ANSWERS) else "",
            negative=negative if negative in ("1", "0", "all") else "all",
            q=p.get("q", "").strip()[:200],
            since=p.get("since", "").strip()[:20],
            cursor=p.get("cursor", "").strip()[:500],
        )

    def link(self, **changes: str) -> str:
        """This query with ``changes``, as ``?view=...`` (empty values left out)."""
        values = replace(self, **changes).__dict__
        return "?" + urlencode({k: v for k, v in values.items() if v and v != "all"})

    def filters(self, now: datetime) -> tuple[Any, str]:
        """The store's MentionFilter and the order for this view."""
        from monitor.store.listing import NEWEST, URGENT, MentionFilter

        negative = {"1": True, "0": False}.get(self.negative)
        status = self.status or None
        order = NEWEST
        if self.view == "needs":
            negative, status, order = True, status or NEW, URGENT
        elif self.view == "unflagged":
            negative = False
        flt = MentionFilter(
            brand=self.brand or None,
            source=self.source or None,
            status=status,
            negative=negative,
            since=parse_since(self.since, now),
            text=self.q or None,
        )
        return flt, order


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def _mention_or_404(request: Request) -> MentionRow | Response:
    mention_id = request.path_params["mention_id"]
    row = _store(request).mention(mention_id)
    if row is None:
        return problem(request, 404, f"There is no mention #{mention_id}.", "Not found")
    return row


def _back(request: Request, fallback: str) -> RedirectResponse:
    """303 to the form's ``next`` (a path in the inbox) or to ``fallback``."""
    target = form_of(request).get("next") or ""
    path = safe_next(target) if target else fallback
    return RedirectResponse(str(request.scope.get("root_path", "")) + path, status_code=303)


# ---------------------------------------------------------------- pages


def inbox(request: Request) -> Response:
    from monitor.store.listing import count_mentions, list_mentions

    config = request.app.state.config
    query = InboxQuery.of(request)
    now = _now(request)
    flt, order = query.filters(now)
    store = _store(request)
    try:
        page = list_mentions(store, flt, order=order, limit=PAGE_SIZE, cursor=query.cursor or None)
    except MonitorError as exc:  # a cursor from an old link, or one typed by hand
        return problem(request, 400, str(exc), "That page cannot be shown")
    count = count_mentions(store, flt, cap=COUNT_CAP)
    here = request.url.query
    return render(
        request,
        "inbox.html",
        {
            "query": query,
            "rows": page.rows,
            "count": count,
            "count_capped": count >= COUNT_CAP,
            "next_link": query.link(cursor=page.next_cursor) if page.next_cursor else None,
            "first_link": query.link(cursor="") if query.cursor else None,
            "views": VIEWS,
            "brands": [b.name for b in config.brands],
            "sources": sorted(config.sources),
            "statuses": (NEW, *ANSWERS),
            "here": "/" + (f"?{here}" if here else ""),
            "since_ok": not query.since or flt.since is not None,
        },
    )


def mention_page(request: Request) -> Response:
    row = _mention_or_404(request)
    if isinstance(row, Response):
        return row
    store = _store(request)
    return render(
        request,
        "mention.html",
        {
            "row": row,
            "changes": store.status_changes(row.id),
            "snapshots": store.snapshots(row.id),
            "alerts": mention_alerts(store, row.id),
            "here": f"/mentions/{row.id}",
        },
    )


def ack_page(request: Request) -> Response:
    """The page an alert's "Acknowledge" link opens: the mention and one button (a POST)."""
    row = _mention_or_404(request)
    if isinstance(row, Response):
        return row
    return render(request, "confirm.html", {"row": row, "here": f"/mentions/{row.id}"})


def _answer(request: Request, status: str) -> Response:
    row = _mention_or_404(request)
    if isinstance(row, Response):
        return row
    note = (form_of(request).get("note") or "").strip()[:2000] or None
    try:
        _store(request).set_status(row.id, status, note, _now(request))
    except MonitorError as exc:
        return problem(request, 400, str(exc))
    return _back(request, f"/mentions/{row.id}")


def ack(request: Request) -> Response:
    return _answer(request, ACKNOWLEDGED)


def change_status(request: Request) -> Response:
    status = form_of(request).get("status", "")
    if status not in ANSWERS:
        return problem(request, 400, "Choose Acknowledge, Resolve or Ignore.")
    return _answer(request, status)


def verdict(request: Request) -> Response:
    """The owner's verdict: this mention is (not) negative. The scorer learns from it."""
    row = _mention_or_404(request)
    if isinstance(row, Response):
        return row
    given = form_of(request).get("verdict", "")
    if given not in VERDICTS:
        return problem(request, 400, "Choose Negative or Not negative.")
    try:
        from monitor.feedback import give_verdict
    except ImportError:
        return problem(request, 501, "Verdicts are not available in this version yet.")
    try:
        give_verdict(request.app.state.config, _store(request), row.id, given, _now(request))
    except MonitorError as exc:
        return problem(request, 400, str(exc))
    return _back(request, f"/mentions/{row.id}")


def verdicts_available() -> bool:
    try:
        import monitor.feedback  # noqa: F401
    except ImportError:
        return False
    return True


def routes() -> list[BaseRoute]:
    return [
        Route("/", inbox, methods=["GET"], name="inbox"),
        Route("/mentions/{mention_id:int}", mention_page, methods=["GET"], name="mention"),
        Route("/mentions/{mention_id:int}/ack", ack_page, methods=["GET"], name="ack_page"),
        Route("/mentions/{mention_id:int}/ack", ack, methods=["POST"], name="ack"),
        Route("/mentions/{mention_id:int}/status", change_status, methods=["POST"], name="status"),
        Route("/mentions/{mention_id:int}/verdict", verdict, methods=["POST"], name="verdict"),
        *health.routes(),
    ]
