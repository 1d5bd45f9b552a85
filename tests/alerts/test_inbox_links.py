"""From the alert to the inbox: with ``web.public_url``, every channel links the alert to its
page in the inbox ("Open in inbox") and, while nobody has answered the mention, to its
Acknowledge page; following those links as the owner would (logged in, through the app behind
the public address's path prefix) shows the page and changes nothing until the button is
pressed.

The alerts go out through the real CLI (`poll`) from a Hacker News stand-in to a Slack webhook
stand-in, a real SMTP server, a webhook receiver, an apprise json:// receiver and the console.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from alerts.console import render
from alerts.slack import SlackChannel, SlackConfig
from monitor.config import Config, load_config
from monitor.links import InboxLinks
from monitor.store import Store
from monitor.web import create_app
from tests.alerts.factories import make_health, make_spike
from tests.alerts.test_delivery import negative
from tests.conftest import ConfigWriter
from tests.monitor.web.conftest import csrf_of, log_in
from tests.standins.hackernews import HackerNewsAPI
from tests.standins.server import Response, StandIn
from tests.standins.slack import SlackWebhook, message_problems
from tests.standins.smtp import SMTPStandIn
from tests.test_cli import invoke

PUBLIC = "https://shop.example/monitor"
PASSWORD = "correct horse battery"


@pytest.fixture
def receivers() -> Iterator[tuple[StandIn, StandIn]]:
    """(webhook receiver, apprise json:// receiver)."""
    with (
        StandIn(lambda request: Response(200, {"ok": True})) as hook,
        StandIn(lambda request: Response(200, {"ok": True})) as apprise,
    ):
        yield hook, apprise


@pytest.fixture
def smtp() -> Iterator[SMTPStandIn]:
    server = SMTPStandIn(mode="plain").start()
    yield server
    server.stop()


def config_for(
    write_config: ConfigWriter,
    hn_url: str,
    slack: tuple[StandIn, SlackWebhook],
    receivers: tuple[StandIn, StandIn],
    smtp: SMTPStandIn,
    public_url: str | None,
) -> Path:
    server, webhook = slack
    hook, apprise = receivers
    public = f"public_url: {public_url}" if public_url else ""
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
            - type: slack
              webhook_url: {server.url}{webhook.path}
            - type: email
              host: 127.0.0.1
              port: {smtp.port}
              security: none
              from: alerts@acme.example
              to: [owner@acme.example]
            - type: webhook
              url: {hook.url}/hooks/in
            - type: apprise
              urls: ["{apprise.url.replace("http://", "json://", 1)}/notify"]
            - type: console
        web:
          password: {PASSWORD}
          {public}
        """
    )


def slack_buttons(payload: dict[str, Any]) -> dict[str, str]:
    """Each link button's words -> its address."""
    return {
        element["text"]["text"]: element["url"]
        for block in payload["blocks"]
        for element in block.get(
            "elements", [block.get("accessory")] if "accessory" in block else []
        )
        if element and element.get("type") == "button"
    }


def mail_parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    return str(plain.get_content()), str(rich.get_content())


def the_mention_id(path: Path) -> int:
    store = Store(load_config(path, secrets=False).database)
    try:
        rows = store.mentions(limit=10)
    finally:
        store.close()
    assert len(rows) == 1
    return rows[0].id


@contextmanager
def behind_the_prefix(config: Config) -> Iterator[tuple[TestClient, Store]]:
    """The inbox over the config's database, as the browser reaches it at PUBLIC (a reverse
    proxy serving it under /monitor), and its store."""
    store = Store(config.database)
    try:
        with TestClient(
            create_app(config, store), base_url="https://shop.example", root_path="/monitor"
        ) as browser:
            yield browser, store
    finally:
        store.close()


def status_of(store: Store, mention_id: int) -> str:
    row = store.mention(mention_id)
    assert row is not None
    return row.status


def test_every_channel_links_the_alert_to_its_page_and_its_acknowledge_page(
    write_config: ConfigWriter,
    hn_api: HackerNewsAPI,
    hn_url: str,
    slack: tuple[StandIn, SlackWebhook],
    receivers: tuple[StandIn, StandIn],
    smtp: SMTPStandIn,
) -> None:
    path = config_for(write_config, hn_url, slack, receivers, smtp, PUBLIC)
    negative(hn_api, 1)
    done = invoke("poll", "-c", str(path))
    assert done.exit_code == 0, done.output
    n = the_mention_id(path)
    page, ack = f"{PUBLIC}/mentions/{n}", f"{PUBLIC}/mentions/{n}/ack"

    payload = slack[1].payloads[-1]
    assert message_problems(payload) == []
    buttons = slack_buttons(payload)
    assert buttons["Open in inbox"] == page
    assert buttons["Acknowledge"] == ack
    assert buttons["Open post"].startswith("https://news.ycombinator.com/")
    assert "mentions ack" not in json.dumps(payload), "a command nobody types on a phone"

    plain, rich = mail_parts(smtp.messages[-1])
    assert f"Open in inbox: {page}" in plain and f"Acknowledge: {ack}" in plain
    assert f'href="{page}"' in rich and f'href="{ack}"' in rich

    hook, apprise = receivers
    sent = json.loads(hook.requests[-1].body)
    assert (sent["inbox_url"], sent["ack_url"]) == (page, ack)
    body = json.loads(apprise.requests[-1].body)["message"]
    assert page in body and ack in body

    assert f"open in inbox: {page}" in done.stdout and f"acknowledge: {ack}" in done.stdout


def test_without_a_public_url_alerts_carry_no_inbox_links_and_say_the_command(
    write_config: ConfigWriter,
    hn_api: HackerNewsAPI,
    hn_url: str,
    slack: tuple[StandIn, SlackWebhook],
    receivers: tuple[StandIn, StandIn],
    smtp: SMTPStandIn,
) -> None:
    path = config_for(write_config, hn_url, slack, receivers, smtp, None)
    negative(hn_api, 1)
    assert invoke("poll", "-c", str(path)).exit_code == 0
    n = the_mention_id(path)
    assert set(slack_buttons(slack[1].payloads[-1])) == {"Open post"}
    assert f"mention-monitor mentions ack {n}" in json.dumps(slack[1].payloads[-1])
    plain, _ = mail_parts(smtp.messages[-1])
    assert "Open in inbox" not in plain and f"mention-monitor mentions ack {n}" in plain
    sent = json.loads(receivers[0].requests[-1].body)
    assert sent["inbox_url"] is None and sent["ack_url"] is None


def test_the_links_open_the_pages_and_acknowledge_only_on_the_button(
    write_config: ConfigWriter,
    hn_api: HackerNewsAPI,
    hn_url: str,
    slack: tuple[StandIn, SlackWebhook],
    receivers: tuple[StandIn, StandIn],
    smtp: SMTPStandIn,
) -> None:
    path = config_for(write_config, hn_url, slack, receivers, smtp, PUBLIC)
    negative(hn_api, 1)
    assert invoke("poll", "-c", str(path)).exit_code == 0
    buttons = slack_buttons(slack[1].payloads[-1])
    with behind_the_prefix(load_config(path)) as (browser, store):
        # Not logged in: the link leads to the login page, then back to where it pointed.
        ack_path = urlsplit(buttons["Acknowledge"]).path
        first = browser.get(ack_path, follow_redirects=False)
        assert first.status_code in (302, 303, 307)
        assert "/monitor/login" in first.headers["location"]
        log_in(browser, prefix="/monitor")

        opened = browser.get(urlsplit(buttons["Open in inbox"]).path)
        assert opened.status_code == 200 and "Acme Coffee is terrible" in opened.text
        confirm = browser.get(ack_path)  # what a mail scanner or a link preview does
        assert confirm.status_code == 200 and "Acknowledge" in confirm.text
        n = the_mention_id(path)
        assert status_of(store, n) == "new", "opening a link changed the mention"

        pressed = browser.post(
            ack_path, data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False
        )
        assert pressed.status_code == 303
        assert status_of(store, n) == "acknowledged"


def test_notices_link_to_their_page_and_answered_mentions_offer_no_acknowledge() -> None:
    links = InboxLinks(PUBLIC)
    spike = links.attach(make_spike(brand="Café & Co/Bar"))
    assert (
        spike.inbox_url == f"{PUBLIC}/brands/Caf%C3%A9%20%26%20Co%2FBar" and spike.ack_url is None
    )
    health = links.attach(make_health())
    assert health.inbox_url == f"{PUBLIC}/sources" and health.ack_url is None

    answered = links.attach(_mention(status="acknowledged"))
    assert answered.inbox_url == f"{PUBLIC}/mentions/7" and answered.ack_url is None
    rendered = render(answered)
    assert "open in inbox:" in rendered and "acknowledge:" not in rendered

    channel = SlackChannel(SlackConfig(webhook_url="https://hooks.slack.example/services/T/B/C"))
    buttons = slack_buttons(channel.message(links.attach(_mention(status="new"))))
    assert buttons["Acknowledge"] == f"{PUBLIC}/mentions/7/ack"


def test_a_spike_s_brand_link_opens_that_brand_s_page(tmp_path: Path) -> None:
    from tests.monitor.web.conftest import fill, make_config

    config = make_config(tmp_path, f"web:\n  password: {PASSWORD}\n  public_url: {PUBLIC}\n")
    fill(config)
    link = InboxLinks(PUBLIC).attach(make_spike(brand="Acme Coffee")).inbox_url
    assert link is not None
    with behind_the_prefix(config) as (browser, _):
        log_in(browser, prefix="/monitor")
        page = browser.get(urlsplit(link).path)
        assert page.status_code == 200 and "Acme Coffee" in page.text


def _mention(status: str) -> Any:
    from tests.alerts.factories import make_alert

    return make_alert(status=status, created_at=datetime.now(UTC))
