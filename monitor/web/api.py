"""The JSON API for an owner's scripts, and ``/healthz`` for uptime checks.

- ``GET /api/mentions``: the inbox's filters (``view``, ``brand``, ``source``, ``status``,
  ``negative``, ``q``, ``since``; plus ``order`` and ``limit`` up to 200), a page at a time:
  ``next_cursor`` goes back as ``cursor`` for the next page.
- ``GET /api/mentions/{id}``: one mention with its status history.
- ``POST /api/mentions/{id}/status`` with JSON ``{"status": ..., "note": ...}``: the same
  change the inbox's buttons and ``mentions ack`` make (``Store.set_status``).
- ``POST /api/mentions/{id}/verdict`` with JSON ``{"verdict": "negative"|"not_negative"}``:
  ``monitor.feedback.give_verdict``, as the inbox's buttons.

Every call carries ``Authorization: Bearer <web.api_token>``, compared in constant time;
without it, or with another token, the answer is 401 and nothing is done. Without an
``api_token`` in the config the API is off: 404. A valid token needs no CSRF token (a
browser never sends it by itself). Answers never hold a mention's ``raw`` record (it may
hold anything a source sent) and every string in them is redacted (monitor/redact.py).

``GET /healthz`` needs no login and shows no data: ``{"status": "ok"}``, or 503 when the
database cannot be read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.errors import MonitorError
from monitor.links import InboxLinks
from monitor.redact import redact_data
from monitor.store import ACKNOWLEDGED, IGNORED, NEW, RESOLVED, STATUSES, MentionRow, Store
from monitor.store.listing import (
    NEWEST,
    ORDERS,
    URGENT,
    ListingError,
    MentionFilter,
    list_mentions,
    parse_since,
)
from monitor.web.auth import bearer_ok

log = logging.getLogger(__name__)

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
#: A JSON body larger than this is refused: a status note is a few lines.
MAX_BODY = 64 * 1024
VIEWS = ("all", "needs", "unflagged")
ANSWERS = (ACKNOWLEDGED, RESOLVED, IGNORED)


# ---------------------------------------------------------------- filters


def query_filter(params: Mapping[str, str], now: datetime) -> tuple[MentionFilter, str]:
    """The inbox's filters from query parameters, and the order; ListingError when one is
    not understood (a script is told, not quietly given something else).

    ``view``: ``all`` (the default here: a script or an export asks for what it names),
    ``needs`` (negative and still new, most urgent first) or ``unflagged`` (not negative).
    ``negative``: ``1``, ``0`` or ``all``. ``since``: ``24h``, ``7d``, ``2w``, ``30m``.
    ``order``: ``urgent`` or ``newest`` (the view's own by default).
    """
    view = params.get("view") or "all"
    if view not in VIEWS:
        raise ListingError(f"view={view!r} is not one of: {', '.join(VIEWS)}")
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise ListingError(f"status={status!r} is not one of: {', '.join(STATUSES)}")
    negative_word = params.get("negative") or "all"
    if negative_word not in ("1", "0", "all"):
        raise ListingError(f"negative={negative_word!r} is not 1, 0 or all")
    negative = {"1": True, "0": False}.get(negative_word)
    order = NEWEST
    if view == "needs":
        negative, status, order = True, status or NEW, URGENT
    elif view == "unflagged":
        negative = False
    chosen = params.get("order") or order
    if chosen not in ORDERS:
        raise ListingError(f"order={chosen!r} is not one of: {', '.join(ORDERS)}")
    since = params.get("since") or None
    text = (params.get("q") or "").strip() or None
    if text is not None and len(text) > 200:
        raise ListingError("q= is longer than 200 characters: search for a shorter phrase")
    flt = MentionFilter(
        brand=params.get("brand") or None,
        source=params.get("source") or None,
        status=status,
        negative=negative,
        since=parse_since(since, now) if since else None,
        text=text,
    )
    return flt, chosen


# ---------------------------------------------------------------- JSON of a mention


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, with a Z: ``2026-11-23T12:00:00Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def mention_json(row: MentionRow, public_url: str | None = None) -> dict[str, Any]:
    """A mention as the API shows it: never ``raw``, every string redacted."""
    result: dict[str, Any] = redact_data(mention_fields(row, public_url))
    return result


def mention_fields(row: MentionRow, public_url: str | None = None) -> dict[str, Any]:
    """A mention's fields for the API and the exports, never ``raw``; not yet redacted."""
    data: dict[str, Any] = {
        "id": row.id,
        "source": row.source,
        "external_id": row.external_id,
        "url": row.url,
        "brand": row.brand,
        "author": row.author,
        "author_followers": row.author_followers,
        "title": row.title,
        "text": row.text,
        "created_at": iso(row.created_at),
        "first_seen_at": iso(row.first_seen_at),
        "engagement": row.engagement,
        "negative": row.negative,
        "severity": row.severity,
        "reasons": row.reasons,
        "status": row.status,
        "status_at": iso(row.status_at),
        "status_note": row.status_note,
        "level": row.level,
    }
    if hasattr(row, "verdict"):
        data["verdict"] = row.verdict
        data["verdict_at"] = iso(getattr(row, "verdict_at", None))
    # Reviews (issue 14): the stars (1-5, null for other posts), when the author last
    # edited it, when the business answered it and when it was deleted at the source.
    data["rating"] = getattr(row, "rating", None)
    data["edited_at"] = iso(getattr(row, "edited_at", None))
    data["owner_replied_at"] = iso(getattr(row, "owner_replied_at", None))
    data["deleted_at"] = iso(getattr(row, "deleted_at", None))
    data["own_page"] = bool(getattr(row, "own_page", False))
    if public_url:
        data["inbox_url"] = InboxLinks(public_url).mention(row.id)
    return data


# ---------------------------------------------------------------- helpers


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def refused(request: Request) -> JSONResponse | None:
    """None when the request carries the API token; else the answer to give."""
    token: str | None = request.app.state.api_token
    if not token:
        return error(404, "the API is off: set web.api_token in the config to turn it on")
    if not bearer_ok(request.headers, token):
        return error(
            401,
            "send the API token from web.api_token as 'Authorization: Bearer <token>'",
            {"WWW-Authenticate": 'Bearer realm="mention-monitor"'},
        )
    return None


async def _json_body(request: Request) -> dict[str, Any] | JSONResponse:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return error(413, f"the request body is larger than {MAX_BODY // 1024} KB")
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return error(400, 'the request body is not JSON: send e.g. {"status": "acknowledged"}')
    if not isinstance(data, dict):
        return error(400, "the request body must be a JSON object")
    return data


# ---------------------------------------------------------------- endpoints


def mentions(request: Request) -> Response:
    if (no := refused(request)) is not None:
        return no
    params = request.query_params
    try:
        flt, order = query_filter(params, _now(request))
        limit = int(params.get("limit") or DEFAULT_LIMIT)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ListingError as exc:
        return error(400, str(exc))
    except ValueError:
        return error(400, f"limit= must be a whole number from 1 to {MAX_LIMIT}")
    try:
        page = list_mentions(
            _store(request), flt, order=order, limit=limit, cursor=params.get("cursor") or None
        )
    except ListingError as exc:
        return error(400, str(exc))
    public_url = request.app.state.public_url
    return JSONResponse(
        {
            "mentions": [mention_json(r, public_url) for r in page.rows],
            "next_cursor": page.next_cursor,
            "order": order,
            "searched_newest": page.searched_newest,
        }
    )


def _one(request: Request, mention_id: int) -> dict[str, Any] | None:
    store = _store(request)
    row = store.mention(mention_id)
    if row is None:
        return None
    data = mention_json(row, request.app.state.public_url)
    data["history"] = [
        {"at": iso(c.at), "status": c.status, "note": redact_data(c.note)}
        for c in store.status_changes(mention_id)
    ]
    return data


def _missing(mention_id: int) -> JSONResponse:
    return error(404, f"there is no mention #{mention_id}")


def mention(request: Request) -> Response:
    if (no := refused(request)) is not None:
        return no
    mention_id: int = request.path_params["mention_id"]
    data = _one(request, mention_id)
    return _missing(mention_id) if data is None else JSONResponse({"mention": data})


def _set_status(request: Request, mention_id: int, body: dict[str, Any]) -> Response:
    status, note = body.get("status"), body.get("note")
    if status not in ANSWERS:
        return error(400, f"status must be one of: {', '.join(ANSWERS)}")
    if note is not None and not isinstance(note, str):
        return error(400, "note must be text")
    if _store(request).mention(mention_id) is None:
        return _missing(mention_id)
    try:
        old, new = _store(request).set_status(
            mention_id, status, note, _now(request), actor="the API"
        )
    except MonitorError as exc:
        return error(400, str(exc))
    log.info("mention #%d: %s -> %s (API)", mention_id, old, new)
    return JSONResponse({"changed": old != new, "mention": _one(request, mention_id)})


async def status(request: Request) -> Response:
    if (no := refused(request)) is not None:
        return no
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    return await run_in_threadpool(_set_status, request, request.path_params["mention_id"], body)


def _give_verdict(request: Request, mention_id: int, body: dict[str, Any]) -> Response:
    try:
        from monitor.feedback import give_verdict
    except ImportError:
        return error(501, "verdicts are not available in this version yet")
    verdict = body.get("verdict")
    if verdict not in ("negative", "not_negative"):
        return error(400, "verdict must be negative or not_negative")
    if _store(request).mention(mention_id) is None:
        return _missing(mention_id)
    try:
        result = give_verdict(
            request.app.state.config,
            _store(request),
            mention_id,
            verdict,
            _now(request),
            actor="the API",
        )
    except MonitorError as exc:
        return error(400, str(exc))
    return JSONResponse({"changed": result.changed, "mention": _one(request, mention_id)})


async def verdict(request: Request) -> Response:
    if (no := refused(request)) is not None:
        return no
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    return await run_in_threadpool(_give_verdict, request, request.path_params["mention_id"], body)


def healthz(request: Request) -> Response:
    """Up, and the database answers a read. Says nothing else (no login needed)."""
    try:
        with _store(request).session() as s:
            s.execute(select(MentionRow.id).limit(1)).all()
    except MonitorError:
        log.warning("health check: the database cannot be read")
        return JSONResponse({"status": "error"}, status_code=503)
    return JSONResponse({"status": "ok"})


def routes() -> list[BaseRoute]:
    from monitor.web import export

    return [
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Route("/api/mentions", mentions, methods=["GET"], name="api_mentions"),
        Route("/api/mentions/{mention_id:int}", mention, methods=["GET"], name="api_mention"),
        Route("/api/mentions/{mention_id:int}/status", status, methods=["POST"], name="api_status"),
        Route(
            "/api/mentions/{mention_id:int}/verdict",
            verdict,
            methods=["POST"],
            name="api_verdict",
        ),
        *export.routes(),
    ]
