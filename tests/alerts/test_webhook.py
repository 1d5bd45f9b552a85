from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from alerts.webhook import WebhookChannel, WebhookConfig
from monitor.config import parse_config
from monitor.errors import AlertError, ChannelMisconfigured, ConfigError
from monitor.http import USER_AGENT, make_client
from monitor.models import Alert, Digest
from tests.alerts.factories import make_alert
from tests.standins.server import Request, Response, StandIn

TOKEN = "T0KEN-9f8e7d6c5b4a"
SECRET = "s3cret-hmac-key-do-not-print"
BEARER = "Bearer auth-value-do-not-print"
CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

HOSTILE = [
    "<!channel> <!here> <@U123> <http://evil|click>",
    "<script>alert(1)</script><img src=http://evil/x.png>",
    "\x1b[31mred\x1b[0m \x1b]0;title\x07 nul\x00",
    "\u202egnp.exe",
    "😀" * 2500,  # 10 kB of emoji
    '"quotes" \\ backslash \u2028 line separator',
]


def alert(text: str = "Cold coffee, rude staff.", **extra: Any) -> Alert:
    return make_alert(
        text,
        **{
            "channel": "webhook",
            "id": 42,
            "created_at": CREATED,
            "matched_terms": ("Acme Coffee",),
            **extra,
        },
    )


@pytest.fixture
def receiver() -> Iterator[StandIn]:
    with StandIn(lambda request: Response(200, {"ok": True})) as server:
        yield server


def channel(server: StandIn, timeout: float = 5.0, **settings: object) -> WebhookChannel:
    config = WebhookConfig.model_validate({"url": f"{server.url}/hooks/{TOKEN}", **settings})
    return WebhookChannel(config, http=make_client(timeout=timeout))


def received(server: StandIn) -> Request:
    assert server.requests, "the receiver got nothing"
    return server.requests[-1]


def test_payload_follows_the_documented_schema(receiver: StandIn) -> None:
    channel(receiver).send(alert(title="Acme review", engagement={"likes": 4}))
    request = received(receiver)
    assert request.method == "POST" and request.path == f"/hooks/{TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == USER_AGENT
    body = json.loads(request.body.decode("utf-8"))
    assert body == {
        "version": 1,
        "type": "alert",
        "id": 42,
        "kind": "mention",
        "severity": "high",
        "brand": "Acme Coffee",
        "source": "hackernews",
        "author": "grumpy",
        "url": "https://news.ycombinator.com/item?id=1",
        "title": "Acme review",
        "text": "Cold coffee, rude staff.",
        "created_at": "2026-01-02T03:04:05Z",
        "sentiment": {
            "compound": -0.7,
            "label": "negative",
            "reasons": ["vader -0.70", "negative words: rude"],
        },
        "why": ["angry words: rude"],
        "engagement": {"likes": 4},
        "mention_id": 7,
        "matched_terms": ["Acme Coffee"],
        "details": [],
        "posts": [],
        "status": None,
        "possible_repeat": False,
        "inbox_url": None,
        "ack_url": None,
        "rating": None,
        "edited_at": None,
    }
    assert datetime.fromisoformat(body["created_at"]) == CREATED


