"""Button presses on the Slack app's messages: who may press, and what a press redraws.

Whether it came over Socket Mode (alerts/slack_socket.py) or HTTP
(monitor/web/slack_actions.py), a press is a ``block_actions`` payload
(https://docs.slack.dev/reference/interaction-payloads/block_actions-payload), already
acknowledged to Slack. For each of our buttons in it (``action_id``
``mention_monitor.<action>``, ``value`` the mention's id; a link button is left alone):

- someone who may press (``allowed_users``, or else the members of the channel from
  ``conversations.members``, re-read every five minutes, and at once, at most every ten
  seconds, for someone not among them) makes a ``monitor.actions.Press`` with actor "@name
  on Slack"; every message about the mention is redrawn (``chat.update``) with its alerts
  as they read now, a line saying who did what and when, and only the buttons that still
  apply. If the pressed message is not among them (posted, then a crash before it was
  recorded), the presser is told what was done instead;
- anyone else is told privately (``chat.postEphemeral``, or the press's ``response_url``
  for someone who is not in the channel) that they may not; nothing changes.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx

from alerts.slack import escape
from monitor.actions import Answered, Press, Update
from monitor.errors import MonitorError, StatusError
from monitor.models import Digest

if TYPE_CHECKING:
    from alerts.base import OnPress
    from alerts.slack_app import SlackApp

log = logging.getLogger(__name__)

ACTION_PREFIX = "mention_monitor."
MEMBERS_FRESH = 300.0  # seconds the channel's members are trusted before a re-read
MEMBERS_RETRY = 10.0  # a stranger's press re-reads them at most this often
_NAME = re.compile(r"[^\w.\-]")


class Presses:
    """The presses on one Slack app's messages (``SlackApp.presses``)."""

    def __init__(self, app: SlackApp) -> None:
        self.app = app
        self._members: frozenset[str] = frozenset()
        self._members_at: float | None = None
        self._lock = threading.Lock()
        self._one_at_a_time = threading.Lock()

    def handle(self, payload: dict[str, Any], on_press: OnPress) -> None:
        """A ``block_actions`` payload, already acknowledged to Slack: each of our buttons in
        it is answered if the person may press it; anyone else is told privately."""
        if payload.get("type") != "block_actions":
            return
        user = _dict(payload.get("user"))
        user_id = str(user.get("id") or "")
        where = _dict(payload.get("container"))
        channel = str(where.get("channel_id") or _dict(payload.get("channel")).get("id") or "")
        ts = str(where.get("message_ts") or "")
        ref = f"{channel}:{ts}" if channel and ts else None
        for action in payload.get("actions") or []:
            pressed = _pressed(action)
            if pressed is None:
                continue  # a link button (Open post), or not one of ours
            what, mention_id = pressed
            if not self.may_press(user_id):
                log.info("%s: %s may not answer mention #%d", self.app.name, user_id, mention_id)
                self._tell(channel, user_id, payload, self._not_allowed())
                continue
            name = _NAME.sub("", str(user.get("username") or user.get("name") or ""))[:80]
            press = Press(self.app.name, mention_id, what, f"@{name or user_id} on Slack", ref)
            with self._one_at_a_time:  # two quick presses: the later one is drawn last
                try:
                    answered = on_press(press)
                except StatusError as exc:
                    self._tell(channel, user_id, payload, str(exc))
                    continue
                except MonitorError as exc:
                    log.error("%s: a press on #%d failed: %s", self.app.name, mention_id, exc)
                    self._tell(channel, user_id, payload, "That did not work; nothing changed.")
                    continue
                self.show(answered, ref, channel, user_id, payload)

    def show(
        self, answered: Answered, ref: str | None, channel: str, user: str, payload: dict[str, Any]
    ) -> None:
        """Re-draw every message about the mention; if the pressed one is not among them (it
        was posted before a crash and never recorded), tell the presser what was done."""
        for update in answered.updates:
            try:
                self._update(update, answered)
            except MonitorError as exc:
                log.warning("%s: could not update message %s: %s", self.app.name, update.ref, exc)
        if ref not in {u.ref for u in answered.updates}:
            self._tell(channel, user, payload, answered.summary(self.app.tz()))

    def _update(self, update: Update, answered: Answered) -> None:
        alerts = [replace(a, ack_url=None) for a in update.alerts]
        if not alerts:
            return
        if len(alerts) == 1:
            (alert,) = alerts
            message = self.app.renderer.message(
                alert, self.app.controls(alert, answered), self.app.follow(alert)
            )
        else:
            kind = "digest" if self.app.config.mode == "digest" else "rollup"
            message = self.app.renderer.digest_message(
                Digest(kind, self.app.name, tuple(alerts)), lambda a: self.app.controls(a, answered)
            )
        channel, _, ts = update.ref.partition(":")
        self.app.call(
            "chat.update",
            self.app.client.chat_update,
            channel=channel,
            ts=ts,
            text=message["text"],
            blocks=message["blocks"],
        )

    def may_press(self, user_id: str) -> bool:
        """``allowed_users``, or else the channel's members (re-read every few minutes, and
        at once, at most every ten seconds, for someone not among them)."""
        if self.app.config.allowed_users is not None:
            return user_id in self.app.config.allowed_users
        if not user_id:
            return False
        with self._lock:
            members, read_at = self._members, self._members_at
        now = time.monotonic()
        age = None if read_at is None else now - read_at
        if age is not None and (user_id in members and age < MEMBERS_FRESH):
            return True
        if age is None or age >= MEMBERS_RETRY:
            try:
                members = self.members()
            except MonitorError as exc:
                log.warning("%s: cannot read who is in %s: %s", self.app.name, self.app.where, exc)
        return user_id in members

    def members(self) -> frozenset[str]:
        found: set[str] = set()
        cursor = ""
        for _ in range(100):
            data = self.app.call(
                "conversations.members",
                self.app.client.conversations_members,
                channel=self.app.channel_id(),
                limit=200,
                cursor=cursor or None,
            )
            found.update(str(m) for m in data.get("members") or [])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                break
        with self._lock:
            self._members, self._members_at = frozenset(found), time.monotonic()
        return frozenset(found)

    def _not_allowed(self) -> str:
        who = (
            "the people listed in this channel's `allowed_users`"
            if self.app.config.allowed_users is not None
            else f"members of {self.app.where}"
        )
        return f"Only {who} can answer these alerts; nothing was changed."

    def _tell(self, channel: str, user: str, payload: dict[str, Any], text: str) -> None:
        """A message only ``user`` sees; through the press's response_url if Slack refuses
        (someone who is not in the channel)."""
        try:
            self.app.call(
                "chat.postEphemeral",
                self.app.client.chat_postEphemeral,
                channel=channel,
                user=user,
                text=escape(text),
            )
            return
        except MonitorError as exc:
            problem = exc
        url = str(payload.get("response_url") or "")
        if url.startswith(("https://hooks.slack.com/", self.app.config.base_url.rsplit("/", 1)[0])):
            body = {"response_type": "ephemeral", "replace_original": False, "text": escape(text)}
            try:
                self.app.renderer.http.post(url, json=body).raise_for_status()
                return
            except httpx.HTTPError as exc:
                log.warning("%s: cannot answer a press: %s", self.app.name, type(exc).__name__)
        log.warning("%s: cannot tell %s why nothing changed: %s", self.app.name, user, problem)


def _pressed(action: Any) -> tuple[str, int] | None:
    """(action, mention id) of one of our buttons; None for anything else."""
    if not isinstance(action, dict):
        return None
    action_id, value = str(action.get("action_id") or ""), str(action.get("value") or "")
    if not action_id.startswith(ACTION_PREFIX) or not value.isdigit():
        return None
    return action_id.removeprefix(ACTION_PREFIX), int(value)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
