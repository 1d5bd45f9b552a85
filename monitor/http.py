"""The one configured HTTP client the core hands to connectors.

Connectors never build their own ``httpx.Client``: this module sets the
timeouts and a descriptive User-Agent (some APIs refuse library defaults), and
``get_json`` translates every httpx failure and HTTP status into the project's
errors, so each connector has one place where the wire meets our error tree.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from monitor import __version__
from monitor.errors import (
    AuthError,
    ConnectorError,
    FetchTimeout,
    ParseError,
    RateLimited,
    SourceUnavailable,
)

USER_AGENT = f"mention-monitor/{__version__} (self-hosted brand mention monitor; python-httpx)"

# httpx logs every request's full URL at INFO, and a Slack webhook's or an API's URL can be
# its secret: whatever logging the host process sets up, httpx says only warnings.
logging.getLogger("httpx").setLevel(logging.WARNING)


def make_client(
    *, timeout: float = 20.0, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=True,
        transport=transport,
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


#: Headers APIs use instead of Retry-After: X and Bluesky send an epoch time, Reddit
#: seconds until the window resets, Mastodon an ISO 8601 time.
RESET_HEADERS = ("x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset")


def parse_reset(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a rate-limit reset header: epoch seconds, seconds, or ISO time."""
    if not value:
        return None
    now = time.time() if now is None else now
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return max(0.0, when.timestamp() - now)
    return max(0.0, number - now) if number > 1_000_000_000 else max(0.0, number)


def retry_after_of(response: httpx.Response) -> float | None:
    """How long a 429 asks us to wait: Retry-After, else the API's reset header."""
    wait = parse_retry_after(response.headers.get("Retry-After"))
    if wait is not None:
        return wait
    for header in RESET_HEADERS:
        wait = parse_reset(response.headers.get(header))
        if wait is not None:
            return wait
    return None


def raise_for_status(
    source: str, response: httpx.Response, *, auth_hint: str | None = None
) -> None:
    status = response.status_code
    if status < 400:
        return
    host = response.request.url.host
    if status in (401, 403):
        raise AuthError(
            source,
            f"{host} refused our credentials (HTTP {status})",
            hint=auth_hint or "check the credentials for this source in config.yaml",
        )
    if status == 429:
        retry_after = retry_after_of(response)
        wait = f"; it asks us to wait {retry_after:.0f}s" if retry_after is not None else ""
        raise RateLimited(
            source, f"{host} is rate limiting us (HTTP 429){wait}", retry_after=retry_after
        )
    if status >= 500:
        raise SourceUnavailable(source, f"{host} had a server error (HTTP {status}); will retry")
    excerpt = " ".join(response.text[:200].split())
    raise ConnectorError(source, f"{host} answered HTTP {status}: {excerpt}")


def send(client: httpx.Client, source: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request, with httpx's own failures (timeouts, refused connections) made ours.

    The status is the caller's to judge (``raise_for_status``, or an API's own rules).
    """
    host = httpx.URL(url).host
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise FetchTimeout(source, f"no answer from {host} in time") from exc
    except httpx.TransportError as exc:
        raise SourceUnavailable(source, f"cannot reach {host}: {type(exc).__name__}") from exc


def get_json(
    client: httpx.Client,
    source: str,
    url: str,
    *,
    params: Mapping[str, str | int | Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    auth_hint: str | None = None,
) -> Any:
    """GET a JSON document, with every failure mapped to a ConnectorError subclass."""
    response = send(
        client,
        source,
        "GET",
        url,
        params=params,
        headers=headers,
        timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
    )
    host = response.request.url.host
    raise_for_status(source, response, auth_hint=auth_hint)
    try:
        return response.json()
    except ValueError as exc:
        raise ParseError(source, f"{host} answered with something that is not JSON") from exc
