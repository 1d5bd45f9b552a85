"""A stand-in for the Telegram Bot API (https://core.telegram.org/bots/api).

Serves ``/bot<token>/<method>`` (POST with a JSON or form body, or GET with a query), the
method name case-insensitive, and answers like Telegram: ``{"ok": true, "result": ...}``
or ``{"ok": false, "error_code": n, "description": "...", "parameters": {...}}``. A path
without ``/bot`` or an unknown method is ``404 Not Found``, another token ``401
Unauthorized``.

Methods, from state the tests arrange (chats the bot is in, its status there):

- ``getMe``, ``getChat`` (``400 chat not found``), ``getChatMember`` (the bot's status),
  ``getWebhookInfo``, ``deleteWebhook``;
- ``sendMessage``: the chat must exist and the bot be in it (``403 Forbidden: bot is not a
  member of the ... chat``, ``bot was kicked ...``); ``parse_mode: HTML`` is read as
  Telegram documents it (https://core.telegram.org/bots/api#html-style): only its tags,
  balanced, ``<a>`` with an ``href``, no tags inside ``code``/``pre``, no blockquote inside a
  blockquote, the entities ``&lt; &gt; &amp; &quot;`` and numeric ones; any other ``<``,
  ``>`` or ``&`` is refused (``400 Bad Request: can't parse entities: ...``), stricter than
  Telegram, which lets a lone ``>`` pass. The text is 1-4096 characters once the tags are
  read (counted here in UTF-16 units); an inline keyboard's buttons need ``text`` and one of
  ``url`` (http/https/tg) or ``callback_data`` (1-64 bytes, ``BUTTON_DATA_INVALID``);
  ``reply_parameters.message_id`` must be a message of the chat unless
  ``allow_sending_without_reply``. Unknown parameters are kept in ``problems``.
- ``editMessageText`` / ``editMessageReplyMarkup``: the same checks; ``400 message to edit
  not found``; ``400 message is not modified`` when nothing would change; a keyboard left
  out is removed, as Telegram does.
- ``answerCallbackQuery``: only a query it sent and not yet answered (``400 query is too
  old and response timeout expired or query ID is invalid``); text at most 200 characters.
- ``getUpdates``: long polling. Updates are kept until a call's ``offset`` passes them;
  ``allowed_updates`` is remembered between calls; a call waits up to ``timeout`` seconds
  for an update; a second call ends the first with ``409 Conflict: terminated by other
  getUpdates request``; with a webhook set, ``409 Conflict: can't use getUpdates method
  while webhook is active``.

Tests act as the people in the chat: ``press(message, "Acknowledge", user)`` queues the
callback query a Telegram app sends for that button of the message as it is now (a button
that is not there cannot be pressed), ``say`` queues a plain message. ``rate_limit(s)``
answers every call ``429`` with ``parameters.retry_after`` until ``recover()``.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from tests.standins.server import Request, Response

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
BOT = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "Acme mentions",
    "username": "acme_mentions_bot",
}
GROUP = -1001234567890
MARIA = {"id": 5550001, "is_bot": False, "first_name": "Maria", "username": "maria"}
JO = {"id": 5550002, "is_bot": False, "first_name": "Jo"}
TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=\"[^\"]*\"|='[^']*')?)*)\s*>")
_ATTR = re.compile(r"([a-zA-Z-]+)(?:=\"([^\"]*)\"|='([^']*)')?")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
SEND_KEYS = {
    "chat_id", "text", "parse_mode", "entities", "link_preview_options", "disable_notification",
    "protect_content", "reply_parameters", "reply_markup", "message_thread_id",
    "business_connection_id", "message_effect_id", "allow_paid_broadcast",
}  # fmt: skip
EDIT_KEYS = {
    "chat_id", "message_id", "inline_message_id", "text", "parse_mode", "entities",
    "link_preview_options", "reply_markup", "business_connection_id",
}  # fmt: skip


class Refused(Exception):
    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """What Telegram shows of an HTML message, and its entities (type, text, url)."""
    out = ""
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    i = 0

    def refuse(what: str) -> Refused:
        where = len(text[:i].encode("utf-8"))
        return Refused(400, f"Bad Request: can't parse entities: {what} at byte offset {where}")

    while i < len(text):
        c = text[i]
        if c == "<":
            m = _TAG.match(text, i)
            if m is None:
                raise refuse("Unsupported start tag")
            closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
            if name not in TAGS:
                raise refuse(f'Unsupported start tag "{name}"')
            if closing:
                if not stack or stack[-1][0] != name:
                    raise refuse(f'Unmatched end tag "{name}"')
                tag, start, values = stack.pop()
                entities.append({"type": tag, "text": out[start:], "url": values.get("href")})
            else:
                if stack and stack[-1][0] in ("code", "pre") and name != "code":
                    raise refuse(f'Tag "{name}" inside "{stack[-1][0]}"')
                if name == "blockquote" and any(t == "blockquote" for t, _, _ in stack):
                    raise refuse("Blockquote inside blockquote")
                values = {
                    a.group(1): html.unescape(a.group(2) or a.group(3) or "")
                    for a in _ATTR.finditer(attrs)
                }
                if name == "a" and not values.get("href"):
                    raise refuse("An a tag without href")
                stack.append((name, len(out), values))
            i = m.end()
        elif c == "&":
            m = _ENTITY.match(text, i)
            if m is None:
                raise refuse("Unsupported HTML entity")
            out += html.unescape(m.group())
            i = m.end()
        elif c == ">":
            raise refuse("Unexpected >")
        else:
            out += c
            i += 1
    if stack:
        raise refuse(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out, entities


def keyboard_problems(markup: Any) -> str | None:
    """Telegram's refusal of an inline keyboard, or None."""
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        return 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not button.get("text"):
            return "Bad Request: text buttons are unallowed in the inline keyboard"
        kinds = set(button) - {"text"}
        if len(kinds) != 1 or kinds - {"url", "callback_data"}:
            return "Bad Request: can't parse inline keyboard button: exactly one optional field"
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
            return "Bad Request: BUTTON_DATA_INVALID"
        url = button.get("url")
        if url is not None and not re.match(r"(https?|tg)://[^\s<>\"]+$", str(url)):
            return "Bad Request: BUTTON_URL_INVALID"
    return None


