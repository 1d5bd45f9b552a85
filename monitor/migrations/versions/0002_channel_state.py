"""Paused channels, and a claim token so several outbox rows can be taken at once.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(40), nullable=True))
    op.create_table(
        "channel_state",
        sa.Column("channel", sa.String(100), primary_key=True),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("paused_reason", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("channel_state")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("claimed_by")
