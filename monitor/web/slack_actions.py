"""``POST /slack/actions``: Slack's HTTP interactivity, the other way to receive presses.

For a Slack app channel (``bot_token``) with a ``signing_secret``, when the inbox is
reachable at ``web.public_url``: the app's Interactivity Request URL is
``<public_url>/slack/actions`` (Socket Mode, with ``app_token``, needs no such address).

Slack signs each request (https://docs.slack.dev/authentication/verifying-requests-from-slack):
``X-Slack-Signature`` is ``v0=`` and the hex HMAC-SHA256, keyed with the signing secret, of
``v0:{X-Slack-Request-Timestamp}:{the raw body}``. A request whose timestamp is more than
five minutes away from now (a replay) or whose signature does not match (compared in constant
time) gets 401 and changes nothing. The inbox's login and CSRF checks do not apply to this
one path (monitor/web/auth.py ``SIGNED_PATHS``), because the signature is the check.

A verified press is acknowledged at once (200, empty: Slack wants an answer within 3 s) and
answered after the response: ``SlackApp.handle`` changes the mention through
``monitor.actions.answer``, as the inbox would, and updates the messages in Slack (or tells
someone who may not press, privately, that they may not).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.actions import Answered, Press, answer

if TYPE_CHECKING:
    from alerts.slack import SlackChannel

log = logging.getLogger(__name__)

PATH = "/slack/actions"
MAX_AGE = 300  # seconds: an older (or later) timestamp is a replay
MAX_BODY = 64 * 1024
_BUILD = threading.Lock()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What Slack puts in ``X-Slack-Signature`` for this body (request signing v0)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def fresh(timestamp: str, now: datetime) -> bool:
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    return abs(now.timestamp() - sent) <= MAX_AGE


def _channels(request: Request) -> list[SlackChannel]:
    """The Slack app channels that take presses over HTTP, built once per inbox."""
    state = request.app.state
    with _BUILD:
        built: list[SlackChannel] | None = getattr(state, "slack_channels", None)
        if built is None:
            from alerts.slack import SlackChannel

            built = [
                SlackChannel(c)
                for c in state.config.channels
                if c.type == "slack"
                and c.enabled
                and getattr(c, "bot_token", None) is not None
                and getattr(c, "signing_secret", None) is not None
            ]
            state.slack_channels = built
    return built


async def slack_actions(request: Request) -> Response:
    channels = _channels(request)
    if not channels:
        message = (
            "Slack buttons over HTTP are off: no slack channel has bot_token and signing_secret"
        )
        return PlainTextResponse(message, status_code=404)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return PlainTextResponse("request too large", status_code=413)
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    sent = request.headers.get("x-slack-signature", "")
    if not fresh(timestamp, request.app.state.clock()):
        log.warning("Slack press refused: its timestamp is missing or not within 5 minutes")
        return PlainTextResponse("stale or missing timestamp", status_code=401)
    signed = [c for c in channels if _signed(c, timestamp, body, sent)]
    if not signed:
        log.warning("Slack press refused: the signature does not match any signing_secret")
        return PlainTextResponse("bad signature", status_code=401)
    try:
        payload = json.loads(parse_qs(body.decode("utf-8"))["payload"][0])
    except (KeyError, IndexError, ValueError, UnicodeDecodeError):
        return PlainTextResponse("no payload", status_code=400)
    if not isinstance(payload, dict):
        return PlainTextResponse("no payload", status_code=400)
    return Response(status_code=200, background=BackgroundTask(_answer, request, signed, payload))


def _signed(channel: SlackChannel, timestamp: str, body: bytes, sent: str) -> bool:
    secret = channel.config.signing_secret
    if secret is None or not sent:
        return False
    expected = signature(secret.get_secret_value(), timestamp, body)
    return hmac.compare_digest(expected.encode(), sent.encode())


def _answer(request: Request, signed: list[SlackChannel], payload: dict[str, Any]) -> None:
    """After the response (a sync function: Starlette runs it in its threadpool). Several
    channels of one app share its secret: the press is the one whose Slack channel it is."""
    state = request.app.state
    channel = signed[0]
    if len(signed) > 1:
        where = (payload.get("container") or {}).get("channel_id")
        channel = next((c for c in signed if c.app and c.app.channel_id() == where), channel)

    def on_press(press: Press) -> Answered:
        return answer(state.config, state.store, press, state.clock())

    assert channel.app is not None
    channel.app.handle(payload, on_press)


def routes() -> list[BaseRoute]:
    return [Route(PATH, slack_actions, methods=["POST"], name="slack_actions")]
