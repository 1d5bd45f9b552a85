"""Spread tracking (snapshots, refresh schedule, escalation level, negative replies) and
follow-up (a status for every mention, with its history).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("status", sa.String(20), nullable=False, server_default="new"))
        batch.add_column(sa.Column("status_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("status_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("acked_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("level", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_refresh_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("refresh_step", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("negative_replies", sa.Integer(), nullable=False, server_default="0")
        )
        batch.create_index("ix_mentions_next_refresh", ["next_refresh_at"])
        batch.create_index("ix_mentions_status", ["status", "negative"])
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "mention_id",
            sa.Integer(),
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("engagement", sa.JSON(), nullable=False),
        sa.Column("negative_replies", sa.Integer(), nullable=False),
    )
    op.create_index("ix_snapshots_mention_taken", "snapshots", ["mention_id", "taken_at"])
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "mention_id",
            sa.Integer(),
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_status_changes_mention", "status_changes", ["mention_id"])
    op.create_table(
        "replies",
        sa.Column(
            "mention_id",
            sa.Integer(),
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("external_id", sa.String(300), primary_key=True),
        sa.Column("negative", sa.Boolean(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("replies")
    op.drop_index("ix_status_changes_mention", "status_changes")
    op.drop_table("status_changes")
    op.drop_index("ix_snapshots_mention_taken", "snapshots")
    op.drop_table("snapshots")
    with op.batch_alter_table("mentions") as batch:
        batch.drop_index("ix_mentions_status")
        batch.drop_index("ix_mentions_next_refresh")
        for column in (
            "negative_replies",
            "refresh_step",
            "next_refresh_at",
            "level",
            "acked_at",
            "status_note",
            "status_at",
            "status",
        ):
            batch.drop_column(column)
