"""The connector contract: what every source module provides.

A connector is one class with a ``name``, a pydantic ``Config`` model (deriving
from ``SourceConfig``) and ``fetch(queries, cursor) -> (mentions, new_cursor)``.

- ``per_brand = True`` (the default): the pipeline calls ``fetch`` once per
  brand, with that brand's keywords, and keeps a cursor per brand. For APIs
  that search (HN, X, Bluesky, Mastodon).
- ``per_brand = False``: ``fetch`` is called once per cycle with every watched
  brand's keywords together, and one cursor. For sources that are read whole
  (RSS feeds) or searched once for everything (Reddit, with OR).

``cursor`` is the opaque string the connector returned last time (None on the
first poll). A source that may need many requests to catch up implements
``fetch_pages`` too, yielding each step with its cursor (stored as it comes), and
sets ``behind`` when a poll ended before reaching the present.

The connector searches as well as its API allows; the pipeline
then matches every mention again locally, so a fuzzy API search is harmless.

Optional: ``refresh(ids) -> {external_id: engagement}`` re-reads the engagement
of posts already seen (spread tracking); ``usage()`` reports a metered budget
(X bills per post read); ``check(online)`` says whether credentials are present
and, online, valid. ``self.state`` is a small key/value store of the source's
own that survives restarts. It is the database: a secret goes there only
encrypted with a key the database does not hold (Bluesky keeps its session
under a key derived from the app password).

Strangers' items: the method that turns one item into a Mention is decorated with
``one_item``, so an item it cannot read is skipped with a log line, never the batch;
``Mention`` itself makes every string storable (monitor/text.py ``safe_text``). Every
answer goes through monitor/http.py (or its ``BoundedAdapter`` for requests-based
libraries), bounded by the source's ``max_response``.

A connector raises only ConnectorError and its subclasses (monitor/errors.py),
translated from library errors in one place, and never swallows a failure: the
pipeline records it against the source and carries on with the others.
"""

from __future__ import annotations

import functools
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Concatenate, ParamSpec, Protocol, TypeVar

import httpx
from pydantic import ByteSize, Field, ValidationInfo, field_validator, model_validator

from monitor.config import Duration, StrictModel
from monitor.models import Mention

log = logging.getLogger(__name__)

#: Brands one poll job carries for a source that ``splits_by_brand`` (its ``brands_per_job``).
DEFAULT_BRANDS_PER_JOB = 50

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound="Connector")

#: What reading one malformed item can raise: a missing key, a wrong type, a number or
#: date out of range, a nesting too deep. Anything else is a bug and is not hidden.
BAD_ITEM: tuple[type[Exception], ...] = (
    LookupError,
    TypeError,
    ValueError,
    ArithmeticError,
    AttributeError,
    RecursionError,
)


