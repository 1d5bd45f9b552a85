"""A channel that asked to wait (429 Retry-After) or keeps failing is waited for as a
whole, across restarts; rows released after a crash mid-send are marked as possible
repeats and keep their claim token, so the rows that went out together go again together.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_state") as batch:
        batch.add_column(sa.Column("wait_until", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("wait_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(
            sa.Column("possible_repeat", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("possible_repeat")
    with op.batch_alter_table("channel_state") as batch:
        batch.drop_column("failures")
        batch.drop_column("wait_reason")
        batch.drop_column("wait_until")
