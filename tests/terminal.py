"""A program in a pseudo-terminal, driven like a person at a keyboard (an expect of our own)."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path


class Terminal:
    """``python -m monitor ARGS`` with a terminal for its stdin and stdout."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.output = ""
        self._seen = 0
        pid, fd = pty.fork()
        if pid == 0:  # the child: the terminal is its controlling one
            os.chdir(cwd)
            environ = {**os.environ, **(env or {}), "COLUMNS": "200", "TERM": "dumb"}
            os.execve(sys.executable, [sys.executable, "-m", "monitor", *args], environ)
        self.pid, self.fd = pid, fd
        self.status: int | None = None

    def expect(self, text: str, timeout: float = 30) -> str:
        """Reads until ``text`` appears after what was already matched; returns what came."""
        deadline = time.monotonic() + timeout
        while text not in self.output[self._seen :]:
            if not self._read(deadline - time.monotonic()):
                raise AssertionError(f"never saw {text!r}; the screen:\n{self.output}")
        end = self.output.index(text, self._seen) + len(text)
        came, self._seen = self.output[self._seen : end], end
        return came

    def send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def type(self, text: str) -> None:
        """Keys pressed without Enter."""
        os.write(self.fd, text.encode())

    def ctrl_c(self, tries: int = 5) -> None:
        """Ctrl-C, pressed again (as a person would) while the program has not ended.

        CPython acts on a Ctrl-C that lands between a prompt being written and its read
        starting only when the read returns: the terminal has discarded what was typed, so
        the program waits for the next key. A second Ctrl-C stops it.
        """
        for _ in range(tries):
            os.write(self.fd, b"\x03")
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    self.status = os.waitstatus_to_exitcode(status)
                    return
                self._read(0.05)

    def wait(self, timeout: float = 60) -> int:
        """Reads to the end and returns the exit code."""
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            pass
        while self.status is None and time.monotonic() < deadline:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.status = os.waitstatus_to_exitcode(status)
            else:
                time.sleep(0.05)
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            raise AssertionError(f"still running after {timeout}s; the screen:\n{self.output}")
        os.close(self.fd)
        return self.status

    def _read(self, timeout: float) -> bool:
        if timeout <= 0:
            return False
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # the child has gone: the terminal is closed
            return False
        if not data:
            return False
        self.output += data.decode("utf-8", "replace").replace("\r\n", "\n")
        return True
