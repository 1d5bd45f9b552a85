"""The flow of one poll: fetch -> match -> dedupe -> score -> decide -> store + outbox.

``Pipeline.poll_source`` runs one source for every brand that watches it.
A failing source is recorded in ``source_health`` with its error and the
service carries on with the others; ``strict=True`` (used by the tests)
re-raises unexpected errors instead of only logging them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.base import Connector
from monitor.config import BrandConfig, Config
from monitor.errors import MonitorError, RateLimited
from monitor.matching import Match, Matcher
from monitor.models import Mention
from monitor.rules import decide
from monitor.sentiment import Scorer
from monitor.store import NewMention, Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SourceReport:
    """What one poll of one source did."""

    source: str
    fetched: int = 0
    new: int = 0
    negative: int = 0
    queued_alerts: int = 0
    error: str | None = None
    deferred_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class BatchResult:
    new_ids: list[int]
    negative: int
    queued_alerts: int


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
        self.scorer = scorer
        self.connectors = connectors
        self.clock = clock
        self.strict = strict
        self.matcher = Matcher(config.brands)

    def poll_source(self, name: str) -> SourceReport:
        report = SourceReport(name)
        now = self.clock()
        health = self.store.health().get(name)
        if health and health.retry_after_until and health.retry_after_until > now:
            report.deferred_until = health.retry_after_until
            log.info("%s: rate limited; next poll after %s", name, health.retry_after_until)
            return report
        connector = self.connectors[name]
        try:
            for brand in self.config.brands_for(name):
                cursor = self.store.get_cursor(name, brand.name)
                mentions, new_cursor = connector.fetch(brand.keywords, cursor)
                report.fetched += len(mentions)
                batch = self.process(name, brand, mentions, new_cursor)
                report.new += len(batch.new_ids)
                report.negative += batch.negative
                report.queued_alerts += batch.queued_alerts
        except MonitorError as exc:
            self._failed(report, exc, now)
        except Exception as exc:
            log.exception("%s: unexpected error while polling", name)
            self._failed(report, exc, now)
            if self.strict:
                raise
        else:
            self.store.record_success(name, report.new, self.clock())
            log.info(
                "%s: %d fetched, %d new, %d negative",
                name,
                report.fetched,
                report.new,
                report.negative,
            )
        return report

    def _failed(self, report: SourceReport, exc: Exception, now: datetime) -> None:
        report.error = str(exc) if isinstance(exc, MonitorError) else f"{type(exc).__name__}: {exc}"
        retry_until = None
        if isinstance(exc, RateLimited):
            interval = self.config.sources[report.source].every
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else interval
            retry_until = now + wait
            report.deferred_until = retry_until
        log.warning("source %s failed: %s", report.source, report.error)
        try:
            self.store.record_failure(
                report.source, report.error, now, retry_after_until=retry_until
            )
        except MonitorError:
            log.exception("%s: could not record the failure", report.source)

    def process(
        self, source: str, brand: BrandConfig, mentions: Sequence[Mention], cursor: str | None
    ) -> BatchResult:
        """Match, dedupe, score and decide a fetched batch, then store it with its cursor."""
        watching = [b.name for b in self.config.brands_for(source)]
        matched: dict[tuple[str, str], tuple[Mention, list[Match]]] = {}
        for mention in mentions:
            key = (mention.source, mention.external_id)
            if key in matched:
                continue  # the same post twice in one batch
            matches = self.matcher.match(mention.full_text, watching)
            if matches:
                # The brand it was fetched for comes first; the others still route.
                matches.sort(key=lambda m: m.brand != brand.name)
                matched[key] = (mention, matches)

        known: set[tuple[str, str]] = set()
        for src in {src for src, _ in matched}:
            ids = [external_id for s, external_id in matched if s == src]
            known.update((src, i) for i in self.store.known_ids(src, ids))

        items: list[NewMention] = []
        for key, (mention, matches) in matched.items():
            if key in known:
                continue
            score = self.scorer.score(mention.full_text)
            brands = [m.brand for m in matches]
            decision = decide(brands, score, self.config.channels, self.config.sentiment)
            terms = tuple(dict.fromkeys(t for m in matches for t in m.terms))
            items.append(
                NewMention(mention, brands[0], terms, score, decision.severity, decision.channels)
            )
        written = self.store.ingest(source, brand.name, items, cursor, now=self.clock())
        return BatchResult(
            new_ids=[mention_id for mention_id, _ in written],
            negative=sum(1 for _, item in written if item.score.negative),
            queued_alerts=sum(len(item.channels) for _, item in written),
        )
