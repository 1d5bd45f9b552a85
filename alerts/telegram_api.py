"""The Telegram Bot API on the wire, for alerts/telegram.py: one call, and its refusals in
the owner's words as the errors the dispatcher acts on.

Every call is ``POST {base_url}/bot<token>/<method>`` with a JSON body
(https://core.telegram.org/bots/api#making-requests); the answer is ``{"ok": true,
"result": ...}`` or ``{"ok": false, "error_code": n, "description": "...", "parameters":
{"retry_after": s, "migrate_to_chat_id": id}}`` (ResponseParameters). The token is in the
path, so an httpx exception (whose text quotes the URL) is reported by its type only, and
of an answer only the code and a description made of plain words are ever quoted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from monitor.errors import AlertError, ChannelMisconfigured
from monitor.http import parse_retry_after

API = "https://api.telegram.org"
#: A description quoted in an error: Telegram's own short sentences, nothing else.
_SAYABLE = re.compile(r"[\w \-:;,.'\"()/@#=+]{1,200}")
DELETE_WEBHOOK = (
    "delete it (open https://api.telegram.org/bot<your token>/deleteWebhook in a browser) "
    "unless another program needs it"
)


@dataclass(frozen=True)
class Answer:
    """What the Bot API said to one call. ``description`` is Telegram's, unchecked: for
    deciding, never for quoting (``BotAPI.error`` quotes it only when it is plain words)."""

    ok: bool
    result: Any = None
    code: int = 0
    description: str = ""
    retry_after: float | None = None
    migrate_to: int | None = None


def dict_of(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (Telegram's answers are read
    defensively: a missing or odd field never crashes the channel)."""
    return value if isinstance(value, dict) else {}


def parse_ref(ref: str) -> tuple[int, int] | None:
    """(chat id, message id) of a message's reference, ``Posted.ref`` "<chat>:<message>"."""
    chat, _, message = ref.rpartition(":")
    if not re.fullmatch(r"-?\d{1,20}", chat) or not message.isdigit():
        return None
    return int(chat), int(message)


class BotAPI:
    """Calls one bot's methods through ``http`` (a function: the channel's lazy client)."""

    def __init__(
        self,
        channel: str,
        token: SecretStr,
        base_url: str,
        chat: int | str,
        http: Callable[[], httpx.Client],
    ) -> None:
        self.channel = channel
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._chat = chat
        self._http = http

    def request(self, method: str, params: dict[str, Any], timeout: float | None = None) -> Answer:
        """One call; a network failure raises AlertError, the API's refusals come back."""
        url = f"{self._base_url}/bot{self._token.get_secret_value()}/{method}"
        wait = httpx.USE_CLIENT_DEFAULT if timeout is None else timeout
        try:
            response = self._http().post(url, json=params, timeout=wait)
        except httpx.TimeoutException:
            raise AlertError(self.channel, f"no answer from Telegram in time ({method})") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # Only the type: httpx's text quotes the URL, and the URL holds the token.
            raise AlertError(
                self.channel, f"cannot reach Telegram ({method}): {type(exc).__name__}"
            ) from None
        try:
            body = dict_of(response.json())
        except ValueError:
            body = {}
        if response.status_code == 200 and body.get("ok") is True:
            return Answer(True, body.get("result"))
        parameters = dict_of(body.get("parameters"))
        code, said = body.get("error_code"), body.get("description")
        retry, migrate = parameters.get("retry_after"), parameters.get("migrate_to_chat_id")
        if not isinstance(retry, int | float):
            retry = parse_retry_after(response.headers.get("Retry-After"))
        return Answer(
            False,
            code=code if isinstance(code, int) else response.status_code,
            description=said[:300] if isinstance(said, str) else "",
            retry_after=None if retry is None else float(retry),
            migrate_to=migrate if isinstance(migrate, int) else None,
        )

    def call(self, method: str, params: dict[str, Any], timeout: float | None = None) -> Any:
        """The result of one call, or the error its refusal means."""
        answer = self.request(method, params, timeout)
        if not answer.ok:
            raise self.error(method, answer)
        return answer.result

    def error(self, method: str, answer: Answer) -> AlertError:
        """Telegram's refusal in the owner's words, as the error the dispatcher acts on."""
        name, chat = self.channel, self._chat
        words = answer.description if _SAYABLE.fullmatch(answer.description) else ""
        said = f"{answer.code} {words}".strip()
        text = answer.description.lower()
        if answer.code == 429:
            wait = 30.0 if answer.retry_after is None else answer.retry_after
            return AlertError(
                name,
                f"Telegram is rate limiting this bot ({said}); retrying in {wait:.0f}s",
                retry_after=wait,
            )
        if answer.migrate_to is not None:
            return ChannelMisconfigured(
                name,
                "Telegram says the group became a supergroup with a new number: set this "
                f"channel's chat_id to {answer.migrate_to}",
            )
        if answer.code in (401, 404):
            return ChannelMisconfigured(
                name,
                f"Telegram does not accept the bot token ({said}): was it revoked? Copy the "
                "current token from @BotFather (/mybots > your bot > API Token) into this "
                "channel's bot_token",
            )
        if answer.code == 409:
            if "webhook" in text:
                return ChannelMisconfigured(
                    name,
                    "Telegram will not hand this bot's button presses to mention-monitor "
                    f"({said}): a webhook is set for the bot; {DELETE_WEBHOOK}",
                )
            return AlertError(
                name,
                f"another program is receiving this bot's updates ({said}): a second "
                "mention-monitor, or another tool with the same token; only one may listen",
            )
        if "chat not found" in text:
            return ChannelMisconfigured(
                name,
                f"Telegram does not know the chat {chat} ({said}), or the bot is not in it: "
                "check chat_id (docs/channels/telegram.md says how to find it) and add "
                "the bot to the chat",
            )
        if answer.code == 403:
            return ChannelMisconfigured(
                name,
                f"Telegram refused to let the bot post in {chat} ({said}): add the bot to the "
                "chat again (in a channel, as an administrator who may post), or unblock it",
            )
        if answer.code >= 500 or answer.code in (0, 408):
            return AlertError(name, f"Telegram had a server error ({said}); will retry")
        if 400 <= answer.code < 500:
            return AlertError(
                name,
                f"Telegram refused this message ({method}: {said}); it is not retried. This is "
                "a bug in mention-monitor's Telegram messages: please report it",
                permanent=True,
            )
        return AlertError(name, f"unexpected answer from Telegram ({method}: {said}); will retry")
