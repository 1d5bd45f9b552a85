"""The first schema: mentions, the alerts outbox, cursors, source health.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mentions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("external_id", sa.String(300), nullable=False),
        sa.Column("brand", sa.String(200), nullable=False),
        sa.Column("matched_terms", sa.JSON(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("author", sa.String(300), nullable=False),
        sa.Column("author_followers", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("engagement", sa.JSON(), nullable=False),
        sa.Column("compound", sa.Float(), nullable=False),
        sa.Column("label", sa.String(10), nullable=False),
        sa.Column("negative", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_mentions_source_external_id"),
    )
    op.create_index("ix_mentions_brand_created", "mentions", ["brand", "created_at"])
    op.create_index("ix_mentions_first_seen", "mentions", ["first_seen_at"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "mention_id",
            sa.Integer(),
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("dedupe_key", sa.String(400), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("channel", "kind", "dedupe_key", name="uq_alerts_channel_kind_key"),
    )
    op.create_index("ix_alerts_status_next", "alerts", ["status", "next_attempt_at"])
    op.create_table(
        "cursors",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("brand", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "source_health",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_count", sa.Integer(), nullable=False),
        sa.Column("total_count", sa.Integer(), nullable=False),
        sa.Column("retry_after_until", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("source_health")
    op.drop_table("cursors")
    op.drop_index("ix_alerts_status_next", "alerts")
    op.drop_table("alerts")
    op.drop_index("ix_mentions_first_seen", "mentions")
    op.drop_index("ix_mentions_brand_created", "mentions")
    op.drop_table("mentions")
