"""`mention-monitor demo`: the morning's story, told by the real pipeline, read as printed.

The replay runs in-process on its own clock (a fixed "now", so the story's day is known)
and prints to a buffer; ``then`` looks into its database before it goes, as the inbox does.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Config
from monitor.demo import DemoResult, Story, run_demo, story_data
from monitor.store import Store

AGE = re.compile(r"\b(?:just now|\d+ (?:min|h|d) ago)")
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def blocks(out: str) -> list[str]:
    """The alerts the console channel printed, each one block."""
    return [b for b in out.split("\n\n") if b.startswith("[")]


@pytest.fixture(scope="module")
def told() -> tuple[str, DemoResult]:
    out = io.StringIO()
    result = run_demo(out, pace=0, now=NOW)
    return out.getvalue(), result


def test_the_first_alert_is_a_real_looking_complaint_after_a_calm_morning(
    told: tuple[str, DemoResult],
) -> None:
    out, _ = told
    before = out.split("\n[", 1)[0]
    assert before.count("nothing negative: no alert") >= 6  # the calm morning, counted
    first = blocks(out)[0]
    assert first.startswith("[NEGATIVE] Acme Coffee on reddit")
    assert "charged me twice and won't refund in store" in first
    assert 'why: money: "charged me twice"; no help: "nobody has replied"' in first
    assert AGE.findall(first) == ["50 min ago"]  # posted 07:20, found at 08:10: the story's clock
    # The hostile-text samples stay in the tests: nothing in the story is an attack.
    for bad in ("\x1b", "\u202e", "<script", "<!channel>", "javascript:"):
        assert bad not in out


def test_the_complaint_spreads_is_answered_and_the_other_one_is_reminded_of(
    told: tuple[str, DemoResult],
) -> None:
    out, result = told
    alerts = blocks(out)
    spreading = [b for b in alerts if b.startswith("[HIGH] Spreading:")]
    assert len(spreading) == 1 and result.escalations == 1
    assert "12 → 47 upvotes, 2 → 5 comments in 35 min (since first seen)" in spreading[0]
    assert len(AGE.findall(spreading[0])) == 1
    complaint = re.search(r"mentions ack (\d+)`", alerts[0])
    assert complaint is not None
    n = complaint.group(1)
    assert f"mentions ack {n}`" in spreading[0]  # the same mention, escalated
    answer = out.index(f"mention #{n}: new -> acknowledged")
    assert out.index("[HIGH] Spreading:") < answer < out.index("[HIGH] Spike:")
    reminders = [b for b in alerts if "Still unanswered" in b.splitlines()[0]]
    assert len(reminders) == 1 and result.reminders == 1
    assert "still new 4 hours after it was first seen" in reminders[0]
    assert "waited 25 min for a flat white" in reminders[0]  # not the acknowledged one
    assert f"mentions ack {n}`" not in reminders[0]


def test_the_app_update_brings_a_spike_of_complaints(told: tuple[str, DemoResult]) -> None:
    out, result = told
    spike = next(b for b in blocks(out) if b.startswith("[HIGH] Spike:"))
    assert spike.startswith("[HIGH] Spike: 5 negative mentions of Acme Coffee in an hour")
    assert spike.count("\n  - ") == 5 and result.spikes == 1
    assert "only 3 hours of history yet, so the floor of 5 applies" in spike


def test_every_count_in_the_end_is_the_pipeline_s(told: tuple[str, DemoResult]) -> None:
    out, result = told
    posts = story_data()["posts"]
    assert result.replayed == len(posts) == 21
    assert (result.stored, result.negative) == (19, 7)
    assert result.alerts_sent == len(blocks(out)) == 7 + 3  # each negative, then 3 follow-ups
    assert out.rstrip().endswith(
        "10 alerts: one for each negative mention, then 1 post spreading, 1 spike of "
        "complaints and 1 reminder (a complaint, still unanswered after 4 hours)."
    )
    assert not re.search(r"\b1 (?:posts|alerts|likes|comments|points|spikes|reminders)\b", out)


def test_its_ack_hints_work_on_its_own_database_while_it_runs() -> None:
    seen: dict[str, Any] = {}

    def then(config: Config, result: DemoResult) -> None:
        assert result.config_path is not None
        seen["hints"] = re.findall(r"`mention-monitor (mentions ack \d+ -c \S+)`", out.getvalue())
        command = seen["hints"][-1].split()  # the reminder's
        seen["ack"] = CliRunner().invoke(cli, command)
        store = Store(config.database)
        try:
            seen["statuses"] = {r.external_id: r.status for r in store.mentions(limit=100)}
        finally:
            store.close()

    out = io.StringIO()
    run_demo(out, then, pace=0, now=NOW)
    assert len(seen["hints"]) == 9  # every alert but the spike's is about one mention
    assert seen["ack"].exit_code == 0, seen["ack"].output
    assert "new -> acknowledged" in seen["ack"].output
    statuses = seen["statuses"]
    assert statuses["t3_1h4twice"] == "acknowledged"  # the demo's own answer
    assert statuses["at://did:plc:9hq4l2pfx8w3ej6nzt1c/app.bsky.feed.post/3lcq2burnt"] == (
        "acknowledged"  # the hint, as printed
    )


@pytest.mark.parametrize("hour", [0, 7, 12, 13, 23])
def test_the_story_is_the_last_morning_that_is_over(hour: int) -> None:
    now = datetime(2026, 12, 3, hour, 20).astimezone()  # local time, as the owner's clock
    story = Story.load(now)
    assert story.end <= now.astimezone(UTC) < story.end + timedelta(days=1)
    assert story.start.astimezone().strftime("%H:%M") == "07:00"
    assert all(story.start <= p.posted <= p.seen <= story.end for p in story.posts)
