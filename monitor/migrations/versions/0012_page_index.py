"""The index that keeps a page of mentions, newest first (``mention-monitor mentions``,
``mentions --since``), an index range with a million mentions stored: posting time, then
id (the page's tie-break). Without it both databases read and sorted every mention for
each page: 2.1 s with 100k stored, 4.0 s with 1M (issue 15).

A plain CREATE INDEX, on both databases: no batch copy of ``mentions`` (with foreign keys
on, SQLite's copy-and-drop would delete every alert and snapshot with the old table).

Revision ID: 0012
Revises: 0010 (numbered after 0011, which the workers' leases take on another branch: when
both are in, this one revises 0011)
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mentions_created", "mentions", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_mentions_created", "mentions")
