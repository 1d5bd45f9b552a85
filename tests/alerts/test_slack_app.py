"""The Slack app channel posting: against the Web API stand-in (tests/standins/slack_api.py)
on loopback, through slack_sdk's real WebClient. Presses are in test_slack_app_presses.py,
the whole way from a poll to a pressed button in test_slack_app_e2e.py."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from alerts.slack import SlackChannel, SlackConfig
from alerts.slack_app import EVENT_TYPE
from monitor.config import parse_config
from monitor.errors import AlertError, ChannelMisconfigured, ConfigError
from monitor.models import VIRAL, Alert, Digest
from monitor.store import Store
from tests.alerts.factories import make_alert, make_escalation, make_spike
from tests.alerts.test_slack import HOSTILE, RAW
from tests.monitor.test_dispatcher import Clock, make, setup
from tests.standins.server import Response
from tests.standins.slack import strings, texts
from tests.standins.slack_api import SlackAPI, running

NOW = datetime.now(UTC)


@pytest.fixture
def api() -> Iterator[SlackAPI]:
    with running() as api:
        yield api


def app(api: SlackAPI, **keys: Any) -> SlackChannel:
    values: dict[str, Any] = {
        "bot_token": api.bot_token,
        "channel": "#mentions",
        "app_token": api.app_token,
        "base_url": f"{api.url}/api",
        **keys,
    }
    return SlackChannel(SlackConfig(**values), clock=lambda: 0.0, sleep=lambda s: None)


def alert(**extra: Any) -> Alert:
    return make_alert(**{"channel": "slack", "queued_at": NOW, **extra})


def buttons(message: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(words, action_id, value) of the interactive buttons; link buttons have a url."""
    return [
        (e["text"]["text"], e.get("action_id"), e.get("value"))
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "url" not in e
    ]


def links(message: dict[str, Any]) -> list[str]:
    return [
        e["text"]["text"]
        for b in message["blocks"]
        for e in ([b.get("accessory")] if b.get("accessory") else b.get("elements", []))
        if isinstance(e, dict) and "url" in e
    ]


# ------------------------------------------------------------------ configuration

BASE = """
brands: [{name: Acme, keywords: [Acme]}]
sources: {hackernews: {}}
alerts:
  channels:
    - type: slack
"""


