"""What the pages say, in an owner's words rather than the scorer's.

Reasons in owner words (``waiting: "still waiting"``, ``angry words: worst, never``)
come from monitor/reasons.py, shared with the alerts and the ``mentions`` listing;
this module adds what only the pages need: ages, safe links, reach, template helpers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from monitor.reasons import why

SEVERITY_WORDS = {"high": "serious", "negative": "negative", "info": "info"}
LEVEL_WORDS = {0: "", 1: "spreading", 2: "viral"}
STATUS_WORDS = {
    "new": "needs an answer",
    "acknowledged": "acknowledged",
    "resolved": "resolved",
    "ignored": "ignored",
}


def link_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) address with a host; anything else is not made a link."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ord(c) < 32 or c.isspace() for c in url.strip()):
        return None
    return url.strip()


def age(when: datetime | None, now: datetime | None = None) -> str:
    """``5 min ago``, ``3 h ago``, ``2 days ago``."""
    if when is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "never"


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def reach(followers: int | None) -> str:
    """An author's reach: ``1.2k followers``; empty when the source does not say."""
    if followers is None:
        return ""
    if followers >= 1_000_000:
        count = f"{followers / 1_000_000:.1f}M"
    elif followers >= 10_000:
        count = f"{followers // 1000}k"
    elif followers >= 1000:
        count = f"{followers / 1000:.1f}k"
    else:
        count = str(followers)
    return f"{count} follower" + ("" if followers == 1 else "s")


def engagement_words(counts: dict[str, Any] | None) -> str:
    return ", ".join(f"{v} {k}" for k, v in sorted((counts or {}).items())) or "no counts"


TEMPLATE_HELPERS: dict[str, Any] = {
    "why": why,
    "link_url": link_url,
    "age": age,
    "when": when,
    "iso": iso,
    "reach": reach,
    "engagement_words": engagement_words,
    "SEVERITY_WORDS": SEVERITY_WORDS,
    "LEVEL_WORDS": LEVEL_WORDS,
    "STATUS_WORDS": STATUS_WORDS,
}
