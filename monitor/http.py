"""The one configured HTTP client the core hands to connectors.

Connectors never build their own ``httpx.Client``: this module sets the
timeouts and a descriptive User-Agent (some APIs refuse library defaults), and
``send``/``get_json`` translate every httpx failure and HTTP status into the
project's errors, so each connector has one place where the wire meets our error tree.

Every answer is read streamed and bounded: ``send`` stops at the source's
``max_response`` (checking Content-Length first) and raises a ConnectorError for
that poll; whatever else uses the client (the alert channels) gets
``DEFAULT_MAX_RESPONSE``, enforced by a response hook on the bytes as they arrive.
The requests-based libraries (tweepy, PRAW) get the same bound from
``BoundedAdapter``. Bodies are decoded as UTF-8 with replacement: one invalid byte
in a stranger's post never rejects the whole answer.
"""

from __future__ import annotations

import codecs
import email.utils
import json
import logging
import socket
import ssl
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

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

#: The bound on an answer for anything that does not say (alert channels' replies are small).
DEFAULT_MAX_RESPONSE = 1_000_000
#: The request extension that carries a request's own bound, in bytes.
MAX_RESPONSE = "mention_monitor.max_response"
CHUNK = 64 * 1024

# httpx logs every request's full URL at INFO, and a Slack webhook's or an API's URL can be
# its secret: whatever logging the host process sets up, httpx says only warnings.
logging.getLogger("httpx").setLevel(logging.WARNING)