@pytest.mark.parametrize(
    ("keys", "said"),
    [
        ("", "give either `webhook_url`"),
        ("webhook_url: https://hooks.slack.com/services/T/B/x\n      bot_token: xoxb-1-abc",
         "not both"),
        ("bot_token: xoxb-1-abc", "`bot_token` needs `channel`"),
        ("webhook_url: https://hooks.slack.com/services/T/B/x\n      app_token: xapp-1-abc",
         "`app_token` is for the Slack app: it needs `bot_token`"),
        ('bot_token: xapp-1-wrongkind\n      channel: "#m"', "bot_token: is not a Slack xoxb-"),
        ('bot_token: xoxb-1\n      channel: "#m"\n      app_token: xoxb-1', "app_token: is not"),
        ("bot_token: xoxb-1\n      channel: #mentions", 'in quotes: channel: "#mentions"'),
        ('bot_token: xoxb-1\n      channel: "General Chat"', "is not a Slack channel"),
        ('bot_token: xoxb-1\n      channel: C0123ABCD\n      allowed_users: [maria]',
         "is not a Slack member id"),
    ],
)  # fmt: skip
def test_the_config_says_what_is_wrong_with_the_keys(keys: str, said: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(BASE + (f"      {keys}\n" if keys else ""))
    assert said in str(raised.value)
    assert "wrongkind" not in str(raised.value), "a token was repeated in an error"


def test_the_app_config_takes_a_name_or_an_id_and_member_ids() -> None:
    config = parse_config(
        BASE + '      bot_token: xoxb-1-abc\n      channel: "#mentions"\n'
        "      allowed_users: [U0MARIA1, W0JO2345]\n"
    )
    slack = next(c for c in config.channels if c.type == "slack")
    assert slack.channel == "#mentions" and slack.allowed_users == ["U0MARIA1", "W0JO2345"]
    assert slack.base_url == "https://slack.com/api"
    assert "xoxb" not in repr(slack)


# ------------------------------------------------------------------ messages


def test_an_alert_is_posted_with_its_buttons_and_says_which_alerts_it_carries(
    api: SlackAPI,
) -> None:
    a = alert(id=5, mention_id=7, inbox_url="https://inbox.example/mentions/7",
              ack_url="https://inbox.example/mentions/7/ack")  # fmt: skip
    posted = app(api).send(a)
    (message,) = api.messages()
    assert posted is not None and posted.ref == f"C0MENTIONS:{message['ts']}"
    assert api.problems == []
    assert buttons(message) == [
        ("Acknowledge", "mention_monitor.acknowledge", "7"),
        ("Resolve", "mention_monitor.resolve", "7"),
        ("Ignore", "mention_monitor.ignore", "7"),
        ("Not negative", "mention_monitor.not_negative", "7"),
    ]
    assert links(message) == ["Open post", "Open in inbox"], "the Acknowledge link stays"
    assert message["metadata"] == {"event_type": EVENT_TYPE, "event_payload": {"alert_ids": "5"}}
    assert message["blocks"][-1]["elements"][0]["text"] == "mention #7"
    (args,) = api.posts
    assert args["channel"] == "#mentions" and args["unfurl_links"] is False


def test_an_answered_mention_gets_only_the_buttons_that_still_apply(api: SlackAPI) -> None:
    app(api).send(make_escalation(channel="slack", queued_at=NOW))  # status: acknowledged
    (message,) = api.messages()
    assert [b[0] for b in buttons(message)] == ["Resolve", "Ignore", "Not negative"]


def test_a_notice_has_no_buttons(api: SlackAPI) -> None:
    app(api).send(make_spike(channel="slack", queued_at=NOW))
    (message,) = api.messages()
    assert buttons(message) == [] and api.problems == []


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_stays_inert(api: SlackAPI, hostile: str) -> None:
    a = alert(text=hostile, author=hostile, title=hostile, reasons=(hostile,))
    channel = app(api)
    channel.send(a)
    channel.send_digest(Digest("rollup", "slack", (a, replace(a, id=2, mention_id=8))))
    assert api.problems == []
    for message in api.messages():
        for text in texts(message["blocks"]):
            assert not any(raw in text for raw in RAW), text
        for value in strings(message):
            assert "\u202e" not in value and "\x1b" not in value
        for block in message["blocks"]:
            if block["type"] == "section":
                assert block["text"]["type"] == "plain_text", block


def test_escalations_go_in_the_first_messages_thread_and_viral_also_in_the_channel(
    api: SlackAPI,
) -> None:
    channel = app(api)
    first = channel.send(alert(id=1))
    assert first is not None
    channel.send(make_escalation(channel="slack", id=2, thread_ref=first.ref, queued_at=NOW))
    channel.send(make_escalation(VIRAL, channel="slack", id=3, thread_ref=first.ref))
    parent, spreading, viral = api.messages()
    assert spreading["thread_ts"] == parent["ts"] and "subtype" not in spreading
    assert viral["thread_ts"] == parent["ts"] and viral["subtype"] == "thread_broadcast"
    assert api.posts[1]["reply_broadcast"] is False and api.posts[2]["reply_broadcast"] is True
    assert api.problems == []


def test_a_thread_in_another_channel_is_not_followed(api: SlackAPI) -> None:
    app(api).send(make_escalation(channel="slack", thread_ref="C0ELSEWHERE:1700000000.000100"))
    (message,) = api.messages()
    assert "thread_ts" not in message


def test_a_digest_has_buttons_under_each_mention_while_slacks_blocks_last(
    api: SlackAPI,
) -> None:
    alerts = tuple(alert(id=i, mention_id=100 + i) for i in range(1, 41))
    app(api).send_digest(Digest("digest", "slack", alerts))
    (message,) = api.messages()
    assert api.problems == [] and len(message["blocks"]) <= 50
    pressable = {value for _, _, value in buttons(message)}
    assert len(pressable) == 22, "2 blocks a mention: 22 of 40 fit with the header and a note"
    assert "and 18 more" in message["blocks"][-1]["elements"][0]["text"]
    assert message["metadata"]["event_payload"]["alert_ids"] == ",".join(
        str(i) for i in range(1, 41)
    )


# ------------------------------------------------------------------ found again, not doubled


def test_a_message_posted_before_a_crash_is_found_again_not_posted_twice(api: SlackAPI) -> None:
    channel = app(api)
    first = channel.send(alert(id=5))
    again = channel.send(alert(id=5, possible_repeat=True))
    assert again == first and len(api.messages()) == 1
    assert "conversations.history" in api.calls


def test_a_reply_posted_before_a_crash_is_found_in_its_thread(api: SlackAPI) -> None:
    channel = app(api)
    first = channel.send(alert(id=1))
    assert first is not None
    escalation = make_escalation(channel="slack", id=2, thread_ref=first.ref, queued_at=NOW)
    reply = channel.send(escalation)
    assert channel.send(replace(escalation, possible_repeat=True)) == reply
    assert len(api.messages()) == 2 and "conversations.replies" in api.calls


def test_a_digest_posted_before_a_crash_is_found_again(api: SlackAPI) -> None:
    channel = app(api)
    digest = Digest("rollup", "slack", (alert(id=3), alert(id=4, mention_id=8)))
    first = channel.send_digest(digest)
    repeat = replace(digest, alerts=tuple(replace(a, possible_repeat=True) for a in digest.alerts))
    assert channel.send_digest(repeat) == first and len(api.messages()) == 1


def test_a_message_that_never_arrived_is_posted_saying_it_may_repeat(api: SlackAPI) -> None:
    channel = app(api)
    channel.send(alert(id=5))  # another alert: not the one re-sent
    channel.send(alert(id=6, possible_repeat=True))
    assert len(api.messages()) == 2
    assert "may repeat an alert" in str(api.messages()[1]["blocks"])


def test_without_the_history_scope_a_repeat_is_posted_with_a_warning(
    api: SlackAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.scopes.discard("channels:history")
    channel = app(api)
    channel.send(alert(id=5))
    channel.send(alert(id=5, possible_repeat=True))
    assert len(api.messages()) == 2
    assert "channels:history" in caplog.text and "possible repeat" in caplog.text


# ------------------------------------------------------------------ failures


def test_a_rate_limit_makes_the_whole_channel_wait_as_slack_asks(
    api: SlackAPI, store: Store
) -> None:
    setup(store, 2, channels=("slack",))
    clock = Clock()
    channel = app(api)
    api.rate_limit("chat.postMessage", 7)
    report = make(store, channel, clock=clock).dispatch()
    assert report.sent == 0 and "rate limiting" in report.errors[0]
    api.recover()
    clock.advance(seconds=6)
    assert make(store, channel, clock=clock).dispatch().sent == 0, "it did not wait 7 s"
    clock.advance(seconds=2)
    assert make(store, channel, clock=clock).dispatch().sent == 2
    assert api.calls.count("chat.postMessage") == 3


def test_a_revoked_token_pauses_the_channel_and_says_how_to_fix_it(
    api: SlackAPI, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    setup(store, 1, channels=("slack",))
    api.revoke()
    report = make(store, app(api), clock=Clock()).dispatch()
    assert report.sent == 0 and report.retrying == 1
    (reason,) = [r for _, r in store.paused_channels().values()]
    assert "bot token (bot_token) was revoked" in reason and "OAuth & Permissions" in reason
    assert api.bot_token not in reason + caplog.text + str(report.errors)


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("missing_scope", "lacks the chat:write scope"),
        ("not_in_channel", "/invite @mention-monitor"),
        ("archived", "#mentions is archived"),
    ],
)
def test_what_the_owner_must_fix_pauses_the_channel(api: SlackAPI, fault: str, said: str) -> None:
    if fault == "missing_scope":
        api.scopes.discard("chat:write")
    elif fault == "not_in_channel":
        api.channels["C0MENTIONS"].members.discard("U0BOT")
    else:
        api.channels["C0MENTIONS"].archived = True
    with pytest.raises(ChannelMisconfigured) as raised:
        app(api).send(alert())
    assert said in raised.value.message


def test_a_server_error_is_retried_and_a_refused_message_is_not(api: SlackAPI) -> None:
    channel = app(api)
    api.server.fail_next(Response(503, "<html>upstream down</html>"))
    with pytest.raises(AlertError) as transient:
        channel.send(alert())
    assert not transient.value.permanent and "HTTP 503" in transient.value.message
    assert "upstream" not in transient.value.message, "a response body was repeated"
    api.server.fail_next(Response(200, {"ok": False, "error": "msg_too_long"}))
    with pytest.raises(AlertError) as refused:
        channel.send(alert())
    assert refused.value.permanent and "msg_too_long" in refused.value.message


def test_an_unreachable_slack_is_a_transient_error(api: SlackAPI) -> None:
    channel = app(api, base_url="http://127.0.0.1:9/api")  # the discard port: refused
    with pytest.raises(AlertError) as raised:
        channel.send(alert())
    assert "cannot reach Slack" in raised.value.message and not raised.value.permanent


# ------------------------------------------------------------------ check


def test_check_says_what_is_set_up_without_asking_slack(api: SlackAPI) -> None:
    lines = app(api, allowed_users=["U0MARIA"]).check(online=False)
    assert lines == [
        "Slack app: posts to #mentions as its bot (bot_token set)",
        "buttons: presses arrive over Socket Mode (app_token set)",
        "who may answer from #mentions: U0MARIA",
    ]
    assert api.calls == []


def test_check_online_asks_slack_about_both_tokens_and_the_channel(api: SlackAPI) -> None:
    lines = app(api).check(online=True)
    assert "Slack accepts the bot token: @mention-monitor in Acme" in lines
    assert "the bot is in #mentions (3 members)" in lines
    assert lines[-1] == "Slack accepts the app-level token: Socket Mode can connect"
    assert {"auth.test", "conversations.list", "conversations.members"} <= set(api.calls)
    assert "apps.connections.open" in api.calls


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("bot", "bot token (bot_token) is not valid"),
        ("app", "app-level token (app_token) was revoked"),
        ("member", "the bot is not in #mentions: open #mentions in Slack and type /invite"),
        ("name", "Slack shows the bot no channel #nowhere"),
    ],
)
def test_check_online_says_what_to_fix(api: SlackAPI, fault: str, said: str) -> None:
    keys: dict[str, Any] = {}
    if fault == "bot":
        keys["bot_token"] = "xoxb-not-the-one"
    elif fault == "app":
        api.revoke(api.app_token)
    elif fault == "member":
        api.channels["C0MENTIONS"].members.discard("U0BOT")
    else:
        keys["channel"] = "#nowhere"
    with pytest.raises(ChannelMisconfigured) as raised:
        app(api, **keys).check(online=True)
    assert said in raised.value.message


