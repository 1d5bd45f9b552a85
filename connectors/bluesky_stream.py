"""Bluesky in real time, through Jetstream: every new post, matched here as it comes.

API: Jetstream's ``/subscribe`` WebSocket (https://github.com/bluesky-social/jetstream),
``wantedCollections=app.bsky.feed.post``, optional ``cursor`` (unix microseconds). Each
message is one JSON event: ``{"did", "time_us", "kind": "commit", "commit": {"operation":
"create" | "update" | "delete", "collection", "rkey", "record": {"text", "createdAt",
"reply", "embed", ...}}}``. Jetstream needs no account and no key: it is the whole public
stream of posts, and every brand's keywords are matched against it locally (the pipeline's
Matcher), so no search request is spent and a complaint is seen seconds after it is posted.

Resuming: the cursor kept is the ``time_us`` of the newest event handled. After a restart
or a dropped connection the stream is asked again from ``rewind`` (a few seconds) before it,
as Jetstream's authors advise when switching hosts, and the pipeline drops the posts it
already stored, so nothing is missed or doubled. Jetstream keeps about a day of events
(the public hosts' own retention): a service stopped for longer resumes at the oldest
event the host still has.

Hosts: ``base_url`` first, then ``more_hosts``, Bluesky's four public instances by
default. A host that fails (refused, a server error, silent for ``timeout``) hands over to
the next one at the next connection; the same cursor works on every host.

Two ways to read it:
- ``listen`` (the service's ``run``): one long connection, yielding a batch every
  ``batch_wait`` or ``batch_size`` events, each with its cursor, until ``stop`` is set. The
  WebSocket library reads at most ``max_queue`` messages ahead: when matching falls behind,
  the socket is no longer read and TCP slows the sender, so memory stays bounded whatever
  the stream's rate.
- ``fetch_pages`` (``mention-monitor poll``): replay from the cursor up to the moment the
  poll started, then return. The first poll only sets the cursor to now.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from pydantic import ByteSize, Field
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from connectors.base import Connector, FetchResult, SourceConfig, one_item, response_limit
from connectors.bluesky import POST_URL, _answers
from connectors.sockets import open_stream
from monitor.config import Duration
from monitor.errors import ConnectorError, FetchTimeout, SourceUnavailable
from monitor.http import send
from monitor.models import Mention
from monitor.text import safe_text

log = logging.getLogger(__name__)

#: Authors' handles remembered (the cache starts again beyond this).
PROFILES_KEPT = 5000

POST = "app.bsky.feed.post"
PUBLIC_HOSTS = (
    "wss://jetstream2.us-east.bsky.network",
    "wss://jetstream1.us-east.bsky.network",
    "wss://jetstream1.us-west.bsky.network",
    "wss://jetstream2.us-west.bsky.network",
)


class BlueskyStreamConfig(SourceConfig):
    base_url: str = Field(
        default=PUBLIC_HOSTS[0],
        description="the Jetstream host to listen to first (`wss://...`); change it only for"
        " your own Jetstream or a test stand-in",
    )
    more_hosts: list[str] = Field(
        default=list(PUBLIC_HOSTS[1:]),
        description="Jetstream hosts to move to, in turn, when one fails",
    )
    every: Duration = Field(
        default=timedelta(minutes=5),
        description="only for `mention-monitor poll`: `run` listens all the time",
    )
    timeout: Duration = Field(
        default=timedelta(seconds=30),
        description="a stream silent this long is taken as broken, and another host is tried",
    )
    rewind: Duration = Field(
        default=timedelta(seconds=5),
        description="after a reconnection, read again this much before the last post handled"
        " (posts already stored are not reported twice)",
    )
    batch_wait: Duration = Field(
        default=timedelta(milliseconds=500),
        description="posts are matched and stored in batches gathered for at most this long",
    )
    profiles_url: str | None = Field(
        default="https://public.api.bsky.app",
        description="Bluesky's public AppView, asked for the handle and followers of the"
        " author of a post that names a brand (Jetstream sends only an account id); unset:"
        " the id is shown",
    )
    batch_size: int = Field(
        default=500, ge=1, le=10_000, description="or of at most this many posts"
    )
    #: One event is a post of at most 3,000 bytes of text plus its record: a few kB.
    max_response: ByteSize = response_limit(1_000_000)


class BlueskyStreamConnector(Connector):
    """Jetstream: every brand's keywords matched locally against every new post."""

    name = "bluesky_stream"
    Config = BlueskyStreamConfig
    per_brand = False
    streaming: ClassVar[bool] = True
    config: BlueskyStreamConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._host = 0
        self._profiles: dict[str, tuple[str | None, int | None]] = {}
        self._socket: ClientConnection | None = None
        self._lock = threading.Lock()

    @property
    def hosts(self) -> list[str]:
        return [h.rstrip("/") for h in [self.config.base_url, *self.config.more_hosts]]

    @property
    def host(self) -> str:
        return self.hosts[self._host % len(self.hosts)]

    def next_host(self) -> None:
        """After a failure: the next connection goes to the next host."""
        self._host = (self._host + 1) % len(self.hosts)

    # ------------------------------------------------------------------ reading

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        mentions: list[Mention] = []
        last = cursor
        for batch, step in self.fetch_pages(queries, cursor):
            mentions, last = mentions + batch, step
        return mentions, last

    def fetch_pages(self, queries: Sequence[str], cursor: str | None) -> Iterator[FetchResult]:
        """Replay from ``cursor`` to the moment the poll started."""
        start = _now_us()
        if cursor is None:
            yield [], str(start)  # nothing to replay: from now on
            return
        for batch, last in self._batches(cursor, threading.Event(), until=start):
            yield self._named(batch, queries), last

    def listen(
        self, queries: Sequence[str], cursor: str | None, stop: threading.Event
    ) -> Iterator[FetchResult]:
        """Batches of new posts with their cursor, as they come, until ``stop`` is set
        (every post: the keywords are matched by the pipeline)."""
        for batch, last in self._batches(cursor, stop, until=None):
            yield self._named(batch, queries), last

    def close(self) -> None:
        with self._lock:
            socket = self._socket
        if socket is not None:
            with suppress(Exception):
                socket.close()

    def _named(self, batch: list[Mention], queries: Sequence[str]) -> list[Mention]:
        """The posts that may name a brand (a keyword appears in them, before the exact
        matching) get their author's handle and followers instead of the account id:
        one ``app.bsky.actor.getProfiles`` request for up to 25 new authors, remembered.
        A failure leaves the id: the post still comes."""
        words = [k.lstrip("@#").casefold() for k in queries if k.lstrip("@#")]
        likely = [m for m in batch if not m.deleted and any(w in m.text.casefold() for w in words)]
        unknown = list(dict.fromkeys(m.author for m in likely if m.author not in self._profiles))
        for i in range(0, len(unknown), 25):
            self._profiles.update(self._lookup(unknown[i : i + 25]))
        for m in likely:
            handle, followers = self._profiles.get(m.author, (None, None))
            if handle:
                # A stranger's words, set after the Mention made its own fields safe.
                path = quote(safe_text(handle), safe="")
                m.url = m.url.replace(f"/profile/{m.author}/", f"/profile/{path}/")
                m.author, m.author_followers = safe_text(handle), followers
        return batch

    def _lookup(self, dids: list[str]) -> dict[str, tuple[str | None, int | None]]:
        if not self.config.profiles_url:
            return {}
        url = f"{self.config.profiles_url.rstrip('/')}/xrpc/app.bsky.actor.getProfiles"
        try:
            answer = send(
                self.http,
                self.name,
                "GET",
                url,
                params=[("actors", d) for d in dids],
                timeout=self.config.timeout.total_seconds(),
                max_response=int(self.config.max_response),
            )
            profiles = answer.json().get("profiles") if answer.status_code == 200 else None
        except (ConnectorError, ValueError, AttributeError) as exc:
            log.info("%s: authors' handles not found (%s); their ids are shown", self.name, exc)
            return {}
        found: dict[str, tuple[str | None, int | None]] = {d: (None, None) for d in dids}
        for p in profiles if isinstance(profiles, list) else []:
            if isinstance(p, dict) and isinstance(p.get("did"), str):
                count = p.get("followersCount")
                handle = p.get("handle")
                found[p["did"]] = (
                    handle if isinstance(handle, str) else None,
                    count if isinstance(count, int) else None,
                )
        if len(self._profiles) > PROFILES_KEPT:
            self._profiles.clear()
        return found

    def _batches(
        self, cursor: str | None, stop: threading.Event, *, until: int | None
    ) -> Iterator[FetchResult]:
        """Events from ``cursor`` (rewound) in batches; up to ``until`` (unix us) if set."""
        since = None if cursor is None else max(0, int(cursor) - _us(self.config.rewind))
        wait = self.config.batch_wait.total_seconds()
        silence = self.config.timeout.total_seconds()
        last, heard_any = cursor, False
        with self._connect(since) as socket:
            try:
                batch: list[Mention] = []
                due = heard = time.monotonic()
                due += wait
                while not stop.is_set():
                    try:
                        message = socket.recv(timeout=max(0.0, min(due - time.monotonic(), 1.0)))
                    except TimeoutError:
                        message = None
                    if message is not None:
                        heard, heard_any = time.monotonic(), True
                        event = self._event(message)
                        if event is not None:
                            time_us, mention = event
                            if until is not None and time_us >= until:
                                break
                            last = str(time_us)
                            if mention is not None:
                                batch.append(mention)
                    elif time.monotonic() - heard > silence:
                        if until is not None and heard_any:
                            break  # a poll: the host has nothing newer yet
                        raise FetchTimeout(
                            self.name,
                            f"{self.host} sent nothing for {silence:.0f} s",
                            hint="another Jetstream host is tried next",
                        )
                    if time.monotonic() >= due or len(batch) >= self.config.batch_size:
                        if batch or last != cursor:
                            yield batch, last
                            cursor, batch = last, []
                        due = time.monotonic() + wait
                if batch or last != cursor:
                    yield batch, last
            except ConnectionClosed as exc:
                closed: str | None = _closed(exc)
            else:
                closed = None
            finally:
                with self._lock:
                    self._socket = None
        if closed is not None:  # raised here, with no library exception behind it
            raise SourceUnavailable(self.name, f"{self.host} closed the stream ({closed})")

    def _connect(self, since: int | None) -> ClientConnection:
        params = [("wantedCollections", POST)]
        if since is not None:
            params.append(("cursor", str(since)))
        url = f"{self.host}/subscribe?{urlencode(params)}"
        socket = open_stream(
            self.name,
            url,
            self.host,
            timeout=self.config.timeout.total_seconds(),
            max_size=int(self.config.max_response),
            auth_hint="Jetstream needs no key: check `base_url`",
        )
        with self._lock:
            self._socket = socket
        return socket

    def _event(self, message: str | bytes) -> tuple[int, Mention | None] | None:
        """(time_us, the post as a Mention or None) of one message; None if unreadable."""
        try:
            event = json.loads(message)
        except ValueError:
            log.warning("%s: skipped a message that is not JSON", self.name)
            return None
        if not isinstance(event, dict) or not isinstance(event.get("time_us"), int):
            log.warning("%s: skipped a message without `time_us`", self.name)
            return None
        return event["time_us"], self._mention(event)

    @one_item
    def _mention(self, event: dict[str, Any]) -> Mention | None:
        commit = event.get("commit")
        if event.get("kind") != "commit" or not isinstance(commit, dict):
            return None
        if commit.get("collection") != POST:
            return None
        did, rkey = str(event["did"]), str(commit["rkey"])
        uri = f"at://{did}/{POST}/{rkey}"
        if commit.get("operation") == "delete":
            return Mention(
                source=self.name,
                external_id=uri,
                url=POST_URL.format(did, rkey),
                author=did,
                text="",
                created_at=_time(event["time_us"]),
                deleted=True,
            )
        if commit.get("operation") != "create":
            return None  # Bluesky posts are not edited; an update changes no words
        record = commit["record"]
        if not isinstance(record, dict):
            raise TypeError("record")
        created = record.get("createdAt")
        return Mention(
            source=self.name,
            external_id=uri,
            url=POST_URL.format(did, rkey),
            author=did,
            text=str(record.get("text") or ""),
            created_at=_parse_time(created) or _time(event["time_us"]),
            raw={"did": did, "time_us": event["time_us"], "commit": commit},
            reply_to=_answers(record),
        )

    def check(self, online: bool = False) -> list[str]:
        lines = [f"no key needed; listens to {self.host} (then {len(self.hosts) - 1} more)"]
        if online:
            wait = min(5.0, self.config.timeout.total_seconds())
            with self._connect(None) as socket:
                try:
                    socket.recv(timeout=wait)
                    lines.append(f"{self.host} is streaming posts")
                except TimeoutError:
                    lines.append(f"connected to {self.host} (no post in {wait:.0f} s yet)")
                except ConnectionClosed as exc:
                    closed = _closed(exc)
                    lines.append(f"{self.host} closed the stream at once ({closed})")
        return lines


def _now_us() -> int:
    return int(time.time() * 1_000_000)


def _us(duration: timedelta) -> int:
    return int(duration.total_seconds() * 1_000_000)


def _time(time_us: int) -> datetime:
    return datetime.fromtimestamp(time_us / 1_000_000, UTC)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    with suppress(ValueError):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _closed(exc: ConnectionClosed) -> str:
    if exc.rcvd is not None:
        return f"code {exc.rcvd.code}{': ' + exc.rcvd.reason if exc.rcvd.reason else ''}"
    return "the connection dropped"
