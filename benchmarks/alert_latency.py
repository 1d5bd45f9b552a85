"""Alert latency: from a poll's fetch returning to the Slack receiver holding the message.

Measured, all on loopback with the production code in one process: a stand-in
Hacker News (Algolia) API serves one new negative mention per poll cycle, for
``--count`` cycles (default 100); each cycle is ``Service.poll()`` then
``Service.dispatch()`` (what the scheduler does), sending to the Slack channel
whose webhook is a stand-in receiver. Per mention, the time from the
connector's ``fetch`` returning to the receiver holding the POST. Cycles are
spaced ``--gap`` seconds (default 1.05 s) because the Slack channel sends at
most one message per second per webhook, as Slack asks; real polls are minutes
apart.

Then a burst: 1,000 new negative mentions in one poll; printed are the time
from the fetch returning to the receiver holding the last message, and how many
messages the burst became (flood control rolls all but ``flood_limit`` of them
up into one message).

Floor: p95 < 300 ms.

Run: ``.venv/bin/python benchmarks/alert_latency.py [--count N] [--gap S] [--burst N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the loopback stand-ins in tests/standins

from alerts.slack import SlackConfig  # noqa: E402
from connectors.base import FetchResult  # noqa: E402
from connectors.hackernews import HackerNewsConfig, HackerNewsConnector  # noqa: E402
from monitor.config import AlertsConfig, BrandConfig, Config  # noqa: E402
from monitor.http import make_client  # noqa: E402
from monitor.service import Service  # noqa: E402
from tests.standins.hackernews import PREFIX, HackerNewsAPI, comment  # noqa: E402
from tests.standins.server import Request, Response, StandIn  # noqa: E402
from tests.standins.slack import SlackWebhook  # noqa: E402

FLOOR_MS = 300.0
NEGATIVE = "Acme Coffee charged me twice and nobody answers. Terrible service #{n}"


class TimedWebhook(SlackWebhook):
    """The Slack stand-in, noting when each message arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        response = super().__call__(request)
        with self.lock:
            self.arrivals.append(time.perf_counter())
        return response


class TimedConnector(HackerNewsConnector):
    """The real HN connector, noting when each fetch returned."""

    fetched_at: float = 0.0

    def fetch_pages(self, queries: Sequence[str], cursor: str | None) -> Iterator[FetchResult]:
        for page in super().fetch_pages(queries, cursor):
            self.fetched_at = time.perf_counter()
            yield page


def build(hn_url: str, slack_url: str, http: Any, db: Path) -> tuple[Service, TimedConnector]:
    hn = HackerNewsConfig(base_url=hn_url, every="1h", hits_per_page=1000, overlap="1s")
    slack = SlackConfig.model_validate(
        {"type": "slack", "webhook_url": slack_url, "flood_limit": 10}
    )
    config = Config(
        path=None,
        database=f"sqlite:///{db}",
        brands=[BrandConfig(name="Acme Coffee", keywords=["Acme Coffee"])],
        sources={"hackernews": hn},
        channels=[slack],
        alerts=AlertsConfig(console=False),
    )
    connector = TimedConnector(hn, http)
    service = Service(config, http=http, connectors={"hackernews": connector})
    return service, connector


def wait_for(webhook: TimedWebhook, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(webhook.arrivals) < count and time.monotonic() < deadline:
        time.sleep(0.001)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="cycles with one new mention")
    parser.add_argument("--gap", type=float, default=1.05, help="seconds between cycles")
    parser.add_argument("--burst", type=int, default=1000, help="mentions in the burst")
    args = parser.parse_args(argv)

    api, webhook = HackerNewsAPI(), TimedWebhook()
    with (
        tempfile.TemporaryDirectory(prefix="mm-latency-") as tmp,
        StandIn(api) as hn_server,
        StandIn(webhook) as slack_server,
        make_client() as http,
    ):
        hn_url, slack_url = hn_server.url + PREFIX, slack_server.url + webhook.path
        service, connector = build(hn_url, slack_url, http, Path(tmp) / "latency.db")
        service.poll()  # first poll: sets the cursor
        latencies: list[float] = []
        started = int(time.time())
        for n in range(args.count):
            # Posted now: a time in the past could fall before the cursor's overlap.
            api.add(comment(10_000 + n, NEGATIVE.format(n=n), created=int(time.time())))
            before = len(webhook.arrivals)
            service.poll()
            service.dispatch()
            wait_for(webhook, before + 1)
            latencies.append((webhook.arrivals[before] - connector.fetched_at) * 1000)
            time.sleep(args.gap)
        latencies.sort()
        p50 = statistics.median(latencies)
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
        print(f"{len(latencies)} alerts, one per poll cycle, fetch returned -> Slack receiver:")
        print(f"  p50 {p50:.1f} ms   p95 {p95:.1f} ms   max {latencies[-1]:.1f} ms")
        print(f"  floor p95 < {FLOOR_MS:.0f} ms: {'PASS' if p95 < FLOOR_MS else 'FAIL'}")

        service.close()

        # The burst, on a fresh database.
        service, connector = build(hn_url, slack_url, http, Path(tmp) / "burst.db")
        service.poll()  # the cycles' mentions, seen once more by this fresh install
        settled = service.dispatch().messages
        wait_for(webhook, len(webhook.arrivals) + settled)
        time.sleep(61)  # so their flood window does not count against the burst
        before = len(webhook.arrivals)
        base = started + args.count + 10
        api.add(
            *(
                comment(100_000 + i, NEGATIVE.format(n=f"b{i}"), created=base)
                for i in range(args.burst)
            )
        )
        report = service.poll()
        dispatched = service.dispatch()
        wait_for(webhook, before + dispatched.messages)
        took = webhook.arrivals[-1] - connector.fetched_at
        print(
            f"burst of {args.burst}: {report[0].new} new mentions became "
            f"{len(webhook.arrivals) - before} Slack messages "
            f"({dispatched.sent} alerts delivered), last one {took:.2f} s after the fetch"
        )
        print(f"  receiver rejected {len(webhook.problems)} messages as invalid Block Kit")
        service.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
