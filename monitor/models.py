"""The records that flow through the pipeline: a Mention in, a Score, an Alert out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from monitor.text import safe_data, safe_text


def utcnow() -> datetime:
    """Now, in UTC: every time we keep or compare is aware and in UTC."""
    return datetime.now(UTC)


Label = Literal["negative", "neutral", "positive"]
Severity = Literal["info", "negative", "high"]

#: Severities in rising order; a channel's ``min_severity`` picks a point on this scale.
SEVERITIES: tuple[Severity, ...] = ("info", "negative", "high")


@dataclass(slots=True)
class Mention:
    """One public post, comment or article, normalised from whatever source it came from.

    ``engagement`` holds the counters the source has, named ``likes``, ``reposts``,
    ``replies``, ``quotes``, ``score`` or ``comments`` (and Reddit's ``upvote_ratio``, a
    percentage, not a counter). ``raw`` is the source's own
    record, kept for debugging.
    """

    source: str
    external_id: str
    url: str
    author: str
    text: str
    created_at: datetime
    title: str | None = None
    author_followers: int | None = None
    engagement: dict[str, int] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    #: Set by a source that knows the brand (an RSS feed configured with ``brand:``):
    #: the mention is then matched against that brand's keywords only.
    brand_hint: str | None = None
    #: The external id of the tracked post this one answers or quotes (a comment's story,
    #: a reply's thread root), where the source says so: a negative one adds to its heat.
    reply_to: str | None = None
    #: Reviews and the owner's own pages (issue 14). ``own_page``: posted on the brand's own
    #: page or listing (a review of its Google location, a comment under its video), so it
    #: belongs to ``brand_hint`` without naming it. ``rating``: the review's stars,
    #: normalised to 1-5 (a Page's "doesn't recommend" is 1, "recommends" 5); None when the
    #: post has none. ``edited_at``: when the author last changed it, where the API says.
    #: ``owner_replied_at``: when the business answered it publicly (its reply on Google,
    #: Trustpilot, an app store, a Page comment), where the API shows it.
    own_page: bool = False
    #: Posted on a page about ``brand_hint`` that is not the owner's (a competitor's app
    #: listing): it belongs to that brand whatever its words, as on an own page, but the
    #: business's replies there are not the owner's.
    listing: bool = False
    rating: float | None = None
    edited_at: datetime | None = None
    owner_replied_at: datetime | None = None
    #: The source says this review or comment was deleted: a stored copy is marked
    #: (``deleted_at``, kept with its words), a new one is not kept (monitor/reviews.py).
    deleted: bool = False

    def __post_init__(self) -> None:
        # Every field but created_at is a stranger's: made storable here, once, for every
        # source (a lone surrogate from a JSON escape would fail every later write).
        self.source = safe_text(self.source)
        self.external_id = safe_text(self.external_id)
        self.url = safe_text(self.url)
        self.author = safe_text(self.author)
        self.text = safe_text(self.text)
        self.title = None if self.title is None else safe_text(self.title)
        self.brand_hint = None if self.brand_hint is None else safe_text(self.brand_hint)
        self.reply_to = None if self.reply_to is None else safe_text(self.reply_to)
        self.engagement = {safe_text(k): v for k, v in self.engagement.items()}
        self.raw = safe_data(self.raw)
        self.created_at = _utc(self.created_at)
        self.edited_at = None if self.edited_at is None else _utc(self.edited_at)
        self.owner_replied_at = (
            None if self.owner_replied_at is None else _utc(self.owner_replied_at)
        )
        if self.rating is not None and not 1 <= self.rating <= 5:
            raise ValueError(f"a rating is normalised to 1-5, not {self.rating}")

    @property
    def full_text(self) -> str:
        """Title and body together: what is matched and scored."""
        return f"{self.title}\n{self.text}" if self.title else self.text


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Score:
    """A sentiment verdict. ``reasons`` says in words why, for the owner to trust it."""

    compound: float
    label: Label
    negative: bool
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "negative": self.negative,
            "compound": self.compound,
            "label": self.label,
            "reasons": list(self.reasons),
        }


#: Alert kinds. A mention alert is the first word on a new mention; the others follow.
#: ``changed``: a review already alerted or stored turned worse ("changed from 4 to 1 stars").
MENTION, SPREADING, VIRAL, SPIKE, REMINDER, HEALTH, TEST, CHANGED = (
    "mention",
    "spreading",
    "viral",
    "spike",
    "reminder",
    "health",
    "test",
    "changed",
)


@dataclass(frozen=True, slots=True)
class PostRef:
    """A post shown inside another alert (the top posts of a spike). Text is a stranger's."""

    mention_id: int
    source: str
    author: str
    text: str
    url: str
    created_at: datetime
    label: Label
    compound: float


@dataclass(frozen=True, slots=True)
class Alert:
    """What a channel is asked to deliver: one outbox row with its mention.

    ``kind`` is one of the kinds above. ``details`` are lines in our own words
    (numbers, growth, what to do), safe to show as they are once escaped for
    the medium; ``posts`` are the posts a spike alert lists.
    """

    id: int
    kind: str
    channel: str
    severity: Severity
    brand: str
    source: str
    author: str
    url: str
    text: str
    created_at: datetime
    title: str | None
    compound: float
    label: Label
    reasons: tuple[str, ...]
    engagement: dict[str, int]
    mention_id: int | None = None
    matched_terms: tuple[str, ...] = ()
    attempts: int = 0  # failed attempts before this one
    queued_at: datetime | None = None
    details: tuple[str, ...] = ()
    posts: tuple[PostRef, ...] = ()
    status: str | None = None  # the mention's status when the alert was claimed
    #: Re-sent after a process stopped mid-send: the channel may have shown it already.
    possible_repeat: bool = False
    #: The page in the owner's inbox this alert leads to, and the mention's Acknowledge
    #: (confirm) page while nobody has answered it; set from ``web.public_url``
    #: (monitor/links.py), None without it.
    inbox_url: str | None = None
    ack_url: str | None = None
    #: The first message this channel posted about the alert's mention (``Posted.ref``),
    #: for channels that thread: escalations and reminders go as replies under it.
    thread_ref: str | None = None
    #: The configuration file a command in the alert must name (``-c``) to reach the same
    #: database, when it is not ./config.yaml (monitor/links.py ``command_config``).
    config_hint: str | None = None
    #: A review's stars (1-5) and when its author last edited it; None for other posts.
    rating: float | None = None
    edited_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    """The message a channel made of an alert or a digest, as that channel names it
    (Slack: ``"C024BE91L:1700000000.000100"``, the channel id and ``ts``; Telegram:
    ``"-1001234567:42"``, the chat and message id). ``send`` returns it when the channel
    can thread or update its messages; the store keeps it with each alert it carried."""

    ref: str


@dataclass(frozen=True, slots=True)
class Digest:
    """Several alerts sent as one message.

    ``kind`` is ``digest`` (a channel in ``mode: digest`` at its time) or ``rollup``
    (flood control: more alerts in a minute than the channel's ``flood_limit``).
    ``key`` is stable for the same set of alerts, for Message-IDs and idempotency keys.
    """

    kind: str
    channel: str
    alerts: tuple[Alert, ...]

    @property
    def possible_repeat(self) -> bool:
        """Re-sent after a process stopped mid-send (see ``Alert.possible_repeat``)."""
        return any(a.possible_repeat for a in self.alerts)

    @property
    def key(self) -> str:
        ids = [a.id for a in self.alerts]
        return f"{self.kind}-{min(ids)}-{max(ids)}-{len(ids)}" if ids else f"{self.kind}-empty"
