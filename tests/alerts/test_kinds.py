"""Every alert kind through every channel: escalations, reminders, spikes and health notices.

Each channel sends for real, to the loopback stand-ins the other tests in this
package use (Slack webhook, aiosmtpd, a webhook receiver, apprise's json://, a
console stream). Checked: the kind-aware subject or header, the details right
after it, a spike's posts, the follow-up command, digests of mixed kinds, and
that strangers' text in a spike's posts arrives inert.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from alerts.apprise import AppriseChannel, AppriseConfig
from alerts.base import sample_alert
from alerts.console import ConsoleChannel, ConsoleConfig
from alerts.email import EmailChannel, EmailConfig
from alerts.render import digest_title, follow_up, kind_label, subject
from alerts.slack import SlackChannel, SlackConfig
from alerts.webhook import WebhookChannel, WebhookConfig
from monitor.http import make_client
from monitor.models import HEALTH, REMINDER, SPIKE, SPREADING, VIRAL, Alert, Digest, PostRef
from monitor.store import Store
from tests.alerts.factories import (
    GROWTH,
    HEALTH_TEXT,
    SPIKE_DETAILS,
    WAITED,
    make_alert,
    make_escalation,
    make_health,
    make_post,
    make_reminder,
    make_spike,
)
from tests.standins.server import Response, StandIn
from tests.standins.slack import SlackWebhook, strings, texts
from tests.standins.smtp import SMTPStandIn

ACK = "mention #7 (acknowledged) · when handled: `mention-monitor mentions ack 7`"
ACK_NEW = "mention #7 · when handled: `mention-monitor mentions ack 7`"
LIST = "`mention-monitor mentions --negative --brand 'Acme Coffee' --since 1h`"
SUBJECTS = {
    SPREADING: "Spreading: negative post about Acme Coffee on Hacker News",
    VIRAL: "Going viral: negative post about Acme Coffee on Hacker News",
    REMINDER: "Still unanswered: negative mention of Acme Coffee on Hacker News",
    SPIKE: "Spike: 14 negative mentions of Acme Coffee in an hour",
    HEALTH: "hackernews has stopped working",
}
HOSTILE = [
    "<!channel> <!here> <!everyone> <@U123> <#C123> @everyone refund me",
    "<http://evil|click> here for a refund",
    "<script>alert(1)</script> <img src=http://evil/x.png onerror=alert(1)>",
    "\x1b[2J\x1b[31mred\x1b[0m \x1b]0;pwned\x07 \x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\",
    "\u202egnp.exe \u2066isolate\u2069 bell\x07 nul\x00 c1\x9b31m",
]
HOSTILE_URLS = [
    "javascript:alert(document.cookie)",
    "https://x.example/a b|<!channel>&q=<http://evil|click>",
    'https://evil.example/"><script>alert(1)</script>',
    "data:text/html,<b>x</b>",
    "JavaScript:alert(2)",
]
#: What must never reach Slack's mrkdwn unescaped.
RAW = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C123>",
    "<http://evil|click>",
    "<script",
]
CONTROLS = ("\x1b", "\x07", "\x00", "\x9b", "\u202e", "\u2066", "\u2069")


def hostile_posts() -> tuple[PostRef, ...]:
    """Five long posts whose author, text and link are each an attack."""
    return tuple(
        make_post(i, author=bad, text=f"{bad} {'😡' * 1500} {bad}", url=url)
        for i, (bad, url) in enumerate(zip(HOSTILE, HOSTILE_URLS, strict=True), 1)
    )


def every_kind() -> list[Alert]:
    return [
        make_escalation(SPREADING),
        make_escalation(VIRAL),
        make_reminder(),
        make_spike(),
        make_health(),
    ]


def mixed_digest(kind: str = "digest") -> Digest:
    alerts = (
        make_alert("first word on it", id=1),
        make_escalation(SPREADING, id=2, text="now it spreads"),
        make_reminder(id=3, text="still waiting"),
        make_spike(id=4),
        make_health(id=5),
    )
    return Digest(kind=kind, channel="test", alerts=alerts)


def no_controls(text: str) -> bool:
    return not any(c in text for c in CONTROLS) and not any(ord(c) < 32 and c != "\n" for c in text)


# ------------------------------------------------------------------ shared words


@pytest.mark.parametrize("alert", every_kind(), ids=lambda a: a.kind)
def test_subject_says_what_happened(alert: Alert) -> None:
    assert subject(alert) == SUBJECTS[alert.kind]


def test_mention_and_test_subjects_are_as_before() -> None:
    assert subject(make_alert()) == "Very negative mention of Acme Coffee on Hacker News"
    assert subject(make_alert(severity="negative")) == (
        "Negative mention of Acme Coffee on Hacker News"
    )
    assert subject(sample_alert("x")) == "Negative mention of Acme Coffee (test) on Hacker News"


def test_a_notice_without_a_title_still_reads_well() -> None:
    assert subject(make_spike(title=None)) == "Spike: negative mentions of Acme Coffee"
    assert "mention-monitor" not in subject(make_health(title=None))


def test_follow_up_names_the_mention_its_status_and_the_command() -> None:
    acked = follow_up(make_escalation())
    assert acked == f"{ACK} (or resolve / ignore)"
    for status in ("new", None):
        assert follow_up(make_reminder(status=status)) == f"{ACK_NEW} (or resolve / ignore)"
    assert follow_up(make_alert(mention_id=42, status="resolved")) == (
        "mention #42 (resolved) · when handled: `mention-monitor mentions ack 42` "
        "(or resolve / ignore)"
    )
    assert follow_up(make_spike()) == f"list them all: {LIST}"
    assert follow_up(make_spike(brand="Bob's Bar")) == (
        "list them all: `mention-monitor mentions --negative --brand 'Bob'\"'\"'s Bar' --since 1h`"
    )
    assert follow_up(make_health()) is None and follow_up(sample_alert("x")) is None


def test_kind_labels() -> None:
    labels = [kind_label(a) for a in [make_alert(), *every_kind()]]
    assert labels == ["", "Spreading", "Going viral", "Reminder", "Spike", "Health"]


def test_digest_title_counts_mixed_kinds() -> None:
    assert digest_title(mixed_digest()) == (
        "Digest: 5 alerts about Acme Coffee: 1 new mention (1 negative), 1 post spreading, "
        "1 reminder, 1 spike, 1 health notice"
    )
    assert digest_title(mixed_digest("rollup")).endswith(", in the last minute (rolled up)")
    two = Digest("digest", "x", (make_escalation(VIRAL, id=1), make_escalation(VIRAL, id=2)))
    assert digest_title(two) == "Digest: 2 alerts about Acme Coffee: 2 posts going viral"
    health = Digest("rollup", "x", (make_health(id=1),))
    assert digest_title(health) == "1 alert: 1 health notice, in the last minute (rolled up)"
    mentions = Digest("digest", "x", (make_alert(id=1), make_alert(id=2, label="neutral")))
    assert digest_title(mentions) == "Digest: 2 mentions of Acme Coffee, 1 negative"


def test_the_store_hands_over_notices_shaped_like_the_factories(store: Store) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    spike, health = make_spike(posts=(make_post(1, created_at=now),)), make_health()
    post = spike.posts[0]
    spike_payload = {
        "title": spike.title,
        "text": "",
        "brand": spike.brand,
        "details": list(spike.details),
        "posts": [_post_dict(post)],
    }
    health_payload = {"title": health.title, "text": health.text, "source": "hackernews"}
    store.queue_notice(SPIKE, "k1", spike_payload, "high", ["test"], now)
    store.queue_notice(HEALTH, "k2", health_payload, "negative", ["test"], now)
    got = store.claim_many([d.id for d in store.due_alerts(now)], now)
    by_kind = {a.kind: a for a in got}
    for made, stored in ((spike, by_kind[SPIKE]), (health, by_kind[HEALTH])):
        for name in ("brand", "source", "author", "url", "text", "title", "mention_id"):
            assert getattr(stored, name) == getattr(made, name), name
        assert (stored.details, stored.posts, stored.status) == (made.details, made.posts, None)
        assert subject(stored) == SUBJECTS[stored.kind]


def _post_dict(post: PostRef) -> dict[str, Any]:
    return {
        "mention_id": post.mention_id,
        "source": post.source,
        "author": post.author,
        "text": post.text,
        "url": post.url,
        "created_at": post.created_at.isoformat(),
        "label": post.label,
        "compound": post.compound,
    }


# ------------------------------------------------------------------ slack


@dataclass
class Slack:
    server: StandIn
    route: SlackWebhook
    clients: list[httpx.Client] = field(default_factory=list)

    def channel(self, **keys: Any) -> SlackChannel:
        config = SlackConfig(webhook_url=self.server.url + self.route.path, **keys)
        http = make_client(timeout=5)
        self.clients.append(http)
        ticks = itertools.count(0, 10.0)  # every post is 10 s after the last: no pacing waits
        return SlackChannel(config, http=http, clock=lambda: next(ticks), sleep=lambda _: None)

    def send(self, alert: Alert, **keys: Any) -> dict[str, Any]:
        self.channel(**keys).send(alert)
        assert self.route.problems == []
        return self.route.payloads[-1]


@pytest.fixture
def slack() -> Iterator[Slack]:
    route = SlackWebhook()
    with StandIn(route) as server:
        hook = Slack(server, route)
        yield hook
        for client in hook.clients:
            client.close()


@pytest.mark.parametrize("kind", [SPREADING, VIRAL])
def test_slack_escalation_puts_the_growth_right_under_the_header(slack: Slack, kind: str) -> None:
    payload = slack.send(make_escalation(kind))
    header, growth, body, facts, actions, then = payload["blocks"]
    assert header["text"]["text"] == f"🔴 {SUBJECTS[kind]}"
    assert growth["text"]["text"] == (
        "• 12 -&gt; 47 points, 3 -&gt; 19 comments in 35 min (since first seen)\n"
        "• about 60 engagement an hour since posting"
    )
    assert body["text"]["text"] == "Cold coffee, rude staff."
    assert facts["elements"][1] == {"type": "plain_text", "text": "by grumpy", "emoji": False}
    assert actions["elements"][0]["url"] == "https://news.ycombinator.com/item?id=1"
    assert then["elements"][0]["text"] == f"{ACK} (or resolve / ignore)"
    assert payload["text"] == f"🔴 {SUBJECTS[kind]}: 12 -&gt; 47 points, 3 -&gt; 19 comments " + (
        "in 35 min (since first seen)"
    )


def test_slack_reminder(slack: Slack) -> None:
    payload = slack.send(make_reminder())
    blocks = payload["blocks"]
    assert blocks[0]["text"]["text"] == f"🟠 {SUBJECTS[REMINDER]}"
    assert blocks[1]["text"]["text"] == f"• {WAITED[0]}"
    assert blocks[-1]["elements"][0]["text"] == f"{ACK_NEW} (or resolve / ignore)"


def test_slack_spike_lists_its_posts_with_links(slack: Slack) -> None:
    payload = slack.send(make_spike())
    blocks = payload["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section"] + ["section"] * 3 + ["context"]
    assert blocks[0]["text"]["text"] == f"🔴 {SUBJECTS[SPIKE]}"
    assert blocks[1]["text"]["text"].startswith(f"• {SPIKE_DETAILS[0]}\n• a spike is 6")
    first = blocks[2]["text"]["text"]
    assert first.startswith("🟠 Reddit · user1 · 10 min ago\n")
    assert "complaint number 1: Acme Coffee lost my order" in first
    assert blocks[2]["accessory"]["url"] == "https://www.reddit.com/r/coffee/comments/1/"
    assert blocks[-1]["elements"][0]["text"] == f"list them all: {LIST}"
    assert "mention-monitor on" not in json.dumps(payload)


def test_slack_spike_with_five_long_hostile_posts_is_valid_and_inert(slack: Slack) -> None:
    brand = "Acme <b> & Co"
    payload = slack.send(make_spike(hostile_posts(), brand=brand, details=(f"14 of {brand}",)))
    assert len(payload["blocks"]) == 8  # header, details, 5 posts, follow-up
    for text in texts(payload):
        assert not any(raw in text for raw in RAW), text
    for value in strings(payload):
        assert no_controls(value), value
    dumped = json.dumps(payload, ensure_ascii=False)
    assert "&lt;!channel&gt;" in dumped and "&lt;script&gt;" in dumped  # shown, as text
    assert "javascript" not in dumped.lower() and "data:text" not in dumped
    assert payload["blocks"][1]["text"]["text"] == "• 14 of Acme &lt;b&gt; &amp; Co"
    assert '%3C!channel%3E&q=%3Chttp://evil%7Cclick%3E"' in dumped
    assert "'Acme &lt;b&gt; &amp; Co' --since 1h`" in payload["blocks"][-1]["elements"][0]["text"]


def test_slack_spike_with_sixty_posts_and_long_details_stays_within_limits(slack: Slack) -> None:
    posts = tuple(make_post(i, text="<&>" * 2000, author="<" * 500) for i in range(60))
    details = tuple("<&>" * 1500 for _ in range(12))
    payload = slack.send(make_spike(posts, details=details))
    assert len(payload["blocks"]) <= 50
    assert payload["blocks"][-2] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "and 50 more", "verbatim": True}],
    }


def test_slack_health_notice_is_headed_by_its_title(slack: Slack) -> None:
    payload = slack.send(make_health())
    header, text, where = payload["blocks"]
    assert header["text"]["text"] == f"⚠️ {SUBJECTS[HEALTH]}"  # a source, not a negative post
    assert text["text"]["text"] == HEALTH_TEXT
    assert where["elements"][0]["text"] == "sent by mention-monitor"
    assert "mention of" not in json.dumps(payload) and "by mention-monitor" not in payload["text"]
    assert payload["text"].startswith(f"⚠️ {SUBJECTS[HEALTH]}: hackernews failed 3 polls")


def test_slack_digest_labels_each_kind(slack: Slack) -> None:
    slack.channel().send_digest(mixed_digest())
    assert slack.route.problems == []
    blocks = slack.route.payloads[-1]["blocks"]
    assert blocks[0]["text"]["text"] == digest_title(mixed_digest())
    lines = [b["text"]["text"] for b in blocks[1:]]
    assert lines[0].startswith("🔴 Acme Coffee · Hacker News · grumpy · ")
    assert lines[1].startswith("🔴 Spreading · Acme Coffee · Hacker News · grumpy · ")
    assert "\n12 -&gt; 47 points" in lines[1] and "now it spreads" in lines[1]
    assert lines[2].startswith("🟠 Reminder · Acme Coffee · ")
    assert lines[3].startswith(f"🔴 {SUBJECTS[SPIKE]}\n14 negative mentions")
    assert lines[4].startswith(f"⚠️ Health · {SUBJECTS[HEALTH]}\nhackernews failed")


# ------------------------------------------------------------------ email


class Page(HTMLParser):
    """The tags, attributes and visible text of an HTML part."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.words: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.words.append(data)

    @property
    def text(self) -> str:
        return "".join(self.words)