def one_item(
    convert: Callable[Concatenate[C, P], R | None],
) -> Callable[Concatenate[C, P], R | None]:
    """Decorates a connector's conversion of one item: an item it cannot read is skipped
    with a log line (None), never the whole answer, so the others and the cursor go on."""

    @functools.wraps(convert)
    def guarded(self: C, /, *args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return convert(self, *args, **kwargs)
        except BAD_ITEM as exc:
            log.warning(
                "%s: skipped an item that could not be read (%s); the others are kept",
                self.name,
                type(exc).__name__,
            )
            return None

    return guarded


class SpreadRule(StrictModel):
    """When a tracked negative post on this source escalates (``sources.<name>.spread``).

    Engagement is the sum of the post's counters (points + comments, likes +
    reposts + replies + quotes, ...) plus ``spread.reply_weight`` for each
    negative reply seen. A post is ``spreading`` when its engagement per hour,
    since it was posted, since it was first seen, or since the last reading
    (spans under 15 minutes count as 15), is at least ``spreading`` and it
    gained at least ``min_gain`` over that span; ``viral`` when the rate is at
    least ``viral`` and the gain at least ``min_gain * viral / spreading``
    (on HN: 40 an hour and 20 points); and ``spreading``, however slowly, once
    it has gained that much since first seen. ``followers``: an author with at least this
    many followers makes a negative post spreading at once (sources that report
    followers: X, Mastodon). ``schedule`` overrides ``spread.schedule`` here.
    """

    spreading: float = Field(gt=0, description="engagement per hour that makes a post spreading")
    viral: float = Field(
        gt=0, description="engagement per hour that makes it viral (above `spreading`)"
    )
    min_gain: int = Field(
        default=5,
        ge=1,
        description="the least engagement gained before a rate counts (two likes in a minute"
        " are not a trend)",
    )
    followers: int | None = Field(
        default=None,
        ge=1,
        description="an author with at least this many followers makes a negative post"
        " spreading at once (sources that report followers: X, Mastodon)",
    )
    schedule: list[Duration] | None = Field(
        default=None,
        min_length=1,
        description="this source's own reading schedule; unset: `spread.schedule`",
    )

    @model_validator(mode="after")
    def _viral_above_spreading(self) -> SpreadRule:
        if self.viral <= self.spreading:
            raise ValueError("`viral` must be above `spreading` (both are engagement per hour)")
        return self


def config_file(value: str, info: ValidationInfo) -> Path:
    """A file a source's settings name (a key file): ``~`` expanded, and a relative path
    taken from the config file's folder, as the database's is (the loader passes it as the
    validation context's ``base_dir``), not from wherever the service was started."""
    path = Path(value).expanduser()
    base = (info.context or {}).get("base_dir")
    return path if path.is_absolute() or base is None else Path(base) / path


def response_limit(default: int) -> Any:
    """A source's own default for ``max_response`` (decimal bytes), within the same range."""
    return Field(default=ByteSize(default), ge=10_000, le=1_000_000_000)


class SourceConfig(StrictModel):
    """Keys every source accepts. A connector's own model adds its own keys."""

    #: A source that can re-read engagement sets its own thresholds here.
    SPREAD: ClassVar[dict[str, Any]] = {}

    every: Duration = Field(default=timedelta(minutes=5), description="how often to poll")
    base_url: str = Field(
        description="the API's address; change it only for a proxy, a mirror or a test stand-in"
    )
    timeout: Duration = Field(
        default=timedelta(seconds=20), description="how long to wait for an answer"
    )
    #: The largest answer read from this source ("10MB", "500kB"): a bigger one fails that
    #: poll with a clear error. Each source sets its default from the largest page its API
    #: legitimately returns, with room to spare.
    max_response: Annotated[
        ByteSize,
        Field(
            description="the largest answer read from this source, like `10MB` or `500kB`: a"
            " bigger one fails that poll only, with an error that names this key. Each"
            " source's default is several times the biggest page it sends"
        ),
    ] = response_limit(10_000_000)
    enabled: bool = Field(default=True, description="`false` keeps the settings but stops polling")
    spread: SpreadRule | None = Field(
        default=None,
        validate_default=True,
        description="when a tracked negative post here escalates (see docs/spread.md); only"
        " sources that can re-read engagement have it (not `rss`)",
    )

    @field_validator("spread", mode="before")
    @classmethod
    def _spread_defaults(cls, value: object) -> object:
        """The owner's keys over this source's defaults, so one key can be changed alone."""
        if not cls.SPREAD:
            if value is not None:
                raise ValueError("this source cannot re-read engagement, so it has no `spread`")
            return None
        if value is None:
            return dict(cls.SPREAD)
        if isinstance(value, dict):
            return {**cls.SPREAD, **value}
        return value


class BrandJobsConfig(SourceConfig):
    """Keys of a source whose brands several workers share in jobs (``splits_by_brand``)."""

    brands_per_job: int = Field(
        default=DEFAULT_BRANDS_PER_JOB,
        ge=1,
        le=10_000,
        description="several workers (`run` on one PostgreSQL) share this source's brands in"
        " jobs of this many brands each; with one worker, the jobs run one after the other",
    )


FetchResult = tuple[list[Mention], str | None]


class SourceState(Protocol):
    """A source's own persistent key/value notes (budgets, ETags). Secrets only encrypted."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


class MemoryState:
    """A SourceState that lives as long as the process: for tests and one-off use."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value


@dataclass(frozen=True, slots=True)
class Notice:
    """A word to the owner about a source that works but has a limit biting (a gap it
    cannot read back, a setting that risks one): sent once per ``key`` to every channel,
    like the health notices (the pipeline takes them after each poll)."""

    key: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    """A metered budget: ``used`` of ``limit`` units in ``period`` (e.g. posts read in 2026-11)."""

    period: str
    used: int
    limit: int | None
    unit: str = "posts read"
    cost_usd: float | None = None
    #: The config key that sets ``limit``, and when the budget starts again: what the
    #: 80% and 100% notices tell the owner.
    setting: str = "monthly_read_budget"
    resets: str = "next month"

    @property
    def fraction(self) -> float | None:
        return self.used / self.limit if self.limit else None


class Connector(ABC):
    """Base of every source. Subclasses set ``name`` and ``Config``."""

    name: ClassVar[str]
    Config: ClassVar[type[SourceConfig]]
    per_brand: ClassVar[bool] = True
    #: A source whose poll costs a request per brand or per term (Mastodon, Bluesky) lets
    #: several workers share it: the scheduler splits its brands into jobs of
    #: ``brands_per_job`` brands (a config key), each polled under its own lease
    #: (monitor/polljobs.py). False: one job for every brand, as most sources ask for every
    #: brand in a few requests.
    splits_by_brand: ClassVar[bool] = False
    #: Set by the last fetch: how long before now the newest item it read completely
    #: reaches, when it stopped short of the present (still catching up after a burst
    #: or an outage); None when it read everything new.
    behind: timedelta | None = None

    def __init__(
        self, config: SourceConfig, http: httpx.Client, state: SourceState | None = None
    ) -> None:
        self.config = config
        self.http = http
        self.state: SourceState = state if state is not None else MemoryState()
        #: Notices raised by the last polls, not yet taken by the pipeline.
        self.notices: list[Notice] = []

    @property
    def base_url(self) -> str:
        return self.config.base_url.rstrip("/")

    @property
    def brands_per_job(self) -> int | None:
        """How many brands one scheduled poll of this source carries; None: all of them."""
        if not self.splits_by_brand or not isinstance(self.config, BrandJobsConfig):
            return None
        return self.config.brands_per_job

    @abstractmethod
    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        """New mentions for these keywords since ``cursor``, and the cursor to keep."""

    def fetch_pages(self, queries: Sequence[str], cursor: str | None) -> Iterator[FetchResult]:
        """``fetch`` in steps, each with the cursor that covers it and what came before.

        The pipeline stores each step with its cursor before asking for the next, so a
        source that reads a long backlog in many requests (after a burst or an outage)
        keeps its progress even if a later request fails. The default is one step.
        """
        yield self.fetch(queries, cursor)

    #: A source that listens (Jetstream, Mastodon's streaming API): ``run`` gives it a
    #: thread (monitor/streams.py) that reads ``listen`` until stopped. One that
    #: ``resumes`` from its cursor is not polled by ``run`` (``poll`` replays from the
    #: cursor to now); one that does not (Mastodon) is polled as well, at ``every`` and
    #: right after each (re)connection, to fill the gaps.
    streaming: ClassVar[bool] = False
    resumes: ClassVar[bool] = True

    def listen(
        self, queries: Sequence[str], cursor: str | None, stop: threading.Event
    ) -> Iterator[FetchResult]:
        """A streaming source's batches of new mentions for these keywords, each with its
        cursor, as they come, until ``stop`` is set; raises a ConnectorError when the
        stream breaks. A source that does not resume yields an empty batch once it is
        connected (the moment the listener reads the gap)."""
        raise NotImplementedError(f"{self.name} is polled, not streamed")

    def next_host(self) -> None:
        """After a failure, a streaming source with several hosts moves to the next one."""
        return None

    def take_notices(self) -> list[Notice]:
        """The notices raised since the last call (the pipeline sends each once)."""
        taken, self.notices = self.notices, []
        return taken

    def carry_cursors(self, cursors: Sequence[str]) -> str | None:
        """A source that kept a cursor per brand and now keeps one for every brand (X and
        Bluesky since issue 15) makes that one from the old ones, so the first poll after
        an upgrade goes on from where they were instead of looking back ``lookback`` again
        (X bills every post it reads). None: no carry-over."""
        return None

    def refresh(self, ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Current engagement of already-seen posts, by external id (for spread tracking)."""
        raise NotImplementedError(f"{self.name} cannot refresh engagement yet")

    def can_refresh(self) -> bool:
        """Whether ``refresh`` works here (a connector may lack it, or lack it in one mode)."""
        return type(self).refresh is not Connector.refresh and self.config.spread is not None

    def trackable(self, mention: Mention) -> bool:
        """Whether ``refresh`` can re-read this mention (HN has no points for comments)."""
        return True

    def usage(self) -> Usage | None:
        """This month's metered use, for sources that bill or cap it; None otherwise."""
        return None

    def check(self, online: bool = False) -> list[str]:
        """Lines for `mention-monitor check`: are credentials present (and, online, valid)?

        Offline it must not touch the network. Online it makes the cheapest
        authenticated request and raises AuthError (with the fix) if refused.
        """
        return ["no credentials needed"]

    def close(self) -> None:
        """Release what the connector holds (sessions, tokens). The HTTP client is the core's."""
        return None
