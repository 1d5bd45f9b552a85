"""Spread tracking, spikes and reminders end to end: a Hacker News stand-in whose points
change under the test's control, the real pipeline and tracker on SQLite, and a Slack
stand-in receiving the alerts. Time is a virtual clock; nothing sleeps."""

from __future__ import annotations

import dataclasses
import html
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from alerts.slack import SlackChannel
from monitor.config import Config, load_config
from monitor.models import Mention
from monitor.service import Service
from tests.clock import Clock
from tests.conftest import ConfigWriter
from tests.standins.hackernews import HackerNewsAPI, comment, story
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook, message_problems

ANGRY = "Acme Coffee charged me twice and support never answered, awful"


@dataclass
class World:
    service: Service
    clock: Clock
    hn: HackerNewsAPI
    slack: SlackWebhook
    config: Config

    def minutes(self, n: int) -> None:
        """Let ``n`` virtual minutes pass, running the follow-up job and dispatch each."""
        for _ in range(n):
            self.clock.advance(minutes=1)
            self.service.watch()
            self.service.dispatch()

    def headers(self) -> list[str]:
        return [
            b["text"]["text"]
            for p in self.slack.payloads
            for b in p["blocks"]
            if b["type"] == "header"
        ]

    def everything(self, index: int) -> str:
        return str(self.slack.payloads[index])


