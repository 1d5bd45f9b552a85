"""Alerts and digests for channel tests, built the way the dispatcher hands them over.

``make_alert`` is a mention alert; ``make_escalation`` and ``make_reminder`` add
the details the spread tracker and the reminder job write; ``make_spike`` and
``make_health`` are notices shaped like ``monitor.store._notice`` builds them
(tests/alerts/test_kinds.py checks that against a real store).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.models import HEALTH, REMINDER, SPIKE, SPREADING, Alert, PostRef

GROWTH = (
    "12 -> 47 points, 3 -> 19 comments in 35 min (since first seen)",
    "about 60 engagement an hour since posting",
)
WAITED = ("still new 4 hours after it was first seen: nobody has answered it yet",)
SPIKE_DETAILS = (
    "14 negative mentions of Acme Coffee in the last hour; usually 0.4 an hour over the last 7d",
    "a spike is 6 or more in an hour for this brand now; "
    "the next spike alert for it comes no sooner than 6h",
)
HEALTH_TEXT = (
    "hackernews failed 3 polls in a row, so new mentions there are not being seen. "
    "Last error: HTTP 503 from the Algolia API. `mention-monitor check` shows its state."
)


def make_alert(text: str = "Cold coffee, rude staff.", **extra: Any) -> Alert:
    values: dict[str, Any] = dict(
        id=1,
        kind="mention",
        channel="test",
        severity="high",
        brand="Acme Coffee",
        source="hackernews",
        author="grumpy",
        url="https://news.ycombinator.com/item?id=1",
        text=text,
        created_at=datetime.now(UTC) - timedelta(minutes=5),
        title=None,
        compound=-0.7,
        label="negative",
        reasons=("vader -0.70", "negative words: rude"),
        engagement={"score": 12, "comments": 3},
        mention_id=7,
    )
    values.update(extra)
    return Alert(**values)


def make_escalation(kind: str = SPREADING, **extra: Any) -> Alert:
    """A spreading or viral alert about mention #7, with its growth numbers."""
    values: dict[str, Any] = dict(
        id=11, kind=kind, severity="high", details=GROWTH, status="acknowledged"
    )
    text = extra.pop("text", "Cold coffee, rude staff.")
    values.update(extra)
    return make_alert(text, **values)


def make_reminder(**extra: Any) -> Alert:
    values: dict[str, Any] = dict(
        id=12, kind=REMINDER, severity="negative", details=WAITED, status="new"
    )
    text = extra.pop("text", "Cold coffee, rude staff.")
    values.update(extra)
    return make_alert(text, **values)


def make_post(n: int = 1, **extra: Any) -> PostRef:
    values: dict[str, Any] = dict(
        mention_id=100 + n,
        source="reddit",
        author=f"user{n}",
        text=f"complaint number {n}: Acme Coffee lost my order",
        url=f"https://www.reddit.com/r/coffee/comments/{n}/",
        created_at=datetime.now(UTC) - timedelta(minutes=10 * n),
        label="negative",
        compound=-0.6,
    )
    values.update(extra)
    return PostRef(**values)


def make_notice(kind: str, **extra: Any) -> Alert:
    """A notice as the store builds it: no mention, our words in title/text/details."""
    values: dict[str, Any] = dict(
        id=20,
        kind=kind,
        channel="test",
        severity="high",
        brand="mention-monitor",
        source="mention-monitor",
        author="mention-monitor",
        url="",
        text="",
        created_at=datetime.now(UTC) - timedelta(minutes=1),
        title=None,
        compound=0.0,
        label="neutral",
        reasons=(),
        engagement={},
        mention_id=None,
    )
    values.update(extra)
    return Alert(**values)


def make_spike(posts: tuple[PostRef, ...] | None = None, **extra: Any) -> Alert:
    values: dict[str, Any] = dict(
        id=21,
        title="Spike: 14 negative mentions of Acme Coffee in an hour",
        brand="Acme Coffee",
        details=SPIKE_DETAILS,
        posts=tuple(make_post(n) for n in range(1, 4)) if posts is None else posts,
    )
    values.update(extra)
    return make_notice(SPIKE, **values)


def make_health(**extra: Any) -> Alert:
    values: dict[str, Any] = dict(
        id=22,
        title="hackernews has stopped working",
        severity="negative",
        source="hackernews",
        text=HEALTH_TEXT,
    )
    values.update(extra)
    return make_notice(HEALTH, **values)
