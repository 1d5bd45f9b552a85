"""What the pages say, in an owner's words rather than the scorer's.

The scorers (monitor/sentiment/complaint.py and vader.py) explain a score with reasons
such as ``vader -0.44``, ``complaint: waiting ("still waiting")`` and ``negative words:
worst, never``. The inbox shows them as ``waiting: still waiting`` and ``angry words:
worst, never``, and leaves the numbers out. A reason it does not know is shown as written.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

#: A complaint cue's category (monitor/sentiment/cues.py) as an owner would say it.
CATEGORY_WORDS = {
    "waiting": "waiting",
    "failure": "something failed",
    "money": "money",
    "no help": "no help",
    "repeated": "happened before",
    "sarcasm": "sarcasm",
    "tone": "angry tone",
    "dislike": "dislike",
    "expectation": "let down",
    "fed up": "fed up",
    "harsh words": "harsh words",
    "help request": "asks for help",
    "lost customer": "leaving you",
    "negated positive": "not good",
    "not delivered": "not delivered",
    "poor quality": "poor quality",
    "resolved": "sorted out (counts against)",
    "trouble": "your trouble word",
}

_CUE = re.compile(r'^(?:complaint: )?(?P<category>[a-z][a-z ]*) \("(?P<text>.*)"\)$', re.S)
_NUMBER_ONLY = re.compile(r"^(?:vader|score|compound) [+-]?\d+(?:\.\d+)?$")

SEVERITY_WORDS = {"high": "serious", "negative": "negative", "info": "info"}
LEVEL_WORDS = {0: "", 1: "spreading", 2: "viral"}
STATUS_WORDS = {
    "new": "needs an answer",
    "acknowledged": "acknowledged",
    "resolved": "resolved",
    "ignored": "ignored",
}


def reason_words(reason: str) -> str | None:
    """One scorer reason in owner words; None for one that is only a number."""
    reason = reason.strip()
    if not reason or _NUMBER_ONLY.match(reason):
        return None
    if reason.startswith("negative words: "):
        return "angry words: " + reason.removeprefix("negative words: ")
    if reason.startswith("positive words discounted"):
        return "kind words next to a complaint count for less"
    cue = _CUE.match(reason)
    if cue and cue["category"] in CATEGORY_WORDS:
        return f"{CATEGORY_WORDS[cue['category']]}: {cue['text']}"
    return reason


def why(reasons: list[str] | tuple[str, ...] | None) -> list[str]:
    """The reasons a mention was (or was not) flagged, in owner words, each once."""
    out: list[str] = []
    for reason in reasons or ():
        said = reason_words(str(reason))
        if said and said not in out:
            out.append(said)
    return out


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
