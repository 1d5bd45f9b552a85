"""Counts and times in alerts and reminders read right, in the real rendered messages.

Two channels (a Slack stand-in over loopback and the console) take every alert, so
anything counted per channel shows up twice; time is a virtual clock that the alerts'
ages follow too (``alerts.render.clock``), as in `mention-monitor demo`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from alerts.console import ConsoleChannel, ConsoleConfig
from alerts.render import clock, duration, engagement
from alerts.slack import SlackChannel
from monitor.config import load_config
from monitor.service import Service
from tests.alerts.factories import make_alert
from tests.conftest import ConfigWriter
from tests.standins.hackernews import HackerNewsAPI, story
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook

ANGRY = "Acme Coffee charged me twice and support never answered, awful"
AGE = re.compile(r"\b(?:just now|\d+ (?:min|h|d) ago)")


@dataclass
class Rig:
    service: Service
    now: list[datetime]
    hn: HackerNewsAPI
    slack: SlackWebhook
    console: io.StringIO

    def minutes(self, n: int) -> tuple[int, int, int]:
        """``n`` virtual minutes, each with the follow-up job and a dispatch; the
        escalations, spikes and reminders the jobs counted."""
        counted = [0, 0, 0]
        for _ in range(n):
            self.now[0] += timedelta(minutes=1)
            report = self.service.watch()
            counted[0] += report.track.escalations
            counted[1] += report.spikes
            counted[2] += report.reminders
            self.service.dispatch()
        return counted[0], counted[1], counted[2]

    def post(self, object_id: int, text: str = ANGRY, points: int = 1) -> dict[str, Any]:
        created = int(self.now[0].timestamp()) - 60
        item = story(object_id, text, created=created, points=points)
        self.hn.add(item)
        return item

    def blocks(self) -> list[str]:
        return [b for b in self.console.getvalue().split("\n\n") if b.strip()]


@pytest.fixture
def rig(
    write_config: ConfigWriter,
    hn_url: str,
    hn_api: HackerNewsAPI,
    slack: tuple[StandIn, SlackWebhook],
    client: httpx.Client,
) -> Iterator[Rig]:
    server, webhook = slack
    path = write_config(
        f"""
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          hackernews: {{base_url: "{hn_url}"}}
        alerts:
          console: false
          remind_after: 1m
          channels:
            - type: slack
              webhook_url: "{server.url}{webhook.path}"
            - type: console
        """
    )
    config = load_config(path)
    now = [datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)]
    out = io.StringIO()
    channels = {
        "slack": SlackChannel(
            config.channels[0], http=client, clock=lambda: 0.0, sleep=lambda s: None
        ),
        "console": ConsoleChannel(ConsoleConfig(), stream=out),
    }
    service = Service(config, http=client, channels=channels, clock=lambda: now[0], strict=True)
    with clock(lambda: now[0]):
        yield Rig(service, now, hn_api, webhook, out)
    service.close()


def test_spans_in_words_never_round_to_nothing() -> None:
    said = {
        timedelta(seconds=10): "1 minute",
        timedelta(minutes=1): "1 minute",
        timedelta(minutes=35): "35 minutes",
        timedelta(minutes=60): "1 hour",
        timedelta(minutes=90): "1 hour 30 minutes",
        timedelta(hours=4): "4 hours",
        timedelta(hours=13, minutes=40): "14 hours",
        timedelta(days=3): "3 days",
    }
    assert {span: duration(span) for span in said} == said


def test_engagement_counts_read_right() -> None:
    def said(counts: dict[str, int]) -> str:
        return engagement(make_alert(engagement=counts))

    assert said({"likes": 1, "reposts": 0, "replies": 1, "quotes": 0}) == "1 like, 1 reply"
    assert said({"score": 1, "comments": 2, "upvote_ratio": 93}) == (
        "2 comments, 1 point, 93% upvoted"
    )
    assert said({"likes": 0, "reposts": 0}) == ""  # no line rather than a row of zeros
    on_reddit = make_alert(source="reddit", engagement={"score": 47, "comments": 1})
    assert engagement(on_reddit) == "1 comment, 47 upvotes"  # as its growth line says


def test_a_reminder_after_a_minute_says_1_minute_and_counts_once(rig: Rig) -> None:
    rig.post(101)
    rig.service.poll()
    rig.service.dispatch()
    _, _, reminders = rig.minutes(2)
    assert reminders == 1  # one mention reminded of, on two channels
    block = rig.blocks()[-1]
    assert block.startswith("[NEGATIVE] Still unanswered") or block.startswith("[HIGH] Still")
    assert "still new 1 minute after it was first seen" in block
    assert "0 hours" not in rig.console.getvalue()
    slack = str(rig.slack.payloads[-1])
    assert "still new 1 minute after it was first seen" in slack


def test_an_escalation_is_counted_once_and_its_alert_gives_one_age(rig: Rig) -> None:
    item = rig.post(201)
    rig.service.poll()
    rig.service.dispatch()
    mention = rig.blocks()[0]
    assert AGE.findall(mention) == ["1 min ago"]  # the virtual clock's age, not the wall's
    counted = 0
    for minute in range(1, 61):
        item["points"] = 1 + minute // 2  # 30 an hour: spreading, not viral
        counted += rig.minutes(1)[0]
    spreading = [b for b in rig.blocks() if "Spreading:" in b.splitlines()[0]]
    assert counted == 1 and len(spreading) == 1
    assert len(AGE.findall(spreading[0])) == 1, spreading[0]
    assert "posted" not in spreading[0]  # no second age among the growth numbers
    slack = next(p for p in rig.slack.payloads if "Spreading" in str(p["blocks"][0]))
    assert len(AGE.findall(str(slack))) == 1, slack


def test_a_spike_is_counted_once(rig: Rig) -> None:
    for n in range(6):
        rig.post(300 + n, text=f"{ANGRY} #{n}")
    rig.service.poll()
    rig.service.dispatch()
    _, spikes, _ = rig.minutes(1)
    assert spikes == 1
    assert sum(1 for b in rig.blocks() if b.startswith("[HIGH] Spike:")) == 1
