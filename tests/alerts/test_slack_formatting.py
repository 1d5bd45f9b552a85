"""Strangers' Slack formatting shows as written: their words sit only in plain_text objects.

Slack's mrkdwn has no escape for ``*``, ``_``, ``~`` or backticks, so a post that
says ``*FREE*`` would arrive bold, and ``<@U123>`` would ping, in a mrkdwn
object. Each hostile piece below is a marker word wrapped in one kind of
formatting; none may reach a mrkdwn object, and each stranger's text must
arrive whole in a plain_text object with ``emoji: false`` (``&``, ``<``, ``>`` as
the entities Slack asks for in every text object).
"""

from __future__ import annotations

from typing import Any

import pytest

from alerts.slack import SlackChannel, SlackConfig, escape
from monitor.http import make_client
from monitor.models import Digest
from tests.alerts.factories import make_alert, make_health, make_post, make_spike
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook, text_objects

Slack = tuple[StandIn, SlackWebhook]

FORMATTED = "*bold1* _ital1_ ~strike1~ `code1` ```block1``` <!channel> <@U0BAD> :skull:"
MARKERS = ("bold1", "ital1", "strike1", "code1", "block1", "channel", "U0BAD", "skull")


def sent(slack: Slack, message: Any) -> dict[str, Any]:
    server, webhook = slack
    with make_client(timeout=5) as http:
        channel = SlackChannel(
            SlackConfig(webhook_url=server.url + webhook.path), http=http, sleep=lambda s: None
        )
        if isinstance(message, Digest):
            channel.send_digest(message)
        else:
            channel.send(message)
    assert webhook.problems == []
    payload: dict[str, Any] = webhook.payloads[-1]
    return payload


def check(payload: dict[str, Any], *wholes: str) -> None:
    objects = list(text_objects(payload["blocks"]))
    for obj in objects:
        if obj["type"] == "mrkdwn":
            assert not any(m in obj["text"] for m in MARKERS), obj["text"]
        else:
            assert obj.get("emoji") is False, obj
    plains = [o["text"] for o in objects if o["type"] == "plain_text"]
    for whole in wholes:  # as written; only Slack's own &, <, > are entities (it decodes them)
        assert any(escape(whole) in text for text in plains), (whole, plains)


def test_a_mention_shows_the_post_author_and_title_as_written(slack: Slack) -> None:
    alert = make_alert(
        FORMATTED, author=f"{FORMATTED} author", title=f"{FORMATTED} title", reasons=(FORMATTED,)
    )
    check(sent(slack, alert), FORMATTED, f"{FORMATTED} author", f"{FORMATTED} title")


def test_a_spike_shows_its_posts_as_written(slack: Slack) -> None:
    posts = tuple(make_post(n, text=f"{FORMATTED} {n}", author=FORMATTED) for n in (1, 2))
    check(sent(slack, make_spike(posts)), f"{FORMATTED} 1", f"{FORMATTED} 2")


def test_a_health_notice_shows_the_error_it_quotes_as_written(slack: Slack) -> None:
    check(sent(slack, make_health(text=f"Last error: {FORMATTED}")), f"Last error: {FORMATTED}")


@pytest.mark.parametrize("kind", ["digest", "rollup"])
def test_a_digest_shows_every_post_as_written(slack: Slack, kind: str) -> None:
    alerts = tuple(
        make_alert(f"{FORMATTED} {i}", id=i, author=FORMATTED, title=FORMATTED) for i in (1, 2, 3)
    )
    alerts += (make_health(text=FORMATTED),)
    check(sent(slack, Digest(kind, "slack", alerts)), *(f"{FORMATTED} {i}" for i in (1, 2, 3)))
