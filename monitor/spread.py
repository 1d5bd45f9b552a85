"""Spread tracking: re-read recent negative mentions and warn when one starts to travel.

Every negative mention from a source that can re-read engagement (``refresh``)
is tracked while it is younger than ``spread.track_for``. Its engagement is
read on a schedule that starts dense and thins out (``spread.schedule``, by
default 5 min, then every 15 min; X, which bills every read, 5 min, 20 min,
1 h, then every 6 h); a reading that shows the post
moving (at least half the source's ``spreading`` rate since the last reading)
sends it back to the first step. Due posts are read in batches per source (the
connector packs ids: 100 a request on HN, X and Reddit, 25 on Bluesky, 20 on
Mastodon), and a metered source (X) is only read while less than
``spread.budget_share`` of its monthly budget is used.

Each reading is kept as a snapshot. A post escalates to ``spreading`` and then
``viral`` (sources/<name>.spread: engagement per hour since posting, since it
was first seen or since the last reading, with a minimum gain; or its author's
followers), each level once, as its own alert with the numbers and their
growth. Acknowledged and resolved mentions keep being tracked (a complaint
being handled can still blow up); ignored ones are not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.render import counter_word
from connectors.base import Connector, SpreadRule
from monitor.config import Config, format_duration
from monitor.errors import MonitorError, RateLimited
from monitor.models import SPREADING, VIRAL
from monitor.rules import routes
from monitor.store import Reading, Store, Tracked
from monitor.wording import count

log = logging.getLogger(__name__)

LEVELS = {1: SPREADING, 2: VIRAL}
NOT_COUNTED = {"upvote_ratio"}  # a percentage, not engagement
MIN_SPAN = timedelta(minutes=15)


def total(engagement: Mapping[str, int], negative_replies: int, reply_weight: float) -> float:
    """One number for a post's heat: its counters plus weighted negative replies."""
    return (
        sum(v for k, v in engagement.items() if k not in NOT_COUNTED)
        + reply_weight * negative_replies
    )


def schedule_for(config: Config, connector: Connector | None) -> list[timedelta]:
    """The source's own ``spread.schedule``, or the shared one."""
    rule = connector.config.spread if connector is not None else None
    return (rule.schedule if rule and rule.schedule else None) or config.spread.schedule


def step_after(schedule: list[timedelta], step: int) -> timedelta:
    return schedule[min(step, len(schedule) - 1)]


@dataclass(frozen=True, slots=True)
class Verdict:
    level: int  # 0 none, 1 spreading, 2 viral
    rate: float  # the fastest engagement per hour that was measured
    since: str  # "since posting", "since first seen", "since the last reading"
    moving: bool  # send back to the first step of the schedule
    reach: bool = False


def assess(
    rule: SpreadRule,
    post: Tracked,
    engagement: Mapping[str, int],
    negative_replies: int,
    now: datetime,
    reply_weight: float,
) -> Verdict:
    """How hot a tracked post is now, from its readings: the level it has reached."""
    current = total(engagement, negative_replies, reply_weight)
    spans = [
        # Posts start at zero: all engagement since posting is growth.
        ("since posting", current, now - post.created_at),
        (
            "since first seen",
            current - total(post.first.engagement, post.first.negative_replies, reply_weight),
            now - post.first.taken_at,
        ),
        (
            "since the last reading",
            current - total(post.last.engagement, post.last.negative_replies, reply_weight),
            now - post.last.taken_at,
        ),
    ]
    level, best, where = 0, 0.0, ""
    # Viral needs as much more gain as its rate is above spreading's: 5 points in a few
    # minutes may be a post spreading on HN, but it takes 20 to call it viral.
    viral_gain = rule.min_gain * rule.viral / rule.spreading
    for name, gain, span in spans:
        rate = gain / _hours(span)
        if gain < rule.min_gain:
            continue
        reached = 1 if rate >= rule.spreading else 0
        if rate >= rule.viral and gain >= viral_gain:
            reached = 2
        if (reached, rate) > (level, best):
            level, best, where = reached, rate, name
    # However slowly: a post that has gained as much as viral needs since it was first seen
    # is spreading (a late burst between two far-apart readings averages out otherwise).
    if level < 1 and spans[1][1] >= viral_gain:
        level, best, where = 1, spans[1][1] / _hours(spans[1][2]), "since first seen"
    moving = spans[2][1] / _hours(spans[2][2]) >= rule.spreading / 2
    reach = bool(
        rule.followers and post.author_followers and post.author_followers >= rule.followers
    )
    if reach and level < 1:
        level, where = 1, "author's reach"
    return Verdict(level, best, where, moving or level > post.level, reach)


