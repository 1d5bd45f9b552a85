"""Telegram: alerts from a bot, with buttons that answer them where they land.

API: the Bot API (https://core.telegram.org/bots/api), spoken by alerts/telegram_api.py.
Methods used: ``sendMessage`` (HTML, an inline keyboard, ``reply_parameters`` for a
thread), ``getUpdates`` (long polling, only ``callback_query`` updates),
``answerCallbackQuery``, ``editMessageText`` / ``editMessageReplyMarkup``, and for
``check``: ``getMe``, ``getChat``, ``getChatMember``, ``getWebhookInfo``. What the messages
say, and how strangers' text is escaped for Telegram's HTML, is alerts/telegram_html.py.

Auth: the bot token is in every request's path, so every URL is a secret: it is a
``SecretStr``, registered with the redactor (monitor/redact.py), and httpx's exceptions
(which quote the URL) are reported by their type name only. Telegram's answers are quoted
only as their code and short description, never a body.

Sending: each alert is one message; a digest or roll-up is one message (cut to what fits in
4096 characters, saying how many more). An escalation, a reminder or a reply about a
mention already posted here (``Alert.thread_ref``) is sent as a reply to that first message.
Telegram gives a bot no way to read a chat's history, so a message posted but not recorded
(a crash between) cannot be found again: the dispatcher sends it once more, saying it may
repeat. Errors: 429 -> AlertError(retry_after) for the whole channel; 401 / 404 (the token),
400 "chat not found", 403 (blocked, kicked, not a member) and a group upgraded to a
supergroup -> ChannelMisconfigured (the channel pauses and says so once); 5xx and network
errors -> AlertError; another 400 refuses this one message (our bug) and is not retried.

Buttons: Acknowledge, Resolve, Ignore and Not negative carry ``mm:<mention id>:<action>``.
``listen`` long-polls ``getUpdates`` (``POLL_SECONDS``; no public address needed), in a
thread of its own so that it returns within ``STOP_CHECK`` of ``stop``: a poll left
unfinished confirms nothing, and what it would have brought comes with the next poll. A
press from the configured chat (and, with ``allowed_users``, by one of them) becomes a
``Press`` ("@maria on Telegram"), is answered with what it did, and every message this
channel posted about the mention is edited in place: the line saying who did what, only the
buttons that still apply. Anyone else is told "not allowed" and nothing changes.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import ConfigDict, Field, SecretStr, field_validator

from alerts import telegram_html as th
from alerts.base import Channel, ChannelConfig
from alerts.render import digest_title
from alerts.telegram_api import API, DELETE_WEBHOOK, BotAPI, dict_of, parse_ref
from alerts.telegram_buttons import Listener
from monitor.errors import AlertError, ChannelMisconfigured
from monitor.models import Alert, Digest, Posted
from monitor.redact import REDACTOR
from monitor.text import terminal_safe

if TYPE_CHECKING:
    from alerts.base import OnPress

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{20,100}")
_CHAT_NAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")


class TelegramConfig(ChannelConfig):
    """A Telegram bot, the chat it posts to and who may press its buttons."""

    model_config = ConfigDict(hide_input_in_errors=True)

    type: Literal["telegram"] = "telegram"
    bot_token: SecretStr = Field(
        description="the token @BotFather gave the bot, as `${TELEGRAM_BOT_TOKEN}`; whoever has"
        " it controls the bot"
    )
    chat_id: int | str = Field(
        description="where alerts go: the chat's number (a group's is negative, like"
        " `-1001234567890`) or a public channel's `@name`"
    )
    allowed_users: list[int] | None = Field(
        default=None,
        description="Telegram user ids who may press the buttons; unset: anyone in the chat",
    )
    base_url: str = Field(
        default=API, description="the Bot API's address; only tests and a local stand-in change it"
    )
    max_text: int = Field(
        default=1500, ge=50, le=3000, description="characters of a mention shown before `…`"
    )

    @field_validator("bot_token", mode="before")
    @classmethod
    def _token(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(raw, str) or not _TOKEN.fullmatch(raw.strip()):
            raise ValueError(
                "is not a Telegram bot token: copy the whole token @BotFather gave you, like "
                "123456789:AA… (the value is not repeated here because it is a secret)"
            )
        return raw.strip()

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool) and value != 0:
            return value
        if isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"-?[1-9]\d{0,19}", text):
                return int(text)
            if _CHAT_NAME.fullmatch(text):
                return text
        raise ValueError(
            "is not a Telegram chat: write the chat's number (like -1001234567890; "
            "docs/channels/telegram.md says how to find it) or a public channel's @name"
        )

    @field_validator("allowed_users")
    @classmethod
    def _users(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or any(u <= 0 for u in value)):
            raise ValueError(
                "needs one or more Telegram user ids (positive numbers); leave it out to let "
                "anyone in the chat press the buttons"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) address like {API}")
        return value.strip().rstrip("/")


class TelegramChannel(Channel):
    """Posts alerts to a Telegram chat through a bot; receives its button presses."""

    name = "telegram"
    Config = TelegramConfig
    config: TelegramConfig

    def __init__(self, config: ChannelConfig, *, http: httpx.Client | None = None) -> None:
        super().__init__(config, http=http)
        REDACTOR.add(self.config.bot_token.get_secret_value())
        self.api = BotAPI(
            self.config.name,
            self.config.bot_token,
            self.config.base_url,
            self.config.chat_id,
            lambda: self.http,
        )
        self._chat_number: int | None = (
            self.config.chat_id if isinstance(self.config.chat_id, int) else None
        )

    @property
    def interactive(self) -> bool:
        return True

    # ------------------------------------------------------------ messages

    def send(self, alert: Alert) -> Posted | None:
        rows = th.alert_keyboard(alert)
        payload = th.message(self.config.chat_id, th.alert_text(alert, self.config.max_text), rows)
        target = parse_ref(alert.thread_ref) if alert.thread_ref else None
        if target is not None and target[0] == self._chat():
            payload["reply_parameters"] = {
                "message_id": target[1],
                "allow_sending_without_reply": True,  # the first message may be deleted
            }
        return self._send_message(payload, rows)

    def send_digest(self, digest: Digest) -> Posted | None:
        rows = th.digest_keyboard(digest.alerts, None)
        text = th.digest_text(digest_title(digest), digest.alerts, digest.possible_repeat)
        return self._send_message(th.message(self.config.chat_id, text, rows), rows)

    def _send_message(self, payload: dict[str, Any], rows: th.Keyboard) -> Posted | None:
        answer = self.api.request("sendMessage", payload)
        refused_link = answer.code == 400 and "url" in answer.description.lower()
        if not answer.ok and refused_link and th.strip_links(rows) != rows:
            # A post's address Telegram does not take for a button: the alert without it.
            log.warning(
                "%s: Telegram refused a link button; sending without links", self.config.name
            )
            kept = th.strip_links(rows)
            payload = {k: v for k, v in payload.items() if k != "reply_markup"}
            if kept:
                payload["reply_markup"] = th.markup(kept)
            answer = self.api.request("sendMessage", payload)
        if not answer.ok:
            raise self.api.error("sendMessage", answer)
        message = dict_of(answer.result)
        chat = dict_of(message.get("chat")).get("id")
        number = message.get("message_id")
        if not isinstance(chat, int) or not isinstance(number, int):
            log.warning(
                "%s: Telegram's answer did not name the message it posted", self.config.name
            )
            return None
        self._chat_number = chat
        return Posted(f"{chat}:{number}")

    # ------------------------------------------------------------ check

    def check(self, online: bool = False) -> list[str]:
        users = self.config.allowed_users
        who = "Telegram users " + ", ".join(map(str, users)) if users else "anyone in the chat"
        lines = [f"bot token set; alerts go to chat {self.config.chat_id}; buttons: {who}"]
        if not online:
            return lines
        me = dict_of(self.api.call("getMe", {}))
        lines.append(f"the token works: the bot is @{me.get('username')} ({me.get('first_name')})")
        chat = dict_of(self.api.call("getChat", {"chat_id": self.config.chat_id}))
        kind = str(chat.get("type") or "chat")
        title = chat.get("title") or chat.get("username") or chat.get("first_name") or ""
        if kind != "private":
            member = dict_of(
                self.api.call(
                    "getChatMember", {"chat_id": self.config.chat_id, "user_id": me.get("id")}
                )
            )
            status = member.get("status")
            if status in ("left", "kicked") or (
                kind == "channel" and status not in ("administrator", "creator")
            ):
                raise ChannelMisconfigured(
                    self.config.name,
                    f"the bot is {status} in the {kind} {title!r}: add it"
                    + (" as an administrator who may post" if kind == "channel" else ""),
                )
        lines.append(f"chat {self.config.chat_id} is the {kind} {title!r}; the bot can post there")
        hook = dict_of(self.api.call("getWebhookInfo", {}))
        if hook.get("url"):
            raise ChannelMisconfigured(
                self.config.name,
                "a webhook is set for this bot, so mention-monitor cannot receive its button "
                f"presses: {DELETE_WEBHOOK}",
            )
        lines.append("no webhook set: button presses are received by polling Telegram")
        if kind == "channel" and not users:
            lines.append(
                "note: everyone who reads the channel can press its buttons; set allowed_users "
                "to your own Telegram user id"
            )
        return [terminal_safe(line) for line in lines]

    # ------------------------------------------------------------ buttons

    def _chat(self) -> int:
        """The chat's number (presses and posted messages carry it, not a channel's @name)."""
        if self._chat_number is None:
            found = dict_of(self.api.call("getChat", {"chat_id": self.config.chat_id}))
            number = found.get("id")
            if not isinstance(number, int):
                raise AlertError(self.config.name, "Telegram's getChat answer has no chat id")
            self._chat_number = number
        return self._chat_number

    def listen(self, on_press: OnPress, stop: threading.Event) -> None:
        Listener(self.api, self.config, self._chat()).run(on_press, stop)