def test_created_at_is_sent_in_utc(receiver: StandIn) -> None:
    berlin = datetime(2026, 7, 1, 14, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    channel(receiver).send(alert(created_at=berlin, mention_id=None))
    body = json.loads(received(receiver).body)
    assert body["created_at"] == "2026-07-01T12:30:00Z"
    assert body["mention_id"] is None and body["title"] is None


def test_signature_verifies_on_the_raw_body(receiver: StandIn) -> None:
    channel(receiver, secret=SECRET).send(alert())
    request = received(receiver)
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    scheme, _, value = request.headers["x-signature"].partition("=")
    assert scheme == "sha256"
    assert hmac.compare_digest(value, expected)
    wrong = hmac.new(b"another secret", request.body, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(value, wrong)


def test_no_signature_without_a_secret(receiver: StandIn) -> None:
    channel(receiver).send(alert())
    assert "x-signature" not in received(receiver).headers


def test_extra_headers_are_sent(receiver: StandIn) -> None:
    channel(receiver, headers={"Authorization": BEARER, "X-Shop": "acme"}).send(alert())
    headers = received(receiver).headers
    assert headers["authorization"] == BEARER and headers["x-shop"] == "acme"


@pytest.mark.parametrize("name", ["X-Signature", "content-type", "X-Mention-Monitor-Delivery"])
def test_reserved_headers_cannot_be_overridden(name: str) -> None:
    with pytest.raises(ValidationError, match="cannot be overridden"):
        WebhookConfig.model_validate({"url": "https://example.com/h", "headers": {name: "x"}})


def test_header_values_cannot_smuggle_lines() -> None:
    with pytest.raises(ValidationError, match="one line") as info:
        WebhookConfig.model_validate(
            {"url": "https://example.com/h", "headers": {"X-A": "ok\r\nX-Evil: 1"}}
        )
    assert "X-Evil" not in str(info.value)


def test_delivery_id_is_stable_for_the_same_alert(receiver: StandIn) -> None:
    hook = channel(receiver)
    hook.send(alert())
    hook.send(alert())
    hook.send(alert(id=43))
    ids = [r.headers["x-mention-monitor-delivery"] for r in receiver.requests]
    assert ids == ["alert-42", "alert-42", "alert-43"]


def test_digest_lists_every_alert(receiver: StandIn) -> None:
    alerts = tuple(alert(f"text {i}", id=i) for i in (5, 6, 9))
    for kind in ("digest", "rollup"):
        digest = Digest(kind=kind, channel="webhook", alerts=alerts)
        channel(receiver).send_digest(digest)
        request = received(receiver)
        body = json.loads(request.body)
        assert body["version"] == 1 and body["type"] == kind and body["key"] == digest.key
        assert [a["id"] for a in body["alerts"]] == [5, 6, 9]
        assert [a["text"] for a in body["alerts"]] == ["text 5", "text 6", "text 9"]
        assert all(a["type"] == "alert" and a["brand"] == "Acme Coffee" for a in body["alerts"])
        assert request.headers["x-mention-monitor-delivery"] == digest.key == f"{kind}-5-9-3"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_texts_arrive_byte_for_byte_as_json_strings(
    receiver: StandIn, hostile: str
) -> None:
    channel(receiver).send(alert(hostile, author=hostile, title=hostile))
    raw = received(receiver).body
    body = json.loads(raw.decode("utf-8"))
    assert body["text"] == body["author"] == body["title"] == hostile
    assert b"\x1b" not in raw and b"\x00" not in raw  # control characters are JSON-escaped
    if hostile.isprintable() and '"' not in hostile and "\\" not in hostile:
        assert hostile.encode("utf-8") in raw  # sent as UTF-8, not as \\u escapes


def test_a_server_error_is_transient_and_the_retry_goes_through(receiver: StandIn) -> None:
    hook = channel(receiver)
    receiver.fail_next(Response(500, "boom"))
    with pytest.raises(AlertError) as info:
        hook.send(alert())
    assert not info.value.permanent and not isinstance(info.value, ChannelMisconfigured)
    assert "500" in str(info.value) and info.value.channel == "webhook"
    hook.send(alert())
    assert len(receiver.requests) == 2


@pytest.mark.parametrize(("header", "wait"), [({"Retry-After": "9"}, 9.0), ({}, 60.0)])
def test_429_waits_as_told(receiver: StandIn, header: dict[str, str], wait: float) -> None:
    receiver.fail_next(Response(429, "slow down", headers=header))
    with pytest.raises(AlertError) as info:
        channel(receiver).send(alert())
    assert info.value.retry_after == wait and not info.value.permanent


def test_a_timeout_is_transient(receiver: StandIn) -> None:
    receiver.fail_next(Response(200, "late", delay=1.5))
    with pytest.raises(AlertError, match="did not answer in time") as info:
        channel(receiver, timeout=0.2).send(alert())
    assert not info.value.permanent


def test_a_refused_connection_is_transient() -> None:
    with StandIn(lambda request: Response(200)) as server:
        url = server.url
    config = WebhookConfig.model_validate({"url": f"{url}/hooks/{TOKEN}"})
    with pytest.raises(AlertError, match="cannot reach") as info:
        WebhookChannel(config, http=make_client(timeout=2)).send(alert())
    assert not info.value.permanent


@pytest.mark.parametrize("status", [401, 403, 404, 410, 302])
def test_a_broken_hook_is_misconfigured(receiver: StandIn, status: int) -> None:
    receiver.fail_next(Response(status, "no", headers={"Location": "/elsewhere"}))
    with pytest.raises(ChannelMisconfigured) as info:
        channel(receiver).send(alert())
    assert str(status) in str(info.value)
    assert len(receiver.requests) == 1  # redirects are not followed


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_rejected_message_is_permanent(receiver: StandIn, status: int) -> None:
    receiver.fail_next(Response(status, "bad payload"))
    with pytest.raises(AlertError) as info:
        channel(receiver).send(alert())
    assert info.value.permanent and not isinstance(info.value, ChannelMisconfigured)


@pytest.mark.parametrize(
    "fault",
    [Response(500), Response(404), Response(400), Response(429), Response(200, delay=1.5)],
)
def test_secrets_never_appear_in_errors_logs_or_reprs(
    receiver: StandIn, fault: Response, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The service quiets httpx's request log (it prints URLs) the same way: monitor/cli.py.
    for noisy in ("httpx", "httpcore"):
        caplog.set_level(logging.WARNING, logger=noisy)
    hook = channel(receiver, timeout=0.2, secret=SECRET, headers={"Authorization": BEARER})
    receiver.fail_next(fault)
    with pytest.raises(AlertError) as info:
        hook.send(alert())
    config = hook.config
    printed = [str(info.value), repr(info.value), caplog.text, repr(config), str(config)]
    printed.append(config.model_dump_json())
    for text in printed:
        for secret in (TOKEN, SECRET, BEARER, "auth-value", receiver.url):
            assert secret not in text


@pytest.mark.parametrize(
    "url", [f"ftp://example.com/{TOKEN}", f"javascript:{TOKEN}", f"https:///{TOKEN}", TOKEN]
)
def test_a_non_http_url_is_rejected_without_echoing_it(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        WebhookConfig.model_validate({"url": url})
    assert "http" in str(info.value) and TOKEN not in str(info.value)


def test_config_errors_name_the_key_not_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_URL", f"ftp://hooks.example.com/{TOKEN}")
    text = """
brands:
  - name: Acme Coffee
    keywords: ["Acme Coffee"]
sources:
  hackernews: {}
alerts:
  channels:
    - type: webhook
      url: ${HOOK_URL}
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    message = str(info.value)
    assert "alerts.channels[0].url: must be an http:// or https:// URL" in message
    assert TOKEN not in message and "hooks.example.com" not in message


def test_the_channel_does_not_need_the_service_client(receiver: StandIn) -> None:
    config = WebhookConfig.model_validate({"url": f"{receiver.url}/hooks/{TOKEN}"})
    hook = WebhookChannel(config)
    try:
        hook.send(alert(created_at=datetime.now(UTC) - timedelta(minutes=1)))
    finally:
        hook.close()
    assert received(receiver).headers["user-agent"] == USER_AGENT
