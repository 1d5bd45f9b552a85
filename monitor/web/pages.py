"""The inbox, a mention's page, the confirm page, and the owner's answers.

Every answer goes through the core: ``Store.set_status`` for acknowledge, resolve and
ignore (one history record each, as ``mention-monitor mentions ack``), and
``monitor.feedback.give_verdict`` for "negative" / "not negative". A GET never changes
anything: mail scanners and link previews follow every link in an alert.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.errors import MonitorError
from monitor.feedback import give_verdict
from monitor.store import ACKNOWLEDGED, IGNORED, NEW, RESOLVED, MentionRow, Store
from monitor.store.answers import mention_alerts
from monitor.store.listing import (
    NEWEST,
    URGENT,
    ListingError,
    MentionFilter,
    count_mentions,
    list_mentions,
    parse_since,
)
from monitor.web import health
from monitor.web.auth import form_of, safe_next
from monitor.web.render import problem, render

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
        kept = {k: v for k, v in values.items() if v and not (k == "negative" and v == "all")}
        return "?" + urlencode(kept)

    def filters(self, now: datetime) -> tuple[MentionFilter, str, str | None]:
        """The store's filter, the order for this view, and what was wrong with ``since``."""
        negative = {"1": True, "0": False}.get(self.negative)
        status = self.status or None
        order = NEWEST
        if self.view == "needs":
            negative, status, order = True, status or NEW, URGENT
        elif self.view == "unflagged":
            negative = False
        since, since_error = None, None
        if self.since:
            try:
                since = parse_since(self.since, now)
            except ListingError as exc:
                since_error = str(exc).replace("since=", "", 1)
        flt = MentionFilter(
            brand=self.brand or None,
            source=self.source or None,
            status=status,
            negative=negative,
            since=since,
            text=self.q or None,
        )
        return flt, order, since_error


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
    config = request.app.state.config
    query = InboxQuery.of(request)
    flt, order, since_error = query.filters(_now(request))
    store = _store(request)
    try:
        page = list_mentions(store, flt, order=order, limit=PAGE_SIZE, cursor=query.cursor or None)
        count = count_mentions(store, flt, cap=COUNT_CAP)
    except ListingError as exc:  # a cursor from an old link, or one typed by hand
        return problem(request, 400, str(exc), "That page cannot be shown")
    here = request.url.query
    return render(
        request,
        "inbox.html",
        {
            "query": query,
            "rows": page.rows,
            "count": count,
            "count_capped": count >= COUNT_CAP,
            "searched_newest": page.searched_newest,
            "next_link": query.link(cursor=page.next_cursor) if page.next_cursor else None,
            "first_link": query.link(cursor="") if query.cursor else None,
            "views": VIEWS,
            "brands": [b.name for b in config.brands],
            "sources": sorted(config.sources),
            "statuses": (NEW, *ANSWERS),
            "here": "/" + (f"?{here}" if here else ""),
            "since_error": since_error,
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
        _store(request).set_status(row.id, status, note, _now(request), actor="the inbox")
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
        give_verdict(
            request.app.state.config,
            _store(request),
            row.id,
            given,
            _now(request),
            actor="the inbox",
        )
    except MonitorError as exc:
        return problem(request, 400, str(exc))
    return _back(request, f"/mentions/{row.id}")


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
