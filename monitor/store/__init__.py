"""The database: mentions, the alert outbox, cursors, source health, spread tracking
and follow-up. ``Store`` is the one object the rest of the service talks to.

- tables.py: the SQLAlchemy models (and the status words);
- records.py: the plain records it hands out and takes in;
- base.py: StoreBase: sessions, mentions and ingest, the outbox, state, health;
- verdicts.py, reviews.py: the owner's verdicts; reviews edited, answered, deleted;
- queries.py: Store: StoreBase plus spread tracking, follow-up and spikes;
- leases.py, workers.py: several `run` processes sharing one database.
"""

from monitor.store.base import StoreBase
from monitor.store.leases import Lease, Leases
from monitor.store.queries import Store, StoreState
from monitor.store.records import (
    ChannelWait,
    DueAlert,
    NewMention,
    Reading,
    Snapshot,
    Timeline,
    Tracked,
    post_payload,
    stale_before,
)
from monitor.store.reviews import ChangeAlert, StoredReview
from monitor.store.tables import (
    ACKNOWLEDGED,
    DEAD,
    IGNORED,
    NEW,
    PENDING,
    RESOLVED,
    SENDING,
    SENT,
    STATUSES,
    AlertRow,
    Base,
    ChannelStateRow,
    CursorRow,
    MentionRow,
    ReplyRow,
    SnapshotRow,
    SourceHealthRow,
    SourceStateRow,
    StatusChangeRow,
)
from monitor.store.workers import WorkerInfo, Workers

__all__ = [
    "ACKNOWLEDGED",
    "DEAD",
    "IGNORED",
    "NEW",
    "PENDING",
    "RESOLVED",
    "SENDING",
    "SENT",
    "STATUSES",
    "AlertRow",
    "Base",
    "ChangeAlert",
    "ChannelStateRow",
    "ChannelWait",
    "CursorRow",
    "DueAlert",
    "Lease",
    "Leases",
    "MentionRow",
    "NewMention",
    "Reading",
    "ReplyRow",
    "Snapshot",
    "SnapshotRow",
    "SourceHealthRow",
    "SourceStateRow",
    "StatusChangeRow",
    "Store",
    "StoreBase",
    "StoreState",
    "StoredReview",
    "Timeline",
    "Tracked",
    "WorkerInfo",
    "Workers",
    "post_payload",
    "stale_before",
]
