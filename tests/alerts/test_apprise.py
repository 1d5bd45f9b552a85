from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr, ValidationError

from alerts.apprise import AppriseChannel, AppriseConfig, Scrubber
from monitor import __version__
from monitor.config import parse_config
from monitor.errors import AlertError, ChannelMisconfigured, ConfigError
from monitor.models import Alert, Digest
from tests.alerts.factories import make_alert
from tests.standins.server import Response, StandIn

TOKEN = "T0KEN-9f8e7d6c5b4a"

HOSTILE = [
    "<!channel> <!here> <@U123> <http://evil|click> @everyone",
    "<script>alert(1)</script><img src=http://evil/x.png>",
    "\x1b[2J\x1b[31mred\x1b[0m \x1b]0;pwned\x07 \x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\",
    "\u202egnp.exe bell\x07 nul\x00 c1\x9b31m",
    "😀" * 2500,  # 10 kB of emoji
]


def alert(text: str = "Cold coffee, rude staff.", **extra: Any) -> Alert:
    return make_alert(text, **{"channel": "apprise", **extra})


@pytest.fixture
def receiver() -> Iterator[StandIn]:
    with StandIn(lambda request: Response(200, {"ok": True})) as server:
        yield server


def url_of(server: StandIn, scheme: str = "json") -> str:
    return server.url.replace("http://", f"{scheme}://", 1) + f"/hooks/{TOKEN}"


def channel(server: StandIn, scheme: str = "json", **settings: object) -> AppriseChannel:
    config = AppriseConfig.model_validate({"urls": [url_of(server, scheme)], **settings})
    return AppriseChannel(config)


def notification(server: StandIn) -> dict[str, Any]:
    """What apprise's json:// (JSON body) or form:// (form fields) delivered."""
    assert server.requests, "apprise sent nothing"
    request = server.requests[-1]
    if request.headers["content-type"].startswith("application/json"):
        result: dict[str, Any] = json.loads(request.body)
        return result
    return {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}


@pytest.mark.parametrize("scheme", ["json", "form"])
def test_a_send_arrives_with_title_and_body(receiver: StandIn, scheme: str) -> None:
    channel(receiver, scheme).send(alert(title="Acme review"))
    request = receiver.requests[-1]
    assert request.method == "POST" and request.path == f"/hooks/{TOKEN}"
    assert request.headers["user-agent"] == f"mention-monitor/{__version__}"
    sent = notification(receiver)
    assert sent["title"] == "Very negative mention of Acme Coffee on Hacker News"
    assert sent["type"] == "failure"
    body = sent["message"]
    for expected in (
        "Brand: Acme Coffee",
        "Why: angry words: rude",
        "Source: Hacker News",
        "Author: grumpy, 5 min ago",
        "Engagement: 3 comments, 12 points",
        "Title: Acme review",
        "Text: Cold coffee, rude staff.",
        "Link: https://news.ycombinator.com/item?id=1",
        "Follow-up: mention #7 · when handled: `mention-monitor mentions ack 7`",
    ):
        assert expected in body
    assert len(receiver.requests) == 1


def test_long_text_is_trimmed(receiver: StandIn) -> None:
    channel(receiver).send(alert("word " * 1000))
    line = next(x for x in notification(receiver)["message"].splitlines() if "Text:" in x)
    assert line.endswith("…") and 900 < len(line) < 1100


def test_only_web_links_are_shown(receiver: StandIn) -> None:
    channel(receiver).send(alert(url="javascript:alert(document.cookie)"))
    body = notification(receiver)["message"]
    assert "javascript" not in body and "Link: (not an http(s) link, not shown)" in body


@pytest.mark.parametrize("fmt", ["text", "markdown"])
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_texts_arrive_inert(receiver: StandIn, hostile: str, fmt: str) -> None:
    channel(receiver, format=fmt).send(
        alert(hostile, author=hostile, title=hostile, reasons=(hostile,))
    )
    sent = notification(receiver)
    for text in (sent["title"], sent["message"]):
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
        assert not any(ord(c) < 32 and c != "\n" for c in text)
        assert not any(0x7F <= ord(c) <= 0x9F for c in text)
        assert "@everyone" not in text and "<@U123>" not in text  # cannot ping
    if fmt == "markdown":
        assert "<script" not in sent["message"] and "<img" not in sent["message"]


def test_markdown_escapes_what_strangers_write(receiver: StandIn) -> None:
    channel(receiver, format="markdown").send(
        alert("*bold* _it_ [click](http://evil) `code` ~~s~~ a|b & &amp; <b>", author="x_y")
    )
    body = notification(receiver)["message"]
    assert "**Brand:** Acme Coffee" in body
    assert (
        r"**Text:** \*bold\* \_it\_ \[click\]\(http://evil\) \`code\` \~\~s\~\~ a\|b"
        r" & &amp;amp; &lt;b>" in body
    )
    assert r"**Author:** x\_y," in body
    assert "**Link:** [open the mention](https://news.ycombinator.com/item?id=1)" in body


def test_markdown_links_cannot_break_out(receiver: StandIn) -> None:
    channel(receiver, format="markdown").send(alert(url="https://x.test/a) [evil](http://e"))
    body = notification(receiver)["message"]
    assert "[open the mention](https://x.test/a%29%20%5Bevil%5D%28http://e)" in body