TAGS = {"html", "head", "meta", "body", "h2", "table", "tr", "td", "p", "a", "br", "span"} | {
    "code", "ol", "li", "strong",
}  # fmt: skip


@pytest.fixture
def smtp() -> Iterator[SMTPStandIn]:
    server = SMTPStandIn().start()
    yield server
    server.stop()


def email_channel(server: SMTPStandIn) -> EmailChannel:
    config = EmailConfig.model_validate(
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": server.port,
            "security": "none",
            "from": "Acme Alerts <alerts@acme.example>",
            "to": ["owner@acme.example"],
            "timeout": "5s",
        }
    )
    return EmailChannel(config)


def part(message: EmailMessage, kind: str) -> str:
    body = message.get_body(preferencelist=(kind,))
    assert isinstance(body, EmailMessage)
    content: str = body.get_content()
    return content.replace("\r\n", "\n")


def mail(server: SMTPStandIn, alert: Alert) -> tuple[EmailMessage, str, Page]:
    """Send one alert; the message as received, its plain text and its HTML."""
    email_channel(server).send(alert)
    message = server.messages[-1]
    return message, part(message, "plain"), Page(part(message, "html"))


@pytest.mark.parametrize("kind", [SPREADING, VIRAL, REMINDER])
def test_email_escalation_and_reminder(smtp: SMTPStandIn, kind: str) -> None:
    alert = make_reminder() if kind == REMINDER else make_escalation(kind)
    message, text, page = mail(smtp, alert)
    assert message["Subject"].startswith(f'{SUBJECTS[kind]}: "Cold coffee')
    lines = text.splitlines()
    assert lines[0] == SUBJECTS[kind]
    assert lines[2 : 2 + len(alert.details)] == list(alert.details)  # right under the heading
    follow = ACK if kind != REMINDER else ACK_NEW
    assert follow in text and follow.replace("`", "") in page.text
    assert "<code>mention-monitor mentions ack 7</code>" in part(message, "html")
    for line in alert.details:
        assert line in page.text
    assert page.text.index(alert.details[0]) < page.text.index("Cold coffee, rude staff.")


