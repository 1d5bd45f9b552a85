"""Indexes that keep every periodic job as cheap with years of history as on day one:
each job reads only its window (the last hour, the last two days, the rows due now),
never the whole mentions or alerts table.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: (name, table, columns)
INDEXES = [
    ("ix_mentions_status_seen", "mentions", ["status", "negative", "first_seen_at"]),
    ("ix_mentions_negative_created", "mentions", ["negative", "created_at"]),
    ("ix_mentions_source_seen", "mentions", ["source", "first_seen_at"]),
    ("ix_alerts_mention", "alerts", ["mention_id", "kind"]),
    ("ix_alerts_channel_sent", "alerts", ["channel", "status", "sent_at"]),
    ("ix_alerts_kind_created", "alerts", ["kind", "created_at"]),
]


def upgrade() -> None:
    # ix_mentions_status_seen starts with the same columns, and also bounds the window.
    op.drop_index("ix_mentions_status", "mentions")
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table)
    op.create_index("ix_mentions_status", "mentions", ["status", "negative"])
