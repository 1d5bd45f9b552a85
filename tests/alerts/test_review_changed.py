"""The ``changed`` kind (a review its author changed for the worse) through every channel,
to the same loopback stand-ins as tests/alerts/test_kinds.py, and a review's stars and
edit time in the webhook payload."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.render import digest_title, kind_label, subject
from monitor.models import CHANGED, Alert, Digest
from tests.alerts.factories import make_alert
from tests.alerts.test_kinds import (  # noqa: F401  (fixtures)
    Slack,
    apprise_send,
    console,
    mail,
    receiver,
    slack,
    smtp,
    webhook_send,
)
from tests.standins.server import StandIn
from tests.standins.smtp import SMTPStandIn

CHANGE = "This review changed from 4 to 1 stars, new words."
SUBJECT = "Review changed: Acme Coffee on Google"
EDITED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def changed(**extra: object) -> Alert:
    return make_alert(
        "Good coffee. Then they charged me twice.",
        id=21,
        kind=CHANGED,
        source="google_reviews",
        details=(CHANGE,),
        rating=1.0,
        edited_at=EDITED,
        **extra,
    )


def test_subject_label_and_digest_title() -> None:
    assert subject(changed()) == SUBJECT
    assert kind_label(changed()) == "Review changed"
    digest = Digest("digest", "test", (make_alert("first"), changed()))
    assert digest_title(digest) == (
        "Digest: 2 alerts about Acme Coffee: 1 new mention (1 negative), 1 review changed"
    )


def test_slack_says_what_changed_under_the_header(slack: Slack) -> None:  # noqa: F811
    payload = slack.send(changed())
    header, change = payload["blocks"][:2]
    assert header["text"]["text"] == f"🔴 {SUBJECT}"
    assert change["text"]["text"] == f"• {CHANGE}"
    assert payload["text"] == f"🔴 {SUBJECT}: {CHANGE}"


def test_email_apprise_and_console_say_it_too(smtp: SMTPStandIn, receiver: StandIn) -> None:  # noqa: F811
    message, text, _page = mail(smtp, changed())
    assert message["Subject"].startswith(f'{SUBJECT}: "Good coffee')
    assert CHANGE in text.splitlines()[:4]
    sent = apprise_send(receiver, changed())
    assert sent["title"] == SUBJECT and sent["message"].splitlines()[0] == CHANGE
    lines = console(changed()).splitlines()
    assert lines[:2] == [f"[HIGH] {SUBJECT}", f"  {CHANGE}"]


def test_webhook_carries_the_rating_and_edit_time(receiver: StandIn) -> None:  # noqa: F811
    body = webhook_send(receiver, changed())
    assert (body["kind"], body["rating"], body["edited_at"]) == (
        CHANGED,
        1.0,
        "2026-12-01T09:30:00Z",
    )
    assert body["details"] == [CHANGE]
    plain = webhook_send(receiver, make_alert())
    assert (plain["rating"], plain["edited_at"]) == (None, None)
