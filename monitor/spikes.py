"""Spikes: more negative mentions of a brand in the last hour than its own normal.

A brand's baseline is its negative mentions per hour over ``spikes.baseline``
(7 days, or as long as the database has been watching if that is shorter),
counted by when they were posted, with the busiest tenth of the hours left out
so that one past storm does not raise the bar for the next. The last hour
spikes when it holds at least ``spikes.min_count`` negatives (5) and at least
``spikes.factor`` (3) times the baseline, so a quiet brand going from one
complaint an hour to two is not a spike. A brand gets at most one spike alert
per ``spikes.repeat_after`` (6 h); it names the count, the baseline and the
top posts, and goes to the channels that take the brand's high alerts.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config import Config, format_duration
from monitor.models import SPIKE
from monitor.rules import routes
from monitor.store import Store, post_payload

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
TRIM = 0.10  # the share of busiest baseline hours left out


@dataclass(frozen=True, slots=True)
class Spike:
    brand: str
    count: int
    baseline: float  # negatives an hour
    threshold: int
    hours: float  # of history behind the baseline


def baseline_rate(hourly: list[int], hours: int) -> float:
    """Mean negatives per hour over ``hours`` buckets (``hourly`` lists the non-empty
    ones), leaving out the busiest tenth of the hours."""
    if hours <= 0:
        return 0.0
    counts = sorted(hourly + [0] * max(0, hours - len(hourly)))
    kept = counts[: max(1, len(counts) - int(len(counts) * TRIM))]
    return sum(kept) / len(kept)


def threshold(rate: float, factor: float, min_count: int) -> int:
    return max(min_count, math.ceil(factor * rate))


def find_spikes(config: Config, store: Store, now: datetime) -> list[Spike]:
    spikes_config = config.spikes
    # Every minute: the last hour alone first. No brand can spike below min_count, and
    # the week of baseline is read only when one might.
    last_hour = Counter(b for b, posted in store.negatives_since(now - HOUR) if posted <= now)
    if not last_hour or max(last_hour.values()) < spikes_config.min_count:
        return []
    start = now - HOUR - spikes_config.baseline
    watching = store.watching_since()
    if watching is None:
        return []
    start = max(start, watching)
    hours = int((now - HOUR - start) / HOUR)
    by_brand: dict[str, Counter[int]] = {}
    for brand, posted in store.negatives_since(start):
        bucket = int((now - HOUR - posted) / HOUR)
        if posted <= now - HOUR and bucket < hours:
            by_brand.setdefault(brand, Counter())[bucket] += 1
    found = []
    for brand, count in last_hour.items():
        hourly = list(by_brand.get(brand, Counter()).values())
        rate = baseline_rate(hourly, hours)
        bar = threshold(rate, spikes_config.factor, spikes_config.min_count)
        if count >= bar:
            found.append(Spike(brand, count, rate, bar, (now - HOUR - start) / HOUR))
    return found


def queue_spikes(config: Config, store: Store, now: datetime) -> int:
    """Queue a spike alert for each brand spiking now, at most one per ``repeat_after``;
    returns the spikes queued."""
    if not config.spikes.enabled:
        return 0
    queued = 0
    names = {b.name for b in config.brands}
    for spike in find_spikes(config, store, now):
        if spike.brand not in names:
            continue
        last = store.last_alert_at(SPIKE, f"{spike.brand}@", since=now - config.spikes.repeat_after)
        if last is not None and last > now - config.spikes.repeat_after:
            continue
        top = store.top_negatives(spike.brand, now - HOUR)
        if spike.hours >= 24:
            normal = (
                f"usually {spike.baseline:.1f} an hour over the last "
                f"{format_duration(timedelta(hours=round(spike.hours)))}"
            )
        else:
            normal = (
                f"only {spike.hours:.0f} hours of history yet, so the floor of "
                f"{spike.threshold} applies"
            )
        details = [
            f"{spike.count} negative mentions of {spike.brand} in the last hour; {normal}",
            f"a spike is {spike.threshold} or more in an hour for this brand now; "
            f"the next spike alert for it comes no sooner than "
            f"{format_duration(config.spikes.repeat_after)}",
        ]
        payload = {
            "title": f"Spike: {spike.count} negative mentions of {spike.brand} in an hour",
            "text": "",
            "brand": spike.brand,
            "details": details,
            "posts": [post_payload(row) for row in top],
        }
        channels = routes(spike.brand, "high", config.channels)
        added = store.queue_notice(
            SPIKE, f"{spike.brand}@{now:%Y%m%dT%H%M}", payload, "high", channels, now
        )
        if added:
            log.warning("%s", "; ".join(details))
            queued += 1  # one spike, however many channels take it
    return queued