def _hours(span: timedelta) -> float:
    """A span in hours, at least MIN_SPAN: a few likes in the first minute are not a rate."""
    return max(span, MIN_SPAN).total_seconds() / 3600


def growth_lines(
    post: Tracked,
    engagement: Mapping[str, int],
    negative_replies: int,
    verdict: Verdict,
    now: datetime,
) -> list[str]:
    """The alert's numbers, in words: what grew, from what, to what, in how long."""
    first = post.first.engagement
    changes = []
    for key in sorted(set(first) | set(engagement)):
        if key in NOT_COUNTED:
            continue
        before, after = first.get(key, 0), engagement.get(key, 0)
        word = counter_word(key, post.source)
        changes.append((after - before, f"{before} → {after} {word}"))
    changes.sort(key=lambda c: -c[0])
    changes = [c for c in changes if c[0]] or changes[:1]
    span = _span(now - post.first.taken_at)
    lines = []
    if changes:
        lines.append(f"{', '.join(text for _, text in changes)} in {span} (since first seen)")
    if verdict.rate > 0:
        lines.append(f"about {verdict.rate:.0f} engagement an hour {verdict.since}")
    if negative_replies:
        new = negative_replies - post.first.negative_replies
        lines.append(
            f"{negative_replies} negative repl{'ies' if negative_replies != 1 else 'y'} or quotes"
            + (f" ({new} new)" if 0 < new < negative_replies else "")
        )
    if verdict.reach and post.author_followers:
        lines.append(f"the author has {post.author_followers:,} followers")
    # No "posted ... ago" here: the alert shows the post's age once, with the post.
    return lines


def _span(delta: timedelta) -> str:
    minutes = max(0, round(delta.total_seconds() / 60))
    if minutes < 90:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"


@dataclass
class TrackReport:
    due: int = 0
    read: int = 0  # posts whose engagement came back
    escalations: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # source -> why not read now


