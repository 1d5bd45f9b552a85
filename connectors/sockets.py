"""Opening a streaming source's WebSocket (Jetstream, Mastodon's streaming API), with the
library's failures turned into our errors once, for every stream:

- the server refused the upgrade: 401/403 AuthError (with the source's ``auth_hint``), 429
  RateLimited (its Retry-After), anything else SourceUnavailable, each naming the host and
  the HTTP status;
- no answer within ``timeout``: FetchTimeout; not a WebSocket address: SourceUnavailable;
- a connection refused, a name that does not resolve, TLS: SourceUnavailable, chained to the
  library's error, which is how the pipeline tells this machine may be offline
  (monitor/offline.py).

The secret a stream needs goes in a header (``headers``), never in the address.
"""

from __future__ import annotations

from collections.abc import Mapping

from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from monitor.errors import AuthError, FetchTimeout, RateLimited, SourceUnavailable
from monitor.http import parse_retry_after

#: Messages the library reads ahead of us: past this, TCP slows the sender.
READ_AHEAD = 64


def open_stream(
    source: str,
    url: str,
    host: str,
    *,
    timeout: float,
    max_size: int,
    auth_hint: str,
    headers: Mapping[str, str] | None = None,
) -> ClientConnection:
    """The open WebSocket at ``url`` (``host``: how errors name it), or our error."""
    try:
        return connect(
            url,
            additional_headers=dict(headers or {}),
            open_timeout=timeout,
            max_size=max_size,
            max_queue=READ_AHEAD,
            compression=None,
            proxy=None,
            user_agent_header=f"mention-monitor ({source})",
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        where = f"{host} refused the stream (HTTP {status})"
        if status == 429:
            retry = parse_retry_after(exc.response.headers.get("Retry-After"))
            raise RateLimited(source, where, retry_after=retry) from None
        if status in (401, 403):
            raise AuthError(source, where, hint=auth_hint) from None
        raise SourceUnavailable(source, where) from None
    except InvalidURI:
        raise SourceUnavailable(
            source, f"{host} is not a WebSocket address", hint="use wss://host"
        ) from None
    except TimeoutError:
        raise FetchTimeout(source, f"{host} did not answer in {timeout:.0f} s") from None
    except (OSError, InvalidHandshake) as exc:
        raise SourceUnavailable(
            source, f"cannot connect to {host}: {type(exc).__name__}: {exc}"
        ) from exc
