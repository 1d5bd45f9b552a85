"""Socket Mode: the Slack app receives button presses without a public address.

How (https://docs.slack.dev/apis/events-api/using-socket-mode/): with the app-level
token (``app_token``, scope connections:write) ``apps.connections.open`` gives a
WebSocket URL; Slack sends ``hello``, then each press as an envelope of type
``interactive`` whose ``envelope_id`` must come back within 3 seconds. slack_sdk's
built-in ``SocketModeClient`` holds the connection: it pings, and opens a new one when
Slack asks (``disconnect``) or the connection drops.

``listen`` acknowledges every envelope first and then answers the press (the store, then
``chat.update``) on the client's worker threads, so a slow Slack never delays an ack. It
returns when ``stop`` is set. It raises (and the service listens again after a growing
pause) when Slack refuses the app-level token, when Socket Mode was turned off for the
app, or when no connection could be held for ``GIVE_UP`` seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from monitor.errors import AlertError, ChannelMisconfigured, MonitorError

if TYPE_CHECKING:
    from alerts.base import OnPress
    from alerts.slack_app import SlackApp

log = logging.getLogger(__name__)
#: The SDK's own log: its INFO lines (every reconnection) only when asked for.
SDK_LOG = logging.getLogger("alerts.slack_socket.sdk")
if SDK_LOG.level == logging.NOTSET:
    SDK_LOG.setLevel(logging.WARNING)

GIVE_UP = 60.0  # seconds without a connection before listen raises
WATCH = 0.2  # how often listen looks at the connection and at ``stop``
LINK_DISABLED = (
    "Socket Mode is turned off for the Slack app: turn it on under Socket Mode in the "
    "app's settings (or re-create the app from deploy/slack-app-manifest.yaml)"
)


class _Client(SocketModeClient):
    """The SDK's client, opening its connections through ``SlackApp.open_connection`` (so
    that a refused token is our error, said in the owner's words) and remembering why the
    last attempt failed."""

    def __init__(self, app: SlackApp, **kwargs: Any) -> None:
        self.app = app
        self.failure: MonitorError | None = None
        super().__init__(**kwargs)

    def issue_new_wss_url(self) -> str:
        try:
            url = self.app.open_connection()
        except MonitorError as exc:
            self.failure = exc
            raise
        self.failure = None
        return url


def listen(app: SlackApp, on_press: OnPress, stop: threading.Event) -> None:
    """Receive presses over Socket Mode until ``stop`` is set (see the module docstring).

    Without an ``app_token`` there is nothing to listen to here (presses come over HTTP, if
    at all): this waits for ``stop``.
    """
    if app.config.app_token is None:
        stop.wait()
        return
    client = _Client(
        app,
        app_token=app.config.app_token.get_secret_value(),
        web_client=app.client,
        logger=SDK_LOG,
        concurrency=4,
    )

    def on_request(client: Any, request: SocketModeRequest) -> None:
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        if request.type == "interactive" and isinstance(request.payload, dict):
            app.handle(request.payload, on_press)

    def on_message(raw: str) -> None:  # before the SDK acts on a "disconnect" itself
        if "link_disabled" in raw and json.loads(raw).get("reason") == "link_disabled":
            client.failure = ChannelMisconfigured(app.name, LINK_DISABLED)

    client.socket_mode_request_listeners.append(on_request)
    client.on_message_listeners.append(on_message)
    try:
        client.connect()
        log.info("%s: listening for button presses over Socket Mode", app.name)
        down_since: float | None = None
        while not stop.wait(WATCH):
            if client.failure is not None and not client.is_connected():
                raise client.failure
            if client.is_connected():
                down_since = None
            elif down_since is None:
                down_since = time.monotonic()
            elif time.monotonic() - down_since > GIVE_UP:
                raise AlertError(app.name, f"no Socket Mode connection to Slack for {GIVE_UP:.0f}s")
    finally:
        _close(client)


def _close(client: SocketModeClient) -> None:
    """``client.close()``, without waiting for its reader's receive timeout (3 s): the
    socket is shut down first (no reconnecting now), which wakes the reader at once."""
    client.auto_reconnect_enabled = False
    client.current_session_state.terminated = True
    sock = getattr(client.current_session, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    client.close()
