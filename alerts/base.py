"""The channel contract: what every alert channel provides.

A channel is one class with a ``name``, a pydantic ``Config`` model (deriving
from ``ChannelConfig``, which holds the routing and rhythm keys every channel
shares), ``send(alert)`` and ``send_digest(digest)``. Both return only when the
message was accepted; on any failure they raise AlertError (transient, with
``retry_after`` when the service said so), AlertError(permanent=True) when this
message can never go through, or ChannelMisconfigured when the channel itself
needs the owner. They never return False. The dispatcher owns retries,
backoff, quiet hours, digests, roll-ups and bookkeeping.

A channel that can thread or update its messages returns ``Posted`` (its reference
for the message) from ``send``/``send_digest``; the dispatcher keeps it with the
alerts in the transaction that marks them sent, and hands the first message about a
mention back as ``Alert.thread_ref`` for that mention's later alerts.

An **interactive** channel (``interactive`` is True: the Slack app, the Telegram bot)
also receives button presses: ``run`` calls its ``listen(on_press, stop)`` in a thread
of its own. ``listen`` blocks until ``stop`` is set, turns each press by an allowed
person into a ``monitor.actions.Press``, calls ``on_press`` (which changes the mention
through the same code as the inbox and returns ``monitor.actions.Answered``), then
updates the pressed message in place. A failure it cannot recover from itself (a
revoked token) raises; the service logs it and calls ``listen`` again after a pause.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import Field, field_validator, model_validator

from monitor.config import Duration, StrictModel
from monitor.models import SEVERITIES, Alert, Digest, Posted, Severity

if TYPE_CHECKING:
    import threading

    from monitor.actions import Answered, Press

    OnPress = Callable[[Press], Answered]

_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def parse_clock(value: str) -> time:
    match = _CLOCK.fullmatch(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a time of day: write it like 08:00 or 22:30")
    return time(int(match.group(1)), int(match.group(2)))


class QuietHours(StrictModel):
    """A daily window (in the channel's timezone) when only ``high`` alerts are sent."""

    start: str = Field(alias="from", description='when the quiet starts, e.g. `"22:00"`')
    end: str = Field(alias="to", description='when it ends, e.g. `"07:00"` (the next morning)')

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value


class ChannelConfig(StrictModel):
    """Keys every channel accepts: routing and rhythm. A channel's own model adds its settings."""

    type: str = Field(description="the kind of channel")
    name: str = Field(
        default="",
        description="a name of its own, needed when two channels have the same type (in"
        " `test-alert --channel` and `stats`)",
    )
    enabled: bool = Field(default=True, description="`false` keeps the settings but sends nothing")
    brands: list[str] | None = Field(
        default=None, description="only alert about these brands; unset: every brand"
    )
    min_severity: Literal["all", "negative", "high"] = Field(
        default="negative",
        description="`all`: every mention; `negative`: negative ones; `high`: strongly negative"
        " ones only (spreading, viral and spike alerts are `high`)",
    )
    mode: Literal["instant", "digest"] = Field(
        default="instant",
        description="`instant`: each alert as it comes; `digest`: one message with everything"
        " waiting, at `digest_at` or `every`",
    )
    digest_at: str | None = Field(
        default=None,
        description='with `mode: digest`: the time of the daily digest, e.g. `"08:00"` (the'
        " default), in `timezone`",
    )
    every: Duration | None = Field(
        default=None,
        description="with `mode: digest`: a digest every so often instead (`1h`, `30m`)",
    )
    timezone: str = Field(
        default="UTC",
        description="your timezone's name (`Europe/London`, `America/New_York`), for"
        " `digest_at` and `quiet_hours`",
    )
    quiet_hours: QuietHours | None = Field(
        default=None,
        description='`{from: "22:00", to: "07:00"}`: alerts wait until the quiet ends, except'
        " `high` ones",
    )
    flood_limit: int = Field(
        default=10,
        ge=1,
        description="when more alerts than this would go out within a minute, all that are"
        " waiting go as one message listing them",
    )
    give_up_after: Duration | None = Field(
        default=None,
        description="this channel's own give-up time; unset: `alerts.give_up_after`",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name"):
            data = {**data, "name": data.get("type") or cls.model_fields["type"].default}
        return data

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}: use an IANA name like Europe/London"
            ) from None
        return value

    @field_validator("digest_at")
    @classmethod
    def _digest_at(cls, value: str | None) -> str | None:
        if value is not None:
            parse_clock(value)
        return value

    @model_validator(mode="after")
    def _rhythm(self) -> ChannelConfig:
        if self.digest_at is not None and self.every is not None:
            raise ValueError("give a digest either `digest_at` (daily) or `every`, not both")
        if self.mode == "instant" and (self.digest_at is not None or self.every is not None):
            raise ValueError("`digest_at`/`every` need `mode: digest`")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def wants(self, brand: str, severity: Severity) -> bool:
        if not self.enabled or (self.brands is not None and brand not in self.brands):
            return False
        floor: Severity = "info" if self.min_severity == "all" else self.min_severity
        return SEVERITIES.index(severity) >= SEVERITIES.index(floor)

    def quiet_until(self, now: datetime) -> datetime | None:
        """If ``now`` is inside the quiet hours, when they end (UTC); else None."""
        if self.quiet_hours is None:
            return None
        local = now.astimezone(self.tz)
        start, end = parse_clock(self.quiet_hours.start), parse_clock(self.quiet_hours.end)
        t = local.time()
        inside = (start <= t < end) if start <= end else (t >= start or t < end)
        if not inside:
            return None
        day = local.date() if t < end else local.date() + timedelta(days=1)
        return datetime.combine(day, end, tzinfo=self.tz).astimezone(UTC)

    def last_digest_time(self, now: datetime) -> datetime:
        """The most recent scheduled digest time at or before ``now`` (UTC)."""
        if self.every is not None:
            step = self.every.total_seconds()
            epoch = datetime(2000, 1, 1, tzinfo=self.tz)
            slots = (now - epoch).total_seconds() // step
            return (epoch + timedelta(seconds=slots * step)).astimezone(UTC)
        at = parse_clock(self.digest_at or "08:00")
        local = now.astimezone(self.tz)
        today = datetime.combine(local.date(), at, tzinfo=self.tz)
        if today > local:
            today = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=self.tz)
        return today.astimezone(UTC)