def test_email_message_ids_are_stable_per_alert_and_differ_per_kind() -> None:
    server = SMTPStandIn()  # never started: only the messages are built
    channel = email_channel(server)
    ids = {
        kind: channel.alert_message(alert)["Message-ID"]
        for kind, alert in {
            "mention": make_alert(id=5),
            SPREADING: make_escalation(SPREADING, id=5),
            VIRAL: make_escalation(VIRAL, id=5),
            REMINDER: make_reminder(id=5),
            SPIKE: make_spike(id=5),
            HEALTH: make_health(id=5),
        }.items()
    }
    assert ids["mention"] == "<alert-5.email@acme.example>"  # as before the new kinds
    assert ids[SPREADING] == "<spreading-5.email@acme.example>"
    assert len(set(ids.values())) == len(ids)
    assert channel.alert_message(make_escalation(id=5))["Message-ID"] == ids[SPREADING]
    # an escalation of mention #7 never takes the mention alert's ID, whatever the row ids
    escalation = channel.alert_message(make_escalation(id=9))["Message-ID"]
    assert escalation != channel.alert_message(make_alert(id=1))["Message-ID"]


def test_email_spike_lists_posts_and_the_command(smtp: SMTPStandIn) -> None:
    message, text, page = mail(smtp, make_spike())
    assert message["Subject"] == SUBJECTS[SPIKE]
    lines = text.splitlines()
    assert lines[:4] == [SUBJECTS[SPIKE], "", *SPIKE_DETAILS]
    assert "1. Reddit, by user1, 10 min ago\n" in text
    assert f"list them all: {LIST}" in text
    assert LIST.strip("`") in page.text
    hrefs = [v for k, v in page.attrs if k == "href"]
    assert hrefs == [f"https://www.reddit.com/r/coffee/comments/{n}/" for n in (1, 2, 3)]
    assert "Author" not in text and "List recent mentions" not in text


