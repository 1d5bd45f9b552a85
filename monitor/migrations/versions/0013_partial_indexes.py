"""Two indexes of mentions hold only the rows they are read for, so that storing a
mention does not write an entry in them:

- ix_mentions_next_refresh: only tracked mentions (a next engagement reading set), read
  as a range of times by spread tracking;
- ix_mentions_verdict_at: only mentions the owner gave a verdict on, read as a range by
  the scorer that learns from them.

Every mention wrote an entry in both, nearly always a NULL nobody reads; storing a poll
wrote 15 index entries a mention (benchmarks/pipeline.py, issue 15). The queries read
these indexes as before: their ranges imply the condition (NOT NULL) on both databases
(tests/monitor/test_store_plans.py).

Plain DROP and CREATE INDEX on both databases: no batch copy of ``mentions``.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


#: (name, column) on mentions
INDEXES = [
    ("ix_mentions_next_refresh", "next_refresh_at"),
    ("ix_mentions_verdict_at", "verdict_at"),
]


def upgrade() -> None:
    for name, column in INDEXES:
        op.drop_index(name, "mentions")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "mentions", [column], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, column in reversed(INDEXES):
        op.drop_index(name, "mentions")
        op.create_index(name, "mentions", [column])