@dataclass
class Chat:
    id: int
    type: str = "supergroup"
    title: str = "Acme alerts"
    username: str | None = None
    bot_status: str = "member"  # creator, administrator, member, restricted, left, kicked

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            found["first_name"] = self.title
        else:
            found["title"] = self.title
        if self.username:
            found["username"] = self.username
        return found


@dataclass
class Message:
    chat: Chat
    message_id: int
    html: str
    text: str
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    reply_to: int | None = None
    date: int = field(default_factory=lambda: int(time.time()))
    edits: int = 0

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "message_id": self.message_id,
            "from": BOT,
            "chat": self.chat.as_json(),
            "date": self.date,
            "text": self.text,
        }
        if self.reply_markup and self.reply_markup.get("inline_keyboard"):
            found["reply_markup"] = self.reply_markup
        if self.reply_to is not None:
            found["reply_to_message"] = {"message_id": self.reply_to, "chat": self.chat.as_json()}
        return found

    @property
    def links(self) -> list[str]:
        """The addresses the text links to (``<a href>``): only ours, never a stranger's."""
        return [e["url"] for e in self.entities if e["type"] == "a"]

    def buttons(self) -> dict[str, str]:
        """Each button's words -> its callback data or address."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return {b["text"]: b.get("callback_data") or b.get("url") for row in rows for b in row}


class TelegramBotAPI:
    """The Bot API's state for one bot, and the route that serves it."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.chats: dict[int, Chat] = {GROUP: Chat(GROUP)}
        self.messages: dict[tuple[int, int], Message] = {}
        self.sent: list[Message] = []  # in the order they were sent
        self.edited: list[tuple[str, Message]] = []  # (method, the message after it)
        self.answers: list[dict[str, Any]] = []  # answerCallbackQuery's parameters
        self.calls: list[str] = []  # every method called, in order
        self.problems: list[str] = []
        self.webhook = ""
        self.retry_after: int | None = None
        self._queries: dict[str, bool] = {}  # callback query id -> answered
        self._updates: list[dict[str, Any]] = []
        self._allowed: list[str] = []
        self._ids = itertools.count(1)
        self.polls = 0  # getUpdates calls so far (each ends the one before it)
        self._closed = False
        self._cond = threading.Condition()

    # ------------------------------------------------------------ the people in the chat

    def press(self, message: Message, label: str, user: dict[str, Any]) -> str:
        """Queue the callback query that pressing ``label`` on ``message`` sends; its id."""
        with self._cond:
            data = message.buttons().get(label)
            if data is None or "://" in data:
                raise AssertionError(f"no button {label!r} on the message: {message.buttons()}")
            qid = f"q{next(self._ids)}"
            self._queries[qid] = False
            self._queue(
                {
                    "callback_query": {
                        "id": qid,
                        "from": user,
                        "message": message.as_json(),
                        "chat_instance": f"ci{message.chat.id}",
                        "data": data,
                    }
                }
            )
            return qid

    def say(self, chat_id: int, text: str, user: dict[str, Any]) -> None:
        chat = self.chats[chat_id]
        with self._cond:
            message = {"message_id": 10_000 + next(self._ids), "from": user, "chat": chat.as_json()}
            self._queue({"message": {**message, "date": int(time.time()), "text": text}})

    def post(self, chat_id: int, text: str, reply_markup: dict[str, Any]) -> Message:
        """A message the bot sent to a chat earlier (another chat than today's, say)."""
        with self._cond:
            return self._store(self.chats[chat_id], html.escape(text), text, [], reply_markup)

    def _queue(self, update: dict[str, Any]) -> None:
        self._updates.append({"update_id": 500_000 + next(self._ids), **update})
        self._cond.notify_all()

    def wait(self, done: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until ``done()`` (checked whenever a call changed something)."""
        with self._cond:
            return self._cond.wait_for(done, timeout)

    def pending(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset past them."""
        with self._cond:
            return list(self._updates)

    def rate_limit(self, seconds: int) -> None:
        self.retry_after = seconds

    def recover(self) -> None:
        self.retry_after = None

    def close(self) -> None:
        """End every waiting getUpdates (the server is going away)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # ------------------------------------------------------------ the route

    def __call__(self, request: Request) -> Response:
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", request.path)
        if match is None:
            return self._error(Refused(404, "Not Found"))
        if match.group(1) != self.token:
            return self._error(Refused(401, "Unauthorized"))
        method = match.group(2).lower()
        params = self._params(request)
        with self._cond:
            self.calls.append(method)
        if self.retry_after is not None:
            return self._error(
                Refused(
                    429,
                    f"Too Many Requests: retry after {self.retry_after}",
                    retry_after=self.retry_after,
                )
            )
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(Refused(404, "Not Found"))
        try:
            return Response(200, {"ok": True, "result": handler(params)})
        except Refused as refused:
            return self._error(refused)

    def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.params)
        kind = request.headers.get("content-type", "")
        if request.body and kind.startswith("application/json"):
            params.update(json.loads(request.body))
        elif request.body:
            params.update(dict(parse_qsl(request.body.decode())))
        for key in ("reply_markup", "reply_parameters", "allowed_updates"):
            if isinstance(params.get(key), str):  # form values are JSON-serialized
                params[key] = json.loads(params[key])
        return params

    @staticmethod
    def _error(refused: Refused) -> Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": refused.code,
            "description": refused.description,
        }
        if refused.parameters:
            body["parameters"] = refused.parameters
        return Response(refused.code, body)

    # ------------------------------------------------------------ methods

    def _chat(self, chat_id: Any) -> Chat:
        with self._cond:
            if isinstance(chat_id, str) and chat_id.startswith("@"):
                found = [c for c in self.chats.values() if c.username == chat_id[1:]]
                if found:
                    return found[0]
            else:
                try:
                    return self.chats[int(chat_id)]
                except (KeyError, TypeError, ValueError):
                    pass
        raise Refused(400, "Bad Request: chat not found")

    def _can_post(self, chat: Chat) -> None:
        kind = "supergroup" if chat.type == "supergroup" else chat.type
        if chat.bot_status == "kicked":
            raise Refused(403, f"Forbidden: bot was kicked from the {kind} chat")
        if chat.bot_status == "left" or (
            chat.type == "channel" and chat.bot_status not in ("administrator", "creator")
        ):
            raise Refused(403, f"Forbidden: bot is not a member of the {kind} chat")

    def _m_getme(self, params: dict[str, Any]) -> Any:
        return BOT

    def _m_getchat(self, params: dict[str, Any]) -> Any:
        return self._chat(params.get("chat_id")).as_json()

    def _m_getchatmember(self, params: dict[str, Any]) -> Any:
        chat = self._chat(params.get("chat_id"))
        if int(params.get("user_id") or 0) != BOT["id"]:
            raise Refused(400, "Bad Request: user not found")
        return {"status": chat.bot_status, "user": BOT}

    def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {"url": self.webhook, "has_custom_certificate": False, "pending_update_count": 0}

    def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = ""
        return True

    def _text(self, params: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
        raw = params.get("text")
        if not isinstance(raw, str):
            raise Refused(400, "Bad Request: message text is empty")
        if params.get("parse_mode") == "HTML":
            text, entities = parse_html(raw)
        elif params.get("parse_mode") is None:
            text, entities = raw, []
        else:
            raise Refused(400, "Bad Request: unsupported parse_mode")
        if not text.strip():
            raise Refused(400, "Bad Request: message text is empty")
        if units(text) > 4096:
            raise Refused(400, "Bad Request: message is too long")
        return raw, text, entities

    def _markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        problem = keyboard_problems(markup)
        if problem:
            raise Refused(400, problem)
        return dict(markup)

    def _store(
        self,
        chat: Chat,
        raw: str,
        text: str,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
        reply_to: int | None = None,
    ) -> Message:
        number = 1 + max((m for c, m in self.messages if c == chat.id), default=0)
        message = Message(chat, number, raw, text, entities, markup, reply_to)
        self.messages[(chat.id, number)] = message
        self.sent.append(message)
        return message

    def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        self.problems += [f"sendMessage: unknown parameter {k}" for k in set(params) - SEND_KEYS]
        chat = self._chat(params.get("chat_id"))
        self._can_post(chat)
        raw, text, entities = self._text(params)
        markup = self._markup(params)
        reply = params.get("reply_parameters")
        reply_to = None
        if reply is not None:
            reply_to = int(reply["message_id"])
            if (chat.id, reply_to) not in self.messages:
                if not reply.get("allow_sending_without_reply"):
                    raise Refused(400, "Bad Request: message to be replied not found")
                reply_to = None
        with self._cond:
            return self._store(chat, raw, text, entities, markup, reply_to).as_json()

    def _edited(self, params: dict[str, Any], keys: set[str]) -> Message:
        method = "editMessageText" if "text" in keys else "editMessageReplyMarkup"
        self.problems += [f"{method}: unknown parameter {k}" for k in set(params) - keys]
        chat = self._chat(params.get("chat_id"))
        with self._cond:
            message = self.messages.get((chat.id, int(params.get("message_id") or 0)))
        if message is None:
            raise Refused(400, "Bad Request: message to edit not found")
        return message

    def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        message = self._edited(params, EDIT_KEYS)
        raw, text, entities = self._text(params)
        markup = self._markup(params)
        return self._change(message, "editMessageText", raw, text, entities, markup)

    def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        keys = {"chat_id", "message_id", "inline_message_id", "reply_markup"}
        message = self._edited(params, keys)
        markup = self._markup(params)
        return self._change(
            message, "editMessageReplyMarkup", message.html, message.text, message.entities, markup
        )

    def _change(
        self,
        message: Message,
        method: str,
        raw: str,
        text: str,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
    ) -> Any:
        def buttons(markup: dict[str, Any] | None) -> Any:
            return (markup or {}).get("inline_keyboard") or None

        with self._cond:
            same = (text, entities) == (message.text, message.entities)
            if same and buttons(markup) == buttons(message.reply_markup):
                raise Refused(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            message.html, message.text, message.entities = raw, text, entities
            message.reply_markup = markup if buttons(markup) else None
            message.edits += 1
            self.edited.append((method, message))
            self._cond.notify_all()
            return message.as_json()

    def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        qid = str(params.get("callback_query_id"))
        with self._cond:
            if self._queries.get(qid, True):
                raise Refused(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID is "
                    "invalid",
                )
            if len(str(params.get("text") or "")) > 200:
                raise Refused(400, "Bad Request: MESSAGE_TOO_LONG")
            self._queries[qid] = True
            self.answers.append(params)
            self._cond.notify_all()
        return True

    def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook:
            raise Refused(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._cond:
            self.polls += 1
            me = self.polls
            self._cond.notify_all()
            if params.get("allowed_updates") is not None:
                self._allowed = list(params["allowed_updates"])
            if offset is not None:
                self._updates = [u for u in self._updates if u["update_id"] >= int(offset)]
            while True:
                if self.polls != me:
                    raise Refused(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
                # Updates of types not asked for are dropped, as Telegram does not keep them.
                self._updates = [
                    u for u in self._updates if not self._allowed or set(u) & set(self._allowed)
                ]
                if self._updates or self._closed or time.monotonic() >= deadline:
                    return self._updates[:limit]
                self._cond.wait(max(0.0, deadline - time.monotonic()))
