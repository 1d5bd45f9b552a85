"""A real HTTP server on loopback that tests program with answers and faults.

Each stand-in API (hackernews.py, ...) is a ``Route`` function that answers a
parsed request from its own state, in the API's documented format. Tests can
queue faults (status, body, headers, delay) that are served before the routes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]  # the last value of each query parameter
    headers: dict[str, str]
    body: bytes
    multi: dict[str, list[str]] = field(default_factory=dict)  # every value, for repeated keys


@dataclass
class Response:
    """An answer. ``chunks`` (a function giving the body piece by piece, for bodies too big to
    hold) replaces ``body``: sent with ``Transfer-Encoding: chunked`` when ``chunked``, else
    with no Content-Length, the end of the body being the end of the connection."""

    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunks: Callable[[], Iterator[bytes]] | None = None
    chunked: bool = False

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Route = Callable[[Request], Response]


class StandIn:
    def __init__(self, route: Route) -> None:
        self.route = route
        self.faults: deque[Response] = deque()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    params={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                    multi=parse_qs(parts.query),
                )
                with stand_in._lock:
                    stand_in.requests.append(request)
                    fault = stand_in.faults.popleft() if stand_in.faults else None
                response = fault or stand_in.route(request)
                if response.delay:
                    time.sleep(response.delay)
                try:
                    if response.chunks is not None:
                        self._stream(response, response.chunks)
                        return
                    payload = response.encoded()
                    self.send_response(response.status)
                    headers = {"Content-Type": "application/json", **response.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if "Content-Length" not in response.headers:
                        self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _stream(self, response: Response, chunks: Callable[[], Iterator[bytes]]) -> None:
                if response.chunked:
                    self.protocol_version = "HTTP/1.1"  # chunked needs it
                self.send_response(response.status)
                headers = {"Content-Type": "application/json", **response.headers}
                if response.chunked:
                    headers["Transfer-Encoding"] = "chunked"
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in chunks():
                    if response.chunked:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    else:
                        self.wfile.write(chunk)
                if response.chunked:
                    self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def fail_next(self, response: Response, times: int = 1) -> None:
        for _ in range(times):
            self.faults.append(response)

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
