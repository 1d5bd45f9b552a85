"""A notice about a source (down, quiet, over budget, working again) is not a negative
mention: no channel labels it ``[NEGATIVE]``. Its severity still routes it (quiet hours,
``min_severity``); only the words shown change. Each channel sends for real to its stand-in.
"""

from __future__ import annotations

import pytest

from alerts.render import tag
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

DOWN = make_health()  # "hackernews has stopped working", severity negative
HIGH = make_health(title="x: budget 100% used", severity="high")
BACK = make_health(title="hackernews works again", severity="info", text="polling again")
SENTIMENT = ("NEGATIVE", "negative", "HIGH", "high", "INFO", "info")


def digest(notice: Alert) -> Digest:
    return Digest("digest", "test", (make_alert(), notice))


def lines_about(text: str, words: str) -> list[str]:
    return [line for line in text.splitlines() if words in line]


@pytest.mark.parametrize(
    ("notice", "label"), [(DOWN, "SOURCE PROBLEM"), (HIGH, "SOURCE PROBLEM"), (BACK, "SOURCE OK")]
)
def test_the_tag_says_what_it_is(notice: Alert, label: str) -> None:
    assert tag(notice) == label
    assert tag(make_alert(severity="negative")) == "NEGATIVE"


@pytest.mark.parametrize("notice", [DOWN, BACK])
def test_console(notice: Alert) -> None:
    head = console(notice).splitlines()[0]
    assert head == f"[{tag(notice)}] {notice.title}"
    (line,) = lines_about(console(digest(notice)), str(notice.title))
    assert line.startswith(f"  - {tag(notice).lower()}: ") and "negative" not in line


@pytest.mark.parametrize("notice", [DOWN, BACK])
def test_email(smtp: SMTPStandIn, notice: Alert) -> None:  # noqa: F811
    message, text, _ = mail(smtp, notice)
    assert not any(word in str(message["Subject"]) for word in SENTIMENT)
    assert not any(f"[{word}]" in text for word in SENTIMENT)
    plain = part(email_channel(smtp).digest_message(digest(notice)), "plain")
    (line,) = lines_about(plain, str(notice.title))
    assert f"[{tag(notice)}]" in line and "NEGATIVE" not in line


@pytest.mark.parametrize("notice", [DOWN, BACK])
def test_apprise(receiver: StandIn, notice: Alert) -> None:  # noqa: F811
    sent = apprise_send(receiver, digest(notice))
    (line,) = lines_about(sent["message"], str(notice.title))
    assert line.startswith(f"- {tag(notice).lower()}: ") and "negative" not in line


@pytest.mark.parametrize(("notice", "cue"), [(DOWN, "⚠️"), (HIGH, "⚠️"), (BACK, "✅")])
def test_slack_cue_is_not_a_sentiment_colour(slack: Slack, notice: Alert, cue: str) -> None:  # noqa: F811
    payload = slack.send(notice)
    assert payload["blocks"][0]["text"]["text"] == f"{cue} {notice.title}"
    slack.channel().send_digest(digest(notice))
    (line,) = [t for t in texts(slack.route.payloads[-1]) if str(notice.title) in t]
    assert line.startswith(f"{cue} ") and not line.startswith(("🔴", "🟠", "🟢"))
