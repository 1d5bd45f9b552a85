"""A stand-in for the Slack Web API (https://docs.slack.dev/reference/methods), as a bot
token and an app-level token meet it, serving ``POST|GET /api/<method>``.

Arguments come as the query string, a form body or a JSON body (``Content-Type:
application/json``, as slack_sdk sends chat.*); the token as ``Authorization: Bearer`` (or a
``token`` argument). Answers are Slack's: HTTP 200 with ``{"ok": true, ...}`` or ``{"ok":
false, "error": "<code>"}``; ``missing_scope`` also names the scope ``needed``; HTTP 429
with ``Retry-After`` and ``{"ok": false, "error": "ratelimited"}`` when rate limited.

Methods, with what the real server does for us:

- ``auth.test``; ``invalid_auth`` for an unknown token, ``token_revoked`` after ``revoke()``.
- ``chat.postMessage``: ``channel`` by id or name; ``not_in_channel`` unless the bot is a
  member (no ``chat:write.public``), ``is_archived``; ``blocks`` checked against Block Kit's
  rules (tests/standins/slack.py) -> ``invalid_blocks``; ``metadata`` needs ``event_type``
  and an object ``event_payload`` -> ``invalid_metadata_format``; ``thread_ts`` must name
  a top-level message of the channel (Slack does not document its answer otherwise: the
  stand-in refuses and records a problem); ``reply_broadcast`` shows the reply in the
  channel too.
- ``chat.update`` (channel id and ``ts`` of a message the bot posted:
  ``message_not_found``, ``cant_update_message``), ``chat.postEphemeral`` (``user`` must be
  in the channel: ``user_not_in_channel``).
- ``conversations.list`` (private channels only when the bot is in them), ``.info``,
  ``.members`` (paged by ``cursor``), ``.history`` (top-level messages and broadcast
  replies, newest first, ``oldest``/``latest``, metadata only with
  ``include_all_metadata``), ``.replies`` (a thread, oldest first); ``*:read`` and
  ``*:history`` scopes are required as documented.
- ``apps.connections.open``: the app-level token only (``not_allowed_token_type`` for a
  bot token); answers a ``ws://`` URL of the Socket Mode stand-in (slack_socket.py).
- ``POST /response/<n>``: the ``response_url`` of a press; what is posted there is kept in
  ``responses``.

``press(ts, label, user)`` builds the ``block_actions`` payload Slack sends when ``user``
presses the button labelled ``label`` on the message ``ts``; it fails if the message has no
such button, so a test cannot press what was never shown.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.standins.server import Request, Response, StandIn
from tests.standins.slack import block_problems
from tests.standins.slack_socket import SocketMode

TEAM, BOT_USER, BOT_ID = "T0ACME", "U0BOT", "B0BOT"
SCOPES = frozenset(
    {"chat:write", "channels:read", "groups:read", "channels:history", "groups:history"}
)
POST_KEYS = {
    "channel", "text", "blocks", "metadata", "thread_ts", "reply_broadcast", "unfurl_links",
    "unfurl_media", "mrkdwn", "token",
}  # fmt: skip


@dataclass
class Channel:
    id: str
    name: str
    members: set[str]
    private: bool = False
    archived: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)  # oldest first, replies too

    def find(self, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages if m["ts"] == ts), None)


class SlackError(Exception):
    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code, self.extra = code, extra


class SlackAPI:
    """The route. ``url`` (the server's address) must be set for ``response_url``s."""

    def __init__(self, socket: SocketMode | None = None) -> None:
        self.socket = socket
        self.url = ""  # the server's address: the API is at url + "/api"
        self.server: StandIn | None = None  # for faults: server.fail_next(Response(...))
        self.bot_token = "xoxb-1-" + secrets.token_hex(12)
        self.app_token = "xapp-1-A0MENTIONS-" + secrets.token_hex(12)
        self.scopes = set(SCOPES)
        self.users = {BOT_USER: "mention-monitor", "U0MARIA": "maria", "U0JOJO1": "jo"}
        self.users["U0STRANGER"] = "stranger"
        self.channels = {
            "C0MENTIONS": Channel("C0MENTIONS", "mentions", {BOT_USER, "U0MARIA", "U0JOJO1"}),
            "C0GENERAL": Channel("C0GENERAL", "general", {"U0MARIA", "U0STRANGER"}),
        }
        self.calls: list[str] = []
        self.posts: list[dict[str, Any]] = []  # every chat.postMessage accepted, its args
        self.updates: list[dict[str, Any]] = []  # every chat.update accepted, with "at"
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.revoked: set[str] = set()
        self.limited: dict[str, float] = {}  # method -> Retry-After seconds
        self.page_size = 100
        self._last_ts = 0.0
        self._lock = threading.Lock()

    # ------------------------------------------------------------ faults

    def revoke(self, token: str | None = None) -> None:
        self.revoked.add(token or self.bot_token)

    def rate_limit(self, method: str, seconds: float) -> None:
        self.limited[method] = seconds

    def recover(self) -> None:
        self.revoked.clear()
        self.limited.clear()

    # ------------------------------------------------------------ the wire

    def __call__(self, request: Request) -> Response:
        if request.path.startswith("/response/"):
            self.responses.append(json.loads(request.body or b"{}"))
            return Response(200, "ok", headers={"Content-Type": "text/plain"})
        method = request.path.removeprefix("/api/")
        with self._lock:
            self.calls.append(method)
        if method in self.limited:
            body = {"ok": False, "error": "ratelimited"}
            return Response(429, body, headers={"Retry-After": f"{self.limited[method]:.0f}"})
        args = _arguments(request)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return Response(404, {"ok": False, "error": "unknown_method"})
        try:
            token = _token(request, args)
            with self._lock:
                return Response(200, {"ok": True, **handler(token, args)})
        except SlackError as exc:
            return Response(200, {"ok": False, "error": exc.code, **exc.extra})

    def _bot(self, token: str, *scopes: str) -> None:
        if token == self.app_token:
            raise SlackError("not_allowed_token_type")
        if token != self.bot_token:
            raise SlackError("invalid_auth")
        if token in self.revoked:
            raise SlackError("token_revoked")
        for scope in scopes:
            if scope not in self.scopes:
                raise SlackError("missing_scope", needed=scope, provided=",".join(self.scopes))

    def _channel(self, name: Any, by_name: bool = False) -> Channel:
        key = str(name or "")
        if key in self.channels:
            found = self.channels[key]
        elif by_name:
            found = next((c for c in self.channels.values() if c.name == key.lstrip("#")), None)
            if found is None:
                raise SlackError("channel_not_found")
        else:
            raise SlackError("channel_not_found")
        if found.private and BOT_USER not in found.members:
            raise SlackError("channel_not_found")  # a private channel is invisible to outsiders
        return found

    def _read(self, token: str, channel: Channel, kind: str) -> None:
        self._bot(token, ("groups:" if channel.private else "channels:") + kind)

    def _ts(self) -> str:
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    # ------------------------------------------------------------ methods

    def _auth_test(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        self._bot(token)
        return {
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": self.users[BOT_USER],
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_postMessage(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        self._bot(token, "chat:write")
        channel = self._channel(args.get("channel"), by_name=True)
        if BOT_USER not in channel.members:
            raise SlackError("not_in_channel")
        if channel.archived:
            raise SlackError("is_archived")
        unknown = set(args) - POST_KEYS
        if unknown:
            self.problems.append(f"chat.postMessage: unknown arguments {sorted(unknown)}")
            raise SlackError("invalid_arguments")
        message = self._message(args, "chat.postMessage")
        metadata = args.get("metadata")
        if metadata is not None:
            if not (
                isinstance(metadata, dict)
                and isinstance(metadata.get("event_type"), str)
                and isinstance(metadata.get("event_payload"), dict)
            ):
                raise SlackError("invalid_metadata_format")
            message["metadata"] = metadata
        thread = args.get("thread_ts")
        if thread is not None:
            parent = channel.find(str(thread))
            if parent is None or parent.get("thread_ts", parent["ts"]) != parent["ts"]:
                self.problems.append(f"chat.postMessage: thread_ts {thread} is no parent")
                raise SlackError("invalid_thread_ts")
            message["thread_ts"] = parent["ts"]
            message["broadcast"] = bool(args.get("reply_broadcast"))
        elif args.get("reply_broadcast"):
            self.problems.append("chat.postMessage: reply_broadcast without thread_ts")
        message["ts"] = self._ts()
        channel.messages.append(message)
        self.posts.append({**args, "ts": message["ts"], "channel_id": channel.id})
        return {"channel": channel.id, "ts": message["ts"], "message": _public(message)}

    def _message(self, args: dict[str, Any], where: str) -> dict[str, Any]:
        text, blocks = args.get("text"), args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not text and not blocks:
            raise SlackError("no_text")
        if blocks is not None:
            problems = (
                [p for i, b in enumerate(blocks) for p in block_problems(b, f"blocks[{i}]")]
                if isinstance(blocks, list) and len(blocks) <= 50
                else ["blocks: a list of at most 50"]
            )
            if problems:
                self.problems += [f"{where}: {p}" for p in problems]
                raise SlackError("invalid_blocks")
            for block in blocks:
                block.setdefault("block_id", secrets.token_urlsafe(4))
        return {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "text": text or "",
            "blocks": blocks or [],
        }

    def _chat_update(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        self._bot(token, "chat:write")
        channel = self._channel(args.get("channel"))
        message = channel.find(str(args.get("ts")))
        if message is None:
            raise SlackError("message_not_found")
        if message.get("user") != BOT_USER:
            raise SlackError("cant_update_message")
        new = self._message(args, "chat.update")
        message.update(text=new["text"], blocks=new["blocks"], edited=True)
        self.updates.append({**args, "at": time.monotonic()})
        return {"channel": channel.id, "ts": message["ts"], "text": message["text"]}

    def _chat_postEphemeral(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        self._bot(token, "chat:write")
        channel = self._channel(args.get("channel"), by_name=True)
        if str(args.get("user")) not in channel.members:
            raise SlackError("user_not_in_channel")
        self._message(args, "chat.postEphemeral")
        self.ephemerals.append(args)
        return {"message_ts": self._ts()}

    def _conversations_list(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        types = str(args.get("types") or "public_channel").split(",")
        self._bot(token, *(["channels:read"] if "public_channel" in types else []))
        self._bot(token, *(["groups:read"] if "private_channel" in types else []))
        shown = [
            _describe(c)
            for c in self.channels.values()
            if ("private_channel" if c.private else "public_channel") in types
            and (not c.private or BOT_USER in c.members)
            and not (c.archived and str(args.get("exclude_archived")) in ("1", "true"))
        ]
        return self._page(shown, args, "channels")

    def _conversations_info(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        self._read(token, channel, "read")
        return {"channel": _describe(channel)}

    def _conversations_members(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        self._read(token, channel, "read")
        return self._page(sorted(channel.members), args, "members")

    def _conversations_history(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        self._read(token, channel, "history")
        if BOT_USER not in channel.members:
            raise SlackError("not_in_channel")
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or 1e12)
        shown = [
            self._shown(m, args)
            for m in reversed(channel.messages)
            if oldest < float(m["ts"]) < latest
            and ("thread_ts" not in m or m["thread_ts"] == m["ts"] or m.get("broadcast"))
        ]
        return self._page(shown, args, "messages")

    def _conversations_replies(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        self._read(token, channel, "history")
        parent = channel.find(str(args.get("ts")))
        if parent is None:
            raise SlackError("thread_not_found")
        oldest = float(args.get("oldest") or 0)
        thread = [parent] + [
            m
            for m in channel.messages
            if m.get("thread_ts") == parent["ts"] and m is not parent and float(m["ts"]) > oldest
        ]
        return self._page([self._shown(m, args) for m in thread], args, "messages")

    def _apps_connections_open(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        if token == self.bot_token:
            raise SlackError("not_allowed_token_type")
        if token != self.app_token:
            raise SlackError("invalid_auth")
        if token in self.revoked:
            raise SlackError("token_revoked")
        if self.socket is None:
            raise SlackError("internal_error")
        return {"url": self.socket.url_for_new_connection()}

    def _shown(self, message: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        shown = _public(message)
        if str(args.get("include_all_metadata")) not in ("1", "true"):
            shown.pop("metadata", None)
        return shown

    def _page(self, items: list[Any], args: dict[str, Any], key: str) -> dict[str, Any]:
        start = int(args.get("cursor") or 0)
        size = min(int(args.get("limit") or self.page_size), self.page_size)
        page, rest = items[start : start + size], items[start + size :]
        following = str(start + size) if rest else ""
        return {key: page, "has_more": bool(rest), "response_metadata": {"next_cursor": following}}

    # ------------------------------------------------------------ what a test does

    def messages(self, channel: str = "C0MENTIONS") -> list[dict[str, Any]]:
        with self._lock:
            return [_public(m) for m in self.channels[channel].messages]

    def press(
        self, ts: str, label: str, user: str = "U0MARIA", channel: str = "C0MENTIONS"
    ) -> dict[str, Any]:
        """The block_actions payload of ``user`` pressing the button labelled ``label``."""
        with self._lock:
            where = self.channels[channel]
            message = where.find(ts)
            assert message is not None, f"no message {ts} in #{where.name}"
            found = [
                (block, element)
                for block in message["blocks"]
                if block["type"] == "actions"
                for element in block["elements"]
                if element["text"]["text"] == label and "url" not in element
            ]
            assert found, f"message {ts} has no button {label!r}"
            block, button = found[0]
            container = {
                "type": "message",
                "message_ts": ts,
                "channel_id": where.id,
                "is_ephemeral": False,
            }
            if "thread_ts" in message:
                container["thread_ts"] = message["thread_ts"]
            return {
                "type": "block_actions",
                "user": {"id": user, "username": self.users[user], "name": self.users[user],
                         "team_id": TEAM},
                "api_app_id": "A0MENTIONS",
                "token": "unused-verification-token",
                "container": container,
                "trigger_id": f"{secrets.randbelow(10**9)}.{secrets.token_hex(8)}",
                "team": {"id": TEAM, "domain": "acme"},
                "enterprise": None,
                "is_enterprise_install": False,
                "channel": {"id": where.id, "name": where.name},
                "message": _public(message),
                "state": {"values": {}},
                "response_url": f"{self.url}/response/{secrets.token_hex(6)}",
                "actions": [
                    {
                        "type": "button",
                        "action_id": button.get("action_id"),
                        "block_id": block["block_id"],
                        "text": button["text"],
                        "value": button.get("value"),
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            }  # fmt: skip


def _arguments(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.params)
    kind = request.headers.get("content-type", "")
    if request.body and kind.startswith("application/json"):
        args.update(json.loads(request.body))
    elif request.body:
        args.update({k: v[-1] for k, v in parse_qs(request.body.decode()).items()})
    return args


def _token(request: Request, args: dict[str, Any]) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    token = args.get("token")
    if not token:
        raise SlackError("not_authed")
    return str(token)


def _describe(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.private,
        "is_private": channel.private,
        "is_archived": channel.archived,
        "is_member": BOT_USER in channel.members,
        "num_members": len(channel.members),
    }


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """A message as Slack shows it to API clients (without our bookkeeping)."""
    shown = {k: v for k, v in message.items() if k != "broadcast"}
    if message.get("broadcast"):
        shown["subtype"] = "thread_broadcast"
    return json.loads(json.dumps(shown))


@contextmanager
def running() -> Iterator[SlackAPI]:
    """The Web API and Socket Mode stand-ins, serving on loopback until the block ends."""
    socket = SocketMode().start()
    api = SlackAPI(socket)
    try:
        with StandIn(api) as server:
            api.url, api.server = server.url, server
            yield api
    finally:
        socket.stop()
