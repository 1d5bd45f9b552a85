"""Messages the channels posted (to thread later alerts and update a message when a button
is pressed), and who gave each answer on a mention.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column(
            "alert_id",
            sa.Integer(),
            sa.ForeignKey("alerts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "mention_id",
            sa.Integer(),
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_channel_messages_mention", "channel_messages", ["channel", "mention_id"])
    op.create_index("ix_channel_messages_ref", "channel_messages", ["channel", "ref"])
    op.create_index("ix_channel_messages_alert", "channel_messages", ["alert_id"])
    with op.batch_alter_table("status_changes") as batch:
        batch.add_column(sa.Column("actor", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("status_changes") as batch:
        batch.drop_column("actor")
    op.drop_index("ix_channel_messages_alert", "channel_messages")
    op.drop_index("ix_channel_messages_ref", "channel_messages")
    op.drop_index("ix_channel_messages_mention", "channel_messages")
    op.drop_table("channel_messages")
