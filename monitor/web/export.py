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

from monitor.redact import redact
from monitor.store import MentionRow, Store
from monitor.store.listing import ListingError, MentionFilter, list_mentions
from monitor.web.api import error, mention_fields, query_filter

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
    "rating",
    "edited_at",
)
#: What a spreadsheet takes as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a leading formula character gets a '."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _batches(store: Store, flt: MentionFilter, order: str) -> Iterator[list[MentionRow]]:
    cursor: str | None = None
    while True:
        page = list_mentions(store, flt, order=order, limit=BATCH, cursor=cursor)
        yield page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _csv_cells(row: MentionRow) -> list[Any]:
    data = mention_fields(row)
    data["reasons"] = "; ".join(data["reasons"] or [])
    data["engagement"] = json.dumps(data["engagement"] or {}, sort_keys=True)
    data["negative"] = "yes" if data["negative"] else "no"
    return [safe_cell(redact(v) if isinstance(v, str) else v) for v in map(data.get, COLUMNS)]


def _csv(store: Store, flt: MentionFilter, order: str) -> Iterator[str]:
    """The CSV, a batch of rows per chunk."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for rows in _batches(store, flt, order):
        writer.writerows(_csv_cells(row) for row in rows)
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.getvalue():
        yield out.getvalue()


def _json(store: Store, flt: MentionFilter, order: str, public_url: str | None) -> Iterator[str]:
    """A JSON list, a batch of mentions per chunk. MASK needs no JSON escaping and every
    secret is also known in its JSON-escaped form, so redacting the text is enough."""
    sep = "["
    for rows in _batches(store, flt, order):
        if rows:
            yield (
                sep
                + "\n"
                + redact(",\n".join(json.dumps(mention_fields(r, public_url)) for r in rows))
            )
            sep = ","
    yield ("[" if sep == "[" else "") + "\n]\n"


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
