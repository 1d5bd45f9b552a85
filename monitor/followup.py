"""Follow-up: each mention's status, reminders for unanswered negatives, response times.

A mention is ``new`` until the owner says otherwise (``Store.set_status``) with
``mention-monitor mentions ack|resolve|ignore ID [--note ...]``:
new -> acknowledged -> resolved, or ignored at any point. Every change is kept
with its note (``mentions show ID``). A negative mention that is still ``new``
``alerts.remind_after`` (4 h) after it was first seen gets one reminder on the
channels that took its alert. Ignoring a mention also stops its spread
tracking; acknowledged and resolved ones are still tracked and escalate.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.render import duration
from monitor.config import Config
from monitor.models import REMINDER
from monitor.store import NEW, Store
from monitor.wording import count

log = logging.getLogger(__name__)

#: Reminders look back no further than this, so an upgraded database with old
#: unanswered mentions does not remind of all of them at once.
REMIND_WINDOW = timedelta(days=2)


def queue_reminders(config: Config, store: Store, now: datetime) -> int:
    """One reminder per negative mention still new ``remind_after`` after it was seen.

    Returns the mentions reminded of (each counted once, whatever its channels)."""
    after = config.alerts.remind_after
    if after is None:
        return 0
    queued = 0
    enabled = {c.name for c in config.channels if c.enabled}
    unanswered = store.unanswered(seen_before=now - after, seen_after=now - after - REMIND_WINDOW)
    for row, alerted in unanswered:
        # The channels that had its alert, still configured; at its own severity, so
        # quiet hours treat the reminder as they treated the alert.
        channels = [c for c in alerted if c in enabled]
        waited = duration(now - row.first_seen_at)
        payload = {
            "details": [
                f"still new {waited} after it was first seen: nobody has answered it yet",
            ]
        }
        added = store.queue_notice(
            REMINDER,
            f"{row.source}:{row.external_id}",
            payload,
            row.severity,
            channels,
            now,
            mention_id=row.id,
        )
        queued += 1 if added else 0
    if queued:
        log.info("queued %s of unanswered negative mentions", count(queued, "reminder"))
    return queued


@dataclass
class BrandResponse:
    """How fast a brand's negatives were seen, alerted and answered (in a period)."""

    negatives: int = 0
    alerted: int = 0
    post_to_alert: list[float] = field(default_factory=list)  # seconds
    alert_to_ack: list[float] = field(default_factory=list)
    unanswered: int = 0  # still new
    unanswered_ids: list[int] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def median(values: list[float]) -> float | None:
        return statistics.median(values) if values else None


def response_stats(store: Store, since: datetime | None) -> dict[str, BrandResponse]:
    """Per brand: posting -> alert sent, alert -> first answer, unanswered negatives."""
    out: dict[str, BrandResponse] = {}
    for row in store.negative_timeline(since):
        r = out.setdefault(row.brand, BrandResponse())
        r.negatives += 1
        r.by_status[row.status] = r.by_status.get(row.status, 0) + 1
        if row.alerted_at is not None:
            r.alerted += 1
            r.post_to_alert.append(max(0.0, (row.alerted_at - row.created_at).total_seconds()))
            if row.acked_at is not None:
                r.alert_to_ack.append(max(0.0, (row.acked_at - row.alerted_at).total_seconds()))
        if row.status == NEW:
            r.unanswered += 1
            r.unanswered_ids.append(row.id)
    return out


def human(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"