def test_email_spike_with_hostile_posts_is_inert(smtp: SMTPStandIn) -> None:
    brand = "<b>Acme</b> & Co"
    alert = make_spike(hostile_posts(), brand=brand, details=(f"14 negative mentions of {brand}",))
    message, text, page = mail(smtp, alert)
    markup = part(message, "html")
    assert set(page.tags) <= TAGS, page.tags
    assert "<script" not in markup.lower() and "<img" not in markup.lower()
    assert not any(name in ("src", "onerror", "onload") for name, _ in page.attrs)
    assert not any("http" in (value or "") for name, value in page.attrs if name == "style")
    hrefs = [v for k, v in page.attrs if k == "href"]
    assert hrefs == [HOSTILE_URLS[1], HOSTILE_URLS[2]]  # whole, inside their attribute
    assert "javascript:alert(document.cookie)" in text  # shown as an address, not linked
    assert "14 negative mentions of <b>Acme</b> & Co" in page.text  # escaped, so shown as text
    assert "<script>alert(1)</script>" in page.text
    for shown in (text, markup, message["Subject"]):
        assert no_controls(shown), shown


def test_email_health_notice(smtp: SMTPStandIn) -> None:
    message, text, page = mail(smtp, make_health())
    assert message["Subject"] == SUBJECTS[HEALTH]
    assert HEALTH_TEXT in text and HEALTH_TEXT in page.text
    assert "mention-monitor on" not in text and "Author" not in text
    assert "when handled" not in text and not [k for k, _ in page.attrs if k == "href"]


