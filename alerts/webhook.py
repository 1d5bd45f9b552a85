"""The webhook channel: a JSON POST of each alert to any http(s) URL.

For owners who wire alerts into their own tools (Zapier, n8n, Home Assistant,
a small script). The body is the documented payload below (``version`` 1);
with a ``secret`` set, ``X-Signature: sha256=<hex>`` carries the HMAC-SHA256 of
the exact body bytes, so the receiver can check the message came from us.
``X-Mention-Monitor-Delivery`` is stable for the same alert or digest, so a
receiver can drop a repeat after a retry.

Payload of one alert::

    {"version": 1, "type": "alert", "id": 42, "kind": "mention", "severity": "high",
     "brand": "Acme Coffee", "source": "hackernews", "author": "grumpy",
     "url": "https://news.ycombinator.com/item?id=1", "title": null,
     "text": "Cold coffee, rude staff.", "created_at": "2026-01-01T12:00:00Z",
     "sentiment": {"compound": -0.7, "label": "negative",
                   "reasons": ["vader -0.70", "negative words: rude"]},
     "why": ["angry words: rude"], "engagement": {"score": 12, "comments": 3},
     "mention_id": 7, "matched_terms": ["Acme Coffee"], "details": [], "posts": [],
     "status": "new"}

``kind`` is ``mention``, ``spreading``, ``viral``, ``reminder`` (about the
mention ``mention_id``, whose fields are filled in as for a mention),
``spike`` or ``health`` (notices: ``mention_id`` null, ``title`` says what
happened, ``brand``/``source`` name what it is about), or ``test``.
``sentiment.reasons`` are the scorer's own lines (with its numbers); ``why`` says
the same in an owner's words (``waiting: "still waiting"``), as the other channels
show it. ``details`` are lines in our words (growth numbers, how long it waited);
``status`` is the mention's status when the alert was sent (``new``,
``acknowledged``, ``resolved``, ``ignored``; null for a notice or a test). ``posts``
is filled only for a spike, each ``{"mention_id": 9, "source": "reddit",
"author": ..., "text": ..., "url": ..., "created_at": "...Z", "label":
"negative", "compound": -0.8}``. ``possible_repeat`` is true when the
alert is sent again after mention-monitor stopped while sending it: the
receiver may have had it already (same ``id`` and delivery header). These
fields, and ``why``, were added within version 1: a receiver that ignores unknown keys
is not affected.

A digest or roll-up is ``{"version": 1, "type": "digest"|"rollup", "key": ...,
"possible_repeat": false, "alerts": [<alert objects as above>]}``. Texts (a post's too) are sent as
written (JSON escapes them, nothing more): receivers must escape them for where
they show them. Redirects are not followed (the body, signature and extra
headers would go to another place). Auth: whatever the receiver wants, through
``headers``.
Docs: the "webhook" section of README.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import ConfigDict, Field, SecretStr, field_validator

from alerts.base import Channel, ChannelConfig
from monitor.errors import AlertError, ChannelMisconfigured
from monitor.http import USER_AGENT, parse_retry_after
from monitor.models import Alert, Digest, PostRef
from monitor.reasons import why

PAYLOAD_VERSION = 1
DEFAULT_RETRY_AFTER = 60.0
SIGNATURE_HEADER = "X-Signature"
DELIVERY_HEADER = "X-Mention-Monitor-Delivery"
_RESERVED = {
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "transfer-encoding",
    SIGNATURE_HEADER.lower(),
    DELIVERY_HEADER.lower(),
}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")  # printable ASCII: no CR/LF smuggling


class WebhookConfig(ChannelConfig):
    """A URL to POST alerts to, an optional HMAC secret and extra headers (all secret)."""

    # A rejected URL or header must not be echoed back by pydantic's error text.
    model_config = ConfigDict(hide_input_in_errors=True)

    type: Literal["webhook"] = "webhook"
    url: SecretStr = Field(
        description="where to `POST`, `http://` or `https://`, as `${ALERT_WEBHOOK_URL}`: it is"
        " kept secret and never shown in logs or errors"
    )
    secret: SecretStr | None = Field(
        default=None,
        description="a long random text (e.g. from `openssl rand -hex 32`), as"
        " `${ALERT_WEBHOOK_SECRET}`: each request is then signed with it in `X-Signature`, so"
        " the receiver can tell it came from mention-monitor",
    )
    headers: dict[str, SecretStr] = Field(
        default={},
        description="more request headers, e.g. `Authorization: Bearer ${RECEIVER_TOKEN}`;"
        " their values are kept secret. `Content-Type`, `User-Agent`, `X-Signature` and"
        " `X-Mention-Monitor-Delivery` are mention-monitor's own and cannot be replaced",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        try:
            url = httpx.URL(raw)
        except (httpx.InvalidURL, ValueError, TypeError):
            raise ValueError("is not a valid URL (the value is not shown: it is secret)") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(
                "must be an http:// or https:// URL with a host (the value is not shown)"
            )
        return value

    @field_validator("secret")
    @classmethod
    def _non_empty_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("is empty: set a long random string, or leave `secret` out")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, header in value.items():
            if not _TOKEN.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid HTTP header name")
            if name.lower() in _RESERVED:
                raise ValueError(f"{name!r} is set by mention-monitor and cannot be overridden")
            if not _HEADER_VALUE.fullmatch(header.get_secret_value()):
                raise ValueError(
                    f"the value of {name!r} must be printable ASCII on one line (not shown)"
                )
        return value


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def post_payload(post: PostRef) -> dict[str, Any]:
    return {
        "mention_id": post.mention_id,
        "source": post.source,
        "author": post.author,
        "text": post.text,
        "url": post.url,
        "created_at": _iso(post.created_at),
        "label": post.label,
        "compound": post.compound,
    }


def alert_payload(alert: Alert) -> dict[str, Any]:
    """One alert as the documented JSON object (the same object inside a digest's list)."""
    return {
        "version": PAYLOAD_VERSION,
        "type": "alert",
        "id": alert.id,
        "kind": alert.kind,
        "severity": alert.severity,
        "brand": alert.brand,
        "source": alert.source,
        "author": alert.author,
        "url": alert.url,
        "title": alert.title,
        "text": alert.text,
        "created_at": _iso(alert.created_at),
        "sentiment": {
            "compound": alert.compound,
            "label": alert.label,
            "reasons": list(alert.reasons),
        },
        "why": why(alert.reasons),
        "engagement": dict(alert.engagement),
        "mention_id": alert.mention_id,
        "matched_terms": list(alert.matched_terms),
        "details": list(alert.details),
        "posts": [post_payload(post) for post in alert.posts],
        "status": alert.status,
        "possible_repeat": alert.possible_repeat,
        "inbox_url": alert.inbox_url,
        "ack_url": alert.ack_url,
        "rating": alert.rating,
        "edited_at": _iso(alert.edited_at) if alert.edited_at else None,
    }


def digest_payload(digest: Digest) -> dict[str, Any]:
    return {
        "version": PAYLOAD_VERSION,
        "type": digest.kind,
        "key": digest.key,
        "possible_repeat": digest.possible_repeat,
        "alerts": [alert_payload(a) for a in digest.alerts],
    }


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON in UTF-8."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    """The ``X-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel(Channel):
    """POSTs each alert (or digest) as JSON to the owner's URL, signed when a secret is set."""

    name = "webhook"
    Config = WebhookConfig
    config: WebhookConfig

    def __init__(self, config: ChannelConfig, *, http: httpx.Client | None = None) -> None:
        super().__init__(config, http=http)

    def send(self, alert: Alert) -> None:
        self._post(alert_payload(alert), delivery=f"alert-{alert.id}")

    def send_digest(self, digest: Digest) -> None:
        self._post(digest_payload(digest), delivery=digest.key)

    def _headers_for(self, body: bytes, delivery: str) -> dict[str, str]:
        headers = {name: value.get_secret_value() for name, value in self.config.headers.items()}
        headers.update(
            {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                DELIVERY_HEADER: delivery,
            }
        )
        if self.config.secret is not None:
            headers[SIGNATURE_HEADER] = signature(self.config.secret.get_secret_value(), body)
        return headers

    def _post(self, payload: dict[str, Any], *, delivery: str) -> None:
        body = encode(payload)
        channel = self.config.name
        # The URL is secret and httpx puts it in its exception texts: only class names here.
        try:
            response = self.http.post(
                self.config.url.get_secret_value(),
                content=body,
                headers=self._headers_for(body, delivery),
                follow_redirects=False,
            )
        except httpx.TimeoutException as exc:
            raise AlertError(
                channel, f"the webhook receiver did not answer in time ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise AlertError(
                channel, f"cannot reach the webhook receiver ({type(exc).__name__}); will retry"
            ) from exc
        except httpx.InvalidURL as exc:
            raise ChannelMisconfigured(
                channel, f"cannot send to the webhook URL ({type(exc).__name__}): check `url`"
            ) from exc
        except httpx.HTTPError as exc:
            raise AlertError(
                channel, f"the webhook request failed ({type(exc).__name__}); will retry"
            ) from exc
        self._check(response)

    def _check(self, response: httpx.Response) -> None:
        status = response.status_code
        channel = self.config.name
        if 200 <= status < 300:
            return
        what = f"the webhook receiver answered HTTP {status}"
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            wait = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
            raise AlertError(
                channel, f"{what} (too many requests); retrying in {wait:.0f}s", retry_after=wait
            )
        if status >= 500:
            raise AlertError(channel, f"{what} (a server error); will retry")
        if status in (401, 403):
            raise ChannelMisconfigured(
                channel,
                f"{what}: it refused us; check the credentials in `headers` and the `secret` "
                "it expects",
            )
        if status in (404, 410):
            raise ChannelMisconfigured(
                channel, f"{what}: there is no webhook at this URL (any more); check `url`"
            )
        if 300 <= status < 400:
            raise ChannelMisconfigured(
                channel,
                f"{what} (a redirect), which is not followed for webhooks; "
                "set `url` to the address it redirects to",
            )
        if status >= 400:
            raise AlertError(
                channel,
                f"{what}: it refuses this message; check the receiver's log",
                permanent=True,
            )
        raise AlertError(channel, f"{what}, which is not a success; will retry")