def test_no_token_is_ever_logged(api: SlackAPI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    channel = app(api)
    channel.send(alert())
    api.revoke()
    with pytest.raises(ChannelMisconfigured):
        channel.send(alert())
    assert api.bot_token not in caplog.text and api.app_token not in caplog.text


def test_the_manifest_asks_for_exactly_the_scopes_the_app_uses() -> None:
    from pathlib import Path

    from ruamel.yaml import YAML

    from tests.standins.slack_api import SCOPES

    root = Path(__file__).resolve().parents[2]
    manifest = YAML(typ="safe").load((root / "deploy" / "slack-app-manifest.yaml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == SCOPES
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    page = (root / "docs" / "channels" / "slack-app.md").read_text()
    for key in SlackConfig.model_fields:
        if key in ("bot_token", "channel", "app_token", "signing_secret", "allowed_users"):
            assert f"`{key}`" in page, key


def test_only_the_app_is_interactive(api: SlackAPI) -> None:
    hook = SlackChannel(SlackConfig(webhook_url="https://hooks.slack.com/services/T/B/x"))
    assert app(api).interactive and not hook.interactive
    with pytest.raises(NotImplementedError):
        hook.listen(lambda p: None, None)  # type: ignore[arg-type, return-value]


def test_posts_to_one_channel_are_a_second_apart(api: SlackAPI) -> None:
    from tests.alerts.test_slack import FakeClock

    clock = FakeClock()
    config = app(api).config
    channel = SlackChannel(config, clock=clock, sleep=clock.sleep)
    channel.send(alert(id=1))
    channel.send(alert(id=2))
    assert clock.sleeps == [1.0] and len(api.messages()) == 2


def test_a_thread_gone_from_slack_does_not_stop_a_repeat(api: SlackAPI) -> None:
    channel = app(api)
    first = channel.send(alert(id=1))
    assert first is not None
    api.channels["C0MENTIONS"].messages.clear()  # someone deleted the alert in Slack
    escalation = make_escalation(channel="slack", id=2, thread_ref=first.ref, queued_at=NOW)
    with contextlib.suppress(AlertError):  # what Slack says to a reply to nothing is its own
        channel.send(replace(escalation, possible_repeat=True))
    assert api.calls[-2:] == ["conversations.replies", "chat.postMessage"], "it gave up"
