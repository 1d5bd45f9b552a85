"""The Meta Graph API client the ``facebook`` and ``instagram`` sources share.

Wire: ``GET {base_url}/{path}?fields=...`` (https://developers.facebook.com/docs/graph-api),
the owner's Page access token in the OAuth ``Authorization: Bearer`` header (Meta's pages
show ``access_token`` in the query; graph.facebook.com takes the header too, as its WhatsApp
Cloud API pages show), never in the query string, so no address we build, log or quote
carries it (the token is a ``SecretStr`` of the source's config, so monitor/redact.py masks
it wherever an answer echoes it). Lists come as
``{"data": [...], "paging": {"cursors": {"before", "after"}, "next", "previous"}}``; a page
is followed by re-asking our own path with the query of ``paging.next`` (its ``after``,
``until`` or ``offset``), never by fetching the address Meta sent.

Errors are ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``
(https://developers.facebook.com/docs/graph-api/guides/error-handling), mapped to ours:

- ``190`` (and ``102``), type ``OAuthException``: the token expired (subcode 463), the
  password changed (460), it is invalid (467) or was revoked -> AuthError with the fix;
- ``10`` and ``200``-``299``: a permission is missing -> AuthError naming it;
- ``4``, ``17``, ``32``, ``613``, ``80001``-``80014``: rate limited -> RateLimited, waiting
  what ``estimated_time_to_regain_access`` in the usage headers says;
- ``368``: temporarily blocked for a policy reason -> RateLimited for an hour;
- ``12``: the edge was removed in this Graph version -> ``Gone`` (the source skips it);
- ``100``: no such object or field -> ConnectorError naming the id; ``1``, ``2`` and 5xx ->
  SourceUnavailable.

Usage: Meta reports how much of its allowance (an app's over the last hour, a Page token's
over the last 24 hours) is used in ``X-App-Usage``, ``X-Page-Usage`` and
``X-Business-Use-Case-Usage`` (percentages, JSON;
https://developers.facebook.com/docs/graph-api/overview/rate-limiting). The highest is kept
in the source's state; past ``BACK_OFF`` percent the source stops asking until Meta's
estimate (or ``PAUSE``) has passed, and says so, so the owner's app is never blocked.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import SecretStr

from connectors.base import SourceState
from monitor.errors import AuthError, ConnectorError, ParseError, RateLimited, SourceUnavailable
from monitor.http import json_of, retry_after_of, send
from monitor.redact import REDACTOR

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.facebook.com/v21.0"
#: Percent of Meta's allowance past which a source stops asking for a while.
BACK_OFF = 80
#: How long it waits then when Meta gives no estimate (a quarter of its rolling hour).
PAUSE = 15 * 60.0
#: How long a policy block (368) is waited out.
BLOCKED = 3600.0
USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")
THROTTLED = {4, 17, 32, 613, *range(80001, 80015)}
PERMISSION = re.compile(r"\b((?:pages|instagram|business|read)_[a-z_]+)\b")
PAGING_KEYS = ("after", "until", "since", "offset", "__paging_token")

RENEW_HINT = (
    "make a new long-lived Page token: Graph API Explorer > your app > Get User Access Token"
    " (with the permissions in {page}) > exchange it for a long-lived one (Access Token"
    " Debugger > Extend) > ask `me/accounts` for the Page's access_token, which does not"
    " expire; put it in META_PAGE_TOKEN ({page}, How to get)"
)


class Gone(ConnectorError):
    """Meta removed this edge in the Graph version asked (error 12): skip it, not the source."""


@dataclass(frozen=True, slots=True)
class Fault:
    """What a Graph error body says (empty strings and 0 where it said nothing)."""

    message: str = ""
    kind: str = ""
    code: int = 0
    subcode: int = 0
    trace: str = ""


def fault_of(response: httpx.Response) -> Fault:
    try:
        body = response.json()
    except ValueError:
        return Fault()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return Fault()

    def number(key: str) -> int:
        try:
            return int(error.get(key) or 0)
        except (TypeError, ValueError):
            return 0

    return Fault(
        " ".join(str(error.get("message") or "").split())[:300],
        str(error.get("type") or ""),
        number("code"),
        number("error_subcode"),
        str(error.get("fbtrace_id") or ""),
    )


def usage_of(headers: Mapping[str, str]) -> tuple[int, float]:
    """(highest percent used, seconds until access returns) from Meta's usage headers."""
    highest, regain = 0, 0.0
    for name in USAGE_HEADERS:
        try:
            value = json.loads(headers.get(name) or "null")
        except ValueError:
            continue
        entries: list[Any] = [value] if isinstance(value, dict) else []
        if name == "x-business-use-case-usage" and isinstance(value, dict):
            entries = [e for v in value.values() if isinstance(v, list) for e in v]
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for key in ("call_count", "total_cputime", "total_time"):
                if isinstance(entry.get(key), int | float):
                    highest = max(highest, int(entry[key]))
            minutes = entry.get("estimated_time_to_regain_access")
            if isinstance(minutes, int | float):
                regain = max(regain, 60.0 * minutes)
    return highest, regain


