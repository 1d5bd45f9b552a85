"""Requests a failing Slack channel receives while alerts keep coming.

Measured, on loopback with the production dispatcher and Slack channel and a real
SQLite file: the Slack stand-in answers every post with ``429`` and
``Retry-After: 20``, or with ``500``, for ``--minutes`` virtual minutes (default 10);
every 5 virtual seconds a new alert is queued (mention, health notice, reminder,
spike in turn) and the dispatcher runs, as the service does after each poll. Printed:
the requests Slack received, the shortest gap between two of them, and the rate as a
multiple of what a 429 asked for. Then Slack recovers, and printed is how many
messages delivered the backlog.

Floor: with a 429, never more than one request per Retry-After (multiple <= 1.0).

Run: ``.venv/bin/python benchmarks/channel_faults.py [--minutes N]``.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for the loopback stand-ins in tests/standins

from alerts.slack import SlackChannel, SlackConfig  # noqa: E402
from monitor.config import AlertsConfig  # noqa: E402
from monitor.dispatcher import Dispatcher  # noqa: E402
from monitor.http import make_client  # noqa: E402
from monitor.models import Mention, Score  # noqa: E402
from monitor.store import NewMention, Store  # noqa: E402
from tests.standins.server import StandIn  # noqa: E402
from tests.standins.slack import SlackWebhook  # noqa: E402

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
STEP = 5
KINDS = ("mention", "health", "reminder", "spike")


def mention(n: int, now: datetime) -> NewMention:
    post = Mention(
        "hackernews", str(n), f"https://news.ycombinator.com/item?id={n}", "a", "cold", now
    )
    return NewMention(
        post, "Acme", ("Acme",), Score(-0.5, "negative", True), "negative", ("slack",)
    )


def run(fault: str, minutes: int) -> None:
    webhook = SlackWebhook()
    with StandIn(webhook) as server, tempfile.TemporaryDirectory() as tmp, make_client() as http:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        now = [START]
        ticks = itertools.count(0, 10.0)
        config = SlackConfig(webhook_url=server.url + webhook.path, name="slack")
        channel = SlackChannel(config, http=http, clock=lambda: next(ticks), sleep=lambda _: None)
        dispatcher = Dispatcher(
            store, {"slack": channel}, AlertsConfig(), clock=lambda: now[0], rng=random.Random(1)
        )
        if fault == "429":
            webhook.rate_limit(20)
        else:
            webhook.fail(500)
        times: list[float] = []
        for n in range(minutes * 60 // STEP):
            kind = KINDS[n % len(KINDS)]
            if kind == "mention":
                store.ingest("hackernews", "Acme", [mention(n, now[0])], None, now=now[0])
            else:
                payload = {"title": f"{kind} {n}", "text": "x", "source": "hackernews"}
                store.queue_notice(kind, str(n), payload, "negative", ["slack"], now[0])
            before = len(server.requests)
            dispatcher.dispatch()
            times += [(now[0] - START).total_seconds()] * (len(server.requests) - before)
            now[0] += timedelta(seconds=STEP)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        shortest = min(gaps) if gaps else float("inf")
        print(
            f"{fault}: {minutes * 60 // STEP} alerts queued in {minutes} min; Slack received "
            f"{len(times)} requests; shortest gap {shortest:.0f} s",
            end="",
        )
        print(f"; {20 / shortest:.2f}x the asked rate" if fault == "429" else "")
        webhook.recover()
        now[0] += timedelta(hours=1)
        report = dispatcher.dispatch()
        print(f"  after recovery: {report.sent} alerts delivered in {report.messages} messages")
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=10)
    args = parser.parse_args()
    for fault in ("429", "500"):
        run(fault, args.minutes)


if __name__ == "__main__":
    main()
