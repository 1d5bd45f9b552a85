from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.email import EmailChannel, EmailConfig
from alerts.render import digest_title
from monitor.errors import AlertError, ChannelMisconfigured
from monitor.models import Alert, Digest
from tests.alerts.factories import make_alert
from tests.standins.smtp import (
    AUTH_WITHOUT_STARTTLS,
    PASSWORD,
    USERNAME,
    SMTPStandIn,
    TestCA,
    free_port,
)

pytestmark = pytest.mark.filterwarnings(AUTH_WITHOUT_STARTTLS)

Servers = Callable[..., SMTPStandIn]
OWNER = "owner@acme.example"


def alert(text: str = "Cold coffee, rude staff. Never again.", **extra: Any) -> Alert:
    return make_alert(text, **{"channel": "email", **extra})


def config(server: SMTPStandIn | None = None, **extra: Any) -> EmailConfig:
    raw: dict[str, Any] = {
        "type": "email",
        "host": "127.0.0.1",
        "security": "none",
        "from": "Acme Alerts <alerts@acme.example>",
        "to": [OWNER],
        "timeout": "5s",
    }
    if server is not None:
        raw["port"] = server.port
    raw.update(extra)
    return EmailConfig.model_validate(raw)


def tls_login(server: SMTPStandIn, ca: TestCA, **extra: Any) -> EmailConfig:
    login = {"username": USERNAME, "password": PASSWORD, "ca_file": str(ca.ca_file)}
    return config(server, **(login | extra))


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert isinstance(plain, EmailMessage) and isinstance(rich, EmailMessage)
    return plain.get_content(), rich.get_content()