class MetaGraph:
    """Graph API calls for one source, with its token, its bounds and its usage notes."""

    def __init__(
        self,
        source: str,
        http: httpx.Client,
        base_url: str,
        token: SecretStr,
        *,
        timeout: float,
        max_response: int,
        state: SourceState,
        page: str,
    ) -> None:
        self.source = source
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_response = max_response
        self.state = state
        self.docs = page  # the owner's page for this source, docs/sources/<name>.md
        REDACTOR.add(token.get_secret_value())  # also when built outside a loaded config

    # ------------------------------------------------------------ requests

    def get(self, path: str, params: Mapping[str, str], *, where: str, needs: str) -> Any:
        """One GET; ``where`` names the object for errors, ``needs`` the permission it takes."""
        self._wait_if_busy()
        token = self.token.get_secret_value().strip()
        if not token:
            raise AuthError(self.source, "no Page access token is set", hint=self._fix())
        response = send(
            self.http,
            self.source,
            "GET",
            f"{self.base_url}/{path.lstrip('/')}",
            params=dict(params),
            headers={"Authorization": f"Bearer {token}"},
            timeout=self.timeout,
            max_response=self.max_response,
        )
        self._note_usage(response)
        if response.status_code >= 400:
            raise self._refused(response, where, needs)
        body = json_of(self.source, response, f"the answer for {where}")
        if not isinstance(body, dict):
            raise ParseError(self.source, f"the answer for {where} is not a Graph object")
        return body

    def edge(
        self, path: str, params: Mapping[str, str], *, where: str, needs: str, pages: int
    ) -> Iterator[list[dict[str, Any]]]:
        """The items of a list edge, one page at a time, at most ``pages`` pages."""
        query = dict(params)
        for _ in range(pages):
            body = self.get(path, query, where=where, needs=needs)
            items = body.get("data")
            if not isinstance(items, list):
                raise ParseError(self.source, f"the answer for {where} has no `data` list")
            yield [item for item in items if isinstance(item, dict)]
            following = next_query(body)
            if following is None or not items:
                return
            query = {**dict(params), **following}

    # ------------------------------------------------------------ usage

    def usage(self) -> tuple[int, float]:
        """(percent of Meta's allowance last seen used, epoch until which we hold off)."""
        try:
            noted = json.loads(self.state.get("meta_usage") or "{}")
            return int(noted.get("percent", 0)), float(noted.get("until", 0))
        except (ValueError, TypeError, AttributeError):
            return 0, 0.0

    def _note_usage(self, response: httpx.Response) -> None:
        percent, regain = usage_of(response.headers)
        if (not percent and not regain) or (
            percent < BACK_OFF and not regain and (percent == self.usage()[0])
        ):
            return  # nothing new to remember: no write to the database
        until = time.time() + (regain or PAUSE) if percent >= BACK_OFF or regain else 0.0
        if until:
            log.warning(
                "%s: Meta says %d%% of its rate limit allowance is used; pausing the"
                " source for %.0f minutes so Meta does not block it",
                self.source,
                percent,
                (until - time.time()) / 60,
            )
        self.state.set("meta_usage", json.dumps({"percent": percent, "until": until}))

    def _wait_if_busy(self) -> None:
        percent, until = self.usage()
        left = until - time.time()
        if left > 0:
            raise RateLimited(
                self.source,
                f"Meta says {percent}% of its Graph API rate limit allowance is used; the"
                f" source waits {left / 60:.0f} minutes so Meta does not block it",
                retry_after=left,
                hint="if this happens often, raise `every` or lower `max_posts`; another"
                " tool using the same Meta app shares the allowance",
            )

    # ------------------------------------------------------------ errors

    def _fix(self) -> str:
        return RENEW_HINT.format(page=self.docs)

    def _refused(self, response: httpx.Response, where: str, needs: str) -> ConnectorError:
        status = response.status_code
        fault = fault_of(response)
        code = fault.code
        said = f' (Meta says: "{fault.message}")' if fault.message else ""
        if code in (190, 102) or (fault.kind == "OAuthException" and code == 0):
            why = {
                463: "the Page token expired",
                460: "the Page token stopped working because the account's password changed",
                467: "the Page token is not valid",
                458: "the person who made the token removed the app",
                464: "the account that made the token is not confirmed",
            }.get(fault.subcode, "Meta does not accept the Page token (expired or revoked)")
            return AuthError(self.source, f"{why}{said}", hint=self._fix())
        if code == 10 or 200 <= code <= 299:
            named = PERMISSION.findall(fault.message)
            permission = ", ".join(dict.fromkeys(named)) or needs
            return AuthError(
                self.source,
                f"the Page token lacks the permission to read {where}: {permission}{said}",
                hint=f"make the token again with {permission} ticked; {self._fix()}",
            )
        if code in THROTTLED or status == 429:
            _, regain = usage_of(response.headers)
            wait = regain or retry_after_of(response) or PAUSE
            self.state.set("meta_usage", json.dumps({"percent": 100, "until": time.time() + wait}))
            return RateLimited(
                self.source,
                f"Meta is rate limiting this app (code {code or status}); waiting"
                f" {wait / 60:.0f} minutes{said}",
                retry_after=wait,
                hint="poll less often (`every`) or lower `max_posts`",
            )
        if code == 368:
            return RateLimited(
                self.source,
                f"Meta has temporarily blocked this app or account (code 368){said}",
                retry_after=BLOCKED,
                hint="wait; check Meta Business Suite > Business support home for a"
                " restriction on the Page or the account",
            )
        if code == 12:
            return Gone(self.source, f"Meta no longer offers {where} in this Graph version{said}")
        if code == 100 or status == 404:
            return ConnectorError(
                self.source,
                f"Meta cannot read {where}: the id is wrong, or the token may not see it{said}",
                hint=f"check the id in config.yaml ({self.docs} shows where to find it) and that"
                " the token was made for that Page (or the Page the Instagram account is linked"
                " to)",
            )
        if status in (401, 403):
            return AuthError(
                self.source, f"Meta refused the Page token (HTTP {status}){said}", hint=self._fix()
            )
        if code in (1, 2) or status >= 500:
            return SourceUnavailable(
                self.source, f"Meta had a server error (HTTP {status}) reading {where}; will retry"
            )
        return ConnectorError(self.source, f"Meta answered HTTP {status} for {where}{said}")


def next_query(body: Mapping[str, Any]) -> dict[str, str] | None:
    """The query that asks for the page after this one, from ``paging``; None at the end."""
    paging = body.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    found = {k: v for k, v in parse_qsl(urlsplit(str(paging["next"])).query) if k in PAGING_KEYS}
    cursors = paging.get("cursors")
    if not found and isinstance(cursors, dict) and cursors.get("after"):
        found = {"after": str(cursors["after"])}
    return found or None
