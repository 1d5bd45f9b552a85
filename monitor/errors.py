"""The one exception tree of mention-monitor.

Every failure the service can meet is one of these, so callers catch
``MonitorError`` and nothing broader; library errors (httpx, SQLAlchemy,
tweepy, praw, smtplib) are translated at the boundary where they happen::

    MonitorError
    ├── ConfigError            bad config.yaml (all problems, each with file:line and key)
    ├── ConnectorError         a source failed (carries .source)
    │   ├── AuthError          credentials missing, wrong or revoked: needs the owner
    │   ├── RateLimited        the API said "slow down" (carries .retry_after seconds)
    │   ├── FetchTimeout       no answer in time
    │   ├── SourceUnavailable  refused connection, DNS, 5xx: try again later
    │   ├── ParseError         the answer was not in the documented format
    │   └── BudgetExhausted    the owner's metered budget (X posts read) is used up
    ├── AlertError             a channel failed to deliver (carries .channel, .permanent,
    │   │                      .retry_after): transient unless permanent
    │   └── ChannelMisconfigured   the channel itself is wrong (revoked webhook, bad password):
    │                              the channel is paused until fixed, nothing is dropped
    ├── StorageError           the database could not be opened, migrated or written
    ├── AlreadyRunning         another `run` or `poll` holds the database (names it, pid and host)
    └── StatusError            a mention's status cannot be changed (no such id, not a status)

Messages are written for the shop owner who reads them in a terminal or an
alert: they say what failed, where, and, where we know it, how to fix it.
Secrets never appear in them: every configured secret is masked (monitor/redact.py),
even when a remote server echoed it into the text we quote.
"""

from __future__ import annotations

from monitor.redact import redact


class MonitorError(Exception):
    """Base of every error mention-monitor raises on purpose.

    Its text never carries a configured secret (monitor/redact.py), whatever a
    remote server or a library put into it.
    """

    def __str__(self) -> str:
        return redact(super().__str__())


class ConfigError(MonitorError):
    """config.yaml cannot be used. ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class ConnectorError(MonitorError):
    """A source failed to fetch. ``hint`` says what the owner can do about it."""

    def __init__(self, source: str, message: str, *, hint: str | None = None) -> None:
        self.source = source
        self.message = message = redact(message)
        self.hint = hint = redact(hint) if hint else hint
        text = f"{source}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class AuthError(ConnectorError):
    """The source refused our credentials."""


class RateLimited(ConnectorError):
    """The source asked us to wait ``retry_after`` seconds before the next request."""

    def __init__(
        self,
        source: str,
        message: str,
        *,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(source, message, hint=hint)


class FetchTimeout(ConnectorError):
    """The source did not answer in time."""


class SourceUnavailable(ConnectorError):
    """The source could not be reached or answered with a server error."""


class ParseError(ConnectorError):
    """The source answered with something that is not its documented format."""


class BudgetExhausted(ConnectorError):
    """The source's metered budget for this period is used up; it resumes next period."""


class AlertError(MonitorError):
    """A channel could not deliver an alert.

    Transient by default (the channel is down, timed out, rate limited): the
    dispatcher retries with backoff, or after ``retry_after`` seconds when the
    channel said so. ``permanent=True`` means this alert can never be delivered
    as it is (the service refused its content): it is marked dead at once.
    """

    def __init__(
        self,
        channel: str,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.channel = channel
        self.message = message = redact(message)
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(f"{channel}: {message}")


class ChannelMisconfigured(AlertError):
    """The channel itself cannot work until the owner fixes it (404, 403, auth failure).

    The dispatcher pauses the channel and reports it once; its alerts wait,
    and go out when ``mention-monitor test-alert`` succeeds or the service restarts.
    """

    def __init__(self, channel: str, message: str) -> None:
        super().__init__(channel, message, permanent=True)


class StorageError(MonitorError):
    """The database could not be opened, migrated or written."""


class AlreadyRunning(MonitorError):
    """Another mention-monitor process is polling the same database; the message names it."""


class StatusError(MonitorError):
    """A status change that cannot be made: no such mention, or not a status to move to."""
