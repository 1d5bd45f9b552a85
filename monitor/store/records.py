"""Plain records the store hands out and takes in, and outbox rows turned into Alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.models import Alert, Mention, PostRef, Score, Severity
from monitor.store.tables import AlertRow, MentionRow


@dataclass(frozen=True, slots=True)
class DueAlert:
    """An outbox row whose time has come, before it is claimed.

    ``repeat_of`` is set on a row released after a process stopped mid-send: the claim
    token it went out under, shared by every row that was in that message.
    """

    id: int
    channel: str
    severity: str
    queued_at: datetime
    attempts: int
    repeat_of: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelWait:
    """A channel waited for as a whole: no request before ``until``; ``failures`` in a row."""

    until: datetime | None
    reason: str
    failures: int


@dataclass(frozen=True, slots=True)
class NewMention:
    """A matched, scored mention and where its alerts go, ready to be written."""

    mention: Mention
    brand: str
    terms: tuple[str, ...]
    score: Score
    severity: Severity
    channels: tuple[str, ...]
    kind: str = "mention"
    #: When to first re-read its engagement (a negative mention on a source that can);
    #: None: not tracked.
    track_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    """A negative mention's response times: posted, first alert sent, first answered."""

    id: int
    brand: str
    status: str
    created_at: datetime
    acked_at: datetime | None
    alerted_at: datetime | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: datetime
    engagement: dict[str, int]
    negative_replies: int


@dataclass(frozen=True, slots=True)
class Tracked:
    """A negative mention due for an engagement reading, with its first and last readings."""

    id: int
    source: str
    external_id: str
    brand: str
    created_at: datetime
    author_followers: int | None
    level: int
    step: int
    negative_replies: int
    first: Snapshot
    last: Snapshot


@dataclass(frozen=True, slots=True)
class Reading:
    """The outcome of one reading: a snapshot (unless ``engagement`` is None), the next
    reading (None: stop tracking), and an escalation alert to queue: (kind, channels,
    payload)."""

    mention_id: int
    engagement: dict[str, int] | None
    negative_replies: int | None
    next_at: datetime | None
    step: int
    level: int
    escalation: tuple[str, tuple[str, ...], dict[str, Any]] | None = None


def _alert(row: AlertRow, mention: MentionRow | None) -> Alert:
    if mention is None:
        return _notice(row)
    return Alert(
        id=row.id,
        kind=row.kind,
        channel=row.channel,
        severity=row.severity,  # type: ignore[arg-type]
        brand=mention.brand,
        source=mention.source,
        author=mention.author,
        url=mention.url,
        text=mention.text,
        created_at=mention.created_at,
        title=mention.title,
        compound=mention.compound,
        label=mention.label,  # type: ignore[arg-type]
        reasons=tuple(mention.reasons),
        engagement=dict(mention.engagement),
        mention_id=mention.id,
        matched_terms=tuple(mention.matched_terms),
        attempts=row.attempts,
        queued_at=row.created_at,
        details=tuple(str(d) for d in (row.payload or {}).get("details") or ()),
        status=mention.status,
        possible_repeat=bool(row.possible_repeat),
        rating=mention.rating,
        edited_at=mention.edited_at,
    )


def _episode(last_success: datetime | None) -> str:
    """Names a run of failures by the success before it, so each run alerts once."""
    return last_success.strftime("%Y%m%dT%H%M%S") if last_success else "never"


def _notice(row: AlertRow) -> Alert:
    """A notice (health alert) rendered through the same Alert shape channels know."""
    p = row.payload or {}
    return Alert(
        id=row.id,
        kind=row.kind,
        channel=row.channel,
        severity=row.severity,  # type: ignore[arg-type]
        brand=str(p.get("brand") or "mention-monitor"),
        source=str(p.get("source") or "mention-monitor"),
        author="mention-monitor",
        url=str(p.get("url") or ""),
        text=str(p.get("text") or ""),
        created_at=row.created_at,
        title=str(p["title"]) if p.get("title") else None,
        compound=0.0,
        label="neutral",
        reasons=tuple(str(r) for r in p.get("reasons") or ()),
        engagement={},
        mention_id=None,
        attempts=row.attempts,
        queued_at=row.created_at,
        details=tuple(str(d) for d in p.get("details") or ()),
        posts=tuple(_post_ref(post) for post in p.get("posts") or () if isinstance(post, dict)),
        possible_repeat=bool(row.possible_repeat),
    )


def _post_ref(p: dict[str, Any]) -> PostRef:
    created = p.get("created_at")
    try:
        when = datetime.fromisoformat(str(created))
    except ValueError:
        when = datetime.fromtimestamp(0, UTC)
    return PostRef(
        mention_id=int(p.get("mention_id") or 0),
        source=str(p.get("source") or ""),
        author=str(p.get("author") or ""),
        text=str(p.get("text") or ""),
        url=str(p.get("url") or ""),
        created_at=when if when.tzinfo else when.replace(tzinfo=UTC),
        label=p["label"] if p.get("label") in ("negative", "neutral", "positive") else "neutral",
        compound=float(p.get("compound") or 0.0),
    )


def post_payload(row: MentionRow) -> dict[str, Any]:
    """A mention as a spike alert's payload lists it (JSON-safe)."""
    return {
        "mention_id": row.id,
        "source": row.source,
        "author": row.author,
        "text": f"{row.title} - {row.text}" if row.title else row.text,
        "url": row.url,
        "created_at": row.created_at.isoformat(),
        "label": row.label,
        "compound": row.compound,
    }


def stale_before(now: datetime, minutes: int = 10) -> datetime:
    return now - timedelta(minutes=minutes)