def test_email_digest_labels_each_kind(smtp: SMTPStandIn) -> None:
    digest = mixed_digest()
    email_channel(smtp).send_digest(digest)
    message = smtp.messages[-1]
    assert message["Subject"] == digest_title(digest)
    text = part(message, "plain")
    assert "1. [HIGH] Acme Coffee on Hacker News, by grumpy" in text
    assert "2. [HIGH] Spreading: Acme Coffee on Hacker News, by grumpy" in text
    assert f"   {GROWTH[0]}: now it spreads" in text
    assert "3. [NEGATIVE] Reminder: Acme Coffee on Hacker News" in text
    assert f"4. [HIGH] {SUBJECTS[SPIKE]}\n   {SPIKE_DETAILS[0]}" in text
    assert f"5. [SOURCE PROBLEM] Health: {SUBJECTS[HEALTH]}\n   hackernews failed" in text


# ------------------------------------------------------------------ webhook


@pytest.fixture
def receiver() -> Iterator[StandIn]:
    with StandIn(lambda request: Response(200, {"ok": True})) as server:
        yield server


def webhook_send(server: StandIn, alert: Alert | Digest) -> dict[str, Any]:
    config = WebhookConfig.model_validate({"url": f"{server.url}/hooks/kinds"})
    with make_client(timeout=5) as http:
        channel = WebhookChannel(config, http=http)
        if isinstance(alert, Digest):
            channel.send_digest(alert)
        else:
            channel.send(alert)
    body: dict[str, Any] = json.loads(server.requests[-1].body)
    return body


