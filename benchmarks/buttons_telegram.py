"""Button latency, Telegram: from a press in the chat to the store changed and the message edited.

Measured on loopback with the production code in one process: the Hacker News stand-in
serves ``--presses`` negative mentions (default 200), one real poll stores them, the
dispatcher sends each as its own Telegram message to the Bot API stand-in
(tests/standins/telegram.py), and ``Service.listen`` long-polls the stand-in as ``run``
does. Then, one press at a time, the stand-in sends the callback query for a message's
**Acknowledge** (what a Telegram app sends), and three moments are timed from it:

- *stored*: ``Service.answer`` returned (the status change is committed to SQLite);
- *answered*: the presser's notice arrived (``answerCallbackQuery``);
- *edited*: the message was edited in place (``editMessageText``).

Then a burst: **Resolve** pressed on every message at once, timed until the last edit.

Floor: press -> message edited p95 < 1 s.

Run: ``.venv/bin/python benchmarks/buttons_telegram.py [--presses N]``. ``measure`` is the
function benchmarks/buttons.py calls for ``--channel telegram``.
"""

from __future__ import annotations

import argparse
import html
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the loopback stand-ins in tests/standins

from alerts.telegram import TelegramConfig  # noqa: E402
from connectors.hackernews import HackerNewsConfig  # noqa: E402
from monitor.actions import Answered, Press  # noqa: E402
from monitor.config import AlertsConfig, BrandConfig, Config  # noqa: E402
from monitor.http import make_client  # noqa: E402
from monitor.service import Service  # noqa: E402
from tests.standins.hackernews import PREFIX, HackerNewsAPI, comment  # noqa: E402
from tests.standins.server import StandIn  # noqa: E402
from tests.standins.telegram import GROUP, MARIA, TOKEN, TelegramBotAPI  # noqa: E402

FLOOR_MS = 1000.0
NEGATIVE = "Acme Coffee charged me twice and nobody answers. Terrible service #{n}"


@dataclass
class Figures:
    """Milliseconds from each press to each moment, in press order."""

    stored: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    edited: list[float] = field(default_factory=list)
    burst_seconds: float = 0.0
    burst: int = 0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * p) - 1)]


def line(name: str, values: list[float]) -> str:
    return (
        f"  {name:<9} p50 {statistics.median(values):6.1f} ms   "
        f"p95 {percentile(values, 0.95):6.1f} ms   max {max(values):6.1f} ms"
    )


def measure(presses: int = 200) -> Figures:
    """Press Acknowledge on ``presses`` alerts one at a time, then Resolve on all at once."""
    hn, api = HackerNewsAPI(), TelegramBotAPI()
    figures = Figures()
    now = int(time.time())
    hn.add(
        *(
            comment(1000 + n, html.escape(NEGATIVE.format(n=n)), created=now - 30)
            for n in range(presses)
        )
    )
    with (
        tempfile.TemporaryDirectory(prefix="mm-buttons-") as tmp,
        StandIn(hn) as hn_server,
        StandIn(api) as tg_server,
        make_client() as http,
    ):
        source = HackerNewsConfig(base_url=hn_server.url + PREFIX, hits_per_page=1000)
        bot = TelegramConfig.model_validate(
            {
                "type": "telegram",
                "bot_token": TOKEN,
                "chat_id": GROUP,
                "base_url": tg_server.url,
                "flood_limit": presses + 1,  # each alert its own message
            }
        )
        config = Config(
            path=None,
            database=f"sqlite:///{Path(tmp) / 'buttons.db'}",
            brands=[BrandConfig(name="Acme Coffee", keywords=["Acme Coffee"])],
            sources={"hackernews": source},
            channels=[bot],
            alerts=AlertsConfig(console=False),
        )
        service = Service(config, http=http)
        service.poll()
        report = service.dispatch()
        assert report.messages == presses == len(api.sent), report
        stored_at: dict[int, float] = {}
        answer = service.answer

        def timed(press: Press) -> Answered:
            done = answer(press)
            stored_at[press.mention_id] = time.perf_counter()
            return done

        service.answer = timed  # type: ignore[method-assign]
        stop = threading.Event()
        threads = service.listen(stop)
        try:
            for message in list(api.sent):
                mention = int(message.buttons()["Acknowledge"].split(":")[1])
                before = len(api.answers)
                pressed = time.perf_counter()
                api.press(message, "Acknowledge", MARIA)
                answered: list[float] = []

                def arrived(
                    before: int = before, answered: list[float] = answered, message: Any = message
                ) -> bool:
                    if not answered and len(api.answers) > before:
                        answered.append(time.perf_counter())
                    return bool(answered) and message.edits >= 1

                assert api.wait(arrived, timeout=30), "no edit within 30 s"
                edited = time.perf_counter()
                figures.stored.append((stored_at[mention] - pressed) * 1000)
                figures.answered.append((answered[0] - pressed) * 1000)
                figures.edited.append((edited - pressed) * 1000)

            start = time.perf_counter()
            for message in list(api.sent):
                api.press(message, "Resolve", MARIA)
            assert api.wait(lambda: all(m.edits >= 2 for m in api.sent), timeout=120)
            figures.burst_seconds = time.perf_counter() - start
            figures.burst = len(api.sent)
            assert api.problems == [], api.problems
        finally:
            stop.set()
            api.close()
            for thread in threads:
                thread.join(5)
            service.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--presses", type=int, default=200, help="alerts pressed one at a time")
    args = parser.parse_args(argv)
    figures = measure(args.presses)
    print(f"Telegram: {len(figures.edited)} presses of Acknowledge, one at a time, from the press:")
    print(line("stored", figures.stored))
    print(line("answered", figures.answered))
    print(line("edited", figures.edited))
    p95 = percentile(figures.edited, 0.95)
    print(
        f"  floor press -> edited p95 < {FLOOR_MS:.0f} ms: {'PASS' if p95 < FLOOR_MS else 'FAIL'}"
    )
    print(
        f"burst: Resolve pressed on all {figures.burst} messages at once, the last one edited "
        f"{figures.burst_seconds:.2f} s later"
    )
    return 0 if p95 < FLOOR_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
