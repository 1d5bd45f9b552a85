"""The Telegram bot's buttons: presses received by long polling, answered, messages edited.

``Listener.run`` long-polls ``getUpdates`` (https://core.telegram.org/bots/api#getupdates)
for ``callback_query`` updates only, ``POLL_SECONDS`` at a time, so no public address is
needed. Telegram keeps an update until a later ``getUpdates`` asks from an ``offset`` past
it; the offset is kept between polls (a press is handled once) and confirmed when the
listener stops. Each poll runs in a thread of its own and the listener looks at ``stop``
every ``STOP_CHECK`` seconds, so it returns promptly: a poll left unfinished confirms
nothing, and what it would have brought comes with the next one.

A press (a CallbackQuery: ``from``, ``message``, ``data``):

- from another chat than the channel's, or by someone not in ``allowed_users``: answered
  "not allowed" (with the presser's user id, for the owner to add), nothing changes;
- on a button we did not make: answered so;
- otherwise a ``Press`` ("@maria on Telegram") handed to ``on_press``: the mention changes
  through the inbox's own code; the presser sees "Acknowledged by @maria on Telegram at
  10:42" (``answerCallbackQuery``) and every message this channel posted about the mention
  is edited in place (``editMessageText``): that line added, only the buttons that still
  apply. A mention no longer in the database is answered so. When the database cannot be
  written, the presser is told to try again and the listener raises: the service listens
  again after a pause, and Telegram hands the unconfirmed press over once more.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING, Any

from alerts import telegram_html as th
from alerts.render import digest_title
from alerts.telegram_api import BotAPI, dict_of, parse_ref
from monitor.actions import Answered, Press, Update
from monitor.errors import AlertError, ChannelMisconfigured, MonitorError, StatusError
from monitor.models import Digest

if TYPE_CHECKING:
    from alerts.base import OnPress
    from alerts.telegram import TelegramConfig

log = logging.getLogger(__name__)

POLL_SECONDS = 25  # getUpdates long-poll timeout
STOP_CHECK = 0.25  # how often a waiting listener looks at ``stop``
EDIT_WAIT_MAX = 10.0  # the longest a 429 on an edit is waited out before giving up on it
ANSWER_MAX = 200  # characters of answerCallbackQuery's text
NOT_HERE = "These buttons only work in the chat mention-monitor posts to."
UNKNOWN_BUTTON = "This button is not one mention-monitor makes (an old message?)."
GONE = "Mention #{n} is no longer in mention-monitor's database; nothing changed."
NOT_RECORDED = "Not recorded: mention-monitor could not change it just now. Try again shortly."


def actor(user: dict[str, Any]) -> str:
    """Who pressed, for the history: "@maria on Telegram", or their name without one."""
    username = user.get("username")
    if isinstance(username, str) and re.fullmatch(r"[A-Za-z0-9_]{1,32}", username):
        return f"@{username} on Telegram"
    name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name") if user.get(k))
    shown = th.cut(name, 60) or f"user {user.get('id')}"
    return f"{shown} on Telegram"


class Listener:
    """Receives one bot's button presses for the chat numbered ``chat``."""

    def __init__(self, api: BotAPI, config: TelegramConfig, chat: int) -> None:
        self.api = api
        self.config = config
        self.chat = chat
        self.offset: int | None = None

    def run(self, on_press: OnPress, stop: threading.Event) -> None:
        while not stop.is_set():
            updates = self.poll(stop)
            if updates is None:
                break
            for update in updates:
                if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
                    continue
                self.offset = max(self.offset or 0, update["update_id"] + 1)
                query = update.get("callback_query")
                if isinstance(query, dict):
                    self.pressed(query, on_press, stop)
        if self.offset is not None:  # confirm what was handled: a restart does not see it again
            try:
                self.api.request("getUpdates", {"offset": self.offset, "limit": 1, "timeout": 0})
            except AlertError:
                pass

    def poll(self, stop: threading.Event) -> list[Any] | None:
        """The next updates, or None once ``stop`` is set (the poll is left to finish alone)."""
        params: dict[str, Any] = {"timeout": POLL_SECONDS, "allowed_updates": ["callback_query"]}
        if self.offset is not None:
            params["offset"] = self.offset
        box: dict[str, Any] = {}
        done = threading.Event()

        def fetch() -> None:
            try:
                box["result"] = self.api.call("getUpdates", params, timeout=POLL_SECONDS + 10)
            except BaseException as exc:  # handed to the listener, or dropped after a stop
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=fetch, name=f"getUpdates:{self.config.name}", daemon=True).start()
        while not done.wait(STOP_CHECK):
            if stop.is_set():
                return None
        if "error" in box:
            raise box["error"]
        result = box.get("result")
        return result if isinstance(result, list) else []

    def pressed(self, query: dict[str, Any], on_press: OnPress, stop: threading.Event) -> None:
        qid = str(query.get("id") or "")
        user, message = dict_of(query.get("from")), dict_of(query.get("message"))
        where = dict_of(message.get("chat")).get("id")
        if where != self.chat:
            log.info("%s: a button was pressed in another chat; ignored", self.config.name)
            self.reply(qid, NOT_HERE)
            return
        allowed = self.config.allowed_users
        if allowed is not None and user.get("id") not in allowed:
            log.warning(
                "%s: %s (Telegram user id %s) pressed a button but is not in allowed_users",
                self.config.name,
                actor(user),
                user.get("id"),
            )
            self.reply(
                qid,
                "Not allowed: only the people the owner chose may answer these alerts. Your "
                f"Telegram user id is {user.get('id')}; the owner can add it to allowed_users.",
            )
            return
        parsed = th.parse_callback(query.get("data"))
        if parsed is None:
            self.reply(qid, UNKNOWN_BUTTON)
            return
        number = message.get("message_id")
        ref = f"{where}:{number}" if isinstance(number, int) else None
        press = Press(self.config.name, parsed[0], parsed[1], actor(user), ref)
        try:
            answered = on_press(press)
        except StatusError:  # the mention is gone
            self.reply(qid, GONE.format(n=press.mention_id))
            return
        except MonitorError:
            self.reply(qid, NOT_RECORDED)
            raise  # the service logs it and listens again; the press comes back then
        summary = answered.summary(None if self.config.timezone == "UTC" else self.config.tz)
        self.reply(qid, summary)
        for update in answered.updates:
            self.edit(update, answered, summary, stop)

    def reply(self, query_id: str, text: str) -> None:
        """answerCallbackQuery: the line the presser sees. Best effort: a press answered
        late (Telegram waits about 15 s) still changed the mention."""
        if not query_id:
            return
        try:
            answer = self.api.request(
                "answerCallbackQuery",
                {"callback_query_id": query_id, "text": th.cut(text, ANSWER_MAX)},
            )
        except AlertError as exc:
            log.warning("%s: could not answer a button press: %s", self.config.name, exc.message)
            return
        if not answer.ok:
            log.info(
                "%s: Telegram did not take a press's answer (%s)", self.config.name, answer.code
            )

    def edit(self, update: Update, answered: Answered, summary: str, stop: threading.Event) -> None:
        """Re-render one message about the pressed mention, in place."""
        target = parse_ref(update.ref)
        if target is None:
            return
        method, params = self.edited(update, answered, summary)
        params.update(chat_id=target[0], message_id=target[1])
        for attempt in (1, 2):
            answer = self.api.request(method, params)
            if answer.ok or "not modified" in answer.description:
                return
            error = self.api.error(method, answer)
            if isinstance(error, ChannelMisconfigured):
                raise error
            wait = error.retry_after
            if attempt == 1 and wait is not None and wait <= EDIT_WAIT_MAX and not stop.wait(wait):
                continue
            log.warning(
                "%s: could not update message %s: %s", self.config.name, update.ref, error.message
            )
            return

    def edited(
        self, update: Update, answered: Answered, summary: str
    ) -> tuple[str, dict[str, Any]]:
        """The method and parameters that show a message as it reads now.

        A message that carried several alerts is a roll-up (or, in ``mode: digest``, a
        digest) and is shown as one again; with no alerts left to show (deleted), only its
        buttons change."""
        alerts = update.alerts
        pressed = (answered.mention_id, answered.buttons)
        chat = self.config.chat_id
        if not alerts:
            rows = th.action_rows(answered.mention_id, answered.buttons)
            return "editMessageReplyMarkup", {"reply_markup": th.markup(rows)}
        if self.config.mode == "digest" or len(alerts) > 1:
            kind = "digest" if self.config.mode == "digest" else "rollup"
            title = digest_title(Digest(kind, self.config.name, alerts))
            repeat = any(a.possible_repeat for a in alerts)
            rows = th.digest_keyboard(alerts, pressed)
            params = th.message(chat, th.digest_text(title, alerts, repeat, summary), rows)
        else:
            (alert,) = alerts
            mine = alert.mention_id == answered.mention_id
            rows = th.alert_keyboard(alert, answered.buttons if mine else None)
            text = th.alert_text(alert, self.config.max_text, summary if mine else None)
            params = th.message(chat, text, rows)
        params["reply_markup"] = th.markup(rows)  # an empty keyboard removes the buttons
        return "editMessageText", params
