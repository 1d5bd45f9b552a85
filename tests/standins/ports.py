"""Loopback ports that misbehave at the connection, below any API."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def dropping_port() -> Iterator[int]:
    """A listening port whose queue is full and never read: a new connection gets no
    answer at all, as behind a firewall that drops it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        waiting = []
        for _ in range(3):
            client = socket.socket()
            client.setblocking(False)
            try:
                client.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            waiting.append(client)
        time.sleep(0.1)
        try:
            yield port
        finally:
            for client in waiting:
                client.close()
