"""Delivery end to end: the real CLI, a stand-in source and real channel peers on loopback."""

from __future__ import annotations

import html
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ConfigWriter
from tests.standins.hackernews import HackerNewsAPI, comment
from tests.standins.server import Response, StandIn
from tests.standins.slack import SlackWebhook
from tests.standins.smtp import PASSWORD as SMTP_PASSWORD
from tests.standins.smtp import USERNAME as SMTP_USERNAME
from tests.standins.smtp import SMTPStandIn, TestCA
from tests.test_cli import invoke

HOSTILE = (
    "Acme Coffee is awful <!channel> <!here> <@U123> <http://evil.example|click here> "
    "<script>alert(1)</script> \x1b[31mred\x1b[0m \u202eevil"
)


@pytest.fixture
def slack_config(
    write_config: ConfigWriter,
    hn_url: str,
    slack: tuple[StandIn, SlackWebhook],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    server, webhook = slack
    monkeypatch.setenv("SLACK_WEBHOOK_URL", server.url + webhook.path)
    return write_config(
        f"""
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          hackernews: {{base_url: "{hn_url}"}}
        alerts:
          console: false
          retry_base: 0.2s
          channels:
            - type: slack
              webhook_url: ${{SLACK_WEBHOOK_URL}}
        """
    )


def negative(
    api: HackerNewsAPI, n: int, text: str = "Acme Coffee is terrible, cold and rude"
) -> None:
    # Algolia serves comment text as HTML: a literal "<" arrives as "&lt;".
    api.add(comment(n, html.escape(f"{text} #{n}"), created=int(time.time()) - 30))


def texts(webhook: SlackWebhook) -> list[str]:
    return [p["text"] for p in webhook.payloads]


def test_500_then_200_delivers_exactly_once(
    hn_api: HackerNewsAPI, slack: tuple[StandIn, SlackWebhook], slack_config: Path
) -> None:
    server, webhook = slack
    negative(hn_api, 1)
    server.fail_next(Response(500, "internal_error", {"Content-Type": "text/plain"}))
    first = invoke("poll", "-c", str(slack_config))
    assert first.exit_code == 1 and "1 to retry" in first.stderr
    assert webhook.payloads == []
    time.sleep(0.3)
    second = invoke("poll", "-c", str(slack_config))
    assert second.exit_code == 0, second.output
    third = invoke("poll", "-c", str(slack_config))
    assert third.exit_code == 0
    assert len(webhook.payloads) == 1
    assert "Acme Coffee" in texts(webhook)[0]


def test_429_waits_for_retry_after(
    hn_api: HackerNewsAPI, slack: tuple[StandIn, SlackWebhook], slack_config: Path
) -> None:
    server, webhook = slack
    negative(hn_api, 1)
    server.fail_next(Response(429, "rate_limited", {"Retry-After": "1"}))
    invoke("poll", "-c", str(slack_config))
    invoke("poll", "-c", str(slack_config))  # too early: still waiting
    assert webhook.payloads == []
    time.sleep(1.1)
    invoke("poll", "-c", str(slack_config))
    assert len(webhook.payloads) == 1


def test_revoked_webhook_pauses_the_channel_until_test_alert_succeeds(
    hn_api: HackerNewsAPI, slack: tuple[StandIn, SlackWebhook], slack_config: Path
) -> None:
    server, webhook = slack
    negative(hn_api, 1)
    negative(hn_api, 2)
    server.fail_next(Response(404, "no_service", {"Content-Type": "text/plain"}))
    first = invoke("poll", "-c", str(slack_config))
    assert first.exit_code == 1
    assert "no_service" in first.stderr and "paused" in first.stderr
    check = invoke("check", "-c", str(slack_config))
    assert "slack: 0 sent, 2 waiting, 0 undeliverable" in check.stdout
    assert "PAUSED" in check.stdout and "test-alert --channel slack" in check.stdout
    invoke("poll", "-c", str(slack_config))
    assert len(server.requests) == 1  # not retried blindly
    fixed = invoke("test-alert", "-c", str(slack_config), "--channel", "slack")
    assert fixed.exit_code == 0 and "slack: OK (was paused; resumed)" in fixed.stdout
    invoke("poll", "-c", str(slack_config))
    assert len(webhook.payloads) == 3  # the test alert and both waiting alerts


def test_test_alert_reports_the_exact_failure(
    slack: tuple[StandIn, SlackWebhook], slack_config: Path
) -> None:
    server, _ = slack
    server.fail_next(Response(404, "no_service", {"Content-Type": "text/plain"}))
    result = invoke("test-alert", "-c", str(slack_config))
    assert result.exit_code == 1
    assert "slack: FAILED: " in result.stdout and "no_service" in result.stdout


def test_hostile_text_arrives_inert_and_secrets_stay_out_of_logs_db_and_check(
    hn_api: HackerNewsAPI,
    slack: tuple[StandIn, SlackWebhook],
    slack_config: Path,
    tmp_path: Path,
) -> None:
    _, webhook = slack
    negative(hn_api, 1, HOSTILE)
    result = invoke("-vv", "poll", "-c", str(slack_config))
    assert result.exit_code == 0, result.output
    (payload,) = webhook.payloads
    body = str(payload)
    for raw in ("<!channel>", "<!here>", "<@U123>", "<http://evil.example|click here>", "<script>"):
        assert raw not in body
    assert "&lt;!channel&gt;" in body
    assert "\x1b" not in body and "\u202e" not in body
    check = invoke("check", "-c", str(slack_config))
    for output in (result.output, check.output):
        assert webhook.token not in output
    assert "webhook_url: ****" in check.stdout
    assert webhook.token.encode() not in (tmp_path / "mentions.db").read_bytes()


def test_smtp_down_then_up_across_a_process_restart_delivers_exactly_once(
    hn_api: HackerNewsAPI,
    write_config: ConfigWriter,
    hn_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ca = TestCA(tmp_path)
    smtp = SMTPStandIn(mode="starttls", ca=ca, auth=True)  # not started yet: the server is down
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    path = write_config(
        f"""
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          hackernews: {{base_url: "{hn_url}"}}
        alerts:
          console: false
          retry_base: 0.2s
          channels:
            - type: email
              host: 127.0.0.1
              port: {smtp.port}
              security: starttls
              ca_file: {ca.ca_file}
              username: {SMTP_USERNAME}
              password: ${{SMTP_PASSWORD}}
              from: alerts@acme.example
              to: [owner@acme.example]
        """
    )
    negative(hn_api, 1)
    negative(hn_api, 2)
    # A real process polls while the mail server is down, then exits.
    down = subprocess.run(
        [sys.executable, "-m", "monitor", "poll", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 1 and "1 to retry" in down.stderr, down.stderr
    assert SMTP_PASSWORD not in down.stderr
    smtp.start()
    try:
        time.sleep(0.5)
        again = subprocess.run(
            [sys.executable, "-m", "monitor", "poll", "-c", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 0, again.stderr
        once_more = invoke("poll", "-c", str(path))
        assert once_more.exit_code == 0
        messages = smtp.messages
    finally:
        smtp.stop()
    assert len(messages) == 2
    assert len({m["Message-ID"] for m in messages}) == 2
    assert all("Acme Coffee" in str(m["Subject"]) for m in messages)
