from __future__ import annotations

import json
import logging
import socket
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from alerts.base import sample_alert
from alerts.slack import SlackChannel, SlackConfig, escape
from monitor.errors import AlertError, ChannelMisconfigured
from monitor.http import make_client
from monitor.models import Alert, Digest
from tests.alerts.factories import make_alert
from tests.standins.server import Response, StandIn
from tests.standins.slack import SlackWebhook, strings, texts

HOSTILE = [
    "<!channel> <!here> <!everyone> <@U123> <#C123> <!subteam^S123>",
    "<http://evil|click> here for a refund",
    "<script>alert(1)</script> <img src=http://evil/x.png>",
    "\x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07",
    "\u202egnp.exe &amp; &lt;!channel&gt;",
]
RAW = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C123>",
    "<http://evil|click>",
    "<script>",
]


def alert(text: str = "Cold coffee, rude staff.", **extra: Any) -> Alert:
    return make_alert(
        text,
        **{
            "channel": "slack",
            "created_at": datetime.now(UTC) - timedelta(minutes=5, seconds=10),
            **extra,
        },
    )


@dataclass
class FakeClock:
    """Time that moves only when the channel sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Hook:
    server: StandIn
    route: SlackWebhook
    clock: FakeClock
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url + self.route.path

    def channel(self, url: str | None = None, *, timeout: float = 5.0, **keys: Any) -> SlackChannel:
        config = SlackConfig(webhook_url=url or self.url, **keys)
        http = make_client(timeout=timeout)
        self.clients.append(http)
        return SlackChannel(config, http=http, clock=self.clock, sleep=self.clock.sleep)

    @property
    def last(self) -> dict[str, Any]:
        return self.route.payloads[-1]


@pytest.fixture
def hook() -> Iterator[Hook]:
    route = SlackWebhook()
    with StandIn(route) as server:
        hook = Hook(server, route, FakeClock())
        yield hook
        for client in hook.clients:
            client.close()


def of_type(payload: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [b for b in payload["blocks"] if b["type"] == kind]


# ------------------------------------------------------------------ messages


def test_a_message_has_every_part(hook: Hook) -> None:
    hook.channel().send(alert())
    payload = hook.last
    header, section, facts, actions, where = payload["blocks"]
    assert header["type"] == "header"
    assert header["text"]["text"] == "🔴 Very negative mention of Acme Coffee on Hacker News"
    assert section["text"] == {
        "type": "plain_text",
        "text": "Cold coffee, rude staff.",
        "emoji": False,
    }
    context = " | ".join(e["text"] for e in facts["elements"])
    for part in ("Hacker News", "by grumpy", "5 min ago", "why: angry words: rude"):
        assert part in context
    assert "3 comments, 12 points" in context
    (button,) = actions["elements"]
    assert button["text"]["text"] == "Open post"
    assert button["url"] == "https://news.ycombinator.com/item?id=1"
    assert where["elements"][0]["text"] == (
        "mention #7 · when handled: `mention-monitor mentions ack 7` (or resolve / ignore)"
    )
    assert payload["unfurl_links"] is False and payload["unfurl_media"] is False


def test_a_new_post_with_every_counter_at_zero_is_still_valid(hook: Hook) -> None:
    """Bluesky, Mastodon and X give a fresh post's counters as zeros: Slack refuses an
    empty text object, and the alert was lost ("invalid_blocks", not retried)."""
    zero = {"likes": 0, "reposts": 0, "replies": 0, "quotes": 0}
    hook.channel().send(alert(source="bluesky", engagement=zero))
    assert hook.route.problems == []
    facts = of_type(hook.last, "context")[0]["elements"]
    assert all(e["text"] for e in facts) and len(facts) == 4


def test_colour_cue_and_title(hook: Hook) -> None:
    hook.channel().send(alert(severity="negative", title="Worst café & bar"))
    header, section = hook.last["blocks"][:2]
    assert header["text"]["text"].startswith("🟠 Negative mention of Acme Coffee")
    assert section["text"]["text"] == "Worst café &amp; bar\nCold coffee, rude staff."
    hook.channel().send(alert(severity="info", label="positive", compound=0.8))
    assert hook.last["blocks"][0]["text"]["text"].startswith("🟢 ")


def test_text_fallback_for_notifications(hook: Hook) -> None:
    hook.channel().send(alert("Never again <!here>", author="<@U123>"))
    text = hook.last["text"]
    assert text.startswith("🔴 Very negative mention of Acme Coffee on Hacker News: ")
    assert "&lt;@U123&gt;" in text and "Never again &lt;!here&gt;" in text
    assert "<!channel>" not in text


def test_owner_can_ping_the_channel_for_high_alerts_only(hook: Hook) -> None:
    channel = hook.channel(mention_channel_on_high=True)
    channel.send(alert())
    assert hook.last["text"].startswith("<!channel> 🔴 ")
    channel.send(alert("<!channel> please", severity="negative"))
    assert "<!channel>" not in json.dumps(hook.last)
    hook.channel().send(alert())
    assert "<!channel>" not in hook.last["text"]


def test_test_alert_has_no_mention_id(hook: Hook) -> None:
    hook.channel().send(sample_alert("slack"))
    assert hook.last["blocks"][-1]["elements"][0]["text"] == "sent by mention-monitor"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_texts_arrive_inert(hook: Hook, hostile: str) -> None:
    a = alert(hostile, author=hostile, title=hostile, reasons=(hostile,), url="https://x.example/")
    channel = hook.channel()
    channel.send(a)
    channel.send_digest(Digest(kind="rollup", channel="slack", alerts=(a, a)))
    for payload in hook.route.payloads:
        for text in texts(payload):
            assert not any(raw in text for raw in RAW), text
        for value in strings(payload):
            assert "\u202e" not in value and "\x1b" not in value and "\x07" not in value
    assert len(hook.route.payloads) == 2


def test_escaping_order() -> None:
    assert escape("a & <b> &lt;") == "a &amp; &lt;b&gt; &amp;lt;"


def test_script_is_escaped_not_dropped(hook: Hook) -> None:
    hook.channel().send(alert("<script>alert(1)</script>"))
    assert hook.last["blocks"][1]["text"]["text"] == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_ten_kilobytes_of_emoji_are_trimmed(hook: Hook) -> None:
    hook.channel(max_text=300).send(alert("😡" * 2500))
    text = hook.last["blocks"][1]["text"]["text"]
    assert text.endswith("…") and text.startswith("😡😡") and len(text) == 300
    hook.channel().send(alert("<" * 5000))  # escaping grows it: still within 3000
    assert hook.last["blocks"][1]["text"]["text"].endswith("&lt;…")


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://x/y", "", "/relative"]
)
def test_non_http_link_gives_no_button(hook: Hook, url: str) -> None:
    hook.channel().send(alert(url=url))
    assert not of_type(hook.last, "actions")
    hook.channel().send_digest(Digest(kind="digest", channel="slack", alerts=(alert(url=url),)))
    assert "|Open>" not in json.dumps(hook.last)


def test_links_cannot_break_out(hook: Hook) -> None:
    url = "https://x.example/a b|<!channel>&q=<http://evil|click>"
    a = alert(url=url)
    hook.channel().send(a)
    (button,) = of_type(hook.last, "actions")[0]["elements"]
    assert button["url"].startswith("https://x.example/a%20b%7C%3C!channel%3E&q=")
    hook.channel().send_digest(Digest(kind="digest", channel="slack", alerts=(a,)))
    button = hook.last["blocks"][1]["accessory"]
    assert button["url"] == "https://x.example/a%20b%7C%3C!channel%3E&q=%3Chttp://evil%7Cclick%3E"


# ------------------------------------------------------------------ digests


def test_digest_of_sixty_stays_valid(hook: Hook) -> None:
    alerts = tuple(alert(f"complaint number {i}", id=i, mention_id=i) for i in range(1, 61))
    hook.channel().send_digest(Digest(kind="digest", channel="slack", alerts=alerts))
    payload = hook.last
    assert len(payload["blocks"]) <= 50
    assert payload["blocks"][0]["text"]["text"] == "Digest: 60 mentions of Acme Coffee, 60 negative"
    sections = of_type(payload, "section")
    assert "complaint number 1" in sections[0]["text"]["text"]
    assert sections[0]["accessory"]["url"] == "https://news.ycombinator.com/item?id=1"
    last = payload["blocks"][-1]
    assert last["type"] == "context"
    assert last["elements"][0]["text"].startswith(f"and {60 - len(sections)} more: ")
    assert "`mention-monitor mentions --negative`" in last["elements"][0]["text"]
    assert payload["text"] == "Digest: 60 mentions of Acme Coffee, 60 negative"


def test_small_digest_lists_everything(hook: Hook) -> None:
    alerts = (alert(id=1), alert(id=2, severity="negative", brand="Acme & Co"))
    hook.channel().send_digest(Digest(kind="rollup", channel="slack", alerts=alerts))
    blocks = hook.last["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section"]
    assert blocks[2]["text"]["text"].startswith("🟠 Acme &amp; Co · Hacker News · grumpy · ")


# ------------------------------------------------------------------ failures


def test_server_error_then_success(hook: Hook) -> None:
    hook.server.fail_next(Response(500, "rollup_error"))
    channel = hook.channel()
    with pytest.raises(AlertError) as info:
        channel.send(alert())
    assert not info.value.permanent and info.value.retry_after is None
    assert "server error" in info.value.message
    channel.send(alert())
    assert len(hook.route.payloads) == 1


def test_rate_limited_with_retry_after(hook: Hook) -> None:
    hook.server.fail_next(Response(429, "rate_limited", headers={"Retry-After": "7"}))
    with pytest.raises(AlertError) as info:
        hook.channel().send(alert())
    assert info.value.retry_after == 7 and not info.value.permanent
    assert not isinstance(info.value, ChannelMisconfigured)


def test_rate_limited_without_retry_after_waits_30s(hook: Hook) -> None:
    hook.server.fail_next(Response(429, "rate_limited"))
    with pytest.raises(AlertError) as info:
        hook.channel().send(alert())
    assert info.value.retry_after == 30


def test_timeout_is_transient(hook: Hook) -> None:
    hook.server.fail_next(Response(200, "ok", delay=1.5))
    with pytest.raises(AlertError) as info:
        hook.channel(timeout=0.3).send(alert())
    assert not info.value.permanent and "in time" in info.value.message


def test_removed_webhook_is_misconfigured(hook: Hook) -> None:
    with pytest.raises(ChannelMisconfigured) as info:  # the stand-in knows only its own path
        hook.channel(hook.server.url + "/services/T000/B000/revoked").send(alert())
    assert "404 no_service" in info.value.message and "create a new incoming webhook" in str(
        info.value
    )
    assert info.value.channel == "slack"


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (403, "invalid_token", "token is not valid"),
        (410, "channel_is_archived", "unarchive it, or create a new incoming webhook"),
        (404, "channel_not_found", "no longer exists"),
        (403, "action_prohibited", "admin"),
        (403, "", "does not accept this webhook URL"),
    ],
)
def test_broken_webhooks_need_the_owner(hook: Hook, status: int, code: str, words: str) -> None:
    hook.server.fail_next(Response(status, code))
    with pytest.raises(ChannelMisconfigured) as info:
        hook.channel(name="team-slack").send(alert())
    assert words in info.value.message and str(info.value).startswith("team-slack: ")


def test_refused_content_is_permanent(hook: Hook) -> None:
    hook.server.fail_next(Response(400, "invalid_blocks"))
    with pytest.raises(AlertError) as info:
        hook.channel().send(alert())
    assert info.value.permanent and not isinstance(info.value, ChannelMisconfigured)
    assert "400 invalid_blocks" in info.value.message


def test_the_stand_in_refuses_what_slack_refuses(hook: Hook) -> None:
    too_long = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    bad = [
        {"text": "t", "blocks": [too_long]},
        {"text": "t", "blocks": [{"type": "divider"}] * 51},
        {
            "text": "t",
            "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}],
        },
        {
            "text": "t",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "😀" * 1501}}],
        },
    ]
    for payload in bad:
        answer = httpx.post(hook.url, json=payload)
        assert (answer.status_code, answer.text) == (400, "invalid_blocks")
    assert httpx.post(hook.url, json={"blocks": []}).text == "no_text"
    assert not hook.route.payloads


def test_the_webhook_url_is_never_shown(hook: Hook, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for noisy in ("httpx", "httpcore"):  # as the CLI sets them: httpx logs request URLs at INFO
        caplog.set_level(logging.WARNING, logger=noisy)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}{hook.route.path}"
    faults = [
        Response(500, "rollup_error"),
        Response(429, "rate_limited", headers={"Retry-After": "7"}),
        Response(404, "no_service"),
        Response(403, "invalid_token"),
        Response(400, "invalid_blocks"),
        Response(400, hook.url),  # a body that echoes the URL is not repeated
        Response(200, "ok", delay=1.0),
    ]
    errors: list[AlertError] = []
    for fault in faults:
        hook.server.fail_next(fault)
        with pytest.raises(AlertError) as info:
            hook.channel(timeout=0.3).send(alert())
        errors.append(info.value)
    with pytest.raises(AlertError) as info:
        hook.channel(closed).send(alert())
    errors.append(info.value)
    assert "cannot reach Slack: ConnectError" in errors[-1].message
    for error in errors:
        shown = str(error) + error.message + "".join(traceback.format_exception(error))
        assert hook.route.token not in shown and "/services/" not in shown, shown
    assert hook.route.token not in caplog.text


# ------------------------------------------------------------------ pacing


def test_posts_to_one_webhook_are_a_second_apart(hook: Hook) -> None:
    clock = hook.clock
    seen: list[float] = []
    route = hook.route

    def timed(request: Any) -> Response:
        seen.append(clock.now)
        return route(request)

    hook.server.route = timed
    hook.channel().send(alert())
    hook.channel().send(alert())  # another instance, the same webhook
    assert len(seen) == 2 and seen[1] - seen[0] >= 1.0
    assert sum(clock.sleeps) >= 1.0

    other = SlackWebhook()
    with StandIn(other) as server:
        before = (clock.now, len(clock.sleeps))
        hook.channel(server.url + other.path).send(alert())
        assert (clock.now, len(clock.sleeps)) == before
    assert len(other.payloads) == 1


def test_no_wait_once_a_second_has_passed(hook: Hook) -> None:
    channel = hook.channel()
    channel.send(alert())
    hook.clock.now += 5
    channel.send(alert())
    assert hook.clock.sleeps == []


# ------------------------------------------------------------------ config


def test_config_repr_hides_the_url(hook: Hook) -> None:
    config = SlackConfig(webhook_url=hook.url)
    assert hook.route.token not in repr(config) and hook.route.token not in str(config)
    assert config.name == "slack" and config.max_text == 1200
    assert config.webhook_url.get_secret_value() == hook.url


@pytest.mark.parametrize(
    "value", ["hooks.slack.com/services/T0/B0/s3cr3tvalue", "s3cr3tvalue", "ftp://x/s3cr3tvalue"]
)
def test_config_rejects_a_non_url_without_echoing_it(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        SlackConfig(webhook_url=value)
    assert "s3cr3tvalue" not in str(info.value)
    assert "http(s) URL" in str(info.value)
