"""What the WebSocket stand-ins share (Jetstream, Mastodon's streaming server): a
websockets server on a free loopback port in its own thread, the connections it holds,
and the faults every stream has (a dropped connection, a message that is not an event).

A subclass calls ``__init__``, then gives ``_handle`` (one connection's life, which
registers it in ``_clients``) and, to refuse an upgrade, ``_process_request``.
"""

from __future__ import annotations

import threading
from typing import Any, Self

from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve


class WebSocketStandIn:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[ServerConnection, Any] = {}
        self._joined = threading.Condition(self._lock)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self._server = serve(
            self._handle,
            "127.0.0.1",
            0,
            compression=None,
            ping_interval=None,
            process_request=self._process_request,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.drop()
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"

    def _handle(self, connection: ServerConnection) -> None:
        raise NotImplementedError

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        return None  # accept

    def send_raw(self, message: str) -> None:
        """Send every connected client ``message`` as it is (a malformed one, say)."""
        for connection in self._open():
            connection.send(message)

    def drop(self) -> None:
        """Close every connection without a word, as a network failure would."""
        for connection in self._open():
            connection.close()

    def _open(self) -> list[ServerConnection]:
        with self._lock:
            return list(self._clients)
