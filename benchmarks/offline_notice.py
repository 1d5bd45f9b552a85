"""How long `mention-monitor run` takes to say that it cannot reach the internet.

For each way a machine without a connection fails (the issue's promise: "within a
minute"), ``mention-monitor run`` is started as an owner starts it, on a config whose
one source points where that failure happens, and the seconds are measured from the
start of the process to the line "mention-monitor cannot reach the internet from this
machine: check its connection" on its log:

- ``dns``: a name that does not resolve (under ``.invalid``);
- ``refused``: a closed port on loopback;
- ``dropped``: a port whose connection queue is full, so that connecting gets no answer
  at all, as behind a firewall that drops it (the connect timeout, 10 s, decides).

Run: ``.venv/bin/python benchmarks/offline_notice.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.offline import OFFLINE  # noqa: E402
from tests.standins.ports import dropping_port  # noqa: E402


def seconds_to_notice(base_url: str, limit: float = 90.0) -> float | None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            textwrap.dedent(
                f"""
                database: sqlite:///mentions.db
                brands:
                  - name: Acme Coffee
                    keywords: ["Acme Coffee"]
                sources:
                  hackernews:
                    base_url: {base_url}
                web:
                  enabled: false
                """
            )
        )
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                if OFFLINE in line:
                    return time.monotonic() - started
                if time.monotonic() - started > limit:
                    return None
            return None
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def main() -> None:
    print("seconds from `mention-monitor run` starting to the offline notice in its log")
    cases = {
        "dns": lambda: "http://mention-monitor-bench.invalid/api/v1",
        "refused": lambda: "http://127.0.0.1:9/api/v1",
    }
    for name, url in cases.items():
        took = seconds_to_notice(url())
        print(f"  {name:<8} {'not said' if took is None else f'{took:5.1f} s'}")
    with dropping_port() as port:
        took = seconds_to_notice(f"http://127.0.0.1:{port}/api/v1")
    print(f"  {'dropped':<8} {'not said' if took is None else f'{took:5.1f} s'}")


if __name__ == "__main__":
    main()
