"""An alert or digest re-sent after a crash mid-send says so, in every channel; a first
send says nothing of the kind. Each channel sends for real to its stand-in."""

from __future__ import annotations

import json

import pytest

from alerts.render import REPEAT_NOTE
from alerts.webhook import WebhookChannel, WebhookConfig
from monitor.models import Alert, Digest
from tests.alerts.factories import make_alert, make_health
from tests.alerts.test_kinds import (  # noqa: F401 (fixtures)
    Slack,
    apprise_send,
    console,
    email_channel,
    mail,
    part,
    receiver,
    slack,
    smtp,
)
from tests.standins.server import StandIn
from tests.standins.slack import texts
from tests.standins.smtp import SMTPStandIn


def again(repeat: bool) -> list[Alert | Digest]:
    one = make_alert(possible_repeat=repeat)
    return [one, Digest("rollup", "test", (one, make_alert(id=2), make_health()))]


@pytest.mark.parametrize("repeat", [True, False])
def test_slack(slack: Slack, repeat: bool) -> None:  # noqa: F811
    for what in again(repeat):
        channel = slack.channel()
        if isinstance(what, Digest):
            channel.send_digest(what)
        else:
            channel.send(what)
        payload = slack.route.payloads[-1]
        assert (REPEAT_NOTE in " ".join(texts(payload))) is repeat


@pytest.mark.parametrize("repeat", [True, False])
def test_email(smtp: SMTPStandIn, repeat: bool) -> None:  # noqa: F811
    message, text, _ = mail(smtp, make_alert(possible_repeat=repeat))
    assert (REPEAT_NOTE in text) is repeat and (REPEAT_NOTE in part(message, "html")) is repeat
    assert str(message["Subject"]).startswith("(possible repeat) ") is repeat
    digest = again(repeat)[1]
    assert isinstance(digest, Digest)
    built = email_channel(smtp).digest_message(digest)
    assert (REPEAT_NOTE in part(built, "plain")) is repeat


@pytest.mark.parametrize("repeat", [True, False])
def test_webhook(receiver: StandIn, repeat: bool) -> None:  # noqa: F811
    url = receiver.url + "/hook"
    channel = WebhookChannel(WebhookConfig.model_validate({"type": "webhook", "url": url}))
    one, digest = again(repeat)
    assert isinstance(one, Alert) and isinstance(digest, Digest)
    channel.send(one)
    assert json.loads(receiver.requests[-1].body)["possible_repeat"] is repeat
    channel.send_digest(digest)
    body = json.loads(receiver.requests[-1].body)
    assert body["possible_repeat"] is repeat and body["alerts"][0]["possible_repeat"] is repeat


@pytest.mark.parametrize("repeat", [True, False])
@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_apprise(receiver: StandIn, repeat: bool, fmt: str) -> None:  # noqa: F811
    for what in again(repeat):
        message = apprise_send(receiver, what, fmt)["message"]
        assert message.startswith(f"({REPEAT_NOTE})") is repeat


@pytest.mark.parametrize("repeat", [True, False])
def test_console(repeat: bool) -> None:
    for what in again(repeat):
        assert (f"  ({REPEAT_NOTE})" in console(what).splitlines()[:2]) is repeat