class Tags(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def servers() -> Iterator[Servers]:
    made: list[SMTPStandIn] = []

    def make(**options: Any) -> SMTPStandIn:
        server = SMTPStandIn(**options)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


def test_starttls_with_login_delivers_a_multipart_message(ca: TestCA, servers: Servers) -> None:
    server = servers(mode="starttls", ca=ca, auth=True).start()
    channel = EmailChannel(tls_login(server, ca, security="starttls"))
    channel.send(alert(title="Worst café in town"))
    channel.send(alert(title="Worst café in town"))  # a retry of the same alert

    first, again = server.messages
    assert first.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html"]
    subject = first["Subject"]
    assert "Acme Coffee" in subject and "Hacker News" in subject and "-0.70" not in subject
    # Python's header folding leaves two spaces before an encoded word at a fold.
    assert "Worst café" in " ".join(subject.split())
    assert first["From"].addresses[0].addr_spec == "alerts@acme.example"
    assert [a.addr_spec for a in first["To"].addresses] == [OWNER]
    assert first["Message-ID"] == again["Message-ID"] == "<alert-1.email@acme.example>"
    assert first["Date"].datetime.tzinfo is not None
    assert server.recorder.envelopes[0].mail_from == "alerts@acme.example"
    assert server.recorder.envelopes[0].rcpt_tos == [OWNER]

    text, markup = parts(first)
    assert "Cold coffee, rude staff. Never again." in text and "Cold coffee" in markup
    assert "grumpy" in text and "3 comments, 12 points" in text and "Why: angry words: rude" in text
    assert "vader" not in text  # the scorer's numbers are for `mentions show`
    assert "mention #7 · when handled: `mention-monitor mentions ack 7`" in text
    assert "mention-monitor mentions --brand 'Acme Coffee'" in text
    assert "<code>mention-monitor mentions ack 7</code>" in markup
    assert ("href", "https://news.ycombinator.com/item?id=1") in Tags(markup).attrs


def test_other_alerts_get_other_message_ids_and_test_alerts_never_repeat() -> None:
    channel = EmailChannel(config(to=[OWNER], name="shop mail"))
    assert channel.alert_message(alert(id=2))["Message-ID"] == "<alert-2.shop-mail@acme.example>"
    tests = {channel.alert_message(alert(kind="test", id=0))["Message-ID"] for _ in range(2)}
    assert len(tests) == 2


def test_ssl_delivers(ca: TestCA, servers: Servers) -> None:
    server = servers(mode="ssl", ca=ca, auth=True).start()
    EmailChannel(tls_login(server, ca, security="ssl")).send(alert())
    assert len(server.messages) == 1


def test_none_delivers_without_login(servers: Servers) -> None:
    server = servers().start()
    EmailChannel(config(server, to=[OWNER, "Barista <barista@acme.example>"])).send(alert())
    assert server.recorder.envelopes[0].rcpt_tos == [OWNER, "barista@acme.example"]


def test_login_without_encryption_works_but_warns(
    servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    server = servers(auth=True).start()
    with caplog.at_level(logging.WARNING, logger="alerts.email"):
        channel = EmailChannel(config(server, username=USERNAME, password=PASSWORD))
    assert "unencrypted" in caplog.text and PASSWORD not in caplog.text
    channel.send(alert())
    assert len(server.messages) == 1


def test_wrong_password_is_misconfigured_and_never_shown(
    ca: TestCA, servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = servers(mode="starttls", ca=ca, auth=True).start()
    wrong = "Wr0ng-secret-xyz"
    cfg = tls_login(server, ca, security="starttls", password=wrong)
    with pytest.raises(ChannelMisconfigured) as caught:
        EmailChannel(cfg).send(alert())
    assert "535" in str(caught.value) and "password" in str(caught.value)
    assert caught.value.channel == "email"
    for shown in (str(caught.value), repr(caught.value), caplog.text, repr(cfg), str(cfg)):
        assert wrong not in shown
    assert server.messages == []


def test_server_down_then_up(servers: Servers) -> None:
    server = servers(port=free_port())
    channel = EmailChannel(config(server))
    with pytest.raises(AlertError) as caught:
        channel.send(alert())
    assert not caught.value.permanent and "refused the connection" in str(caught.value)
    server.start()
    channel.send(alert())
    assert len(server.messages) == 1


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        cfg = config(port=listener.getsockname()[1], timeout="0.2s")
        with pytest.raises(AlertError) as caught:
            EmailChannel(cfg).send(alert())
    assert not caught.value.permanent and "did not answer" in str(caught.value)


@pytest.mark.parametrize("where", ["rcpt", "data"])
def test_451_is_transient(servers: Servers, where: str) -> None:
    server = servers().start()
    if where == "rcpt":
        server.recorder.rcpt_replies[OWNER] = "451 4.3.0 Mailbox busy, try later"
    else:
        server.recorder.data_reply = "451 4.3.0 Try again later"
    with pytest.raises(AlertError) as caught:
        EmailChannel(config(server)).send(alert())
    assert not caught.value.permanent and "451" in str(caught.value)
    server.recorder.rcpt_replies.clear()
    server.recorder.data_reply = None
    EmailChannel(config(server)).send(alert())
    assert len(server.messages) == 1


def test_550_recipient_is_misconfigured(servers: Servers) -> None:
    server = servers().start()
    server.recorder.rcpt_replies[OWNER] = "550 5.1.1 No such user"
    with pytest.raises(ChannelMisconfigured, match=r"550 5\.1\.1 No such user.*`to`"):
        EmailChannel(config(server)).send(alert())


def test_554_to_the_message_is_permanent_not_misconfigured(servers: Servers) -> None:
    server = servers().start()
    server.recorder.data_reply = "554 5.6.0 Message content rejected"
    with pytest.raises(AlertError) as caught:
        EmailChannel(config(server)).send(alert())
    assert caught.value.permanent and not isinstance(caught.value, ChannelMisconfigured)


def test_one_refused_recipient_of_two_is_a_warning(
    servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    server = servers().start()
    server.recorder.rcpt_replies["gone@acme.example"] = "550 5.1.1 No such user"
    EmailChannel(config(server, to=[OWNER, "gone@acme.example"])).send(alert())
    assert server.recorder.envelopes[0].rcpt_tos == [OWNER]
    assert "gone@acme.example" in caplog.text and "550" in caplog.text


def test_starttls_not_offered_is_misconfigured_and_nothing_is_sent(servers: Servers) -> None:
    server = servers().start()  # plain: no STARTTLS in its EHLO answer
    with pytest.raises(ChannelMisconfigured, match="does not offer STARTTLS"):
        EmailChannel(config(server, security="starttls")).send(alert())
    assert server.recorder.envelopes == []


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_unknown_ca_is_misconfigured_with_a_ca_file_hint(
    ca: TestCA, servers: Servers, mode: str
) -> None:
    server = servers(mode=mode, ca=ca, auth=True).start()
    cfg = config(server, security=mode, username=USERNAME, password=PASSWORD)
    with pytest.raises(ChannelMisconfigured, match="`ca_file`"):
        EmailChannel(cfg).send(alert())
    assert server.recorder.envelopes == []


def test_ssl_against_a_plain_server_is_transient_with_a_hint(servers: Servers) -> None:
    server = servers().start()
    with pytest.raises(AlertError) as caught:
        EmailChannel(config(server, security="ssl")).send(alert())
    assert not caught.value.permanent and "`security`" in str(caught.value)


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=http://evil/x.png>",
    '<a href="javascript:alert(1)">click</a>',
    "\x1b[31mred\x1b[0m \x1b]0;pwned\x07",
    "\u202egnp.exe",
    '"><svg onload=alert(1)>',
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_texts_arrive_inert(servers: Servers, hostile: str) -> None:
    server = servers().start()
    url = hostile if "javascript" in hostile else "javascript:alert(1)"
    EmailChannel(config(server)).send(
        alert(hostile, author=hostile, title=hostile, url=url, reasons=(hostile,))
    )
    (message,) = server.messages
    text, markup = parts(message)
    tags = Tags(markup)
    assert set(tags.tags) <= {"html", "head", "meta", "body", "h2", "table", "tr", "td", "p"} | {
        "a", "br", "span", "code", "ol", "li", "strong",
    }  # fmt: skip
    assert "<script" not in markup.lower() and "<img" not in markup.lower()
    assert not any(name in ("src", "onload", "onerror") for name, _ in tags.attrs)
    assert not any(name == "href" for name, _ in tags.attrs)  # javascript: is never a link
    assert "javascript:" in text  # shown as an address, for the owner to see
    for shown in (text, markup, message["Subject"]):
        assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown


def test_a_link_that_breaks_out_of_its_attribute_stays_inside(servers: Servers) -> None:
    server = servers().start()
    url = 'https://evil.example/"><script>alert(1)</script>'
    EmailChannel(config(server)).send(alert(url=url))
    _, markup = parts(server.messages[0])
    tags = Tags(markup)
    assert "script" not in tags.tags
    assert ("href", url) in tags.attrs  # the whole thing, as an attribute value


def test_ten_kilobytes_of_emoji_are_trimmed(servers: Servers) -> None:
    server = servers().start()
    EmailChannel(config(server, max_text=500)).send(alert("☕😡" * 5_000))
    text, markup = parts(server.messages[0])
    body = next(line for line in text.splitlines() if line.startswith("☕😡"))
    assert body.endswith("…") and len(body) <= 500
    assert "☕😡" in markup and len(markup) < 5_000
    assert len(server.messages[0]["Subject"]) < 200


def test_digest_lists_every_alert(servers: Servers) -> None:
    server = servers().start()
    alerts = [
        alert(f"complaint number {i}", id=i, author=f"user{i}", url=f"https://x.example/{i}")
        for i in range(1, 4)
    ]
    alerts.append(alert("<script>x</script>", id=4, url="javascript:alert(1)"))
    digest = Digest(kind="digest", channel="email", alerts=tuple(alerts))
    channel = EmailChannel(config(server))
    channel.send_digest(digest)
    channel.send_digest(digest)
    first, again = server.messages
    assert first["Subject"] == digest_title(digest)
    assert first["Message-ID"] == again["Message-ID"] == f"<{digest.key}.email@acme.example>"
    text, markup = parts(first)
    for i in range(1, 4):
        assert f"complaint number {i}" in text and f"complaint number {i}" in markup
        assert ("href", f"https://x.example/{i}") in Tags(markup).attrs
    assert "<script" not in markup and "javascript:" not in str(Tags(markup).attrs)


def test_default_ports() -> None:
    assert config(security="starttls").smtp_port == 587
    assert config(security="ssl").smtp_port == 465
    assert config(security="none").smtp_port == 25
    assert config(security="ssl", port=2465).smtp_port == 2465


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"password": "x"}, "`username` is not"),
        ({"username": "me"}, "`password` is empty"),
        ({"to": []}, "at least 1 item"),
        ({"security": "tls"}, "'starttls', 'ssl' or 'none'"),
        ({"from": "alerts"}, "not an email address"),
        ({"to": ["owner@acme.example\nBcc: x@evil"]}, "not an email address"),
        ({"smtp_host": "x"}, "Extra inputs"),
    ],
)
def test_config_errors(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config(**extra)


def test_a_password_is_not_echoed_by_config_errors() -> None:
    with pytest.raises(ValidationError) as caught:
        config(password="Hunter2-secret", port=0)
    assert "Hunter2-secret" not in str(caught.value) and "port" in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        config(password="Hunter2-secret")
    assert "Hunter2-secret" not in str(caught.value)


def test_ca_file_must_exist_and_be_pem(tmp_path: Path, servers: Servers) -> None:
    with pytest.raises(ValidationError, match="no such file"):
        config(ca_file=str(tmp_path / "missing.pem"))
    server = servers().start()
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ChannelMisconfigured, match="cannot load `ca_file`"):
        EmailChannel(config(server, security="ssl", ca_file=str(garbage))).send(alert())
    assert server.recorder.envelopes == []
