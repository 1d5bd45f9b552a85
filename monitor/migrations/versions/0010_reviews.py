"""Reviews and the owner's own pages (issue 14): a mention's stars, when its author last
edited it, when the business answered it, when it was deleted at the source, and whether
it was posted on the brand's own page.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("rating", sa.Float(), nullable=True))
        batch.add_column(sa.Column("edited_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("owner_replied_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
        # A constant default ("0", not sa.false()): SQLite then adds the column in place.
        # An expression would make Alembic copy the table, and with foreign keys on,
        # dropping the old one would delete every alert and snapshot with it.
        batch.add_column(sa.Column("own_page", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+), not a batch copy of the table:
    # with foreign keys on, dropping the copied table would delete every alert with it.
    for column in ("own_page", "deleted_at", "owner_replied_at", "edited_at", "rating"):
        op.drop_column("mentions", column)
