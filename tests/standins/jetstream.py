"""A stand-in for Bluesky's Jetstream (https://github.com/bluesky-social/jetstream).

``GET /subscribe`` upgrades to a WebSocket; its query takes ``wantedCollections`` (repeated;
only those collections' commits are sent) and ``cursor`` (unix microseconds: the events
from that time on are replayed first, then the live ones follow). Each message is one JSON
event: ``{"did", "time_us", "kind": "commit", "commit": {"rev", "operation", "collection",
"rkey", "record", "cid"}}``; a delete has no record. Events are kept in ``events`` (the
host's history, so a cursor replays them); ``post``/``delete`` add one and send it to every
connected client whose filter wants it.

Faults a test can set: ``refuse`` (an HTTP status, with Retry-After for 429, instead of the
upgrade), ``drop()`` the connections, ``silent`` (accept and send nothing), ``send_raw``
(a message that is not a valid event). ``connections`` records each subscription's query.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection

from tests.standins.server import Request as StandInRequest
from tests.standins.server import Response as StandInResponse
from tests.standins.ws import WebSocketStandIn

POST = "app.bsky.feed.post"


def now_us() -> int:
    return int(time.time() * 1_000_000)


@dataclass
class Jetstream(WebSocketStandIn):
    events: list[dict[str, Any]] = field(default_factory=list)
    connections: list[dict[str, list[str]]] = field(default_factory=list)
    refuse: int | None = None
    retry_after: str = "30"
    silent: bool = False
    keep: bool = True  # keep the history a cursor replays (a long benchmark turns it off)

    def __post_init__(self) -> None:
        super().__init__()
        self._seq = 0

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path != "/subscribe":
            return connection.respond(404, "404 page not found\n")
        if self.refuse is not None:
            response = connection.respond(self.refuse, f"refused: {self.refuse}\n")
            if self.refuse == 429:
                response.headers["Retry-After"] = self.retry_after
            return response
        return None

    def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        query = parse_qs(urlsplit(request.path if request else "").query)
        wanted = set(query.get("wantedCollections", []))
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        with self._lock:
            self.connections.append(query)
            backlog = [e for e in self.events if cursor is not None and e["time_us"] >= cursor]
            self._clients[connection] = wanted
            self._joined.notify_all()
        try:
            if not self.silent:
                for event in backlog:
                    if _wanted(event, wanted):
                        connection.send(json.dumps(event))
            for _ in connection:  # Jetstream reads only its options updates: ignored here
                pass
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._clients.pop(connection, None)

    # ------------------------------------------------------------ what a test does

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Until ``count`` subscriptions have been made so far and one is open."""
        with self._lock:
            return self._joined.wait_for(
                lambda: len(self.connections) >= count and bool(self._clients), timeout
            )

    def post(
        self,
        did: str,
        text: str,
        *,
        rkey: str | None = None,
        reply_to: str | None = None,
        collection: str = POST,
        time_us: int | None = None,
    ) -> dict[str, Any]:
        """A new post (or another collection's record), recorded and sent live."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        record: dict[str, Any] = {
            "$type": collection,
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "langs": ["en"],
            "text": text,
        }
        if reply_to:
            record["reply"] = {
                "parent": {"cid": "bafyparent", "uri": reply_to},
                "root": {"cid": "bafyroot", "uri": reply_to},
            }
        event = {
            "did": did,
            "time_us": time_us or now_us(),
            "kind": "commit",
            "commit": {
                "rev": f"3l{seq:011d}",
                "operation": "create",
                "collection": collection,
                "rkey": rkey or f"3k{seq:011d}",
                "record": record,
                "cid": f"bafyrei{seq:010d}",
            },
        }
        self._publish(event)
        return event

    def delete(self, did: str, rkey: str) -> None:
        event = {
            "did": did,
            "time_us": now_us(),
            "kind": "commit",
            "commit": {"rev": "3ldel", "operation": "delete", "collection": POST, "rkey": rkey},
        }
        self._publish(event)

    def identity(self, did: str, handle: str) -> None:
        """A non-commit event (a handle change), which carries no post."""
        self._publish(
            {
                "did": did,
                "time_us": now_us(),
                "kind": "identity",
                "identity": {"did": did, "handle": handle, "seq": 1, "time": "2026-01-01"},
            }
        )

    def _publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            if self.keep:
                self.events.append(event)
            clients = list(self._clients.items())
        if self.silent:
            return
        for connection, wanted in clients:
            if _wanted(event, wanted):
                try:
                    connection.send(json.dumps(event))
                except ConnectionClosed:
                    pass


def _wanted(event: dict[str, Any], wanted: set[str]) -> bool:
    commit = event.get("commit")
    if event.get("kind") != "commit" or not isinstance(commit, dict):
        return True  # identity and account events go to everyone
    return not wanted or commit.get("collection") in wanted


class Profiles:
    """Bluesky's public AppView, as far as the stream asks it: ``GET
    /xrpc/app.bsky.actor.getProfiles?actors=...`` (up to 25) -> ``{"profiles": [...]}`` with
    ``did``, ``handle`` and ``followersCount`` of the accounts it knows (unknown ones are
    left out, as the AppView does). ``asked`` records each request's actors."""

    def __init__(self, known: dict[str, tuple[str, int]] | None = None) -> None:
        self.known = dict(known or {})
        self.asked: list[list[str]] = []

    def __call__(self, request: StandInRequest) -> StandInResponse:
        if request.path != "/xrpc/app.bsky.actor.getProfiles":
            return StandInResponse(404, {"error": "XRPCNotSupported"})
        actors = request.multi.get("actors", [])
        if len(actors) > 25:
            return StandInResponse(400, {"error": "InvalidRequest", "message": "too many actors"})
        self.asked.append(actors)
        profiles = [
            {"did": a, "handle": self.known[a][0], "followersCount": self.known[a][1]}
            for a in actors
            if a in self.known
        ]
        return StandInResponse(200, {"profiles": profiles})