def test_digest_is_one_notification_listing_every_alert(receiver: StandIn) -> None:
    alerts = tuple(
        alert(f"complaint number {i}", id=i, url=f"https://news.ycombinator.com/item?id={i}")
        for i in (3, 4, 5)
    )
    channel(receiver).send_digest(Digest(kind="digest", channel="apprise", alerts=alerts))
    assert len(receiver.requests) == 1
    sent = notification(receiver)
    assert sent["title"] == "Digest: 3 mentions of Acme Coffee, 3 negative"
    for i in (3, 4, 5):
        assert f"complaint number {i}" in sent["message"]
        assert f"https://news.ycombinator.com/item?id={i}" in sent["message"]


def test_a_big_rollup_lists_twenty_and_counts_the_rest(receiver: StandIn) -> None:
    alerts = tuple(alert(f"complaint number {i}", id=i) for i in range(25))
    channel(receiver).send_digest(Digest(kind="rollup", channel="apprise", alerts=alerts))
    body = notification(receiver)["message"]
    assert "complaint number 19" in body and "complaint number 20" not in body
    assert "... and 5 more" in body


@pytest.mark.parametrize("status", [500, 404, 429])
def test_a_failure_reported_by_apprise_is_an_alert_error(
    receiver: StandIn,
    status: int,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = channel(receiver)
    receiver.fail_next(Response(status, f"nope, {TOKEN} is wrong"))
    with pytest.raises(AlertError) as info:
        hook.send(alert())
    error = info.value
    assert not error.permanent and error.channel == "apprise"
    assert f"error={status}" in str(error)
    url = url_of(receiver)
    for text in (str(error), repr(error), caplog.text):
        assert url not in text and TOKEN not in text and receiver.url not in text
    assert capsys.readouterr() == ("", "")
    hook.send(alert())  # the next try goes through
    assert len(receiver.requests) == 2


def test_an_unreachable_service_is_transient() -> None:
    with StandIn(lambda request: Response(200)) as server:
        hook = channel(server)
    with pytest.raises(AlertError) as info:
        hook.send(alert())
    assert not info.value.permanent and TOKEN not in str(info.value)


def test_no_loadable_url_is_misconfigured(caplog: pytest.LogCaptureFixture) -> None:
    # Validation keeps this out of a real config; model_construct skips it.
    config = AppriseConfig.model_construct(urls=[SecretStr(f"nosuch://{TOKEN}")], name="apprise")
    with pytest.raises(ChannelMisconfigured) as info:
        AppriseChannel(config).send(alert())
    assert "urls" in str(info.value) and TOKEN not in str(info.value)
    assert "'nosuch://'" in caplog.text and TOKEN not in caplog.text


@pytest.mark.parametrize(
    "url",
    [f"nosuch://{TOKEN}/x", f"https://example.com/{TOKEN}", TOKEN, f"discord://{TOKEN}"],
)
def test_an_url_apprise_cannot_use_is_rejected_without_echoing_it(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValidationError, match="apprise does not understand this") as info:
        AppriseConfig.model_validate({"urls": [url]})
    assert TOKEN not in str(info.value) and TOKEN not in caplog.text
    assert "example.com" not in str(info.value)
    assert not [r for r in caplog.records if r.name == "apprise"]  # our error says it all


def test_config_error_names_the_key_and_the_scheme_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOD_URL", f"json://localhost/{TOKEN}")
    monkeypatch.setenv("BAD_URL", f"foo://{TOKEN}@host/{TOKEN}")
    text = """
brands:
  - name: Acme Coffee
    keywords: ["Acme Coffee"]
sources:
  hackernews: {}
alerts:
  channels:
    - type: apprise
      urls: ["${GOOD_URL}", "${BAD_URL}"]
    - type: apprise
      name: nothing
      urls: []
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    message = str(info.value)
    assert "alerts.channels[0].urls[1]: apprise does not understand this 'foo://' URL" in message
    assert "alerts.channels[1].urls: list at least one Apprise URL" in message
    assert TOKEN not in message


def test_config_never_shows_the_urls(receiver: StandIn) -> None:
    config = channel(receiver).config
    for text in (repr(config), str(config), config.model_dump_json()):
        assert TOKEN not in text and receiver.url.removeprefix("http://") not in text


def test_scrubber_removes_every_part_of_an_url() -> None:
    scrub = Scrubber(["tgram://123456789:AAbbCCdd@host.example/chat-42?to=+15551234567&x=ab"])
    said = "to host.example as 123456789 / AAbbCCdd in chat-42 for +15551234567 (x=ab) ok"
    assert scrub(said) == "to *** as *** / *** in *** for *** (x=ab) ok"
    assert scrub("HOST.EXAMPLE") == "***"


FORMATTED = "*bold1* _ital1_ ~strike1~ `code1` [click](http://evil.example/) <b>html1</b>"


def test_a_markdown_service_shows_a_strangers_formatting_as_written(receiver: StandIn) -> None:
    """Discord, Slack or Mattermost through Apprise render Markdown; with `format: text`
    a stranger's *bold* or [link](...) must reach them escaped, so it shows as written."""
    url = url_of(receiver) + "?format=markdown"  # a json:// service that speaks Markdown
    config = AppriseConfig.model_validate({"urls": [url]})
    AppriseChannel(config).send(alert(FORMATTED, author=FORMATTED, title=FORMATTED))
    body = notification(receiver)["message"]
    escaped = (
        r"\*bold1\* \_ital1\_ \~strike1\~ \`code1\` \[click\]\(http://evil.example/\) "
        r"\<b\>html1\</b\>"
    )
    assert f"Text: {escaped}" in body and f"Title: {escaped}" in body
    assert FORMATTED not in body


def test_a_text_service_gets_the_strangers_text_unchanged(receiver: StandIn) -> None:
    channel(receiver).send(alert(FORMATTED))
    assert f"Text: {FORMATTED}" in notification(receiver)["message"]