class Tracker:
    def __init__(
        self,
        config: Config,
        store: Store,
        connectors: Mapping[str, Connector],
        *,
        clock: Callable[[], datetime],
        batch: int = 2000,
    ) -> None:
        self.config = config
        self.store = store
        self.connectors = connectors
        self.clock = clock
        self.batch = batch
        self._deferred: dict[str, datetime] = {}  # source -> rate limited until

    def run(self) -> TrackReport:
        report = TrackReport()
        if not self.config.spread.enabled:
            return report
        now = self.clock()
        self.store.stop_tracking(now - self.config.spread.track_for)
        due = self.store.tracked_due(now, limit=self.batch)
        report.due = len(due)
        by_source: dict[str, list[Tracked]] = {}
        for post in due:
            by_source.setdefault(post.source, []).append(post)
        readings: list[Reading] = []
        for source, posts in by_source.items():
            readings += self._read_source(source, posts, now, report)
        if readings:
            self.store.record_readings(readings, now)
            # Posts that escalated, each once (the store counts an alert per channel).
            report.escalations = sum(1 for r in readings if r.escalation is not None)
        return report

    def _read_source(
        self, source: str, posts: list[Tracked], now: datetime, report: TrackReport
    ) -> list[Reading]:
        connector = self.connectors.get(source)
        schedule = schedule_for(self.config, connector)
        if connector is None or not connector.can_refresh():
            # The source was turned off, or cannot re-read: stop tracking its posts.
            report.skipped[source] = "cannot re-read engagement"
            return _unread(posts, lambda p: None)
        postpone = _unread(posts, lambda p: now + step_after(schedule, p.step))
        until = self._deferred.get(source)
        if until is not None and until > now:
            report.skipped[source] = f"rate limited until {until:%H:%M}"
            return _unread(posts, lambda p: until)
        try:
            usage = connector.usage()
        except MonitorError:
            usage = None
        share = self.config.spread.budget_share
        waiting: list[Reading] = []
        if usage is not None and usage.limit:
            # A metered source: read no more than what is left of its share of the budget.
            allowance = int(share * usage.limit) - usage.used
            if allowance < len(posts):
                report.skipped[source] = (
                    f"{usage.used} of {usage.limit} {usage.unit} used in {usage.period}: "
                    f"re-reading stops at {share:.0%} so that new mentions keep the rest"
                )
                log.info("%s: not re-reading all engagement: %s", source, report.skipped[source])
                cut = max(allowance, 0)
                posts, waiting = posts[:cut], postpone[cut:]
                if not posts:
                    return waiting
        ids = [p.external_id for p in posts]
        try:
            current = connector.refresh(ids)
        except RateLimited as exc:
            wait = timedelta(seconds=exc.retry_after or schedule[0].total_seconds())
            self._deferred[source] = now + wait
            report.skipped[source] = f"rate limited: {exc}"
            log.warning("%s: re-reading engagement is rate limited; again after %s", source, wait)
            return _unread(posts, lambda p: now + wait)
        except MonitorError as exc:
            report.skipped[source] = str(exc)
            log.warning(
                "%s: could not re-read engagement of %s: %s", source, count(len(ids), "post"), exc
            )
            return postpone
        report.read += len(current)
        rule = connector.config.spread
        assert rule is not None  # can_refresh() says so
        readings = [
            self._reading(p, current.get(p.external_id), rule, schedule, now) for p in posts
        ]
        return readings + waiting

    def _reading(
        self,
        post: Tracked,
        engagement: dict[str, int] | None,
        rule: SpreadRule,
        schedule: list[timedelta],
        now: datetime,
    ) -> Reading:
        if engagement is None:
            # Not returned: deleted, hidden, or a kind the source cannot re-read (an HN
            # comment). Keep the schedule thinning out until it ages out.
            step = post.step + 1
            return Reading(post.id, None, None, now + step_after(schedule, step), step, post.level)
        replies = post.negative_replies
        weight = self.config.spread.reply_weight
        verdict = assess(rule, post, engagement, replies, now, weight)
        step = 0 if verdict.moving else post.step + 1
        reading = Reading(
            post.id, engagement, replies, now + step_after(schedule, step), step, post.level
        )
        if verdict.level <= post.level:
            return reading
        kind = LEVELS[verdict.level]
        lines = growth_lines(post, engagement, replies, verdict, now)
        channels = routes(post.brand, "high", self.config.channels)
        log.warning("mention #%d on %s is %s: %s", post.id, post.source, kind, "; ".join(lines))
        return Reading(
            post.id,
            engagement,
            replies,
            reading.next_at,
            step,
            verdict.level,
            escalation=(kind, channels, {"details": lines}),
        )


def _unread(posts: list[Tracked], next_at: Callable[[Tracked], datetime | None]) -> list[Reading]:
    """No reading now: each post keeps its step and level, to be read at ``next_at``
    (None: no longer tracked)."""
    return [Reading(p.id, None, None, next_at(p), p.step, p.level) for p in posts]


def describe_schedule(schedule: list[timedelta]) -> str:
    """``5m, 15m, 1h, then every 3h``."""
    parts = [format_duration(s) for s in schedule]
    if len(parts) == 1:
        return f"every {parts[0]}"
    return f"{', '.join(parts[:-1])}, then every {parts[-1]}"
