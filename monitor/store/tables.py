"""The tables, as SQLAlchemy 2 typed models. The migrations build exactly these
(tests/monitor/test_store.py compares them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
NEW, ACKNOWLEDGED, RESOLVED, IGNORED = "new", "acknowledged", "resolved", "ignored"
STATUSES = (NEW, ACKNOWLEDGED, RESOLVED, IGNORED)
#: The owner's verdicts on a mention's sentiment (monitor/feedback.py).
NEGATIVE, NOT_NEGATIVE = "negative", "not_negative"
VERDICTS = (NEGATIVE, NOT_NEGATIVE)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (SQLite has none) and hands back aware datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    pass


def _only(column: str) -> dict[str, Any]:
    """A partial index's condition, on both databases: the rows where ``column`` is set."""
    where = text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


class MentionRow(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_mentions_source_external_id"),
        Index("ix_mentions_brand_created", "brand", "created_at"),
        Index("ix_mentions_first_seen", "first_seen_at"),
        # Tracked mentions only (migration 0013): the others write no entry.
        Index("ix_mentions_next_refresh", "next_refresh_at", **_only("next_refresh_at")),
        # Reminders: negatives still new, first seen in a window.
        Index("ix_mentions_status_seen", "status", "negative", "first_seen_at"),
        # Spikes: negatives posted in the last hour (and the week before).
        Index("ix_mentions_negative_created", "negative", "created_at"),
        # The silence check: a source's newest arrivals.
        Index("ix_mentions_source_seen", "source", "first_seen_at"),
        # The inbox (monitor/store/listing.py): needs an answer, most urgent first; one
        # brand's, one status's, the flagged or the unflagged mentions, newest first.
        Index("ix_mentions_urgent", "status", "negative", "severity", "level", "first_seen_at"),
        Index("ix_mentions_brand_seen", "brand", "first_seen_at"),
        Index("ix_mentions_status_seen_only", "status", "first_seen_at"),
        Index("ix_mentions_negative_seen", "negative", "first_seen_at"),
        # The owner's verdicts, which the scorer learns from (read as a range).
        Index("ix_mentions_verdict_at", "verdict_at", **_only("verdict_at")),
        # A page of mentions newest first (`mentions`, its --since, its --status): posting
        # time, then id.
        Index("ix_mentions_created", "created_at", "id"),
        Index("ix_mentions_status_created", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(300))
    brand: Mapped[str] = mapped_column(String(200))
    matched_terms: Mapped[list[str]] = mapped_column(JSON)
    url: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(300))
    author_followers: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    engagement: Mapped[dict[str, int]] = mapped_column(JSON)
    compound: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(10))
    negative: Mapped[bool] = mapped_column(Boolean)
    severity: Mapped[str] = mapped_column(String(10))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: new -> acknowledged -> resolved (or ignored); see monitor/followup.py.
    status: Mapped[str] = mapped_column(String(20), default=NEW, server_default=NEW)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_note: Mapped[str | None] = mapped_column(Text)
    #: When the owner first answered (acknowledged, resolved or ignored it).
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Spread tracking: the escalation level reached (0, 1 spreading, 2 viral), the
    #: next engagement reading (None: not tracked), and the step of the schedule.
    level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    negative_replies: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The owner's word on its sentiment (``negative`` or ``not_negative``; None: none given)
    #: and when it was given. ``negative`` then follows the verdict; ``compound`` stays the
    #: scorer's own figure, which the brand's scorer learns against (monitor/feedback.py).
    verdict: Mapped[str | None] = mapped_column(String(20))
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Reviews (issue 14, monitor/reviews.py): the stars (1-5; None: not a review), when
    #: the author last edited it and when the business answered it (as the source says),
    #: when the source said it was deleted (the row is kept), and whether it was posted on
    #: the brand's own page or listing.
    rating: Mapped[float | None] = mapped_column(Float)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    own_page: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AlertRow(Base):
    """The outbox: one row per alert to deliver to one channel."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("channel", "kind", "dedupe_key", name="uq_alerts_channel_kind_key"),
        Index("ix_alerts_status_next", "status", "next_attempt_at"),
        # A mention's alerts (reminders, escalations; ON DELETE CASCADE).
        Index("ix_alerts_mention", "mention_id", "kind"),
        # The flood limit: what a channel sent in the last minute.
        Index("ix_alerts_channel_sent", "channel", "status", "sent_at"),
        # The last spike alert of a brand.
        Index("ix_alerts_kind_created", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(400))
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: For notices (kind "health", ...) that are about no mention: what to say.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Released after a process stopped mid-send: the channel may have shown it already.
    #: ``claimed_by`` then still names the rows that were sent with it, as one message.
    possible_repeat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class MessageRow(Base):
    """A message a channel posted for an alert (Slack's channel and ``ts``, Telegram's chat
    and message id, as the channel's ``ref``), so that later alerts about the same mention
    go into its thread and a button press can update it. A digest is one message for
    several alerts: one row per alert, with the same ``ref``."""

    __tablename__ = "channel_messages"
    __table_args__ = (
        Index("ix_channel_messages_mention", "channel", "mention_id"),
        Index("ix_channel_messages_ref", "channel", "ref"),
        Index("ix_channel_messages_alert", "alert_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(200))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SnapshotRow(Base):
    """One reading of a tracked mention's engagement."""

    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_mention_taken", "mention_id", "taken_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    engagement: Mapped[dict[str, int]] = mapped_column(JSON)
    negative_replies: Mapped[int] = mapped_column(Integer)


class StatusChangeRow(Base):
    """The history of the owner's answers on a mention, with their notes: each status
    change (``status`` one of STATUSES), and each verdict (``status`` one of VERDICTS,
    words no status uses), so a mention's page shows every answer in one timeline."""

    __tablename__ = "status_changes"
    __table_args__ = (Index("ix_status_changes_mention", "mention_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    #: Who answered, in words: "@maria on Slack", "the inbox", "the command line"; None
    #: for answers kept before this was recorded.
    actor: Mapped[str | None] = mapped_column(String(200))


class ReplyRow(Base):
    """A reply or quote seen for a tracked mention (counted once), and whether it is negative."""

    __tablename__ = "replies"

    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    external_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    negative: Mapped[bool] = mapped_column(Boolean)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CursorRow(Base):
    __tablename__ = "cursors"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    brand: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SourceStateRow(Base):
    """A source's own notes that outlive the process (X's posts read this month)."""

    __tablename__ = "source_state"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelStateRow(Base):
    """A channel paused because it needs its owner (revoked webhook, wrong password), or
    waited for as a whole: it asked to wait (429 Retry-After) or keeps failing."""

    __tablename__ = "channel_state"

    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    #: No request to the channel before this time (None: none pending).
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wait_reason: Mapped[str | None] = mapped_column(Text)
    #: Transient failures in a row; the backoff grows with it, a success resets it.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SourceHealthRow(Base):
    __tablename__ = "source_health"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_count: Mapped[int] = mapped_column(Integer, default=0)
    total_count: Mapped[int] = mapped_column(Integer, default=0)
    retry_after_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
