"""The owner's verdicts on a mention's sentiment ("negative", "not negative"), which the
brand's scorer learns from; indexed by when they were given, so the scorer reads just them.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("verdict", sa.String(20), nullable=True))
        batch.add_column(sa.Column("verdict_at", sa.DateTime(), nullable=True))
    op.create_index("ix_mentions_verdict_at", "mentions", ["verdict_at"])


def downgrade() -> None:
    op.drop_index("ix_mentions_verdict_at", "mentions")
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("verdict_at")
        batch.drop_column("verdict")
