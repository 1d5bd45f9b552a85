"""Words shared by every channel's rendering: times, sentiment, engagement, titles.

Each channel escapes these for its own medium (Slack mrkdwn, HTML, the terminal);
nothing here is escaped.

The kinds of alert (monitor/models.py) and what each one looks like:

- ``mention`` (and ``test``): a new mention, its text, author, sentiment, link;
- ``spreading``, ``viral``: a mention already alerted that is taking off; the
  same as a mention plus ``details`` (the growth in numbers) first;
- ``reminder``: a negative mention nobody has answered; like a mention, with
  ``details`` saying how long it has waited;
- ``changed``: a review that its author changed for the worse; like a mention, with
  ``details`` saying what changed ("This review changed from 4 to 1 stars.");
- ``spike``, ``health``: notices about no one mention, headed by their
  ``title``; a spike lists its top ``posts``, a health notice has ``text``.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from monitor.models import (
    CHANGED,
    HEALTH,
    MENTION,
    REMINDER,
    SPIKE,
    SPREADING,
    TEST,
    VIRAL,
    Alert,
    Digest,
    utcnow,
)
from monitor.reasons import why_text

SOURCE_NAMES = {
    "hackernews": "Hacker News",
    "x": "X",
    "reddit": "Reddit",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "rss": "RSS",
    "google_reviews": "Google",
    "trustpilot": "Trustpilot",
    "youtube": "YouTube",
    "app_store": "App Store",
    "google_play": "Google Play",
}

ENGAGEMENT_WORDS = {
    "likes": "likes",
    "reposts": "reposts",
    "replies": "replies",
    "quotes": "quotes",
    "score": "points",
    "comments": "comments",
}


#: What "now" is for the ages in alerts: the wall clock, except in a replay on a clock of
#: its own (`mention-monitor demo`), which sets it for its thread with ``clock``.
_NOW: ContextVar[Callable[[], datetime]] = ContextVar("alerts_now", default=utcnow)


@contextmanager
def clock(now: Callable[[], datetime]) -> Iterator[None]:
    """Ages in alerts rendered in this thread (``ago``) count from ``now()``."""
    token = _NOW.set(now)
    try:
        yield
    finally:
        _NOW.reset(token)


def ago(when: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or _NOW.get()()) - when).total_seconds())
    if seconds < 90:
        return "just now" if seconds < 60 else "1 min ago"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"  # pragma: no cover


def duration(span: timedelta) -> str:
    """A span in words, never rounded to nothing: ``1 minute``, ``4 hours``,
    ``1 hour 30 minutes``, ``2 days``."""

    def count(n: int, unit: str) -> str:
        return f"{n} {unit}" + ("" if n == 1 else "s")

    minutes = max(1, round(span.total_seconds() / 60))
    if minutes < 60:
        return count(minutes, "minute")
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return count(round(hours / 24), "day")
    if minutes and hours < 10:
        return f"{count(hours, 'hour')} {count(minutes, 'minute')}"
    return count(hours + (minutes >= 30), "hour")


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def why(alert: Alert) -> str:
    """Why the mention was flagged, in owner words (monitor/reasons.py), without the
    scorer's numbers (``mentions show`` has those)."""
    return why_text(alert.reasons) or f"the overall tone reads {alert.label}"


#: The counter a source's own users think in, where it is not the usual word.
SOURCE_WORDS = {("reddit", "score"): "upvotes"}


def counter_word(key: str, source: str) -> str:
    """What an engagement counter is called on ``source``: ``points`` on Hacker News,
    ``upvotes`` on Reddit."""
    return SOURCE_WORDS.get((source, key)) or ENGAGEMENT_WORDS.get(key, key)


#: A counter of one, in words ("1 like", not "1 likes").
_ONE = {
    "upvotes": "upvote",
    "likes": "like",
    "reposts": "repost",
    "replies": "reply",
    "quotes": "quote",
    "points": "point",
    "comments": "comment",
}


def engagement(alert: Alert) -> str:
    """``2 comments, 1 point, 93% upvoted``: the counters that are not zero; empty if none."""
    said = []
    for key, value in sorted(alert.engagement.items()):
        if key == "upvote_ratio":
            said.append(f"{value}% upvoted")
        elif value:
            word = counter_word(key, alert.source)
            said.append(f"{value} {_ONE.get(word, word) if value == 1 else word}")
    return ", ".join(said)


#: Said by every channel on a message re-sent after a process stopped while sending it.
REPEAT_NOTE = "This may repeat an alert sent before a restart."

#: What a digest line starts with, so an escalation or notice among mentions stands out.
KIND_LABELS = {
    SPREADING: "Spreading",
    VIRAL: "Going viral",
    REMINDER: "Reminder",
    CHANGED: "Review changed",
    SPIKE: "Spike",
    HEALTH: "Health",
}
#: How a digest title counts the alerts that are not first words on a mention.
_KIND_NOUNS = {
    SPREADING: ("post spreading", "posts spreading"),
    VIRAL: ("post going viral", "posts going viral"),
    REMINDER: ("reminder", "reminders"),
    CHANGED: ("review changed", "reviews changed"),
    SPIKE: ("spike", "spikes"),
    HEALTH: ("health notice", "health notices"),
}
_ESCALATIONS = {
    SPREADING: "Spreading: negative post about {brand} on {source}",
    VIRAL: "Going viral: negative post about {brand} on {source}",
    REMINDER: "Still unanswered: negative mention of {brand} on {source}",
    CHANGED: "Review changed: {brand} on {source}",
}


