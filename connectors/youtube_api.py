"""The wire of the YouTube source: requests to the Data API v3 and its errors in owner words.

Google answers errors as ``{"error": {"code", "message", "errors": [{"reason", "domain",
"message"}], "status", "details": [{"reason"}]}}`` (https://developers.google.com/youtube/v3/
docs/errors). The reasons decide what an error means here:

- ``quotaExceeded`` / ``dailyLimitExceeded`` (403): the project's day is used up
  -> BudgetExhausted until midnight Pacific time;
- ``rateLimitExceeded`` / ``userRateLimitExceeded`` (403) and any 429 -> RateLimited;
- ``keyInvalid`` / ``API_KEY_INVALID`` (400), ``accessNotConfigured`` / ``SERVICE_DISABLED``
  (the API is not enabled), ``ipRefererBlocked`` / ``API_KEY_SERVICE_BLOCKED`` and other
  403s (the key is restricted), 401 -> AuthError with the fix;
- ``commentsDisabled`` (403) on a channel's threads: that channel has nothing to read
  (``comment_threads`` returns None), the source goes on;
- ``channelNotFound`` (404) -> ConnectorError naming the channel id.

The API key travels in the ``key`` query parameter. No message here quotes a URL, and the
key is masked (monitor/redact.py) wherever an answer's text is quoted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from monitor.errors import AuthError, ConnectorError, ParseError, RateLimited, SourceUnavailable
from monitor.http import json_of, retry_after_of, send, text_of
from monitor.redact import redact

if TYPE_CHECKING:
    from connectors.youtube import YouTubeConfig, YouTubeConnector

log = logging.getLogger(__name__)

SEARCH_PAGE = 50  # search.list returns at most 50 results a call
QUOTA = {"quotaExceeded", "dailyLimitExceeded"}
SLOW_DOWN = {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}
BAD_KEY = {"keyInvalid", "API_KEY_INVALID", "keyExpired", "API_KEY_EXPIRED"}
NOT_ENABLED = {"accessNotConfigured", "SERVICE_DISABLED"}
RESTRICTED = {
    "ipRefererBlocked",
    "API_KEY_SERVICE_BLOCKED",
    "API_KEY_HTTP_REFERRER_BLOCKED",
    "API_KEY_IP_ADDRESS_BLOCKED",
}
KEY_HINT = (
    "create a new key in console.cloud.google.com > APIs & Services > Credentials, and set"
    " YOUTUBE_API_KEY to it"
)
ENABLE_HINT = (
    "in console.cloud.google.com, pick the project the key belongs to, then APIs & Services >"
    " Library > YouTube Data API v3 > Enable; it takes a few minutes to apply"
)
RESTRICT_HINT = (
    "in console.cloud.google.com > APIs & Services > Credentials > your key: under 'API"
    " restrictions' allow 'YouTube Data API v3', and under 'Application restrictions' choose"
    " 'None' or 'IP addresses' with this server's address (a website restriction cannot work"
    " from a server)"
)


def reasons_of(body: Any) -> tuple[set[str], str]:
    """The reasons and the message of a Google error body (empty when it is not one)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return set(), ""
    found: set[str] = set()
    for key in ("errors", "details"):
        for entry in error.get(key) or []:
            if isinstance(entry, dict) and isinstance(entry.get("reason"), str):
                found.add(entry["reason"])
    message = error.get("message")
    return found, " ".join(str(message or "").split())[:200]


