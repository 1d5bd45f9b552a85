"""Words shared by every channel's rendering: times, sentiment, engagement, titles.

Each channel escapes these for its own medium (Slack mrkdwn, HTML, the terminal);
nothing here is escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.models import Alert, Digest

SOURCE_NAMES = {
    "hackernews": "Hacker News",
    "x": "X",
    "reddit": "Reddit",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "rss": "RSS",
}

ENGAGEMENT_WORDS = {
    "likes": "likes",
    "reposts": "reposts",
    "replies": "replies",
    "quotes": "quotes",
    "score": "points",
    "comments": "comments",
}


def ago(when: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now(UTC)) - when).total_seconds())
    if seconds < 90:
        return "just now" if seconds < 60 else "1 min ago"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"  # pragma: no cover


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def sentiment(alert: Alert) -> str:
    return f"{alert.label} {alert.compound:+.2f}"


def engagement(alert: Alert) -> str:
    return ", ".join(
        f"{value}% upvoted"
        if key == "upvote_ratio"
        else f"{value} {ENGAGEMENT_WORDS.get(key, key)}"
        for key, value in sorted(alert.engagement.items())
    )


def subject(alert: Alert) -> str:
    """One line that says brand, source and sentiment: an email subject, a push title."""
    level = {"high": "Very negative", "negative": "Negative"}.get(alert.severity, "New")
    return f"{level} mention of {alert.brand} on {source_name(alert.source)}"


def digest_title(digest: Digest) -> str:
    n = len(digest.alerts)
    brands = sorted({a.brand for a in digest.alerts})
    what = f"{n} mention{'s' if n != 1 else ''} of {', '.join(brands)}"
    if digest.kind == "rollup":
        return f"{what} in the last minute (rolled up)"
    negative = sum(1 for a in digest.alerts if a.label == "negative")
    return f"Digest: {what}, {negative} negative"


def safe_link(url: str) -> str | None:
    """Only http(s) links are shown as links; anything else (javascript:, data:) is not."""
    return url if url.lower().startswith(("https://", "http://")) else None
