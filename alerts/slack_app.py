"""The Slack app: a ``slack`` channel with a ``bot_token`` posts as a bot, with buttons.

API: the Web API (https://docs.slack.dev/reference/methods) through slack_sdk's
``WebClient`` at ``base_url`` (default https://slack.com/api). The messages are
alerts/slack.py's, plus:

- **buttons** on every alert about a mention (a digest: under each such line, while
  Slack's 50 blocks last): Acknowledge, Resolve, Ignore, Not negative, as
  ``monitor.actions.buttons_for`` allows; ``action_id`` ``mention_monitor.<action>``,
  ``value`` the mention's id. The "Open post" and "Open in inbox" link buttons stay; the
  Acknowledge *link* (the inbox's confirm page) gives way to the real button.
- **threads**: ``chat.postMessage`` answers the channel's id and the message's ``ts``,
  kept by the dispatcher as ``Posted("C…:ts")``; a later alert about the same mention
  (spreading, viral, a reminder) carries it as ``Alert.thread_ref`` and goes as a reply
  (``thread_ts``); "viral" also shows in the channel (``reply_broadcast``).
- **found again, not doubled**: every message carries ``metadata`` (event_type
  ``mention_monitor_alert``, the alert ids). A message re-sent after a crash between
  Slack's answer and our record (``Alert.possible_repeat``) is first looked for in
  ``conversations.history`` (or the thread's ``conversations.replies``); if found it is not
  posted again, else it goes out saying it may repeat one.
- **a press** (Socket Mode: alerts/slack_socket.py; HTTP: monitor/web/slack_actions.py) is
  ``handle``d by alerts/slack_press.py: by an allowed person it changes the mention and
  every message about it is redrawn (``chat.update``); anyone else is told privately.

Errors: only Slack's short error code is ever repeated, never a body. ``ratelimited``/429
-> AlertError with ``retry_after``; a refused or revoked token, a missing scope, a channel
the bot is not in -> ChannelMisconfigured in the owner's words; 5xx and network failures
-> AlertError; any other refusal of a message -> AlertError(permanent=True). Posts to one
channel are spaced one second apart, like the webhook's.

Scopes (deploy/slack-app-manifest.yaml): chat:write; channels:read and groups:read (find
the channel, its members); channels:history and groups:history (find a message again).
The app-level token needs connections:write.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from alerts.slack import BUTTON_MAX, MIN_INTERVAL, SlackChannel, _pace, plain
from alerts.slack_config import SlackConfig
from alerts.slack_press import ACTION_PREFIX, Presses
from monitor.actions import ACKNOWLEDGE, LABELS, Answered, buttons_for
from monitor.errors import AlertError, ChannelMisconfigured, MonitorError
from monitor.http import parse_retry_after
from monitor.models import VIRAL, Alert, Digest, Posted

if TYPE_CHECKING:
    from alerts.base import OnPress

log = logging.getLogger(__name__)

EVENT_TYPE = "mention_monitor_alert"
TIMEOUT = 15  # seconds for one Web API call
LOOKUP_PAGES = 5  # pages of 200 messages searched for a message sent before a crash
_CODE = re.compile(r"[a-z_]{2,60}")
_SCOPE = re.compile(r"[a-z_.:,]{2,200}")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{6,}")
TRANSIENT = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
#: Error codes about a token: what happened, and the fix (bot token, app-level token).
TOKEN_PROBLEMS = {
    "invalid_auth": "is not valid",
    "not_authed": "is missing",
    "token_revoked": "was revoked (was the app removed from the workspace?)",
    "token_expired": "has expired",
    "account_inactive": "belongs to an app that was uninstalled",
    "not_allowed_token_type": "is the wrong kind of token",
}
TOKEN_FIX = {
    False: "copy the Bot User OAuth Token (xoxb-…) again from your Slack app's "
    "OAuth & Permissions page (reinstall the app if it is gone) into SLACK_BOT_TOKEN",
    True: "create an app-level token with the connections:write scope under your Slack "
    "app's Basic Information > App-Level Tokens and copy it (xapp-…) into SLACK_APP_TOKEN",
}
#: Error codes about the channel: what to do, for the channel named.
CHANNEL_PROBLEMS = {
    "not_in_channel": "the bot is not in {c}: open {c} in Slack and type /invite @mention-monitor",
    "channel_not_found": "Slack shows the bot no channel {c}: check `channel` (a name like "
    '"#mentions" or an id like C0123456789); a private channel must invite the bot first '
    "(/invite @mention-monitor)",
    "is_archived": "{c} is archived: unarchive it, or set another `channel`",
    "restricted_action": "a workspace admin does not let the bot post in {c}",
    "posting_to_general_channel_denied": "only admins may post in {c}: choose another `channel`",
}


class SlackApp:
    """The app half of a ``slack`` channel configured with ``bot_token``; drawn by its
    ``SlackChannel`` (``renderer``), whose ``send``/``listen``/``check`` call in here."""

    def __init__(self, renderer: SlackChannel) -> None:
        self.renderer = renderer
        self.config: SlackConfig = renderer.config
        assert self.config.bot_token is not None and self.config.channel is not None
        self.name = self.config.name
        self.where = self.config.channel
        self.client = WebClient(
            token=self.config.bot_token.get_secret_value(),
            base_url=self.config.base_url + "/",
            timeout=TIMEOUT,
            retry_handlers=[],  # the dispatcher retries, and knows when a post may repeat
            logger=logging.getLogger("alerts.slack_app.sdk"),
        )
        bare = self.where.lstrip("#")
        self._channel_id = bare if _CHANNEL_ID.fullmatch(bare) else None
        self.presses = Presses(self)

    # ------------------------------------------------------------ sending

    def send(self, alert: Alert) -> Posted:
        alert = replace(alert, ack_url=None)  # the Acknowledge button does what the link did
        thread = self._thread(alert)
        if alert.possible_repeat and (found := self._find([alert], thread)) is not None:
            return found
        payload = self.renderer.message(alert, self.controls(alert), self.follow(alert))
        if thread is not None:
            payload["thread_ts"] = thread
            payload["reply_broadcast"] = alert.kind == VIRAL
        return self._post(payload, [alert])

    def send_digest(self, digest: Digest) -> Posted:
        digest = replace(digest, alerts=tuple(replace(a, ack_url=None) for a in digest.alerts))
        if digest.possible_repeat and (found := self._find(digest.alerts, None)) is not None:
            return found
        return self._post(self.renderer.digest_message(digest, self.controls), digest.alerts)

    def controls(self, alert: Alert, answered: Answered | None = None) -> list[dict[str, Any]]:
        """The blocks under an alert about a mention: after a press, who did what; then the
        buttons that apply."""
        if alert.mention_id is None:
            return []
        blocks: list[dict[str, Any]] = []
        pressed = answered is not None and answered.mention_id == alert.mention_id
        if answered is not None and pressed:
            said = answered.summary(self.tz())
            blocks.append({"type": "context", "elements": [plain(said, 500)]})
            actions = answered.buttons
        else:
            actions = buttons_for(alert.status or "new", None)
        if actions:
            blocks.append(
                {"type": "actions", "elements": [_button(a, alert.mention_id) for a in actions]}
            )
        return blocks

    def tz(self) -> ZoneInfo | None:
        """The channel's timezone for "at 10:42"; None (said as UTC) by default."""
        return None if self.config.timezone == "UTC" else self.config.tz

    @staticmethod
    def follow(alert: Alert) -> str | None:
        if alert.mention_id is None:
            return None
        status = f" ({alert.status})" if alert.status not in (None, "new") else ""
        return f"mention #{alert.mention_id}{status}"

    def _thread(self, alert: Alert) -> str | None:
        """The ts to reply under: the first message about the mention, if in our channel."""
        if alert.thread_ref is None:
            return None
        channel, _, ts = alert.thread_ref.partition(":")
        return ts if ts and channel == self.channel_id() else None

    def _post(self, payload: dict[str, Any], alerts: Sequence[Alert]) -> Posted:
        ids = ",".join(str(a.id) for a in alerts)
        payload["metadata"] = {"event_type": EVENT_TYPE, "event_payload": {"alert_ids": ids}}
        payload["channel"] = self._channel_id or self.where
        pace = _pace(f"slack-app:{self.where}")
        with pace.lock:
            if pace.last is not None:
                wait = min(MIN_INTERVAL, pace.last + MIN_INTERVAL - self.renderer._clock())
                if wait > 0:
                    self.renderer._sleep(wait)
            pace.last = self.renderer._clock()
            data = self.call("chat.postMessage", self.client.chat_postMessage, **payload)
        channel, ts = data.get("channel"), data.get("ts")
        if not isinstance(channel, str) or not isinstance(ts, str):
            raise AlertError(self.name, "Slack accepted the message but did not say where it is")
        self._channel_id = channel
        return Posted(f"{channel}:{ts}")

    def _find(self, alerts: Sequence[Alert], thread: str | None) -> Posted | None:
        """The message carrying exactly these alerts, if it was posted before a crash."""
        ids = ",".join(str(a.id) for a in alerts)
        since = min((a.queued_at for a in alerts if a.queued_at is not None), default=None)
        oldest = f"{(since - timedelta(minutes=1)).timestamp():.6f}" if since else "0"
        try:
            channel = self.channel_id()
            cursor = ""
            for _ in range(LOOKUP_PAGES):
                args: dict[str, Any] = {"channel": channel, "oldest": oldest, "limit": 200}
                args.update(include_all_metadata=True, cursor=cursor or None)
                if thread is not None:
                    data = self.call(
                        "conversations.replies",
                        self.client.conversations_replies,
                        ts=thread,
                        **args,
                    )
                else:
                    data = self.call(
                        "conversations.history", self.client.conversations_history, **args
                    )
                for message in data.get("messages") or []:
                    meta = message.get("metadata") or {}
                    said = meta.get("event_payload") or {}
                    if meta.get("event_type") == EVENT_TYPE and said.get("alert_ids") == ids:
                        log.info("%s: alerts %s were posted before the restart", self.name, ids)
                        return Posted(f"{channel}:{message['ts']}")
                cursor = (data.get("response_metadata") or {}).get("next_cursor") or ""
                if not cursor:
                    break
        except AlertError as exc:
            if not exc.permanent:
                raise  # Slack is busy or away: the whole send waits and tries again
            log.warning(
                "%s: cannot look for alerts %s posted before the restart (%s); sending them "
                "again, marked as a possible repeat",
                self.name,
                ids,
                exc.message,
            )
        return None

    def handle(self, payload: dict[str, Any], on_press: OnPress) -> None:
        """A press (a ``block_actions`` payload), already acknowledged: alerts/slack_press.py."""
        self.presses.handle(payload, on_press)

    # ------------------------------------------------------------ the channel, the check

    def channel_id(self) -> str:
        """The configured channel's id (a name is looked up once with conversations.list)."""
        if self._channel_id is not None:
            return self._channel_id
        bare, cursor = self.where.lstrip("#"), ""
        for _ in range(100):
            data = self.call(
                "conversations.list",
                self.client.conversations_list,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor or None,
            )
            for found in data.get("channels") or []:
                if found.get("name") == bare and isinstance(found.get("id"), str):
                    self._channel_id = found["id"]
                    return str(found["id"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                break
        raise ChannelMisconfigured(
            self.name, CHANNEL_PROBLEMS["channel_not_found"].format(c=self.where)
        )

    def open_connection(self) -> str:
        """A Socket Mode address (apps.connections.open with the app-level token)."""
        assert self.config.app_token is not None
        data = self.call(
            "apps.connections.open",
            self.client.apps_connections_open,
            app=True,
            app_token=self.config.app_token.get_secret_value(),
        )
        url = data.get("url")
        if not isinstance(url, str) or not url.startswith(("wss://", "ws://")):
            raise AlertError(self.name, "Slack gave no Socket Mode address; trying again later")
        return url

    def check(self, online: bool = False) -> list[str]:
        """What is set up; online, whether Slack accepts it. Raises ChannelMisconfigured."""
        c = self.config
        lines = [f"Slack app: posts to {self.where} as its bot (bot_token set)"]
        if c.app_token is not None:
            lines.append("buttons: presses arrive over Socket Mode (app_token set)")
        elif c.signing_secret is not None:
            lines.append("buttons: presses arrive at web.public_url/slack/actions (signed)")
        else:
            lines.append("buttons: shown, but presses are not received: set app_token")
        who = ", ".join(c.allowed_users) if c.allowed_users is not None else "its members"
        lines.append(f"who may answer from {self.where}: {who}")
        if not online:
            return lines
        me = self.call("auth.test", self.client.auth_test)
        lines.append(f"Slack accepts the bot token: @{me.get('user')} in {me.get('team')}")
        members = self.presses.members()
        if str(me.get("user_id")) not in members:
            raise ChannelMisconfigured(
                self.name, CHANNEL_PROBLEMS["not_in_channel"].format(c=self.where)
            )
        lines.append(f"the bot is in {self.where} ({len(members)} members)")
        if c.app_token is not None:
            self.open_connection()
            lines.append("Slack accepts the app-level token: Socket Mode can connect")
        return lines

    def close(self) -> None:
        return None  # the WebClient holds no connection between calls

    # ------------------------------------------------------------ the wire

    def call(
        self, method: str, fn: Callable[..., Any], *, app: bool = False, **args: Any
    ) -> dict[str, Any]:
        """One Web API call; its failures become ours (only Slack's error code is kept)."""
        try:
            response = fn(**args)
        except SlackApiError as exc:
            raise self._error(method, exc.response, app) from None
        except (SlackClientError, OSError) as exc:
            what = "no answer in time" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise AlertError(self.name, f"cannot reach Slack ({method}: {what})") from None
        data = response.data
        return dict(data) if isinstance(data, dict) else {}

    def _error(self, method: str, response: Any, app: bool) -> MonitorError:
        data = response.data if isinstance(response.data, dict) else {}
        code = str(data.get("error") or "")
        code = code if _CODE.fullmatch(code) else ""
        status = int(response.status_code)
        said = f"{method}: {code or f'HTTP {status}'}"
        if status == 429 or code == "ratelimited":
            headers = {str(k).lower(): v for k, v in dict(response.headers or {}).items()}
            wait = parse_retry_after(_first(headers.get("retry-after")))
            wait = 30.0 if wait is None else wait
            return AlertError(
                self.name, f"Slack is rate limiting ({said}); waiting {wait:.0f}s", retry_after=wait
            )
        if status >= 500 or code in TRANSIENT:
            return AlertError(self.name, f"Slack had a problem ({said}); will retry")
        if code in TOKEN_PROBLEMS:
            token = "app-level token (app_token)" if app else "bot token (bot_token)"
            what = f"Slack says the {token} {TOKEN_PROBLEMS[code]} ({said})"
            return ChannelMisconfigured(self.name, f"{what}: {TOKEN_FIX[app]}")
        if code == "missing_scope":
            needed = str(data.get("needed") or "")
            needed = needed if _SCOPE.fullmatch(needed) else "a permission"
            where = "App-Level Tokens" if app else "OAuth & Permissions > Bot Token Scopes"
            return ChannelMisconfigured(
                self.name,
                f"the Slack app lacks the {needed} scope ({said}): add it under {where} (or "
                "re-create the app from deploy/slack-app-manifest.yaml), then reinstall it",
            )
        if code in CHANNEL_PROBLEMS:
            fix = CHANNEL_PROBLEMS[code].format(c=self.where)
            return ChannelMisconfigured(self.name, f"{fix} ({said})")
        return AlertError(self.name, f"Slack refused this ({said}); not retried", permanent=True)


def _button(action: str, mention_id: int) -> dict[str, Any]:
    button = {
        "type": "button",
        "text": plain(LABELS[action], BUTTON_MAX),
        "action_id": ACTION_PREFIX + action,
        "value": str(mention_id),
    }
    return {**button, "style": "primary"} if action == ACKNOWLEDGE else button


def _first(value: Any) -> str | None:
    """A header value (slack_sdk keeps some as lists)."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return None if value is None else str(value)
