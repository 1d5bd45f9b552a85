"""Alerts and digests for channel tests, built the way the dispatcher hands them over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.models import Alert


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
        reasons=("vader -0.70",),
        engagement={"score": 12, "comments": 3},
        mention_id=7,
    )
    values.update(extra)
    return Alert(**values)
