"""The indexes that keep a page of mentions, newest first, an index range with a million
mentions stored:

- ix_mentions_created: ``mention-monitor mentions`` (and its ``--since``, ``--brand``):
  posting time, then id (the page's tie-break). Without it both databases read and sorted
  every mention for each page: 2.1 s with 100k stored, 4.0 s with 1M (issue 15);
- ix_mentions_status_created: ``mentions --status new`` (or another status), which sorted
  every mention of that status, and nearly every mention is ``new``.

Plain CREATE INDEXes, on both databases: no batch copy of ``mentions`` (with foreign keys
on, SQLite's copy-and-drop would delete every alert and snapshot with the old table).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


#: (name, columns) on mentions
INDEXES = [
    ("ix_mentions_created", ["created_at", "id"]),
    ("ix_mentions_status_created", ["status", "created_at", "id"]),
]


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "mentions", columns)


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, "mentions")