@pytest.mark.parametrize("alert", every_kind(), ids=lambda a: a.kind)
def test_webhook_carries_kind_details_and_status(receiver: StandIn, alert: Alert) -> None:
    body = webhook_send(receiver, alert)
    assert body["version"] == 1 and body["type"] == "alert" and body["kind"] == alert.kind
    assert body["details"] == list(alert.details) and body["status"] == alert.status
    assert body["mention_id"] == alert.mention_id and body["title"] == alert.title
    assert len(body["posts"]) == len(alert.posts)


def test_webhook_spike_posts_are_plain_json_values(receiver: StandIn) -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    posts = tuple(
        make_post(i, author=bad, text=bad, url=url, created_at=when + timedelta(minutes=i))
        for i, (bad, url) in enumerate(zip(HOSTILE, HOSTILE_URLS, strict=True), 1)
    )
    body = webhook_send(receiver, make_spike(posts))
    raw = receiver.requests[-1].body
    assert body["posts"][0] == {
        "mention_id": 101,
        "source": "reddit",
        "author": HOSTILE[0],
        "text": HOSTILE[0],
        "url": HOSTILE_URLS[0],
        "created_at": "2026-03-04T05:07:07Z",
        "label": "negative",
        "compound": -0.6,
    }
    assert [p["text"] for p in body["posts"]] == HOSTILE  # byte for byte
    assert [p["url"] for p in body["posts"]] == HOSTILE_URLS
    assert b"\x1b" not in raw and b"\x00" not in raw  # JSON-escaped on the wire
    assert body["brand"] == "Acme Coffee" and body["text"] == "" and body["status"] is None


