"""Indexes for the inbox's listing (monitor/store/listing.py): every page an index range
with a million mentions stored.

- ix_mentions_urgent: "needs an answer, most urgent first" walks one (severity, level)
  pair at a time in first-seen order, among the negatives still new;
- ix_mentions_brand_seen: one brand's mentions, newest first;
- ix_mentions_status_seen_only: one status's mentions, newest first (a rare status would
  otherwise be looked for through every mention);
- ix_mentions_negative_seen: flagged or unflagged mentions, newest first (without it SQLite,
  which has no statistics, sorts every negative mention by ix_mentions_negative_created).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: (name, columns) on mentions
INDEXES = [
    ("ix_mentions_urgent", ["status", "negative", "severity", "level", "first_seen_at"]),
    ("ix_mentions_brand_seen", ["brand", "first_seen_at"]),
    ("ix_mentions_status_seen_only", ["status", "first_seen_at"]),
    ("ix_mentions_negative_seen", ["negative", "first_seen_at"]),
]


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "mentions", columns)


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, "mentions")
