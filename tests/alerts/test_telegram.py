"""The Telegram bot channel sending: messages, threads, digests, errors and ``check``,
against the Bot API stand-in (tests/standins/telegram.py) over loopback.

Button presses and the end-to-end path are in test_telegram_buttons.py.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from alerts.telegram import TelegramChannel, TelegramConfig
from monitor.config import load_config, parse_config
from monitor.errors import AlertError, ChannelMisconfigured, ConfigError
from monitor.models import Digest
from monitor.store import Store
from tests.alerts.factories import (
    make_alert,
    make_escalation,
    make_health,
    make_reminder,
    make_spike,
)
from tests.alerts.test_delivery import negative
from tests.conftest import ConfigWriter
from tests.standins.hackernews import HackerNewsAPI
from tests.standins.server import Response, StandIn
from tests.standins.telegram import GROUP, TOKEN, Chat, TelegramBotAPI
from tests.test_cli import invoke

HOSTILE = (
    'Acme Coffee is awful <b>bold</b> & <a href="https://evil.example/x">click me</a> '
    "&amp; &lt;tg-spoiler&gt; </blockquote> <script>alert(1)</script> \x1b[31mred\u202eevil"
)


PUBLIC = "https://shop.example/monitor"


@pytest.fixture
def telegram() -> Iterator[tuple[StandIn, TelegramBotAPI]]:
    api = TelegramBotAPI()
    with StandIn(api) as server:
        yield server, api
        api.close()


def channel(server: StandIn, client: httpx.Client | None = None, **extra: Any) -> TelegramChannel:
    values: dict[str, Any] = {
        "type": "telegram",
        "bot_token": TOKEN,
        "chat_id": GROUP,
        "base_url": server.url,
        **extra,
    }
    return TelegramChannel(TelegramConfig.model_validate(values), http=client)


def test_an_alert_is_one_message_with_its_facts_buttons_and_links(
    telegram: tuple[StandIn, TelegramBotAPI], client: httpx.Client
) -> None:
    server, api = telegram
    alert = make_alert(inbox_url="https://shop.example/monitor/mentions/7")
    posted = channel(server, client).send(alert)

    (message,) = api.sent
    assert posted is not None and posted.ref == f"{GROUP}:{message.message_id}"
    assert api.problems == []
    text = message.text
    assert text.startswith("🔴 Very negative mention of Acme Coffee on Hacker News")
    for fact in ("Cold coffee, rude staff.", "by grumpy", "5 min ago", "why: angry words: rude"):
        assert fact in text
    assert "12 points" in text and "mention #7" in text
    assert "mentions ack" not in text, "a command nobody types on a phone"
    assert message.buttons() == {
        "Acknowledge": "mm:7:acknowledge",
        "Resolve": "mm:7:resolve",
        "Ignore": "mm:7:ignore",
        "Not negative": "mm:7:not_negative",
        "Open post": "https://news.ycombinator.com/item?id=1",
        "Open in inbox": "https://shop.example/monitor/mentions/7",
    }
    sent = [r for r in server.requests if r.path.endswith("/sendMessage")]
    assert json.loads(sent[0].body)["link_preview_options"] == {"is_disabled": True}


def test_hostile_text_is_shown_as_written_and_formats_or_links_nothing(
    telegram: tuple[StandIn, TelegramBotAPI],
) -> None:
    server, api = telegram
    alert = make_alert(
        HOSTILE,
        title="<i>Title</i> & <code>x</code>",
        author='<a href="tg://user?id=1">admin</a>',
        reasons=("<b>reason</b>",),
    )
    channel(server).send(alert)
    (message,) = api.sent
    assert api.problems == []
    text = message.text
    assert '<b>bold</b> & <a href="https://evil.example/x">click me</a> &amp; ' in text
    assert "&lt;tg-spoiler&gt; </blockquote> <script>alert(1)</script>" in text
    assert "<i>Title</i> & <code>x</code>" in text
    assert 'by <a href="tg://user?id=1">admin</a>' in text and "<b>reason</b>" in text
    assert "\x1b" not in text and "\u202e" not in text
    assert message.links == [], "a stranger's <a href> became a link"
    ours = {(e["type"], e["text"]) for e in message.entities}
    assert {kind for kind, _ in ours} == {"b", "blockquote"}
    assert all("evil" not in said for kind, said in ours if kind == "b")


def test_escalations_and_reminders_go_as_replies_to_the_first_message(
    telegram: tuple[StandIn, TelegramBotAPI],
) -> None:
    server, api = telegram
    bot = channel(server)
    first = bot.send(make_alert())
    assert first is not None
    bot.send(make_escalation(thread_ref=first.ref))
    bot.send(make_reminder(thread_ref=first.ref))
    escalation, reminder = api.sent[1:]
    assert escalation.reply_to == api.sent[0].message_id == reminder.reply_to
    assert "12 -> 47 points" in escalation.text and "mention #7 · acknowledged" in escalation.text
    # Acknowledged already: the buttons left are the ones that still apply.
    assert set(escalation.buttons()) == {"Resolve", "Ignore", "Not negative", "Open post"}
    # The first message deleted in the chat meanwhile: the escalation still goes out.
    bot.send(make_escalation(thread_ref=f"{GROUP}:999"))
    assert api.sent[-1].reply_to is None and "Spreading" in api.sent[-1].text
    # A thread in a chat this channel no longer posts to is not followed.
    bot.send(make_escalation(thread_ref="-100999:1"))
    assert api.sent[-1].reply_to is None


def test_notices_and_a_message_sent_again_after_a_crash(
    telegram: tuple[StandIn, TelegramBotAPI],
) -> None:
    server, api = telegram
    bot = channel(server)
    bot.send(make_spike())
    bot.send(make_health())
    bot.send(make_alert(possible_repeat=True))
    spike, health, repeat = api.sent
    assert api.problems == []
    assert (
        "complaint number 3" in spike.text and "mention-monitor mentions --negative" in spike.text
    )
    assert ("code", "mention-monitor mentions --negative --brand 'Acme Coffee' --since 1h") in {
        (e["type"], e["text"]) for e in spike.entities
    }
    assert spike.reply_markup is None, "a spike is about no one mention: no buttons"
    assert "hackernews failed 3 polls" in health.text and health.text.startswith("⚠️")
    assert "This may repeat an alert sent before a restart." in repeat.text


def test_a_long_post_is_cut_to_fit_telegram(telegram: tuple[StandIn, TelegramBotAPI]) -> None:
    server, api = telegram
    long = "Acme Coffee " + "terrible & <awful> " * 1000
    bot = channel(server, max_text=3000)
    bot.send(make_escalation(text=long, details=tuple("x" * 400 for _ in range(8))))
    (message,) = api.sent
    assert api.problems == [] and "…" in message.text
    assert len(message.text) <= 4096


def test_a_digest_is_one_message_listing_what_fits_with_buttons(
    telegram: tuple[StandIn, TelegramBotAPI],
) -> None:
    server, api = telegram
    alerts = tuple(
        make_alert(f"Acme Coffee was awful, visit {n} " * 12, id=n, mention_id=n)
        for n in range(1, 61)
    )
    posted = channel(server).send_digest(Digest("digest", "telegram", alerts))
    (message,) = api.sent
    assert posted is not None and api.problems == []
    assert message.text.startswith("Digest: 60 mentions of Acme Coffee, 60 negative")
    shown = message.text.count("#")
    assert 10 <= shown < 60 and f"and {60 - shown} more" in message.text
    rows = (message.reply_markup or {})["inline_keyboard"]
    assert len(rows) == 10
    assert [b["text"] for b in rows[0]] == ["#1 Acknowledge", "Resolve", "Ignore", "Not negative"]
    assert rows[9][0]["callback_data"] == "mm:10:acknowledge"
    assert message.links[0] == "https://news.ycombinator.com/item?id=1"


@pytest.mark.parametrize(
    ("answer", "kind", "words"),
    [
        (Response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
         ChannelMisconfigured, "bot token"),
        (Response(404, {"ok": False, "error_code": 404, "description": "Not Found"}),
         ChannelMisconfigured, "bot token"),
        (Response(403, {"ok": False, "error_code": 403,
                        "description": "Forbidden: bot was kicked from the supergroup chat"}),
         ChannelMisconfigured, "add the bot to the chat again"),
        (Response(400, {"ok": False, "error_code": 400,
                        "description": "Bad Request: group chat was upgraded to a supergroup chat",
                        "parameters": {"migrate_to_chat_id": -1009876}}),
         ChannelMisconfigured, "chat_id to -1009876"),
        (Response(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
         AlertError, "will retry"),
        (Response(502, "<html>Bad Gateway</html>", {"Content-Type": "text/html"}),
         AlertError, "502"),
        (Response(400, {"ok": False, "error_code": 400,
                        "description": "Bad Request: can't parse entities: oops"}),
         AlertError, "not retried"),
    ],
)  # fmt: skip
def test_telegram_s_refusals_become_the_errors_the_dispatcher_acts_on(
    telegram: tuple[StandIn, TelegramBotAPI], answer: Response, kind: type[Exception], words: str
) -> None:
    server, api = telegram
    server.fail_next(answer)
    with pytest.raises(AlertError) as raised:
        channel(server).send(make_alert())
    assert type(raised.value) is kind
    assert words in str(raised.value)
    if kind is AlertError:
        assert raised.value.permanent == ("not retried" in words)
    assert TOKEN not in str(raised.value) and "Bad Gateway" not in str(raised.value)
    assert api.sent == []


def test_429_asks_the_whole_channel_to_wait_retry_after(
    telegram: tuple[StandIn, TelegramBotAPI],
) -> None:
    server, api = telegram
    api.rate_limit(7)
    with pytest.raises(AlertError) as raised:
        channel(server).send(make_alert())
    assert raised.value.retry_after == 7 and not raised.value.permanent
    assert "rate limiting" in str(raised.value)


def test_a_chat_telegram_does_not_know_or_the_bot_is_not_in_is_named(
    telegram: tuple[StandIn, TelegramBotAPI],
) -> None:
    server, api = telegram
    with pytest.raises(ChannelMisconfigured) as raised:
        channel(server, chat_id=-100555).send(make_alert())
    assert "chat -100555" in str(raised.value) and "chat not found" in str(raised.value)
    api.chats[GROUP].bot_status = "left"
    with pytest.raises(ChannelMisconfigured, match="bot is not a member"):
        channel(server).send(make_alert())


def test_a_refused_link_button_does_not_lose_the_alert(
    telegram: tuple[StandIn, TelegramBotAPI],
) -> None:
    server, api = telegram
    refused = {"ok": False, "error_code": 400, "description": "Bad Request: BUTTON_URL_INVALID"}
    server.fail_next(Response(400, refused))
    posted = channel(server).send(make_alert(url="https://xn--odd-host.example/post"))
    (message,) = api.sent
    assert posted is not None and set(message.buttons()) == {
        "Acknowledge", "Resolve", "Ignore", "Not negative",
    }  # fmt: skip


def test_the_token_never_shows_in_errors_or_logs(
    telegram: tuple[StandIn, TelegramBotAPI], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = telegram
    caplog.set_level(logging.DEBUG)
    # A proxy that echoes the request's path in its error.
    echo = {"ok": False, "error_code": 500, "description": f"error at /bot{TOKEN}/sendMessage"}
    server.fail_next(Response(500, echo))
    with pytest.raises(AlertError) as raised:
        channel(server).send(make_alert())
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(AlertError) as unreachable:
        channel(server, base_url=closed).send(make_alert())
    assert "cannot reach Telegram (sendMessage): ConnectError" in str(unreachable.value)
    for said in (str(raised.value), str(unreachable.value), caplog.text):
        assert TOKEN not in said and TOKEN.split(":")[1] not in said


def test_config_keys_are_checked_in_the_owner_s_words(tmp_path: Path) -> None:
    def load(channel: str) -> None:
        parse_config(
            f"""
