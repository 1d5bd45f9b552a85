"""Mastodon in real time: the streaming API of the configured servers.

API: https://docs.joinmastodon.org/methods/streaming/ . One multiplexed WebSocket per
server (``wss://<streaming host>/api/v1/streaming``; the host is the server's
``configuration.urls.streaming`` from ``GET /api/v2/instance``, else the server's own),
authorised with ``Authorization: Bearer <user token>`` (Mastodon 4.2+ serves streams to
user tokens only, with ``read:statuses``). After connecting, one ``{"type": "subscribe",
"stream": "hashtag", "tag": ...}`` per hashtag of the brands (the same hashtags as the
polled ``mastodon`` source), and ``{"stream": "public"}`` too with ``public: true`` (every
public post the server knows of, matched by words here). Events: ``update`` (a new
status) and ``status.update`` (an edit), whose ``payload`` is the Status as a JSON string;
``delete`` (only a local id: not followed).

The streaming API has no cursor: what was posted while the connection was down is read
through the REST timelines, by the same code as the polled ``mastodon`` source
(``fetch``, with its own cursors per brand). So this source is also polled at ``every``
(a safety net), and once more right after each (re)connection, to fill the gap; a post
seen both ways is stored once (same ``uri``). An edit that turns a post into a complaint
is scored again and alerts, as an edited review does.

One failing server breaks the whole connection set (the others are closed and all are
reopened after the pause); the error names the host. A bounded queue between the
servers' reading threads and the pipeline makes a fast stream wait instead of filling
memory.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import Field, model_validator
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from connectors.base import FetchResult
from connectors.mastodon import Instance, MastodonConfig, MastodonConnector, hashtags
from connectors.sockets import open_stream
from monitor.config import Duration
from monitor.errors import ConnectorError, SourceUnavailable
from monitor.models import Mention

log = logging.getLogger(__name__)

#: Messages read ahead of the pipeline, all servers together.
QUEUE = 1000
#: What a server's reading thread hands over: a message, "subscribed", or its failure.
SUBSCRIBED = object()


class MastodonStreamConfig(MastodonConfig):
    public: bool = Field(
        default=False,
        description="also listen to every public post the server knows of (its federated"
        " timeline) and match your keywords in them: finds posts without your hashtag, at"
        " the cost of a busy connection",
    )
    batch_wait: Duration = Field(
        default=timedelta(milliseconds=500),
        description="posts are matched and stored in batches gathered for at most this long",
    )

    @model_validator(mode="after")
    def _tokens(self) -> MastodonStreamConfig:
        missing = [s.url for s in self.servers() if s.access_token is None]
        if missing:
            raise ValueError(
                "Mastodon streams only to a signed-in account (version 4.2 and later): give "
                f"{', '.join(missing)} an `access_token` with the `read:statuses` scope"
            )
        return self


class MastodonStreamConnector(MastodonConnector):
    """The streaming API of each server, with the REST timelines to fill the gaps."""

    name = "mastodon_stream"
    Config = MastodonStreamConfig
    streaming: ClassVar[bool] = True
    resumes: ClassVar[bool] = False
    config: MastodonStreamConfig

    def listen(
        self, queries: Sequence[str], cursor: str | None, stop: threading.Event
    ) -> Iterator[FetchResult]:
        """New and edited statuses of every server, in batches; an empty batch first, once
        every server is subscribed (the moment to read the gap through REST)."""
        servers = self.config.servers()
        streams = [{"stream": "hashtag", "tag": tag} for tag in hashtags(queries, self.config.tags)]
        if self.config.public:
            streams.append({"stream": "public"})
        inbox: queue.Queue[tuple[Instance, object]] = queue.Queue(QUEUE)
        done = threading.Event()
        readers = [
            threading.Thread(
                target=self._read,
                args=(server, streams, inbox, done),
                name=f"mastodon-stream:{server.host}",
                daemon=True,
            )
            for server in servers
        ]
        for reader in readers:
            reader.start()
        try:
            subscribed = 0
            batch: list[Mention] = []
            wait = self.config.batch_wait.total_seconds()
            due = time.monotonic() + wait
            while not stop.is_set():
                try:
                    server, item = inbox.get(timeout=max(0.0, min(due - time.monotonic(), 1.0)))
                except queue.Empty:
                    item = None
                if isinstance(item, ConnectorError):
                    raise item
                if item is SUBSCRIBED:
                    subscribed += 1
                    if subscribed == len(servers):
                        yield [], cursor
                elif isinstance(item, (str, bytes)):
                    mention = self._event(item, server)
                    if mention is not None:
                        batch.append(mention)
                if time.monotonic() >= due or len(batch) >= 500:
                    if batch:
                        yield batch, cursor
                        batch = []
                    due = time.monotonic() + wait
            if batch:
                yield batch, cursor
        finally:
            done.set()
            for reader in readers:
                reader.join(5)

    def _read(
        self,
        server: Instance,
        streams: list[dict[str, str]],
        inbox: queue.Queue[tuple[Instance, object]],
        done: threading.Event,
    ) -> None:
        """One server's connection: subscribe, then hand every message over until ``done``."""

        def hand(item: object) -> bool:
            while not done.is_set():
                with suppress(queue.Full):
                    inbox.put((server, item), timeout=0.5)
                    return True
            return False

        try:
            with self._connect(server) as socket:
                for stream in streams:
                    socket.send(json.dumps({"type": "subscribe", **stream}))
                if not hand(SUBSCRIBED):
                    return
                while not done.is_set():
                    try:
                        message = socket.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    if not hand(message):
                        return
        except ConnectorError as exc:
            hand(exc)
        except ConnectionClosed as exc:
            said = f"code {exc.rcvd.code}" if exc.rcvd is not None else "the connection dropped"
            hand(SourceUnavailable(self.name, f"{server.host} closed the stream ({said})"))

    def _connect(self, server: Instance) -> ClientConnection:
        token = server.access_token.get_secret_value() if server.access_token else ""
        return open_stream(
            self.name,
            self._streaming_url(server),
            server.host,
            timeout=self.config.timeout.total_seconds(),
            max_size=int(self.config.max_response),
            auth_hint="make a new token with the `read:statuses` scope in Preferences >"
            " Development on that server",
            headers={"Authorization": f"Bearer {token}"},
        )

    def _streaming_url(self, server: Instance) -> str:
        """The server's streaming host (``configuration.urls.streaming`` of
        ``/api/v2/instance``), else the server's own."""
        base: object = None
        try:  # a public method: asked without the token
            public = Instance(url=server.url)
            body = self._json(self._request(public, "/api/v2/instance", {}, missing=True))
            urls = (body.get("configuration") or {}).get("urls") or {}
            base = urls.get("streaming") if isinstance(urls, dict) else None
        except (ConnectorError, AttributeError) as exc:  # an older server: its own host
            log.debug("%s: no streaming address from %s: %s", self.name, server.host, exc)
        if not isinstance(base, str) or not base.startswith(("wss://", "ws://")):
            scheme, rest = server.url.split("://", 1)
            base = ("ws://" if scheme == "http" else "wss://") + rest
        return base.rstrip("/") + "/api/v1/streaming"

    def _event(self, message: str | bytes, server: Instance) -> Mention | None:
        try:
            event = json.loads(message)
            kind, payload = event.get("event"), event.get("payload")
        except (ValueError, AttributeError):
            log.warning(
                "%s: skipped a message from %s that is not an event", self.name, server.host
            )
            return None
        if kind not in ("update", "status.update") or not isinstance(payload, str):
            return None
        try:
            status = json.loads(payload)
        except ValueError:
            log.warning("%s: skipped a status from %s that is not JSON", self.name, server.host)
            return None
        if not isinstance(status, dict):
            return None
        mention = self._to_mention(status, server)
        if mention is not None and kind == "status.update":
            edited = status.get("edited_at")
            if isinstance(edited, str):
                with suppress(ValueError):
                    mention.edited_at = datetime.fromisoformat(edited)
        return mention

    def check(self, online: bool = False) -> list[str]:
        lines = super().check(online)
        if online:
            for server in self.config.servers():
                with self._connect(server):
                    lines.append(f"{server.host}: the stream accepts the token")
        return lines