def test_webhook_digest_of_mixed_kinds(receiver: StandIn) -> None:
    body = webhook_send(receiver, mixed_digest())
    kinds = [a["kind"] for a in body["alerts"]]
    assert kinds == ["mention", SPREADING, REMINDER, SPIKE, HEALTH]
    assert body["alerts"][1]["details"] == list(GROWTH)
    assert len(body["alerts"][3]["posts"]) == 3


# ------------------------------------------------------------------ apprise


def apprise_send(server: StandIn, what: Alert | Digest, fmt: str = "text") -> dict[str, Any]:
    url = server.url.replace("http://", "json://", 1) + "/hooks/kinds"
    channel = AppriseChannel(AppriseConfig.model_validate({"urls": [url], "format": fmt}))
    if isinstance(what, Digest):
        channel.send_digest(what)
    else:
        channel.send(what)
    sent: dict[str, Any] = json.loads(server.requests[-1].body)
    return sent


@pytest.mark.parametrize("kind", [SPREADING, VIRAL, REMINDER])
def test_apprise_escalation_and_reminder(receiver: StandIn, kind: str) -> None:
    alert = make_reminder() if kind == REMINDER else make_escalation(kind)
    sent = apprise_send(receiver, alert)
    assert sent["title"] == SUBJECTS[kind]
    lines = sent["message"].splitlines()
    assert lines[: len(alert.details)] == list(alert.details)
    assert "Text: Cold coffee, rude staff." in lines
    follow = ACK if kind != REMINDER else ACK_NEW
    assert lines[-1] == f"Follow-up: {follow} (or resolve / ignore)"


def test_apprise_markdown_keeps_the_command_as_code(receiver: StandIn) -> None:
    body = apprise_send(receiver, make_escalation(), "markdown")["message"]
    assert body.splitlines()[-1] == (
        r"**Follow-up:** mention #7 \(acknowledged\) · when handled: "
        r"`mention-monitor mentions ack 7` \(or resolve / ignore\)"
    )
    body = apprise_send(receiver, make_spike(), "markdown")["message"]
    assert body.splitlines()[-1] == f"**Follow-up:** list them all: {LIST}"


def test_apprise_spike_and_health(receiver: StandIn) -> None:
    sent = apprise_send(receiver, make_spike())
    assert sent["title"] == SUBJECTS[SPIKE] and sent["type"] == "failure"
    lines = sent["message"].splitlines()
    assert lines[:2] == list(SPIKE_DETAILS)
    assert (
        "- Reddit, user1, 10 min ago: complaint number 1: Acme Coffee " + ("lost my order") in lines
    )
    assert " https://www.reddit.com/r/coffee/comments/1/" in lines  # apprise: one space
    assert lines[-1] == f"Follow-up: list them all: {LIST}"
    sent = apprise_send(receiver, make_health())
    assert sent["title"] == SUBJECTS[HEALTH] and sent["type"] == "warning"
    assert sent["message"] == HEALTH_TEXT


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_apprise_spike_with_hostile_posts_is_inert(receiver: StandIn, fmt: str) -> None:
    sent = apprise_send(receiver, make_spike(hostile_posts()), fmt)
    body = sent["message"]
    for text in (sent["title"], body):
        assert no_controls(text), text
        assert "@everyone" not in text and "<@U123>" not in text  # cannot ping
    assert "javascript:" not in body.lower() and "data:text" not in body
    assert body.count("(not an http(s) link, not shown)") == 3
    if fmt == "markdown":
        assert "<script" not in body and "<img" not in body and "<!channel>" not in body
        assert "[open the mention](https://x.example/a%20b%7C%3C!channel%3E&q=" in body
    else:
        assert "<!channel>" in body  # as text: apprise's text mode shows it as written