database: sqlite:///{tmp_path / "store.db"}
brands: [{{name: Acme, keywords: [Acme]}}]
sources: {{hackernews: {{}}}}
alerts:
  channels:
    - {channel}
""",
            base_dir=tmp_path,
        )

    load(f'{{type: telegram, bot_token: "{TOKEN}", chat_id: "@acme_alerts"}}')
    load(f'{{type: telegram, bot_token: "{TOKEN}", chat_id: "-1001234", allowed_users: [5]}}')
    with pytest.raises(ConfigError) as bad_token:
        load('{type: telegram, bot_token: "AAHdqTcvCH1vGWJx-secret", chat_id: 5}')
    assert "not a Telegram bot token" in str(bad_token.value)
    assert "AAHdqTcvCH1vGWJx-secret" not in str(bad_token.value)
    with pytest.raises(ConfigError, match="not a Telegram chat"):
        load(f'{{type: telegram, bot_token: "{TOKEN}", chat_id: "my group"}}')
    with pytest.raises(ConfigError, match="one or more Telegram user ids"):
        load(f'{{type: telegram, bot_token: "{TOKEN}", chat_id: 5, allowed_users: []}}')


def test_check_online_says_who_the_bot_is_and_where_it_posts(
    telegram: tuple[StandIn, TelegramBotAPI],
) -> None:
    server, api = telegram
    lines = channel(server, allowed_users=[5550001]).check(online=True)
    assert lines[0] == (
        f"bot token set; alerts go to chat {GROUP}; buttons: Telegram users 5550001"
    )
    assert "the bot is @acme_mentions_bot" in lines[1]
    assert "supergroup 'Acme alerts'" in lines[2]
    assert "no webhook set" in lines[3]
    assert channel(server).check(online=False) == [
        f"bot token set; alerts go to chat {GROUP}; buttons: anyone in the chat"
    ]
    assert api.calls.count("getme") == 1, "offline check touched the network"


def test_check_online_finds_what_would_stop_the_buttons(
    telegram: tuple[StandIn, TelegramBotAPI],
) -> None:
    server, api = telegram
    api.chats[-100777] = Chat(-100777, type="channel", username="acme_news", bot_status="member")
    with pytest.raises(ChannelMisconfigured, match="administrator who may post"):
        channel(server, chat_id="@acme_news").check(online=True)
    api.chats[-100777].bot_status = "administrator"
    lines = channel(server, chat_id="@acme_news").check(online=True)
    assert "everyone who reads the channel can press its buttons" in lines[-1]
    api.webhook = "https://elsewhere.example/hook"
    with pytest.raises(ChannelMisconfigured, match="deleteWebhook"):
        channel(server).check(online=True)
    with pytest.raises(ChannelMisconfigured, match="bot token"):
        channel(server, bot_token="987654321:" + "B" * 35).check(online=True)


@pytest.fixture
def telegram_config(
    write_config: ConfigWriter,
    hn_url: str,
    telegram: tuple[StandIn, TelegramBotAPI],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    return configure(write_config, hn_url, telegram[0].url, public_url=None)


def configure(
    write_config: ConfigWriter,
    hn_url: str,
    telegram_url: str,
    channel: str = "",
    public_url: str | None = PUBLIC,
) -> Path:
    """A config polling a Hacker News stand-in, alerting the Telegram stand-in (with
    ``channel``'s extra keys), and the inbox at ``public_url`` for its links."""
    web = (
        f"""
        web:
          password: correct horse battery
          public_url: {public_url}
        """
        if public_url
        else ""
    )
    return write_config(
        f"""
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          hackernews: {{base_url: "{hn_url}"}}
        alerts:
          console: false
          channels:
            - type: telegram
              bot_token: ${{TELEGRAM_BOT_TOKEN}}
              chat_id: {GROUP}
              base_url: "{telegram_url}"
              {channel}
        """
        + web
    )


def test_a_rate_limited_bot_makes_the_whole_channel_wait_then_delivers_once(
    telegram: tuple[StandIn, TelegramBotAPI], telegram_config: Path, hn_api: HackerNewsAPI
) -> None:
    server, api = telegram
    negative(hn_api, 1)
    api.rate_limit(60)
    first = invoke("poll", "-c", str(telegram_config))
    assert first.exit_code == 1 and "rate limiting this bot" in first.stderr
    negative(hn_api, 2)
    again = invoke("poll", "-c", str(telegram_config))
    sends = [r for r in server.requests if r.path.endswith("/sendMessage")]
    assert len(sends) == 1, "the channel did not wait as Telegram asked"
    assert again.exit_code == 0 and "1 held" in again.stderr
    store = Store(load_config(telegram_config).database)
    try:
        until = store.channel_waits()["telegram"].until
        assert until is not None and 50 <= (until - datetime.now(UTC)).total_seconds() <= 60
    finally:
        store.close()


def test_a_revoked_token_pauses_the_channel_and_keeps_its_alerts(
    telegram: tuple[StandIn, TelegramBotAPI], telegram_config: Path, hn_api: HackerNewsAPI
) -> None:
    server, api = telegram
    negative(hn_api, 1)
    api.token = "987654321:" + "C" * 35  # ours was revoked in @BotFather: refused
    first = invoke("poll", "-c", str(telegram_config))
    assert first.exit_code == 1 and "does not accept the bot token" in first.stderr
    assert TOKEN not in first.output
    negative(hn_api, 2)
    second = invoke("poll", "-c", str(telegram_config))
    assert "bot token" not in second.output, "the pause was said again"
    sends = [r for r in server.requests if r.path.endswith("/sendMessage")]
    assert len(sends) == 1, "a paused channel was sent to"
    api.token = TOKEN  # the owner put the new token in place
    resumed = invoke("test-alert", "-c", str(telegram_config), "--channel", "telegram")
    assert resumed.exit_code == 0, resumed.output
    done = invoke("poll", "-c", str(telegram_config))
    assert done.exit_code == 0, done.output
    texts = [m.text for m in api.sent]
    assert sum("#1" in t for t in texts) == 1 and sum("#2" in t for t in texts) == 1


def test_mention_monitor_check_online_asks_the_bot_and_fails_when_telegram_refuses(
    telegram: tuple[StandIn, TelegramBotAPI], telegram_config: Path
) -> None:
    from tests.test_cli import invoke

    offline = invoke("check", "-c", str(telegram_config))
    assert offline.exit_code == 0, offline.output
    assert f"telegram: bot token set; alerts go to chat {GROUP}" in offline.stdout
    assert "the bot is @" not in offline.stdout, "an offline check asked Telegram"

    online = invoke("check", "--online", "-c", str(telegram_config))
    assert online.exit_code == 0, online.output
    assert "the token works: the bot is @acme_mentions_bot" in online.stdout

    telegram[1].webhook = "https://elsewhere.example/hook"
    refused = invoke("check", "--online", "-c", str(telegram_config))
    assert refused.exit_code == 1
    assert "telegram: FAILED:" in refused.stdout and "deleteWebhook" in refused.stdout
    assert TOKEN not in refused.output
