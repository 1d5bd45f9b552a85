"""``/export.csv`` and ``/export.json``: the mentions the inbox's filters select, as a file.

The same query parameters as ``/api/mentions`` (monitor/web/api.py, ``query_filter``),
without a page limit: the rows are read a thousand at a time by keyset pages and written
out as they come (a StreamingResponse), so a million mentions never sit in memory.
Allowed with a logged-in session or the API token (``Authorization: Bearer``): the login
guard (monitor/web/auth.py) lets either through.

CSV cells beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a ``'``
in front: a spreadsheet would otherwise run a stranger's post as a formula. Neither file
holds a mention's ``raw`` record; every string is redacted (monitor/redact.py).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from monitor.store import Store
from monitor.store.listing import ListingError, MentionFilter, list_mentions
from monitor.web.api import error, iso, mention_json, query_filter

BATCH = 1000
COLUMNS = (
    "id",
    "first_seen_at",
    "created_at",
    "brand",
    "source",
    "author",
    "author_followers",
    "title",
    "text",
    "url",
    "negative",
    "severity",
    "level",
    "reasons",
    "status",
    "status_at",
    "status_note",
    "verdict",
    "engagement",
    "external_id",
)
#: What a spreadsheet takes as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a leading formula character gets a '."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _rows(store: Store, flt: MentionFilter, order: str) -> Iterator[Any]:
    cursor: str | None = None
    while True:
        page = list_mentions(store, flt, order=order, limit=BATCH, cursor=cursor)
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell(v) for v in values])
    return out.getvalue()


def _csv(store: Store, flt: MentionFilter, order: str) -> Iterator[str]:
    yield _csv_line(list(COLUMNS))
    for row in _rows(store, flt, order):
        data = mention_json(row)
        data["first_seen_at"], data["created_at"] = iso(row.first_seen_at), iso(row.created_at)
        data["reasons"] = "; ".join(data["reasons"] or [])
        data["engagement"] = json.dumps(data["engagement"] or {}, sort_keys=True)
        data["negative"] = "yes" if data["negative"] else "no"
        yield _csv_line([data.get(c) for c in COLUMNS])


def _json(store: Store, flt: MentionFilter, order: str, public_url: str | None) -> Iterator[str]:
    yield "["
    first = True
    for row in _rows(store, flt, order):
        yield ("\n" if first else ",\n") + json.dumps(mention_json(row, public_url))
        first = False
    yield "\n]\n"


def _export(request: Request, kind: str) -> Response:
    try:
        flt, order = query_filter(request.query_params, request.app.state.clock())
        # Fail now, with a 400, rather than halfway through a download.
        first = list_mentions(request.app.state.store, flt, order=order, limit=1)
    except ListingError as exc:
        return error(400, str(exc))
    store: Store = request.app.state.store
    stamp = request.app.state.clock().strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="mentions-{stamp}.{kind}"'}
    if first.searched_newest:
        headers["X-Searched-Newest"] = str(first.searched_newest)
    if kind == "csv":
        return StreamingResponse(
            _csv(store, flt, order), media_type="text/csv; charset=utf-8", headers=headers
        )
    public_url = request.app.state.public_url
    return StreamingResponse(
        _json(store, flt, order, public_url),
        media_type="application/json",
        headers=headers,
    )


def export_csv(request: Request) -> Response:
    return _export(request, "csv")


def export_json(request: Request) -> Response:
    return _export(request, "json")


def routes() -> list[BaseRoute]:
    return [
        Route("/export.csv", export_csv, methods=["GET"], name="export_csv"),
        Route("/export.json", export_json, methods=["GET"], name="export_json"),
    ]
