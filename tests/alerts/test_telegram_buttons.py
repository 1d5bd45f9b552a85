"""The Telegram bot's buttons end to end: a real poll of the Hacker News stand-in alerts in
the Bot API stand-in, the service's listener long-polls it, people in the chat press
buttons (the stand-in sends their callback queries), and the store, the CLI and the edited
messages show what the press did.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.telegram import TelegramChannel
from alerts.telegram_buttons import NOT_HERE, NOT_RECORDED, UNKNOWN_BUTTON
from monitor.actions import Answered, Press
from monitor.config import Config, load_config
from monitor.errors import ChannelMisconfigured, StorageError
from monitor.service import Service
from tests.alerts.test_telegram import (  # the stand-in fixture, and the config
    PUBLIC,
    configure,
    telegram,  # noqa: F401
)
from tests.conftest import ConfigWriter
from tests.standins.hackernews import HackerNewsAPI, comment, story
from tests.standins.server import StandIn
from tests.standins.telegram import GROUP, JO, MARIA, TOKEN, Chat, Message, TelegramBotAPI
from tests.test_cli import invoke

ANGRY = "Acme Coffee charged me twice and support never answered, awful"
TIME = re.compile(r"at \d\d:\d\d UTC")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Owner:
    """The owner's set-up: config, the bot's stand-in, the service listening."""

    path: Path
    config: Config
    api: TelegramBotAPI
    service: Service
    clock: Clock
    stop: threading.Event
    threads: list[threading.Thread]

    def minutes(self, n: int) -> None:
        for _ in range(n):
            self.clock.now += timedelta(minutes=1)
            self.service.watch()
            self.service.dispatch()

    def press(self, message: Message, label: str, user: dict[str, Any]) -> dict[str, Any]:
        """Press a button and wait for the bot's answer to it (what the presser sees)."""
        qid = self.api.press(message, label, user)
        found: list[dict[str, Any]] = []

        def answered() -> bool:
            found[:] = [a for a in self.api.answers if a["callback_query_id"] == qid]
            return bool(found)

        assert self.api.wait(answered), f"no answer to pressing {label}"
        return found[0]

    def mention(self, n: int) -> Any:
        row = self.service.store.mention(n)
        assert row is not None
        return row

    def mention_id(self) -> int:
        (row,) = self.service.store.mentions(negative=True)
        return row.id


@pytest.fixture
def owner(
    write_config: ConfigWriter,
    hn_url: str,
    telegram: tuple[StandIn, TelegramBotAPI],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Owner]]:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    made: list[Owner] = []

    def make(channel: str = "") -> Owner:
        path = configure(write_config, hn_url, telegram[0].url, channel)
        config = load_config(path)
        clock = Clock()
        service = Service(config, clock=clock, strict=True)
        stop = threading.Event()
        chat = Owner(path, config, telegram[1], service, clock, stop, [])
        made.append(chat)
        return chat

    yield make
    for chat in made:
        chat.stop.set()
        for thread in chat.threads:
            thread.join(5)
        chat.service.close()


def listen(chat: Owner) -> None:
    chat.threads += chat.service.listen(chat.stop)


def test_a_press_in_telegram_acknowledges_updates_the_message_and_escalations_thread(
    owner: Callable[..., Owner], hn_api: HackerNewsAPI
) -> None:
    chat = owner()
    hn_api.add(story(301, ANGRY, created=int(time.time()) - 60))
    done = invoke("poll", "-c", str(chat.path))
    assert done.exit_code == 0, done.output
    (first,) = chat.api.sent
    n = chat.mention_id()
    assert first.buttons()["Acknowledge"] == f"mm:{n}:acknowledge"

    listen(chat)
    said = chat.press(first, "Acknowledge", MARIA)
    assert re.fullmatch(r"Acknowledged by @maria on Telegram at \d\d:\d\d UTC", said["text"])
    assert chat.api.wait(lambda: first.edits == 1)
    assert said["text"] in first.text and "mention #" in first.text
    assert first.buttons() == {
        "Resolve": f"mm:{n}:resolve",
        "Ignore": f"mm:{n}:ignore",
        "Not negative": f"mm:{n}:not_negative",
        "Open post": f"https://news.ycombinator.com/item?id={301}",
        "Open in inbox": f"{PUBLIC}/mentions/{n}",
    }
    listed = invoke("mentions", "-c", str(chat.path), "--status", "acknowledged")
    assert listed.exit_code == 0 and f"#{n} " in listed.stdout and "[acknowledged]" in listed.stdout
    history = chat.service.store.status_changes(n)
    assert [(c.status, c.actor) for c in history] == [("acknowledged", "@maria on Telegram")]

    # Angry replies on the tracked story: spreading, as a reply under the first message.
    for k in range(4):
        text = html.escape("Same here, they ignored my emails for weeks. Terrible.")
        hn_api.add(comment(900 + k, text, story_id=301, created=int(time.time()) - 10))
    chat.service.poll()
    chat.minutes(6)  # the first re-reading is due 5 min after the CLI's poll saw the story
    escalation = chat.api.sent[-1]
    assert "Spreading" in escalation.text and escalation.reply_to == first.message_id
    assert set(escalation.buttons()) == {
        "Resolve", "Ignore", "Not negative", "Open post", "Open in inbox",
    }  # fmt: skip
    assert chat.api.problems == []

    # Resolved from the escalation: both messages are brought up to date.
    chat.press(escalation, "Resolve", MARIA)
    assert chat.api.wait(lambda: first.edits == 2 and escalation.edits == 1)
    for message in (first, escalation):
        assert "Resolved by @maria on Telegram" in message.text
        assert set(message.buttons()) == {"Open post", "Open in inbox"}

    chat.stop.set()
    for thread in chat.threads:
        thread.join(5)  # the listener was in the middle of a 25 s long poll
        assert not thread.is_alive(), "the listener did not stop"
    assert chat.api.pending() == [], "the handled presses were not confirmed"