class Channel(ABC):
    """Base of every channel. Subclasses set ``name`` and ``Config``.

    Channels that speak HTTP use ``self.http``: the service's client when it
    handed one over, else one of their own (closed by ``close``).
    """

    name: ClassVar[str]
    Config: ClassVar[type[ChannelConfig]]

    def __init__(self, config: ChannelConfig, *, http: httpx.Client | None = None) -> None:
        self.config = config
        self._http = http
        self._own_http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            from monitor.http import make_client

            self._own_http = self._http = make_client()
        return self._http

    @abstractmethod
    def send(self, alert: Alert) -> Posted | None:
        """Deliver one alert, or raise AlertError; the message's reference if it has one."""

    @abstractmethod
    def send_digest(self, digest: Digest) -> Posted | None:
        """Deliver several alerts as one message (a digest or a flood roll-up)."""

    @property
    def interactive(self) -> bool:
        """Receives button presses (``listen``) and threads its messages: see the module
        docstring. A property, so that one channel type can be interactive or not by its
        settings (Slack: a bot token, or only an incoming webhook)."""
        return False

    def check(self, online: bool = False) -> list[str]:
        """Lines for ``mention-monitor check``: what is set up, and with ``online`` whether
        the service accepts it (tokens valid, the bot in its channel). Owner's words."""
        return []

    def listen(self, on_press: OnPress, stop: threading.Event) -> None:
        """Receive button presses until ``stop`` is set (interactive channels only)."""
        raise NotImplementedError(f"{self.name} has no buttons to listen to")

    def close(self) -> None:
        if self._own_http is not None:
            self._own_http.close()


def sample_alert(channel: str, now: datetime | None = None) -> Alert:
    """The alert `mention-monitor test-alert` sends: plainly a test, about a fictional café."""
    now = now or datetime.now(UTC)
    return Alert(
        id=0,
        kind="test",
        channel=channel,
        severity="negative",
        brand="Acme Coffee (test)",
        source="hackernews",
        author="mention-monitor",
        url="https://news.ycombinator.com/item?id=1",
        text=(
            "This is a test alert from mention-monitor. If you can read it, this channel "
            "works: negative mentions of your brands will arrive here."
        ),
        created_at=now - timedelta(minutes=3),
        title=None,
        compound=-0.42,
        label="negative",
        reasons=("test alert",),
        engagement={"score": 3, "comments": 1},
        mention_id=None,
    )
