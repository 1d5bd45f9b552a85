"""A stand-in for Slack's Socket Mode WebSocket server.

Docs: https://docs.slack.dev/apis/events-api/using-socket-mode/ . An app asks
``apps.connections.open`` (tests/standins/slack_api.py) for a URL; that URL carries a
one-time ``ticket``. On connecting the server sends ``{"type": "hello", ...}``; each
interaction then arrives as an envelope ``{"envelope_id": ..., "type": "interactive",
"payload": {...}, "accepts_response_payload": false}`` that the app must acknowledge
within 3 seconds by sending back ``{"envelope_id": ...}`` (the same id). The server can
ask the app to reconnect (``{"type": "disconnect", "reason": "refresh_requested"}``) or
drop the connection.

``press(payload)`` sends an envelope to the connected app and returns its id; ``acks``
records each acknowledgement with the seconds it took, ``problems`` anything the app sent
that Socket Mode does not expect (an ack for an envelope never sent, one acked twice, a
frame that is not JSON).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve


@dataclass
class Ack:
    envelope_id: str
    seconds: float  # from sending the envelope
    at: float  # time.monotonic() when it arrived
    payload: Any = None


@dataclass
class SocketMode:
    """The server: ``start()``, then ``url_for_new_connection()`` from apps.connections.open."""

    app_id: str = "A0MENTIONS"
    tickets: set[str] = field(default_factory=set)
    acks: list[Ack] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    connections: int = 0  # connections accepted so far
    sent: dict[str, float] = field(default_factory=dict)  # envelope id -> when sent

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._current: ServerConnection | None = None
        self._connected = threading.Condition(self._lock)
        self._acked = threading.Condition(self._lock)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ life

    def start(self) -> SocketMode:
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None, ping_interval=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.socket.getsockname()[1])

    def url_for_new_connection(self) -> str:
        """A fresh URL with a one-time ticket, as apps.connections.open answers."""
        ticket = secrets.token_hex(8)
        with self._lock:
            self.tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        query = parse_qs(urlsplit(request.path if request else "").query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            if ticket not in self.tickets:
                self.problems.append("a connection without a valid ticket")
                connection.close(1008, "invalid ticket")
                return
            self.tickets.discard(ticket)  # a ticket opens one connection
            self._current = connection
            self.connections += 1
            self._connected.notify_all()
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "standin", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        try:
            for frame in connection:
                self._received(frame)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                if self._current is connection:
                    self._current = None

    def _received(self, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            self.problems.append(f"a frame that is not JSON: {frame[:80]!r}")
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        with self._lock:
            if not isinstance(envelope_id, str) or envelope_id not in self.sent:
                self.problems.append(f"an ack for no envelope sent: {message!r}")
                return
            if any(a.envelope_id == envelope_id for a in self.acks):
                self.problems.append(f"envelope {envelope_id} acknowledged twice")
                return
            now = time.monotonic()
            self.acks.append(
                Ack(envelope_id, now - self.sent[envelope_id], now, message.get("payload"))
            )
            self._acked.notify_all()

    # ------------------------------------------------------------ what a test does

    def wait_connected(self, timeout: float = 10.0, connections: int = 1) -> bool:
        """Until ``connections`` connections have been made and one is open."""
        with self._lock:
            return self._connected.wait_for(
                lambda: self.connections >= connections and self._current is not None, timeout
            )

    def press(self, payload: dict[str, Any], kind: str = "interactive") -> str:
        """Send an envelope carrying ``payload`` to the connected app; its id."""
        envelope_id = secrets.token_hex(12)
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": False,
        }
        with self._lock:
            connection = self._current
            if connection is None:
                raise RuntimeError("no app is connected to the Socket Mode stand-in")
            self.sent[envelope_id] = time.monotonic()
        connection.send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack | None:
        with self._lock:
            self._acked.wait_for(
                lambda: any(a.envelope_id == envelope_id for a in self.acks), timeout
            )
            return next((a for a in self.acks if a.envelope_id == envelope_id), None)

    def ask_to_reconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's ``disconnect`` message: the app should open a new connection."""
        with self._lock:
            connection = self._current
        if connection is not None:
            message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "standin"}}
            connection.send(json.dumps(message))

    def drop(self) -> None:
        """Close the current connection without a word, as a network failure would."""
        with self._lock:
            connection, self._current = self._current, None
        if connection is not None:
            connection.close()