def test_presses_by_others_or_from_another_chat_change_nothing(
    owner: Callable[..., Owner], hn_api: HackerNewsAPI
) -> None:
    chat = owner(f"allowed_users: [{MARIA['id']}]")
    hn_api.add(story(302, ANGRY, created=int(time.time()) - 60))
    assert invoke("poll", "-c", str(chat.path)).exit_code == 0
    (first,) = chat.api.sent
    n = chat.mention_id()
    listen(chat)

    said = chat.press(first, "Acknowledge", JO)
    assert said["text"].startswith("Not allowed") and str(JO["id"]) in said["text"]
    chat.api.chats[-100888] = Chat(-100888, title="Another group")
    elsewhere = chat.api.post(-100888, "an old alert", first.reply_markup or {})
    assert chat.press(elsewhere, "Resolve", MARIA)["text"] == NOT_HERE
    chat.api.say(GROUP, "what is this bot?", JO)  # not a press: not even asked for
    assert chat.mention(n).status == "new"
    assert first.edits == 0 and chat.service.store.status_changes(n) == []

    chat.press(first, "Ignore", MARIA)
    assert chat.api.wait(lambda: first.edits == 1)
    assert chat.mention(n).status == "ignored"
    assert set(first.buttons()) == {"Open post", "Open in inbox"}


def test_not_negative_leaves_only_the_way_back_and_strangers_names_stay_text(
    owner: Callable[..., Owner], hn_api: HackerNewsAPI
) -> None:
    chat = owner()
    hn_api.add(story(303, ANGRY, created=int(time.time()) - 60))
    assert invoke("poll", "-c", str(chat.path)).exit_code == 0
    (first,) = chat.api.sent
    n = chat.mention_id()
    listen(chat)
    hostile = {"id": 777, "is_bot": False, "first_name": '<a href="https://evil.example">Jo</a>'}
    chat.press(first, "Not negative", hostile)
    assert chat.api.wait(lambda: first.edits == 1)
    assert chat.mention(n).verdict == "not_negative"
    assert set(first.buttons()) == {"Negative after all", "Open post", "Open in inbox"}
    assert 'Marked not negative by <a href="https://evil.example">Jo</a> on Telegram' in first.text
    assert first.links == [], "a presser's name became a link"
    changes = chat.service.store.status_changes(n)
    assert changes[-1].actor == '<a href="https://evil.example">Jo</a> on Telegram'

    chat.press(first, "Negative after all", MARIA)
    assert chat.api.wait(lambda: first.edits == 2)
    assert "Acknowledge" in first.buttons()


def test_a_digest_s_buttons_answer_each_mention(
    owner: Callable[..., Owner], hn_api: HackerNewsAPI
) -> None:
    chat = owner("mode: digest\n              every: 1h")
    now = int(time.time())
    hn_api.add(
        story(311, ANGRY, created=now - 60),
        story(312, "Acme Coffee lost my order, terrible", created=now - 50),
    )
    chat.service.poll()
    chat.clock.now += timedelta(hours=1)
    chat.service.dispatch()
    (digest,) = chat.api.sent
    rows = (digest.reply_markup or {})["inline_keyboard"]
    first, second = sorted(int(row[0]["callback_data"].split(":")[1]) for row in rows)
    listen(chat)
    chat.press(digest, f"#{first} Acknowledge", MARIA)
    assert chat.api.wait(lambda: digest.edits == 1)
    assert digest.text.startswith("Digest: 2 mentions of Acme Coffee")
    assert f"#{first} " in digest.text and "· acknowledged" in digest.text
    assert "Acknowledged by @maria on Telegram" in digest.text
    rows = (digest.reply_markup or {})["inline_keyboard"]
    labels = {row[0]["callback_data"]: [b["text"] for b in row] for row in rows}
    assert labels[f"mm:{first}:resolve"] == [f"#{first} Resolve", "Ignore", "Not negative"]
    assert labels[f"mm:{second}:acknowledge"][0] == f"#{second} Acknowledge"


