"""A burst on Hacker News: 10,000 matching items posted within five minutes.

Measured, all on loopback with the production code in one process: a service
that was keeping up (its cursor ten minutes old) meets ``--items`` new stories
naming the brand, posted within ``--within`` seconds, on a stand-in of the
Algolia HN API; each cycle is ``Service.poll()`` then ``Service.dispatch()`` to a
stand-in Slack webhook (flood control on). Printed: polls and requests until
the source is caught up, mentions stored, negative mentions and their alerts
(each must be alerted exactly once), Slack messages, and whether a normal post
made right after the burst is stored by the next poll.

Floor (issue 10): every item stored, each negative alerted once, in bounded
polls (the poll count does not grow with what was already read).

Run: ``.venv/bin/python benchmarks/burst.py [--items N] [--within S] [--max-requests N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from alerts.slack import SlackConfig
from connectors.hackernews import HackerNewsConfig
from monitor.config import AlertsConfig, BrandConfig, Config
from monitor.http import make_client
from monitor.pipeline import ALL_BRANDS
from monitor.service import Service
from monitor.store import AlertRow
from tests.standins.hackernews import PREFIX, HackerNewsAPI, story
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--within", type=int, default=300, help="seconds the burst spans")
    parser.add_argument("--max-requests", type=int, default=10, help="the source's setting")
    args = parser.parse_args(argv)

    now = int(time.time())
    api, webhook = HackerNewsAPI(), SlackWebhook()
    api.add(
        *(
            story(
                i,
                f"Acme Coffee charged me twice and nobody answers (order {i})",
                created=now - args.within + i * args.within // args.items,
            )
            for i in range(1, args.items + 1)
        )
    )
    with (
        tempfile.TemporaryDirectory(prefix="mm-burst-") as tmp,
        StandIn(api) as hn_server,
        StandIn(webhook) as slack_server,
        make_client() as http,
    ):
        hn = HackerNewsConfig(base_url=hn_server.url + PREFIX, max_requests=args.max_requests)
        slack = SlackConfig.model_validate(
            {"type": "slack", "webhook_url": slack_server.url + webhook.path}
        )
        config = Config(
            path=None,
            database=f"sqlite:///{Path(tmp) / 'burst.db'}",
            brands=[BrandConfig(name="Acme Coffee", keywords=["Acme Coffee"])],
            sources={"hackernews": hn},
            channels=[slack],
            alerts=AlertsConfig(console=False),
        )
        service = Service(config, http=http)
        service.store.ingest("hackernews", ALL_BRANDS, [], json.dumps({"covered_until": now - 600}))
        started = time.perf_counter()
        polls, stored, sent = 0, 0, 0
        while polls < 50:
            (report,) = service.poll()
            polls += 1
            stored += report.new
            sent += service.dispatch().sent
            if report.error or report.behind.total_seconds() == 0:
                break
        took = time.perf_counter() - started
        requests = len(hn_server.requests)
        api.add(story(99_999, "Acme Coffee lost my order", created=int(time.time())))
        (after,) = service.poll()
        with service.store.session() as s:
            kinds = Counter(
                key
                for kind, key in s.execute(select(AlertRow.kind, AlertRow.dedupe_key))
                if kind == "mention"
            )
        negatives = len(service.store.mentions(negative=True, limit=args.items + 10))
        service.close()

    print(f"burst: {args.items} items within {args.within} s, max_requests {args.max_requests}")
    print(f"  caught up after {polls} polls, {requests} requests, {took:.1f} s")
    print(f"  stored {stored} of {args.items}; negative, with the later post: {negatives}")
    repeats = sum(1 for n in kinds.values() if n > 1)
    print(f"  mention alerts queued {len(kinds)} (repeated: {repeats}), delivered {sent}")
    print(f"  Slack messages {len(webhook.payloads)} (flood control rolls a burst up)")
    print(f"  a post made after the burst: stored by the next poll: {after.new == 1}")
    ok = stored == args.items and repeats == 0 and len(kinds) == negatives and after.new == 1
    print(f"  floor (all stored, each negative alerted once): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