def make_world(
    write_config: ConfigWriter,
    hn_url: str,
    hn_api: HackerNewsAPI,
    slack: tuple[StandIn, SlackWebhook],
    client: httpx.Client,
    extra: str = "",
) -> World:
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
          channels:
            - type: slack
              webhook_url: "{server.url}{webhook.path}"
        {extra}
        """
    )
    config = load_config(path)
    clock = Clock()
    channel = SlackChannel(config.channels[0], http=client, clock=lambda: 0.0, sleep=lambda s: None)
    service = Service(config, http=client, channels={"slack": channel}, clock=clock, strict=True)
    return World(service, clock, hn_api, webhook, config)


@pytest.fixture
def world(
    write_config: ConfigWriter,
    hn_url: str,
    hn_api: HackerNewsAPI,
    slack: tuple[StandIn, SlackWebhook],
    client: httpx.Client,
) -> Iterator[World]:
    w = make_world(write_config, hn_url, hn_api, slack, client)
    yield w
    w.service.close()


def post(w: World, object_id: int, text: str = ANGRY, points: int = 1) -> dict[str, Any]:
    item = story(object_id, text, created=int(time.time()) - 60, points=points)
    w.hn.add(item)
    return item


def test_a_negative_post_that_takes_off_escalates_once_per_level_with_its_numbers(
    world: World,
) -> None:
    item = post(world, 101)
    world.service.poll()
    world.service.dispatch()
    assert len(world.slack.payloads) == 1  # the mention alert
    # 0 -> 100 points over two hours, a point every 1.2 minutes.
    sent_at = {}
    for minute in range(1, 121):
        item["points"] = 1 + round(minute * 100 / 120)
        before = len(world.slack.payloads)
        world.minutes(1)
        for payload in world.slack.payloads[before:]:
            sent_at.setdefault(payload["blocks"][0]["text"]["text"], minute)
    kinds = world.headers()[1:]
    assert any("Spreading" in h for h in kinds), kinds
    assert any("viral" in h.lower() for h in kinds), kinds
    assert len(kinds) == 2, f"each level once, got {kinds}"
    spreading = next(m for h, m in sent_at.items() if "Spreading" in h)
    assert spreading <= 15, f"spreading alert after {spreading} min"
    # The numbers and their growth are in the alert, and the command to answer it.
    text = world.everything(1)
    assert "→" in text and "points" in text
    assert "mentions ack" in text
    for payload in world.slack.payloads:
        assert message_problems(payload) == []
    # More growth does not repeat either level.
    item["points"] = 500
    world.minutes(30)
    assert len(world.slack.payloads) == 3


def test_a_flat_post_is_read_on_its_schedule_and_never_escalates(
    write_config: ConfigWriter,
    hn_url: str,
    hn_api: HackerNewsAPI,
    slack: tuple[StandIn, SlackWebhook],
    client: httpx.Client,
) -> None:
    w = make_world(
        write_config, hn_url, hn_api, slack, client, extra="spread: {schedule: [5m, 15m, 1h, 3h]}"
    )
    try:
        post(w, 102, points=3)
        w.service.poll()
        mention_id = w.service.store.mentions(negative=True)[0].id
        w.minutes(48 * 60 + 30)
        readings = w.service.store.snapshots(mention_id)
        # The first snapshot is the one taken when the post was found; then 5m, 15m, 1h,
        # then every 3 h until it is 48 h old: about 19 readings, not 2,880.
        assert 15 <= len(readings) <= 22, len(readings)
        gaps = [
            (b.taken_at - a.taken_at).total_seconds() / 60 for a, b in itertools.pairwise(readings)
        ]
        assert gaps[:3] == [5, 15, 60]
        assert all(g == 180 for g in gaps[3:-1])
        assert w.service.store.mention(mention_id).next_refresh_at is None  # aged out
        assert [h for h in w.headers() if "Spreading" in h or "viral" in h.lower()] == []
    finally:
        w.service.close()


def test_by_default_a_post_is_read_every_15_minutes_after_the_first_5(world: World) -> None:
    post(world, 103, points=3)
    world.service.poll()
    mention_id = world.service.store.mentions(negative=True)[0].id
    world.minutes(5 + 15 * 8)
    readings = world.service.store.snapshots(mention_id)
    gaps = [(b.taken_at - a.taken_at).total_seconds() / 60 for a, b in itertools.pairwise(readings)]
    assert gaps == [5] + [15] * 8


def test_an_ignored_mention_is_no_longer_tracked_but_an_acknowledged_one_still_escalates(
    world: World,
) -> None:
    quiet, loud = post(world, 103), post(world, 104, text=ANGRY + " again")
    world.service.poll()
    ids = {row.external_id: row.id for row in world.service.store.mentions(negative=True)}
    store = world.service.store
    store.set_status(ids["103"], "ignored", "a troll", world.clock())
    store.set_status(ids["104"], "acknowledged", "calling them", world.clock())
    quiet["points"] = loud["points"] = 80
    world.minutes(6)
    headers = world.headers()
    assert sum("Spreading" in h or "viral" in h.lower() for h in headers) == 1
    assert store.mention(ids["103"]).next_refresh_at is None
    escalation = next(p for p in world.slack.payloads if "viral" in str(p).lower())
    assert "acknowledged" in str(escalation)


def test_negative_comments_on_a_tracked_story_add_heat(world: World) -> None:
    post(world, 105)
    world.service.poll()
    row = world.service.store.mentions(negative=True)[0]
    # Angry comments that never name the brand, in the story's thread: read with the
    # next poll of new items, at no extra request.
    for n in range(4):
        world.hn.add(
            comment(
                900 + n,
                html.escape("Same here, they ignored my emails for weeks. Terrible."),
                story_id=105,
                created=int(time.time()) - 10,
            )
        )
    world.hn.add(comment(950, "Lovely post, thanks", story_id=105, created=int(time.time())))
    world.service.poll()
    world.service.poll()  # the same comments again are counted once
    assert world.service.store.mention(row.id).negative_replies == 4
    world.minutes(5)
    # 4 negative replies x 3 = 12 in 5 minutes, over HN's 10 an hour: spreading.
    assert any("Spreading" in h for h in world.headers())
    assert "negative repl" in str(world.slack.payloads[-1])


def test_a_source_that_fails_to_refresh_does_not_stop_tracking(world: World) -> None:
    post(world, 106)
    world.service.poll()
    row = world.service.store.mentions(negative=True)[0]
    world.hn.items.clear()  # the stand-in forgets the story: refresh returns nothing
    world.minutes(6)
    after = world.service.store.mention(row.id)
    assert after.next_refresh_at is not None and after.refresh_step == 1


def test_a_spike_alerts_once_per_window_with_the_top_posts(
    write_config: ConfigWriter,
    hn_url: str,
    hn_api: HackerNewsAPI,
    slack: tuple[StandIn, SlackWebhook],
    client: httpx.Client,
) -> None:
    w = make_world(
        write_config,
        hn_url,
        hn_api,
        slack,
        client,
        extra="spread: {enabled: false}",
    )
    try:
        store = w.service.store
        # A week of history: one negative a day (a quiet brand), through the pipeline.
        start = w.clock.now
        history = [
            Mention(
                source="hackernews",
                external_id=str(200 + day),
                url=f"https://news.ycombinator.com/item?id={200 + day}",
                author="someone",
                text=f"{ANGRY} ({day} days ago)",
                created_at=start - timedelta(days=day),
            )
            for day in range(7, 0, -1)
        ]
        w.clock.now = start - timedelta(days=8)
        w.service.pipeline.process("hackernews", "history", history, None)
        w.clock.now = start
        assert len(store.mentions(negative=True)) == 7
        # Every mention has been alerted; clear the slate.
        w.service.dispatch()
        before = len(w.slack.payloads)
        # Two negatives in an hour is not a spike for a quiet brand.
        for n in range(2):
            post(w, 300 + n, text=f"{ANGRY} #{n}")
        w.service.poll()
        w.minutes(1)
        assert not any("Spike" in h for h in w.headers()[before:])
        # Seven more in the same hour is.
        for n in range(2, 9):
            post(w, 300 + n, text=f"{ANGRY} #{n}")
        w.service.poll()
        w.minutes(1)
        spikes = [p for p in w.slack.payloads if "Spike" in str(p["blocks"][0])]
        assert len(spikes) == 1
        body = str(spikes[0])
        assert "9 negative mentions of Acme Coffee" in body
        assert message_problems(spikes[0]) == []
        # More in the next hours: no second spike within repeat_after (6 h).
        for n in range(9, 20):
            post(w, 300 + n, text=f"{ANGRY} #{n}")
        w.service.poll()
        w.minutes(60)
        assert len([p for p in w.slack.payloads if "Spike" in str(p["blocks"][0])]) == 1
    finally:
        w.service.close()


def test_an_unanswered_negative_gets_one_reminder_and_an_acknowledged_one_none(
    world: World,
) -> None:
    post(world, 401)
    post(world, 402, text=ANGRY + " twice")
    world.service.poll()
    world.service.dispatch()
    rows = {r.external_id: r.id for r in world.service.store.mentions(negative=True)}
    world.service.store.set_status(rows["402"], "acknowledged", None, world.clock())
    world.minutes(4 * 60 - 2)
    assert not any("Still unanswered" in h for h in world.headers())
    world.minutes(10)
    reminders = [p for p in world.slack.payloads if "unanswered" in str(p["blocks"][0]).lower()]
    assert len(reminders) == 1
    assert f"mentions ack {rows['401']}" in str(reminders[0])
    world.minutes(8 * 60)
    assert (
        len([p for p in world.slack.payloads if "unanswered" in str(p["blocks"][0]).lower()]) == 1
    )


def test_response_times_per_brand(world: World) -> None:
    from monitor.followup import response_stats

    post(world, 501)
    world.service.poll()
    world.clock.advance(minutes=1)
    world.service.dispatch()
    row = world.service.store.mentions(negative=True)[0]
    world.clock.advance(minutes=30)
    world.service.store.set_status(row.id, "acknowledged", "on it", world.clock())
    stats = response_stats(world.service.store, None)["Acme Coffee"]
    assert stats.negatives == 1 and stats.unanswered == 0
    assert stats.alert_to_ack == [30 * 60]
    assert 60 <= stats.post_to_alert[0] <= 60 + 120  # posted a minute before the poll


def test_a_database_without_spread_tables_upgrades(tmp_path: Path) -> None:
    from monitor.migrations import current, head, upgrade
    from monitor.store import Store

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store(url, migrate=False)
    upgrade(old.engine, "0003")
    old.close()
    store = Store(url)
    assert current(store.engine) == head()
    store.close()


def test_the_service_runs_the_follow_up_job_every_minute(world: World) -> None:
    from monitor.scheduler import WATCH_EVERY, Scheduler

    item = post(world, 601)
    world.service.poll()
    world.service.dispatch()
    scheduler = Scheduler(world.service)
    scheduler.start()
    try:
        job = scheduler.scheduler.get_job("watch")
        assert job is not None and job.trigger.interval == WATCH_EVERY
    finally:
        scheduler.scheduler.shutdown(wait=True)
    item["points"] = 60
    world.clock.advance(minutes=6)
    scheduler._watch_then_dispatch()  # what the job runs: follow-up, then dispatch
    assert any("viral" in h.lower() or "Spreading" in h for h in world.headers())


def test_a_source_that_stops_working_and_recovers_tells_slack_once_each(
    world: World, hn_server: StandIn
) -> None:
    from tests.standins.server import Response

    hn_server.fail_next(Response(503, {"message": "down"}), times=5)
    for _ in range(5):
        world.service.poll()
        world.clock.advance(minutes=5)
        world.service.dispatch()
    world.service.poll()  # works again
    world.service.dispatch()
    headers = world.headers()
    assert len([h for h in headers if "hackernews has stopped working" in h]) == 1, headers
    assert len([h for h in headers if "works again" in h]) == 1, headers
    stopped = next(p for p in world.slack.payloads if "stopped working" in str(p))
    assert "503" in str(stopped) and "mention-monitor check" in str(stopped)


def _tracked(**kw: Any) -> Any:
    from monitor.store import Snapshot, Tracked

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    base: dict[str, Any] = {
        "id": 1,
        "source": "hackernews",
        "external_id": "1",
        "brand": "Acme Coffee",
        "created_at": now - timedelta(hours=6),
        "author_followers": None,
        "level": 0,
        "step": 3,
        "negative_replies": 0,
        "first": Snapshot(now - timedelta(hours=6), {"score": 1}, 0),
        "last": Snapshot(now - timedelta(hours=3), {"score": 1}, 0),
    }
    base.update(kw)
    return Tracked(**base), now


def test_assess_levels_gains_and_the_slow_but_large_rule() -> None:
    from connectors.hackernews import HackerNewsConfig
    from monitor.spread import assess
    from monitor.store import Snapshot

    rule = HackerNewsConfig(base_url="http://x").spread
    assert rule is not None
    post_, now = _tracked()
    # 4 points in 3 hours: under min_gain and under the rate.
    assert assess(rule, post_, {"score": 5}, 0, now, 3.0).level == 0
    # 30 points between two readings 3 h apart: 10/h is spreading, not viral (needs 40/h).
    v = assess(rule, post_, {"score": 31}, 0, now, 3.0)
    assert (v.level, v.moving) == (1, True)
    # 21 points in 9 h (2.3/h, under every rate) is still spreading: it gained what
    # viral needs (5 * 40 / 10 = 20).
    slow = dataclasses.replace(post_, created_at=now - timedelta(hours=12))
    later = now + timedelta(hours=3)
    assert assess(rule, slow, {"score": 22}, 0, later, 3.0).level == 1
    assert assess(rule, slow, {"score": 20}, 0, later, 3.0).level == 0
    # Viral: 60 points in half an hour.
    fresh = dataclasses.replace(
        post_,
        created_at=now - timedelta(minutes=30),
        first=Snapshot(now - timedelta(minutes=25), {"score": 1}, 0),
        last=Snapshot(now - timedelta(minutes=5), {"score": 20}, 0),
    )
    assert assess(rule, fresh, {"score": 61}, 0, now, 3.0).level == 2
    # One negative reply counts 3: with no points, under min_gain (5); two make 6.
    flat = dataclasses.replace(fresh, last=Snapshot(now - timedelta(minutes=5), {"score": 1}, 0))
    assert assess(rule, flat, {"score": 1}, 1, now, 3.0).level == 0
    assert assess(rule, flat, {"score": 1}, 2, now, 3.0).level == 1
    # A big author makes it spreading where a followers rule is set; one key set by the
    # owner leaves the source's other defaults.
    followed = HackerNewsConfig(base_url="http://x", spread={"followers": 1000}).spread
    assert followed is not None and followed.spreading == 10
    big = dataclasses.replace(post_, author_followers=5000)
    verdict = assess(followed, big, {"score": 1}, 0, now, 3.0)
    assert verdict.level == 1 and verdict.reach
    assert not assess(rule, big, {"score": 1}, 0, now, 3.0).reach


def test_a_metered_source_reads_only_up_to_its_share_of_the_budget(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connectors.base import Usage

    connector = world.service.connectors["hackernews"]
    for n in range(10):
        post(world, 700 + n, text=f"{ANGRY} #{n}")
    world.service.poll()
    asked: list[int] = []
    real_refresh = connector.refresh

    def counting(ids: Any) -> Any:
        asked.append(len(ids))
        return real_refresh(ids)

    monkeypatch.setattr(connector, "refresh", counting)
    # 77 of 100 used: a share of 80 leaves 3 readings this month.
    monkeypatch.setattr(connector, "usage", lambda: Usage("2026-11", 77, 100))
    world.minutes(6)
    assert asked == [3]
    store = world.service.store
    waiting = [m for m in store.mentions(negative=True) if m.refresh_step == 0]
    assert len(waiting) == 7  # postponed to their next step, not dropped
    assert all(m.next_refresh_at is not None for m in store.mentions(negative=True))