def tag(alert: Alert) -> str:
    """The word in brackets a console block or an email digest line starts with: the
    severity, except for a source's health, which is not a negative mention."""
    if alert.kind == HEALTH:
        return "SOURCE OK" if alert.severity == "info" else "SOURCE PROBLEM"
    return alert.severity.upper()


def is_notice(alert: Alert) -> bool:
    """About no one mention (a spike, a source's health): headed by its title, no post body."""
    return alert.mention_id is None and alert.kind not in (MENTION, TEST)


def kind_label(alert: Alert) -> str:
    return KIND_LABELS.get(alert.kind, "")


def digest_label(alert: Alert) -> str:
    """The label a digest line starts with: none when the subject says it already."""
    label = kind_label(alert)
    return "" if is_notice(alert) and subject(alert).startswith(label) else label


def subject(alert: Alert) -> str:
    """One line that says what happened: an email subject, a push title, a Slack header."""
    source = source_name(alert.source)
    if alert.kind in _ESCALATIONS:
        return _ESCALATIONS[alert.kind].format(brand=alert.brand, source=source)
    if is_notice(alert) or alert.kind in (SPIKE, HEALTH):
        if alert.title:
            return alert.title
        if alert.kind == SPIKE:
            return f"Spike: negative mentions of {alert.brand}"
        return f"{source}: {kind_label(alert) or alert.kind} notice"
    level = {"high": "Very negative", "negative": "Negative"}.get(alert.severity, "New")
    return f"{level} mention of {alert.brand} on {source}"


OPEN_IN_INBOX = "Open in inbox"
ACKNOWLEDGE = "Acknowledge"


def inbox_links(alert: Alert) -> list[tuple[str, str]]:
    """(words, address) of the inbox pages this alert leads to (``web.public_url`` set):
    its page, then the Acknowledge page while the mention is unanswered. Our addresses, so
    shown as links by every channel; none without ``public_url``."""
    links = []
    if alert.inbox_url and safe_link(alert.inbox_url):
        links.append((OPEN_IN_INBOX, alert.inbox_url))
    if alert.ack_url and safe_link(alert.ack_url):
        links.append((ACKNOWLEDGE, alert.ack_url))
    return links


def follow_up(alert: Alert, config: str | None = None) -> str | None:
    """What the owner can do next, with the command (in backticks), or None.

    With the inbox's address known (the alert has links), the answer is a tap away: the
    line says so instead of giving a command nobody types on a phone. ``config``: the
    configuration file the command must name (``-c``) to reach the same database, when
    it is not the one a command finds by default (the demo's).
    """
    config = config or alert.config_hint
    where = f" -c {shlex.quote(config)}" if config else ""
    if alert.mention_id is not None:
        n = alert.mention_id
        status = f" ({alert.status})" if alert.status not in (None, "new") else ""
        if alert.inbox_url:
            return f"mention #{n}{status} · acknowledge, resolve or ignore it in the inbox"
        return (
            f"mention #{n}{status} · when handled: `mention-monitor mentions ack {n}{where}` "
            "(or resolve / ignore)"
        )
    if alert.kind == SPIKE:
        brand = shlex.quote(alert.brand)
        command = f"mention-monitor mentions --negative --brand {brand} --since 1h{where}"
        return f"list them all: `{command}`"
    return None


def digest_title(digest: Digest) -> str:
    alerts = digest.alerts
    firsts = [a for a in alerts if a.kind not in _KIND_NOUNS]
    brands = ", ".join(sorted({a.brand for a in alerts if a.kind != HEALTH}))
    negative = sum(1 for a in firsts if a.label == "negative")
    others = Counter(a.kind for a in alerts if a.kind in _KIND_NOUNS)
    if not others:
        n = len(firsts)
        what = f"{n} mention{'s' if n != 1 else ''} of {brands}"
        if digest.kind == "rollup":
            return f"{what} in the last minute (rolled up)"
        return f"Digest: {what}, {negative} negative"
    parts = []
    if firsts:
        n = len(firsts)
        parts.append(f"{n} new mention{'s' if n != 1 else ''} ({negative} negative)")
    for kind, (one, many) in _KIND_NOUNS.items():
        if others[kind]:
            parts.append(f"{others[kind]} {one if others[kind] == 1 else many}")
    n = len(alerts)
    what = f"{n} alert{'s' if n != 1 else ''}{f' about {brands}' if brands else ''}: "
    what += ", ".join(parts)
    if digest.kind == "rollup":
        return f"{what}, in the last minute (rolled up)"
    return f"Digest: {what}"


def safe_link(url: str) -> str | None:
    """Only http(s) links are shown as links; anything else (javascript:, data:) is not."""
    return url if url.lower().startswith(("https://", "http://")) else None