def megabytes(size: int) -> str:
    """A size as an owner reads it: "10 MB", "1.5 MB", "800 kB" (decimal units)."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f}".removesuffix(".0") + " MB"
    return f"{size / 1000:.0f} kB"


class ResponseTooLarge(httpx.RequestError):
    """An answer longer than the request's bound. An httpx error, so every caller of the
    client (channels included) already handles it; ``send`` makes it a ConnectorError."""

    def __init__(self, host: str, limit: int, *, request: httpx.Request | None = None) -> None:
        self.host = host
        self.limit = limit
        super().__init__(f"{host} sent more than {megabytes(limit)}", request=request)


def too_large(source: str, exc: ResponseTooLarge) -> ConnectorError:
    return ConnectorError(
        source,
        f"{exc.host} sent more than {megabytes(exc.limit)}; this poll's answer was dropped",
        hint=f"if this source is right to send that much, raise "
        f"`sources.{source}.max_response` in config.yaml",
    )


def _limit_of(request: httpx.Request) -> int:
    limit = request.extensions.get(MAX_RESPONSE)
    return limit if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_RESPONSE


def _declared_length(headers: httpx.Headers | Mapping[str, str]) -> int | None:
    try:
        return int(headers.get("content-length") or "")
    except ValueError:
        return None


class _BoundedStream(httpx.SyncByteStream):
    """The bytes of an answer as they arrive, cut off past ``limit``."""

    def __init__(self, inner: httpx.SyncByteStream, request: httpx.Request, limit: int) -> None:
        self.inner = inner
        self.request = request
        self.limit = limit

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self.inner:
            seen += len(chunk)
            if seen > self.limit:
                raise ResponseTooLarge(self.request.url.host, self.limit, request=self.request)
            yield chunk

    def close(self) -> None:
        self.inner.close()


def _bound(response: httpx.Response) -> None:
    """Response hook: refuse a declared length over the bound, cut off a longer stream."""
    request = response.request
    limit = _limit_of(request)
    declared = _declared_length(response.headers)
    if declared is not None and declared > limit:
        response.close()
        raise ResponseTooLarge(request.url.host, limit, request=request)
    if isinstance(response.stream, httpx.SyncByteStream):
        response.stream = _BoundedStream(response.stream, request, limit)


#: The longest wait for a connection: a machine that gets no answer to connect at all
#: (offline, a firewall that drops) is told so within this, whatever a source's `timeout`.
CONNECT_TIMEOUT = 10.0


def timeouts(timeout: float) -> httpx.Timeout:
    """``timeout`` for every phase of a request but connecting, which gets at most
    CONNECT_TIMEOUT."""
    return httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))


def make_client(
    *, timeout: float = 20.0, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    return httpx.Client(
        timeout=timeouts(timeout),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=True,
        transport=transport,
        event_hooks={"response": [_bound]},
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
    excerpt = " ".join(text_of(response)[:120].split())
    raise ConnectorError(source, f"{host} answered HTTP {status}: {excerpt}")


# ---------------------------------------------------------------- why a host cannot be reached

_TLS_FIX = (
    "check the computer's date and time, and that its CA certificates are installed "
    "(Debian/Ubuntu: the ca-certificates package); a proxy or antivirus that inspects HTTPS "
    "can cause it too"
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything behind it: __cause__, __context__, urllib3's ``reason``."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        pending += [
            current.__cause__,
            current.__context__,
            reason if isinstance(reason, BaseException) else None,
            *(a for a in current.args if isinstance(a, BaseException)),
        ]


def _proxied(url: httpx.URL) -> bool:
    """Whether the environment sends requests to this URL through a proxy (as httpx does)."""
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(url.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(url.host)


def describe_unreachable(host: str, exc: BaseException) -> tuple[str, str]:
    """Why ``host`` could not be reached, in plain words, and what to do: (message, hint).

    Tells apart, from the exception chain of httpx/httpcore or requests/urllib3: a name
    that does not resolve, a refused connection, a network that is unreachable, a TLS or
    certificate failure and a proxy failure.
    """
    chain = list(_causes(exc))
    names = {type(e).__name__ for e in chain}
    # The words of the errors, without the host's name (which could hold any of them).
    text = " ".join(str(e) for e in chain).lower().replace(host.lower(), "")
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or (
        "certificate verify failed" in text
    ):
        return f"{host}'s TLS certificate could not be verified", _TLS_FIX
    if "ProxyError" in names:
        return (
            f"the proxy refused or failed the connection to {host}",
            "check the HTTPS_PROXY/HTTP_PROXY environment variables (or unset them)",
        )
    lookup = [e for e in chain if isinstance(e, socket.gaierror)]
    if any(e.errno == socket.EAI_AGAIN for e in lookup) or "temporary failure in name" in text:
        return (
            f"cannot look up {host}: no name server answered",
            "check that this computer is online (network cable, Wi-Fi) and that its DNS "
            "works; it is tried again at the next poll",
        )
    if (
        lookup
        or "name resolution" in text
        or ("name or service not known" in text or "nodename nor servname" in text)
    ):
        return (
            f"cannot find {host}: the name does not resolve",
            "check that this computer is online and its DNS works, and that the address "
            "(base_url) is spelled right",
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return (
            f"{host} refused the connection: nothing is listening at that address and port",
            "check base_url (host and port); if it is right, the service is down: "
            "it is tried again at the next poll",
        )
    if any(isinstance(e, ssl.SSLError) for e in chain) or "ssl" in text or "tls" in text:
        return (
            f"the secure (TLS) connection to {host} failed",
            "check that base_url starts with the scheme the server speaks (https:// or "
            "http://); " + _TLS_FIX,
        )
    if "unreachable" in text or "no route" in text:
        return (
            f"no network route to {host}",
            "check that this computer is online (network cable, Wi-Fi, firewall)",
        )
    if any(isinstance(e, ConnectionResetError) for e in chain) or "reset" in text:
        return (
            f"{host} closed the connection",
            "usually passing; if it keeps happening, a firewall or proxy may block it",
        )
    return (
        f"cannot connect to {host}",
        "check that this computer is online and that base_url is right",
    )


def describe_timeout(host: str, exc: BaseException, source: str | None = None) -> tuple[str, str]:
    """Why a request to ``host`` ran out of time, in plain words, and what to do."""
    chain = list(_causes(exc))
    names = {type(e).__name__ for e in chain}
    seconds = _timeout_seconds(exc, "connect" if "ConnectTimeout" in names else "read")
    plural = "" if seconds == 1 else "s"
    within = f" within {seconds:g} second{plural}" if seconds else " in time"
    setting = f"`sources.{source}.timeout`" if source else "the source's `timeout`"
    if "ConnectTimeout" in names:
        return (
            f"could not connect to {host}: no answer{within}",
            "check that this computer is online; a firewall that drops connections does "
            "this too. It is tried again at the next poll",
        )
    return (
        f"{host} took the connection but sent no answer{within}",
        f"usually passing: it is tried again at the next poll; if it keeps happening, "
        f"raise {setting} in config.yaml",
    )


def _timeout_seconds(exc: BaseException, phase: str) -> float | None:
    """The timeout that ran out (httpx keeps it on the request), if known."""
    try:
        request = getattr(exc, "request", None)
    except RuntimeError:  # httpx: the error was raised without a request
        return None
    timeouts = request.extensions.get("timeout") if request is not None else None
    value = timeouts.get(phase) if isinstance(timeouts, dict) else None
    return float(value) if isinstance(value, int | float) else None


#: What failing to connect looks like: no answer at the level of the connection itself
#: (name lookup, TCP, TLS, proxy), as opposed to a server that answered badly or late.
_CONNECT_FAILURES: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ProxyError,
    requests.exceptions.ConnectionError,
    socket.gaierror,
    ConnectionRefusedError,
)


def cannot_connect(exc: BaseException) -> bool:
    """Whether ``exc`` (or anything behind it) is a failure to connect at all: the name
    did not resolve, the connection was refused, timed out or unreachable, TLS or the
    proxy failed. A server error, a slow answer or a bad body is not: it connected."""
    return any(isinstance(cause, _CONNECT_FAILURES) for cause in _causes(exc))


# ---------------------------------------------------------------- reading answers


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            try:
                return codecs.lookup(value.strip().strip("\"'")).name
            except LookupError:
                return None
    return None


def repair_utf8(body: bytes, content_type: str | None = None) -> bytes:
    """A body said or presumed to be UTF-8, with bytes that are not UTF-8 replaced by U+FFFD.

    A body that declares another charset is left alone (its parser decodes it).
    """
    charset = _charset(content_type)
    if charset not in (None, "utf-8"):
        return body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("utf-8", "replace").encode("utf-8")
    return body


def text_of(response: httpx.Response) -> str:
    """The body as text: its charset, else UTF-8, with undecodable bytes replaced."""
    charset = _charset(response.headers.get("content-type")) or "utf-8"
    return response.content.decode(charset, "replace")


def json_of(source: str, response: httpx.Response, what: str = "") -> Any:
    """The body as JSON (RFC 8259: UTF-8), bytes that are not UTF-8 replaced, not refused."""
    try:
        return json.loads(text_of(response))
    except ValueError as exc:
        host = response.request.url.host
        about = f" {what}" if what else ""
        raise ParseError(source, f"{host} answered{about} with something that is not JSON") from exc


def send(
    client: httpx.Client,
    source: str,
    method: str,
    url: str,
    *,
    max_response: int | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """One request, read whole (at most ``max_response`` bytes), with httpx's failures ours.

    The status is the caller's to judge (``raise_for_status``, or an API's own rules).
    """
    host = httpx.URL(url).host
    limit = max_response or DEFAULT_MAX_RESPONSE
    extensions = {**kwargs.pop("extensions", {}), MAX_RESPONSE: limit}
    if isinstance(kwargs.get("timeout"), int | float):
        kwargs["timeout"] = timeouts(kwargs["timeout"])
    try:
        follow = kwargs.pop("follow_redirects", httpx.USE_CLIENT_DEFAULT)
        auth = kwargs.pop("auth", httpx.USE_CLIENT_DEFAULT)
        request = client.build_request(method, url, extensions=extensions, **kwargs)
        response = client.send(request, stream=True, follow_redirects=follow, auth=auth)
        try:
            body = _read(response, limit)
        finally:
            response.close()
    except ResponseTooLarge as exc:
        raise too_large(source, exc) from exc
    except httpx.TimeoutException as exc:
        message, hint = describe_timeout(host, exc, source)
        raise FetchTimeout(source, message, hint=hint) from exc
    except httpx.TransportError as exc:
        message, hint = describe_unreachable(host, exc)
        if client.trust_env and _proxied(httpx.URL(url)) and not isinstance(exc, httpx.ProxyError):
            message += " (through the proxy this computer is set to use)"
            hint = "check the proxy in HTTPS_PROXY/HTTP_PROXY first (or unset it); " + hint
        raise SourceUnavailable(source, message, hint=hint) from exc
    # The answer as read, its Content-Encoding already undone.
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        history=response.history,
        extensions=response.extensions,
    )


def _read(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, refused once it passes ``limit`` (a small gzip can unpack huge)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes(CHUNK):
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(response.request.url.host, limit, request=response.request)
        chunks.append(chunk)
    return b"".join(chunks)


def get_json(
    client: httpx.Client,
    source: str,
    url: str,
    *,
    params: Mapping[str, str | int | Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    auth_hint: str | None = None,
    max_response: int | None = None,
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
        max_response=max_response,
    )
    raise_for_status(source, response, auth_hint=auth_hint)
    return json_of(source, response)


# ---------------------------------------------------------------- requests (tweepy, PRAW)


class BoundedAdapter(HTTPAdapter):
    """A requests transport adapter with our bound: the libraries that bring their own
    ``requests`` session (tweepy, PRAW) read at most ``max_response`` bytes an answer,
    and a JSON body's bytes that are not UTF-8 are replaced rather than refused.

    Over the bound it raises the ConnectorError ``send`` would (the libraries pass it on,
    or wrap it: the connector's translation unwraps it).
    """

    def __init__(self, source: str, max_response: int) -> None:
        super().__init__()
        self.source = source
        self.max_response = max_response

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        response = super().send(request, True, timeout, verify, cert, proxies)
        host = httpx.URL(request.url or "").host
        try:
            declared = _declared_length(response.headers)
            if declared is not None and declared > self.max_response:
                raise ResponseTooLarge(host, self.max_response)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.raw.stream(CHUNK, decode_content=True):
                size += len(chunk)
                if size > self.max_response:
                    raise ResponseTooLarge(host, self.max_response)
                chunks.append(chunk)
        except ResponseTooLarge as exc:
            response.close()
            raise too_large(self.source, exc) from exc
        except BaseException:
            response.close()
            raise
        body = b"".join(chunks)
        content_type = response.headers.get("content-type", "")
        if "json" in content_type.lower():
            body = repair_utf8(body, content_type)
        response._content = body  # what requests' own read does: the body, read once
        response._content_consumed = True
        response.raw.release_conn()  # read to the end: the connection can be used again
        return response