class YouTubeAPI:
    """Calls to the Data API for one YouTube source, each failure one of our errors."""

    def __init__(self, owner: YouTubeConnector, config: YouTubeConfig, http: httpx.Client) -> None:
        self.owner = owner
        self.config = config
        self.http = http
        self.name = owner.name

    def comment_threads(self, channel: str, token: str | None) -> dict[str, Any] | None:
        """One page of the channel's comment threads, newest first; None if comments are off."""
        params: dict[str, str | int] = {
            "part": "snippet,replies",
            "allThreadsRelatedToChannelId": channel,
            "order": "time",
            "maxResults": self.config.max_results,
            "textFormat": "plainText",
        }
        if token:
            params["pageToken"] = token
        try:
            return self._list("commentThreads", params, channel=channel)
        except _CommentsDisabled:
            log.warning("youtube: comments are turned off on channel %s; nothing to read", channel)
            return None

    def search(self, query: str, after: datetime) -> dict[str, Any]:
        params: dict[str, str | int] = {
            "part": "snippet",
            "q": query,
            "type": "video",
            "order": "date",
            "publishedAfter": after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "maxResults": SEARCH_PAGE,
        }
        return self._list("search", params)

    def verify(self, channels: Sequence[str]) -> list[str]:
        """``channels.list`` (1 unit): proves the key, and that every channel exists."""
        if not channels:
            self._list("videoCategories", {"part": "snippet", "regionCode": "US"})
            return ["Google accepted the API key (YouTube Data API v3 is enabled)"]
        body = self._list("channels", {"part": "id", "id": ",".join(channels)})
        found = {str(item.get("id")) for item in body["items"] if isinstance(item, dict)}
        missing = [c for c in channels if c not in found]
        if missing:
            raise ConnectorError(
                self.name,
                f"Google accepted the API key, but there is no channel {', '.join(missing)}",
                hint="check `channels:` under sources.youtube: the id starts with UC (YouTube"
                " Studio > Customisation > Basic info > Channel URL)",
            )
        return [f"Google accepted the API key; found {len(found)} of your channels"]

    # ------------------------------------------------------------ the wire

    def _list(
        self, method: str, params: dict[str, str | int], *, channel: str | None = None
    ) -> dict[str, Any]:
        params = {**params, "key": self.config.api_key.get_secret_value()}
        response = send(
            self.http,
            self.name,
            "GET",
            f"{self.owner.base_url}/{method}",
            params=params,
            timeout=self.config.timeout.total_seconds(),
            max_response=self.config.max_response,
        )
        if response.status_code >= 400:
            self._refused(response, channel)
        body = json_of(self.name, response, f"to {method}")
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise ParseError(self.name, f"the answer to {method} has no `items` list")
        return body

    def _refused(self, response: httpx.Response, channel: str | None) -> None:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        reasons, message = reasons_of(body)
        said = f" (Google says: {redact(message)})" if message else ""
        if reasons & QUOTA:
            self.owner.use_up_today()
            raise self.owner._exhausted() from None
        if status == 429 or reasons & SLOW_DOWN:
            wait = retry_after_of(response)
            after = f"; it asks us to wait {wait:.0f}s" if wait is not None else ""
            raise RateLimited(
                self.name, f"YouTube is rate limiting us (HTTP {status}){after}", retry_after=wait
            )
        if reasons & BAD_KEY:
            raise AuthError(self.name, f"Google says the API key is not valid{said}", hint=KEY_HINT)
        if reasons & NOT_ENABLED:
            raise AuthError(
                self.name,
                "the YouTube Data API v3 is not enabled for the key's Google Cloud project",
                hint=ENABLE_HINT,
            )
        if reasons & RESTRICTED:
            raise AuthError(
                self.name, f"the API key is restricted from this use{said}", hint=RESTRICT_HINT
            )
        if "commentsDisabled" in reasons and channel is not None:
            raise _CommentsDisabled
        if status == 404 or "channelNotFound" in reasons:
            where = f"channel {channel}" if channel else "what was asked for"
            raise ConnectorError(
                self.name,
                f"YouTube found no {where} (HTTP {status})",
                hint="check the channel ids under sources.youtube `channels:` (they start with UC)",
            )
        if status in (401, 403):
            raise AuthError(
                self.name,
                f"Google refused the API key (HTTP {status}){said}",
                hint=f"{KEY_HINT}; if the key is restricted: {RESTRICT_HINT}",
            )
        if status >= 500:
            raise SourceUnavailable(
                self.name, f"YouTube had a server error (HTTP {status}); will retry"
            )
        excerpt = message or " ".join(text_of(response)[:120].split())
        raise ConnectorError(self.name, f"YouTube refused the request (HTTP {status}): {excerpt}")


class _CommentsDisabled(Exception):
    """Internal: the channel's comments are turned off (never leaves this module)."""


def units_for_poll(config: YouTubeConfig) -> tuple[int, int]:
    """(units one poll costs at least, units a day at this ``every`` and ``search_every``)."""
    day = 86_400
    polls = max(1, round(day / max(config.every.total_seconds(), 1)))
    per_poll = len(config.channels)
    per_day = per_poll * polls
    if config.search:
        per_poll += 100
        searches = min(polls, max(1, round(day / max(config.search_every.total_seconds(), 1))))
        per_day += 100 * searches
    return per_poll, per_day
