"""Button latency: a press in the chat app -> the store changed -> the message updated.

Measured, all on loopback with the production code in one process (``--channel slack``):
the Slack Web API and Socket Mode stand-ins (tests/standins/slack_api.py,
slack_socket.py); ``--presses`` mentions (default 200) each with its alert posted by the
Slack app channel; the service listening as ``run`` does (``Service.listen``: slack_sdk's
Socket Mode client, ``monitor.actions.answer`` on a real SQLite file, ``chat.update``).
Then, one at a time, the stand-in presses Acknowledge on each alert and waits for the
message to be redrawn. Per press, from the envelope leaving the stand-in to:

- **acked**: the stand-in holding our acknowledgement (Slack's limit: 3 s);
- **stored**: the mention's new status committed (``Service.answer`` returned);
- **updated**: the stand-in holding the ``chat.update`` of the message.

Floor: updated p95 < 1 s (issue 13).

``--channel telegram`` runs ``measure(presses)`` from benchmarks/buttons_telegram.py (the
Telegram bot's half: it returns the same stages as lists of seconds).

Run: ``.venv/bin/python benchmarks/buttons.py [--channel slack|telegram] [--presses N]``.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the loopback stand-ins in tests/standins

from alerts.slack import SlackChannel  # noqa: E402
from monitor.actions import Answered, Press  # noqa: E402
from monitor.config import parse_config  # noqa: E402
from monitor.service import Service  # noqa: E402
from tests.monitor.test_store import item  # noqa: E402
from tests.standins.slack_api import running  # noqa: E402

FLOOR_MS = 1000.0
STAGES = ("acked", "stored", "updated")


def measure(presses: int) -> dict[str, list[float]]:
    """Seconds per press for each stage (see the module docstring)."""
    with running() as api, tempfile.TemporaryDirectory() as tmp:
        assert api.socket is not None
        config = parse_config(
            f"""
database: sqlite:///{Path(tmp) / "buttons.db"}
brands: [{{name: Acme, keywords: [Acme]}}]
sources: {{hackernews: {{}}}}
alerts:
  console: false
  channels:
    - type: slack
      bot_token: {api.bot_token}
      app_token: {api.app_token}
      channel: "#mentions"
      base_url: {api.url}/api
      flood_limit: 100000
""",
            base_dir=Path(tmp),
        )
        # Posting is paced at one message a second, as Slack asks; not what is measured.
        channel = SlackChannel(config.channels[0], clock=lambda: 0.0, sleep=lambda s: None)
        service = Service(config, channels={"slack": channel}, connectors={})
        stored: dict[int, float] = {}
        answer = service.answer

        def timed(press: Press) -> Answered:
            done = answer(press)
            stored[press.mention_id] = time.monotonic()
            return done

        service.answer = timed  # type: ignore[method-assign]
        stop = threading.Event()
        threads: list[threading.Thread] = []
        try:
            items = [item(i, ("slack",)) for i in range(1, presses + 1)]
            service.store.ingest("hackernews", "Acme", items, None)
            while service.dispatch().sent:
                pass
            messages = api.messages()
            if len(messages) != presses:
                raise SystemExit(f"expected {presses} alerts in Slack, found {len(messages)}")
            threads = service.listen(stop)
            if not api.socket.wait_connected():
                raise SystemExit("the Slack app did not connect to the Socket Mode stand-in")
            times: dict[str, list[float]] = {stage: [] for stage in STAGES}
            for message in messages:
                payload = api.press(message["ts"], "Acknowledge")
                mention = int(payload["actions"][0]["value"])
                before = len(api.updates)
                sent = time.monotonic()
                envelope = api.socket.press(payload)
                ack = api.socket.wait_ack(envelope)
                deadline = sent + 10
                while len(api.updates) == before and time.monotonic() < deadline:
                    time.sleep(0.0005)
                if ack is None or len(api.updates) == before or mention not in stored:
                    raise SystemExit(f"the press on mention #{mention} was not answered in 10 s")
                times["acked"].append(ack.at - sent)
                times["stored"].append(stored[mention] - sent)
                times["updated"].append(api.updates[-1]["at"] - sent)
            return times
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)
            service.close()


def report(channel: str, times: dict[str, list[float]]) -> bool:
    n = len(times["updated"])
    print(f"{channel}: {n} presses on loopback, one at a time")
    ok = True
    for stage in STAGES:
        values = sorted(s * 1000 for s in times.get(stage, []))
        if not values:
            continue
        p50 = statistics.median(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(f"  {stage:>8}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  max {values[-1]:6.1f} ms")
        if stage == "updated":
            ok = p95 < FLOOR_MS
            print(f"  floor: updated p95 < {FLOOR_MS:.0f} ms: {'met' if ok else 'MISSED'}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channel", choices=("slack", "telegram"), default="slack")
    parser.add_argument("--presses", type=int, default=200)
    args = parser.parse_args(argv)
    if args.channel == "telegram":
        try:
            other = importlib.import_module("benchmarks.buttons_telegram")
        except ModuleNotFoundError:
            print("the Telegram half (benchmarks/buttons_telegram.py) is not here yet")
            return 2
        figures = other.measure(args.presses)
        # Its figures are milliseconds, "answered" is the press's answer (the ack).
        times = {
            "acked": [ms / 1000 for ms in figures.answered],
            "stored": [ms / 1000 for ms in figures.stored],
            "updated": [ms / 1000 for ms in figures.edited],
        }
        if figures.burst:
            print(
                f"telegram: {figures.burst} presses at once, the last edit after "
                f"{figures.burst_seconds:.1f} s"
            )
    else:
        times = measure(args.presses)
    return 0 if report(args.channel, times) else 1


if __name__ == "__main__":
    raise SystemExit(main())
