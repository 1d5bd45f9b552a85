"""Serving the inbox with uvicorn: in a thread beside the scheduler (``run``), or on its own
(``mention-monitor web``, ``demo``).

The socket is bound here, before uvicorn starts, so that an address already in use is one
clear error naming ``web.listen`` rather than a traceback in a thread. uvicorn runs in its
own thread (it installs no signal handlers there); the caller's signal handling stops it.
Plain asyncio and h11, no extras: an idle inbox costs no CPU and little memory.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import threading
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from monitor.config import WebConfig, is_loopback, split_listen
from monitor.errors import MonitorError

log = logging.getLogger(__name__)

#: How long to wait for uvicorn to be ready, or to finish its requests when stopping.
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


class WebServerError(MonitorError):
    """The inbox cannot be served (its address is in use or cannot be had)."""


def bind(listen: str, *, setting: str = "web.listen") -> socket.socket:
    """A listening socket on ``listen`` (HOST:PORT); WebServerError naming ``setting``."""
    host, port = split_listen(listen)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:
        raise WebServerError(
            f"{setting} {listen}: no such address on this machine ({exc})"
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise WebServerError(
                f"{setting} {listen}: that address is already in use (another mention-monitor, "
                f"or another program). Choose another port in {setting}"
                + (
                    ", or set web.enabled: false to run without the inbox"
                    if setting == "web.listen"
                    else ""
                )
            ) from None
        raise WebServerError(f"{setting} {listen}: cannot listen there: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


class WebServer:
    """uvicorn serving ``app`` in a thread on an already bound socket."""

    def __init__(self, app: Starlette, web: WebConfig, sock: socket.socket) -> None:
        self.web = web
        self.sock = sock
        config = uvicorn.Config(
            app,
            root_path=web.root_path,
            proxy_headers=True,  # X-Forwarded-For/-Proto from a proxy on this machine
            forwarded_allow_ips="127.0.0.1,::1",
            loop="asyncio",
            http="h11",
            ws="none",
            lifespan="off",
            access_log=False,
            server_header=False,
            log_config=None,  # our logging, redacted, as the rest of the service
            timeout_graceful_shutdown=int(STOP_TIMEOUT),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._serve, name="inbox", daemon=True)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        """Where this machine opens the inbox (the public_url, if one is set)."""
        if self.web.public_url:
            return self.web.public_url + "/"
        host = split_listen(self.web.listen)[0]
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 (what to open, not what to bind)
            host = "127.0.0.1"
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/"

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except Exception:  # never take the service down with it
            log.exception("the inbox stopped")

    def start(self) -> None:
        self.thread.start()
        deadline = threading.Event()
        waited = 0.0
        while not self.server.started and self.thread.is_alive() and waited < START_TIMEOUT:
            deadline.wait(0.05)
            waited += 0.05
        if not self.server.started:
            self.stop()
            raise WebServerError(f"the inbox did not start on {self.web.listen}")
        host = split_listen(self.web.listen)[0]
        if self.web.password is None:
            access = (
                "open without a password: only this machine can reach it"
                if is_loopback(host)
                else "open without a password"
            )
        else:
            access = "password required"
        served = f"served on {self.web.listen.rpartition(':')[0]}:{self.port}, "
        log.info("inbox at %s (%s%s)", self.url, served if self.web.public_url else "", access)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(STOP_TIMEOUT + 2)
        self.sock.close()


def wait_for_stop() -> None:
    """Block until SIGINT (Ctrl-C) or SIGTERM."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
