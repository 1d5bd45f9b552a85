"""A stand-in for Mastodon's streaming server (https://docs.joinmastodon.org/methods/streaming/).

``wss://<host>/api/v1/streaming``: the upgrade needs ``Authorization: Bearer <token>`` with a
token the REST stand-in (tests/standins/mastodon.py) knows, else HTTP 401 ``{"error": ...}``
(Mastodon 4.2+ streams to user tokens only). Then the client sends ``{"type": "subscribe",
"stream": "hashtag", "tag": ...}`` or ``{"type": "subscribe", "stream": "public"}``; an
unknown stream gets ``{"error": "Unknown stream type", "status": 400}``. Events are
``{"stream": [...], "event": "update" | "status.update" | "delete", "payload": ...}`` with the
Status as a JSON *string* (a delete's payload is the id).

``publish(status)`` adds it to the REST server too (so a poll finds it) and sends it to
every subscription it matches (one of its tags, or ``public``); ``edit(status)`` sends a
``status.update``; ``drop()`` closes the connections; ``subscriptions`` records what each
connection asked for.
"""

from __future__ import annotations

import json
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection

from tests.standins.mastodon import MastodonAPI
from tests.standins.ws import WebSocketStandIn


class MastodonStreaming(WebSocketStandIn):
    def __init__(self, api: MastodonAPI) -> None:
        self.api = api
        self.subscriptions: list[list[dict[str, Any]]] = []
        self.refuse: int | None = None
        super().__init__()

    def __enter__(self) -> MastodonStreaming:
        super().__enter__()
        self.api.streaming_url = self.url
        return self

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?")[0] != "/api/v1/streaming":
            return connection.respond(400, '{"error":"Unknown channel requested"}')
        if self.refuse is not None:
            return connection.respond(self.refuse, '{"error":"refused"}')
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.api.tokens:
            return connection.respond(401, '{"error":"Error: Invalid access token"}')
        return None

    def _handle(self, connection: ServerConnection) -> None:
        subscribed: list[dict[str, Any]] = []
        with self._lock:
            self._clients[connection] = subscribed
            self.subscriptions.append(subscribed)
        try:
            for frame in connection:
                message = json.loads(frame)
                if message.get("type") != "subscribe":
                    continue
                if message.get("stream") not in ("hashtag", "public"):
                    connection.send(json.dumps({"error": "Unknown stream type", "status": 400}))
                    continue
                with self._lock:
                    subscribed.append(message)
                    self._joined.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._clients.pop(connection, None)

    # ------------------------------------------------------------ what a test does

    def wait_subscribed(self, count: int, connections: int = 1, timeout: float = 10.0) -> bool:
        """Until ``connections`` connections were made, the last with ``count`` streams."""
        with self._lock:
            return self._joined.wait_for(
                lambda: (
                    len(self.subscriptions) >= connections
                    and len(self.subscriptions[-1]) >= count
                    and any(s is self.subscriptions[-1] for s in self._clients.values())
                ),
                timeout,
            )

    def publish(self, status: dict[str, Any]) -> None:
        self.api.add(status)
        self._send("update", status)

    def edit(self, status: dict[str, Any]) -> None:
        self._send("status.update", status)

    def _send(self, event: str, status: dict[str, Any]) -> None:
        tags = {t["name"].casefold() for t in status.get("tags", [])}
        with self._lock:
            clients = [(c, list(s)) for c, s in self._clients.items()]
        for connection, subscribed in clients:
            for sub in subscribed:
                if sub["stream"] == "public" or sub.get("tag", "").casefold() in tags:
                    stream = ["hashtag", sub["tag"]] if sub["stream"] == "hashtag" else ["public"]
                    message = {"stream": stream, "event": event, "payload": json.dumps(status)}
                    try:
                        connection.send(json.dumps(message))
                    except ConnectionClosed:
                        pass
