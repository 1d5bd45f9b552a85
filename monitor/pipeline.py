"""The flow of one poll: fetch -> match -> dedupe -> score -> decide -> store + outbox.

``Pipeline.poll_source`` runs one source for every brand that watches it.
A failing source is recorded in ``source_health`` with its error and the
service carries on with the others; ``strict=True`` (used by the tests)
re-raises unexpected errors instead of only logging them.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.base import Connector
from monitor.config import Config, format_duration
from monitor.errors import (
    BudgetExhausted,
    ConnectorError,
    MonitorError,
    RateLimited,
    StorageError,
)
from monitor.http import cannot_connect
from monitor.matching import Match, Matcher
from monitor.models import Mention, utcnow
from monitor.offline import OFFLINE, Reachability
from monitor.polljobs import PollJob, job_brands
from monitor.redact import redact
from monitor.reviews import Reviews
from monitor.rules import Decision, decide, severity_of
from monitor.sentiment import Scorer
from monitor.sentiment.learned import LearningScorer
from monitor.spread import schedule_for
from monitor.store import NewMention, Store
from monitor.wording import count

log = logging.getLogger(__name__)

#: The cursor key of a source that is asked once for every brand together.
ALL_BRANDS = "*"

Clock = Callable[[], datetime]


@dataclass
class SourceReport:
    """What one poll of one source did."""

    source: str
    fetched: int = 0
    new: int = 0
    negative: int = 0
    queued_alerts: int = 0
    #: Known items (reviews, edited posts) seen again changed: they may have queued alerts.
    changed: int = 0
    error: str | None = None
    deferred_until: datetime | None = None
    budget_exhausted: bool = False
    #: How far behind the present the source still is after this poll (catching up).
    behind: timedelta = timedelta(0)
    #: The group of the source's brands this poll was for; None: every brand.
    job: PollJob | None = None
    #: Another worker was polling it at that moment (`poll` beside `run`): who.
    busy: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class BatchResult:
    new_ids: list[int]
    negative: int
    queued_alerts: int
    changed: int = 0  # known items revised (an edit that turned negative alerts)


class Pipeline:
    def __init__(
        self,
        config: Config,
        store: Store,
        scorer: Scorer,
        connectors: dict[str, Connector],
        *,
        clock: Clock = utcnow,
        strict: bool = False,
    ) -> None:
        self.config = config
        self.store = store
        #: The configured scorer, taught by the owner's verdicts (read at each batch).
        self.scorer = (
            scorer if isinstance(scorer, LearningScorer) else LearningScorer(scorer, config)
        )
        self.connectors = connectors
        self.clock = clock
        self.strict = strict
        self.matcher = Matcher(config.brands)
        #: Stars as evidence, edited and deleted reviews, the business's replies.
        self.reviews = Reviews(config, store, self.scorer)
        #: Which sources could not connect: all of them is this machine's connection.
        self.reach = Reachability(connectors)

    def poll_source(self, name: str, job: PollJob | None = None) -> SourceReport:
        """Poll source ``name`` for its brands, or for one group of them (``job``)."""
        job = job if job is not None and job.group is not None else None
        report = SourceReport(name, job=job)
        now = self.clock()
        health = self.store.health().get(name)
        if health and health.retry_after_until and health.retry_after_until > now:
            report.deferred_until = health.retry_after_until
            log.info("%s: rate limited; next poll after %s", name, health.retry_after_until)
            return report
        connector = self.connectors[name]
        brands = job_brands(self.config, job) if job else self.config.brands_for(name)
        # A per-brand source is asked once per brand; the others once for every brand
        # together (or for every brand of this job: a cursor of the job's own).
        together = ALL_BRANDS + (str(job.group) if job else "")
        rounds: list[tuple[str, list[str], str | None]] = (
            [(b.name, b.keywords, b.name) for b in brands]
            if connector.per_brand
            else [(together, [k for b in brands for k in b.keywords], None)]
            if brands
            else []
        )
        try:
            for cursor_key, keywords, prefer in rounds:
                cursor = self.store.get_cursor(name, cursor_key)
                if cursor is None and cursor_key == together:
                    cursor = self._carried(name, connector, together)
                # Each step is stored with its cursor as it comes: a long catch-up keeps
                # its progress even when a later request fails.
                for mentions, new_cursor in connector.fetch_pages(keywords, cursor):
                    report.fetched += len(mentions)
                    batch = self.process(name, cursor_key, mentions, new_cursor, prefer=prefer)
                    report.new += len(batch.new_ids)
                    report.negative += batch.negative
                    report.queued_alerts += batch.queued_alerts
                    report.changed += batch.changed
                report.behind = max(report.behind, connector.behind or timedelta(0))
        except StorageError:
            raise  # the database, not this source: the service raises its alarm
        except MonitorError as exc:
            self._failed(report, exc, now)
        except Exception as exc:
            log.exception("%s: unexpected error while polling", name)
            self._failed(report, exc, now)
            if self.strict:
                raise
        else:
            self._succeeded(report)
        for notice in connector.take_notices():
            self._health_notice(
                name, f"notice:{name}:{notice.key}", notice.title, notice.text, "negative"
            )
        self._check_budget(name, connector, exhausted=report.budget_exhausted)
        return report

    def streamed(self, report: SourceReport, error: Exception | None = None) -> None:
        """A streaming source's health (monitor/streams.py): what it brought since its last
        report, or the error that broke its connection; the same notices as a poll's."""
        if error is None:
            self._succeeded(report)
        else:
            self._failed(report, error, self.clock())

    def _succeeded(self, report: SourceReport) -> None:
        name = report.source
        self._reached(name)
        if self._others_failing(report, failing=False):
            # Another group of this source's brands still fails: its run of failures goes
            # on, so that its alert comes (a success here must not hide it).
            self.store.record_progress(name, report.new, self.clock())
            failures, episode = 0, ""
        else:
            failures, episode = self.store.record_success(name, report.new, self.clock())
        if report.new == 0:
            self._check_silence(name)
        self._check_behind(report)
        if failures >= self.config.alerts.health_after:
            self._health_notice(
                name,
                f"recovered:{name}:{episode}",
                f"{name} works again",
                f"{name} is polling again after {failures} failed polls in a row. "
                "Mentions posted meanwhile are fetched as far back as the source allows.",
                "info",
            )
        log.info(
            "%s: %d fetched, %d new, %d negative",
            name,
            report.fetched,
            report.new,
            report.negative,
        )

    def _carried(self, name: str, connector: Connector, key: str) -> str | None:
        """The first cursor for every brand (or a job's brands: ``key``), made from the
        source's others: the per-brand ones an older version kept, the one for every brand
        before the brands were split into jobs (monitor/polljobs.py), or the jobs' ones once
        they are not split any more."""

        # A job's first poll does not go on from a sibling job's cursor (``*1`` for ``*2``):
        # its brands were never polled together with those, and look back as a new source's do.
        def sibling(other: str) -> bool:
            return key != ALL_BRANDS and other != ALL_BRANDS and other.startswith(ALL_BRANDS)

        cursors = self.store.cursors_of(name)
        old = [v for other, v in cursors.items() if other != key and not sibling(other)]
        carried = connector.carry_cursors(old) if old else None
        if carried is not None:
            log.info("%s: goes on from where its brands' last polls were", name)
        return carried

    def _check_budget(self, name: str, connector: Connector, *, exhausted: bool = False) -> None:
        """Warn the owner once at 80% and once at 100% of a metered monthly budget.

        ``exhausted``: the connector refused to read more (it stops a little short of
        the limit when less than one page is left), which counts as 100%.
        """
        try:
            usage = connector.usage()
        except MonitorError:
            log.exception("%s: could not read its usage", name)
            return
        if usage is None or not usage.limit or usage.fraction is None:
            return
        for level in (100, 80):
            if usage.fraction * 100 >= level or (exhausted and level == 100):
                break
        else:
            return
        cost = f" (about ${usage.cost_usd:.2f})" if usage.cost_usd is not None else ""
        if level == 100:
            what = f"{name} has used its whole budget for {usage.period}: polling it is paused"
            fix = f"raise `{usage.setting}` in config.yaml, or wait for {usage.resets}"
        else:
            what = f"{name} has used {level}% of its budget for {usage.period}"
            fix = f"polling stops at 100%; raise `{usage.setting}` or poll less often"
        text = f"{what}: {usage.used} of {usage.limit} {usage.unit}{cost}. {fix}."
        self._health_notice(
            name,
            f"budget:{name}:{usage.period}:{level}",
            f"{name}: budget {level}% used",
            text,
            "high" if level == 100 else "negative",
        )

    def _failed(self, report: SourceReport, exc: Exception, now: datetime) -> None:
        # str() of our errors is redacted already; a library's text may quote a request.
        report.error = (
            str(exc) if isinstance(exc, MonitorError) else redact(f"{type(exc).__name__}: {exc}")
        )
        retry_until = None
        # A used-up budget is not deferred: the connector refuses without a request, and a
        # budget the owner raises takes effect on the next poll.
        report.budget_exhausted = isinstance(exc, BudgetExhausted)
        if isinstance(exc, RateLimited):
            interval = self.config.sources[report.source].every
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else interval
            retry_until = now + wait
            report.deferred_until = retry_until
        log.warning("source %s failed: %s", _label(report), report.error)
        health = report.error
        if report.job is not None:
            self._others_failing(report, failing=True)
            health = f"{report.error} (polling {report.job.describe()})"
        if cannot_connect(exc):
            said = f"{exc.source}: {exc.message}" if isinstance(exc, ConnectorError) else health
            self.reach.unreachable(report.source, said, now)
            if self.reach.offline:
                health = f"{report.error}. {OFFLINE}"
        elif isinstance(exc, ConnectorError) and not report.budget_exhausted:
            self._reached(report.source)  # it answered, if badly: the machine is online
        failures, episode = self.store.record_failure(
            report.source, health, now, retry_after_until=retry_until
        )
        self._offline()
        if failures == self.config.alerts.health_after and not report.budget_exhausted:
            hint = getattr(exc, "hint", None)
            fix = f" Fix: {hint}." if hint else ""
            self._health_notice(
                report.source,
                f"failing:{report.source}:{episode}",
                f"{report.source} has stopped working",
                f"{_label(report)} failed {failures} polls in a row, so new mentions there are "
                f"not being seen. Last error: {report.error}.{fix} "
                "`mention-monitor check` shows its state.",
                "negative",  # quiet hours hold it: a source down is not worth waking for
            )

    def _offline(self) -> None:
        """Say once, when no source can be reached, that the trouble is this machine's."""
        episode = self.reach.announce()
        if episode is None:
            return
        log.error("%s. %s", OFFLINE, episode.text())
        self._health_notice(
            "", f"offline:{episode.key}", OFFLINE, episode.text(), "negative", logged=True
        )

    def _reached(self, source: str) -> None:
        ended = self.reach.reached(source)
        if ended is None:
            return
        log.warning("mention-monitor reaches the internet again: %s answered", source)
        self._health_notice(
            "",
            f"online:{ended.key}",
            "mention-monitor reaches the internet again",
            f"{source} answered again; polling goes on as usual, and mentions posted while "
            "the connection was down are fetched as far back as each source allows.",
            "info",
            logged=True,
        )

    def _others_failing(self, report: SourceReport, *, failing: bool) -> bool:
        """Mark this poll's group of brands failing or not; whether another group of the
        same source is failing now (always False for a source polled whole)."""
        if report.job is None:
            return False
        prefix = "pipeline.failing#"
        mine = f"{prefix}{report.job.group}"
        marks = self.store.state_prefixed(report.source, prefix)
        if bool(marks.get(mine)) != failing:
            self.store.state_set(report.source, mine, "1" if failing else "")
        # (A mark of a group beyond today's jobs, from before the brands were cut anew, is
        # no job's any more.)
        return any(
            value
            for key, value in marks.items()
            if key != mine
            and key[len(prefix) :].isdigit()
            and int(key[len(prefix) :]) <= report.job.groups
        )

    def _check_behind(self, report: SourceReport) -> None:
        """Alert once when a source has ended ``health_after`` polls in a row still catching
        up (a burst or backlog larger than its polls can read), and once when it caught up.

        Each of those polls succeeded and saved its progress, so without this an owner
        would not know that new mentions are arriving late. A source whose brands are
        polled in groups counts each group's polls apart."""
        name, behind, part = report.source, report.behind, report.job
        suffix = part.suffix if part else ""
        key = "pipeline.behind_polls" + suffix
        before = int(self.store.state_get(name, key) or 0)
        polls = before + 1 if behind > timedelta(0) else 0
        if polls != before:
            self.store.state_set(name, key, str(polls))
        limit = self.config.alerts.health_after
        episode = self.store.state_get(name, "pipeline.behind_since" + suffix) or ""
        if polls == 1:
            episode = f"{self.clock():%Y%m%dT%H%M%S}{suffix}"
            self.store.state_set(name, "pipeline.behind_since" + suffix, episode)
        if polls == limit:
            self._health_notice(
                name,
                f"behind:{name}:{episode}",
                f"{name} is falling behind",
                f"{_label(report)} has more new posts than its polls can read: after {polls} "
                "polls in a "
                f"row it is still {format_duration(behind)} behind, so new mentions there "
                "arrive late. Nothing is skipped; it catches up as the burst passes. To catch "
                f"up faster, poll it more often (`sources.{name}.every`).",
                "negative",
            )
        elif polls == 0 and before >= limit:
            self._health_notice(
                name,
                f"caught-up:{name}:{episode}",
                f"{name} has caught up",
                f"{name} has read everything new again after {before} polls behind.",
                "info",
            )

    def _check_silence(self, name: str) -> None:
        """Alert once when a source that polls fine has brought nothing new for far longer
        than its own history says is normal (a search that quietly stopped matching, an
        API that answers but returns nothing). Needs 20 mentions of history."""
        arrivals = self.store.arrivals(name)
        if len(arrivals) < 20:
            return
        gaps = sorted((a - b).total_seconds() for a, b in itertools.pairwise(arrivals))
        normal = max(gaps[len(gaps) // 2], 3600.0)  # the median gap, at least an hour
        silent = (self.clock() - arrivals[0]).total_seconds()
        if silent < self.config.alerts.silence_factor * normal:
            return
        hours = silent / 3600
        self._health_notice(
            name,
            f"silent:{name}:{arrivals[0]:%Y%m%dT%H%M%S}",
            f"{name} has gone quiet",
            f"{name} answers, but has brought no new mention for {hours:.0f} hours, while it "
            f"usually brings one every {normal / 3600:.1f} hours. Check its keywords, "
            "credentials and settings (`mention-monitor check --online`).",
            "negative",
        )

    def _health_notice(
        self, source: str, key: str, title: str, text: str, severity: str, *, logged: bool = False
    ) -> None:
        """Tell every channel once about a source that stopped working, or works again.
        ``logged``: the caller has logged it already."""
        channels = [c.name for c in self.config.channels if c.enabled]
        try:
            added = self.store.queue_notice(
                "health",
                key,
                {"title": title, "text": text, "source": source},
                severity,
                channels,
                self.clock(),
            )
        except StorageError:
            raise
        except MonitorError:
            log.exception("%s: could not queue a health alert", source)
            return
        if added and not logged:
            log.warning("%s: %s", title, text)

    def _first_reading(self, source: str, now: datetime) -> datetime | None:
        """When a new negative mention from ``source`` gets its first engagement reading."""
        connector = self.connectors.get(source)
        if not self.config.spread.enabled or connector is None or not connector.can_refresh():
            return None
        return now + schedule_for(self.config, connector)[0]

    def _trackable(self, mention: Mention) -> bool:
        connector = self.connectors.get(mention.source)
        return connector is not None and connector.trackable(mention)

    def _count_replies(
        self,
        source: str,
        mentions: Sequence[Mention],
        scored: dict[tuple[str, str], bool],
        now: datetime,
    ) -> None:
        """Negative replies and quotes of tracked posts add to their heat.

        Only what the poll fetched anyway is looked at (no extra request): every
        new HN comment carries its story, Reddit comments in the watched
        subreddits their post, X and Bluesky search hits what they answer or quote.
        """
        answers = [m for m in mentions if m.reply_to and m.reply_to != m.external_id]
        if not answers or not self.config.spread.enabled:
            return
        threads = self.store.tracked_threads(source, [m.reply_to or "" for m in answers])
        if not threads:
            return
        replies = []
        for m in answers:
            thread = threads.get(m.reply_to or "")
            if thread is None:
                continue
            negative = scored.get((m.source, m.external_id))
            if negative is None:
                negative = self.scorer.score(m.full_text).negative
            replies.append((thread, m.external_id, negative))
        if replies:
            added = self.store.add_replies(replies, now)
            if added:
                log.info("%s: %s to tracked posts", source, count(added, "new negative reply"))

    def _learn(self) -> None:
        """Learn the owner's verdicts again if any process gave one since the last batch."""
        try:
            if self.scorer.refresh(self.store):
                log.info("learned again from the owner's verdicts")
        except StorageError:
            raise
        except Exception:
            # Scoring goes on with what was learned before.
            log.exception("could not learn from the owner's verdicts")
            if self.strict:
                raise

    def process(
        self,
        source: str,
        cursor_key: str,
        mentions: Sequence[Mention],
        cursor: str | None,
        *,
        prefer: str | None = None,
    ) -> BatchResult:
        """Match, dedupe, score and decide a fetched batch, then store it with its cursor.

        ``cursor_key`` is the brand the batch was fetched for (or ALL_BRANDS);
        ``prefer`` is the brand to file a mention under when it names several.
        """
        self._learn()
        # A set: the matcher asks it about each brand a text could be about.
        watching = frozenset(b.name for b in self.config.brands_for(source))
        now = self.clock()
        self.reviews.deleted(source, mentions, now)
        matched: dict[tuple[str, str], tuple[Mention, list[Match]]] = {}
        for mention in mentions:
            key = (mention.source, mention.external_id)
            if key in matched or mention.deleted:
                continue  # the same post twice in one batch; a deleted one is not kept
            among = (mention.brand_hint,) if mention.brand_hint else watching
            try:
                matches = (
                    [m for m in [self.matcher.own_page(mention.full_text, mention.brand_hint)] if m]
                    if (mention.own_page or mention.listing) and mention.brand_hint
                    else self.matcher.match(mention.full_text, among)
                )
            except Exception:
                # One stranger's post never blocks the others or the cursor.
                if self.strict:
                    raise
                log.exception("%s: skipping item %s, which could not be matched", source, key[1])
                continue
            if matches:
                if len(matches) > 1:
                    # The brand it was fetched for comes first; the others still route.
                    matches.sort(key=lambda m: m.brand != prefer)
                matched[key] = (mention, matches)

        known: set[tuple[str, str]] = set()
        for src in {src for src, _ in matched}:
            ids = [external_id for s, external_id in matched if s == src]
            known.update((src, i) for i in self.store.known_ids(src, ids))

        # Known reviews with new stars or words are revised (and alert if worse) before the
        # new ones and the cursor are written: a crash between the two repeats no alert.
        changed = self.reviews.revisit(
            source, [m for key, (m, _) in matched.items() if key in known], now
        )
        track_at = self._first_reading(source, now)
        items: list[NewMention] = []
        scores: dict[tuple[str, str], bool] = {}
        decided: dict[tuple[tuple[str, ...], str], Decision] = {}
        for key, (mention, matches) in matched.items():
            if key in known:
                continue
            try:
                score = self.reviews.score(mention, matches[0].brand)
            except Exception:
                if self.strict:
                    raise
                log.exception("%s: skipping item %s, which could not be scored", source, key[1])
                continue
            scores[key] = score.negative
            brands = [m.brand for m in matches]
            # The same brands at the same severity go to the same channels: decided once.
            route = (tuple(brands), severity_of(score, self.config.sentiment))
            decision = decided.get(route)
            if decision is None:
                decision = decided[route] = decide(
                    brands, score, self.config.channels, self.config.sentiment
                )
            # Answered already when first seen (an older review): nobody needs telling.
            channels = () if mention.owner_replied_at else decision.channels
            terms = tuple(dict.fromkeys(t for m in matches for t in m.terms))
            items.append(
                NewMention(
                    mention,
                    brands[0],
                    terms,
                    score,
                    decision.severity,
                    channels,
                    track_at=track_at if score.negative and self._trackable(mention) else None,
                )
            )
        written = self.store.ingest(source, cursor_key, items, cursor, now=now)
        for mention_id, item in written:
            if item.mention.owner_replied_at:
                self.reviews.answered(mention_id, source, item.mention.owner_replied_at)
        self._count_replies(source, mentions, scores, now)
        return BatchResult(
            new_ids=[mention_id for mention_id, _ in written],
            negative=sum(1 for _, item in written if item.score.negative),
            queued_alerts=sum(len(item.channels) for _, item in written),
            changed=changed,
        )


def _label(report: SourceReport) -> str:
    """The source, or the group of its brands this poll was for."""
    return report.job.describe() if report.job is not None else report.source