def test_buttons_on_no_mention_or_not_ours_are_answered_so(
    owner: Callable[..., Owner], hn_api: HackerNewsAPI
) -> None:
    chat = owner()
    listen(chat)
    gone = chat.api.post(
        GROUP,
        "an alert about a mention since deleted",
        {"inline_keyboard": [[{"text": "Acknowledge", "callback_data": "mm:999:acknowledge"}]]},
    )
    assert chat.press(gone, "Acknowledge", MARIA)["text"] == (
        "Mention #999 is no longer in mention-monitor's database; nothing changed."
    )
    other = chat.api.post(
        GROUP,
        "another bot's message",
        {"inline_keyboard": [[{"text": "Vote", "callback_data": "v:1"}]]},
    )
    assert chat.press(other, "Vote", MARIA)["text"] == UNKNOWN_BUTTON


def test_a_press_that_could_not_be_recorded_comes_back_after_the_listener_restarts(
    telegram: tuple[StandIn, TelegramBotAPI],  # noqa: F811
) -> None:
    server, api = telegram
    from tests.alerts.test_telegram import channel

    bot = channel(server)
    message = api.post(
        GROUP,
        "an alert",
        {"inline_keyboard": [[{"text": "Acknowledge", "callback_data": "mm:5:acknowledge"}]]},
    )
    presses: list[Press] = []

    def database_down(press: Press) -> Answered:
        presses.append(press)
        raise StorageError("the database is locked")

    stop = threading.Event()
    api.press(message, "Acknowledge", MARIA)
    with pytest.raises(StorageError):
        bot.listen(database_down, stop)
    assert api.answers[-1]["text"] == NOT_RECORDED
    assert len(api.pending()) == 1, "the press was confirmed though nothing was recorded"

    def recorded(press: Press) -> Answered:
        presses.append(press)
        stop.set()
        now = datetime.now(UTC)
        return Answered(5, press.action, True, "acknowledged", None, press.actor, now, ())

    bot.listen(recorded, stop)
    assert [p.mention_id for p in presses] == [5, 5]
    assert presses[1] == Press("telegram", 5, "acknowledge", "@maria on Telegram", f"{GROUP}:1")
    assert api.pending() == []


@pytest.mark.parametrize(
    ("arrange", "words"),
    [
        (lambda api: setattr(api, "webhook", "https://elsewhere.example/hook"), "deleteWebhook"),
        (lambda api: setattr(api, "token", "1:" + "x" * 30), "bot token"),
    ],
    ids=["webhook set (409)", "token revoked (401)"],
)
def test_a_listener_that_cannot_listen_says_what_to_fix(
    telegram: tuple[StandIn, TelegramBotAPI],  # noqa: F811
    arrange: Callable[[TelegramBotAPI], None],
    words: str,
) -> None:
    server, api = telegram
    from tests.alerts.test_telegram import channel

    arrange(api)
    with pytest.raises(ChannelMisconfigured) as raised:
        channel(server).listen(lambda press: pytest.fail("no press expected"), threading.Event())
    assert words in str(raised.value) and TOKEN not in str(raised.value)


def test_a_second_listener_on_the_same_bot_is_told_apart(
    telegram: tuple[StandIn, TelegramBotAPI],  # noqa: F811
) -> None:
    """Two programs polling one bot: Telegram ends the first poll with 409 Conflict."""
    server, api = telegram
    from monitor.errors import AlertError
    from tests.alerts.test_telegram import channel

    errors: list[Exception] = []
    stop = threading.Event()

    def first() -> None:
        try:
            channel(server).listen(lambda press: pytest.fail("no press"), stop)
        except AlertError as exc:
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert api.wait(lambda: api.polls >= 1)
    second = TelegramChannel(channel(server).config)
    assert second.api.request("getUpdates", {"timeout": 0}).ok
    thread.join(5)
    stop.set()
    assert errors and "another program is receiving this bot's updates" in str(errors[0])
    assert not isinstance(errors[0], ChannelMisconfigured)