def test_apprise_digest_labels_each_kind(receiver: StandIn) -> None:
    sent = apprise_send(receiver, mixed_digest())
    assert sent["title"] == digest_title(mixed_digest())
    lines = [line for line in sent["message"].splitlines() if line.startswith("- ")]
    assert lines[0].startswith("- high: Acme Coffee on Hacker News, grumpy, ")
    assert lines[1].startswith("- high: Spreading: Acme Coffee on Hacker News, grumpy, ")
    assert lines[1].endswith(": now it spreads")
    assert f"now it spreads\n {GROWTH[0]}\n https://" in sent["message"]
    assert lines[2].startswith("- negative: Reminder: Acme Coffee on ")
    assert lines[3] == f"- high: {SUBJECTS[SPIKE]}: {SPIKE_DETAILS[0]}"
    assert lines[4].startswith(f"- source problem: Health: {SUBJECTS[HEALTH]}: hackernews failed")


# ------------------------------------------------------------------ console


def console(what: Alert | Digest) -> str:
    out = io.StringIO()
    channel = ConsoleChannel(ConsoleConfig(), stream=out)
    if isinstance(what, Digest):
        channel.send_digest(what)
    else:
        channel.send(what)
    return out.getvalue()


@pytest.mark.parametrize("kind", [SPREADING, VIRAL, REMINDER])
def test_console_escalation_and_reminder(kind: str) -> None:
    alert = make_reminder() if kind == REMINDER else make_escalation(kind)
    lines = console(alert).splitlines()
    severity = "NEGATIVE" if kind == REMINDER else "HIGH"
    assert lines[0] == f"[{severity}] {SUBJECTS[kind]}"
    assert lines[1 : 1 + len(alert.details)] == [f"  {d}" for d in alert.details]
    assert "  text: Cold coffee, rude staff." in lines
    follow = ACK if kind != REMINDER else ACK_NEW
    assert lines[-2] == f"  follow-up: {follow} (or resolve / ignore)" and lines[-1] == ""


def test_console_spike_and_health() -> None:
    lines = console(make_spike()).splitlines()
    assert lines[:5] == [
        f"[HIGH] {SUBJECTS[SPIKE]}",
        f"  {SPIKE_DETAILS[0]}",
        f"  {SPIKE_DETAILS[1]}",
        "  top posts:",
        "  - reddit, user1, 10 min ago: complaint number 1: Acme Coffee lost my order",
    ]
    assert lines[5] == "    https://www.reddit.com/r/coffee/comments/1/"
    assert lines[-2] == f"  follow-up: list them all: {LIST}"
    out = console(make_health())
    assert out.splitlines() == [f"[SOURCE PROBLEM] {SUBJECTS[HEALTH]}", f"  {HEALTH_TEXT}", ""]


def test_console_spike_with_hostile_posts_and_brand_is_inert() -> None:
    brand = "Acme\x1b[31m Coffee\u202e"
    out = console(make_spike(hostile_posts(), brand=brand, details=(f"14 of {brand}",)))
    assert no_controls(out)
    assert "  14 of Acme[31m Coffee" not in out and "  14 of Acme Coffee" in out
    assert "<script>alert(1)</script>" in out  # the text is shown, its escapes are not


def test_console_digest_labels_each_kind() -> None:
    lines = console(mixed_digest()).splitlines()
    assert lines[0] == f"[DIGEST] {digest_title(mixed_digest())}"
    items = [line for line in lines if line.startswith("  - ")]
    assert items[0] == "  - high: Acme Coffee on hackernews, grumpy: first word on it"
    assert items[1] == "  - high: Spreading: Acme Coffee on hackernews, grumpy: now it spreads"
    assert lines[lines.index(items[1]) + 1] == f"    {GROWTH[0]}"
    assert items[2] == "  - negative: Reminder: Acme Coffee on hackernews, grumpy: still waiting"
    assert lines[lines.index(items[2]) + 1] == f"    {WAITED[0]}"
    assert items[3] == f"  - high: {SUBJECTS[SPIKE]}: {SPIKE_DETAILS[0]}"
    assert items[4].startswith(f"  - source problem: Health: {SUBJECTS[HEALTH]}: hackernews failed")
