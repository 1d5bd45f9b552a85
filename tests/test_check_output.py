"""`mention-monitor check` shows the config as the owner wrote it, and the database as it is."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner, Result

from monitor.cli import cli
from tests.conftest import ConfigWriter
from tests.standins.hackernews import HackerNewsAPI, story

PYTHON_WORDS = re.compile(r"None|True|False|from_|timedelta|SecretStr|ByteSize|\w=|\(\'|\',\)")


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_values_are_shown_as_written(write_config: ConfigWriter, hn_url: str) -> None:
    path = write_config(
        f"""
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee", '@acmecoffee', acme]
            sources: [hackernews, rss]
        sources:
          hackernews:
            every: 90s
            base_url: {hn_url}
            enabled: yes
            lookback: 36h
            max_response: 5MB
            spread: {{spreading: 12, viral: 50}}
          rss:
            feeds:
              - https://example.com/feed.xml
              - url: https://example.com/private.xml?token=${{FEED_TOKEN}}
                brand: Acme Coffee
        alerts:
          remind_after: 90m
          channels:
            - type: email
              mode: digest
              digest_at: "08:00"
              host: smtp.example.com
              username: me@example.com
              password: ${{SMTP_PASSWORD}}
              from: me@example.com
              to: [owner@example.com]
              quiet_hours: {{from: "22:00", to: "07:00"}}
            - type: slack
              webhook_url: https://hooks.slack.com/services/T0/B0/literal-secret
              mention_channel_on_high: false
        spread:
          track_for: 36h
        """
    )
    env = {"SMTP_PASSWORD": "hunter2-smtp", "FEED_TOKEN": "feed-token-9"}
    result = invoke("check", "-c", str(path), env=env)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert not PYTHON_WORDS.search(out), PYTHON_WORDS.search(out)
    for secret in ("hunter2-smtp", "feed-token-9", "literal-secret"):
        assert secret not in result.output
    lines = out.splitlines()
    assert """    keywords: ["Acme Coffee", '@acmecoffee', acme]""" in lines
    assert "    sources:  [hackernews, rss]" in lines
    assert f"  hackernews: every 90s from {hn_url}" in lines
    assert "    enabled: yes, lookback: 36h, max_response: 5MB" not in lines  # enabled: in head
    assert "    lookback: 36h, max_response: 5MB" in lines
    assert (
        "    feeds: [https://example.com/feed.xml, "
        "{url: https://example.com/private.xml?…, brand: Acme Coffee}]"
    ) in lines
    assert (
        '    mode: digest, digest_at: "08:00", host: smtp.example.com, '
        "username: me@example.com, password: **** (${SMTP_PASSWORD}), from: me@example.com, "
        'to: [owner@example.com], quiet_hours: {from: "22:00", to: "07:00"}'
    ) in lines
    assert "    webhook_url: ****, mention_channel_on_high: false" in lines
    assert "  spread tracking: negative posts younger than 36h" in lines
    assert "    hackernews: read 5m, then every 15m; spreading at 12/h, viral at 50/h" in out
    assert "  reminders: after 90m unanswered" in lines
    assert "  console (console): negative, all brands" in lines  # added, nothing written


def test_the_database_line_is_right_before_and_after_the_first_poll(
    write_config: ConfigWriter, hn_api: HackerNewsAPI, hn_url: str, tmp_path: Path
) -> None:
    hn_api.add(story(1, "Acme Coffee is the worst, still waiting for my order"))
    path = write_config(
        f"""
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          hackernews: {{base_url: "{hn_url}"}}
        """
    )
    db = tmp_path / "mentions.db"
    for _ in range(2):  # looking twice changes nothing
        first = invoke("check", "-c", str(path))
        assert f"Database: {db}\n  new: it will be created on the first run\n" in first.stdout
        assert not db.exists()
    assert invoke("poll", "-c", str(path)).exit_code == 0
    after = invoke("check", "-c", str(path))
    assert f"Database: {db}\n  1 mention stored\nSource health:\n" in after.stdout
    assert "  hackernews: last success 20" in after.stdout
    assert "  console: 1 sent, 0 waiting, 0 undeliverable" in after.stdout


def test_a_failing_source_counts_its_polls(write_config: ConfigWriter, tmp_path: Path) -> None:
    path = write_config(
        """
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          hackernews: {base_url: "http://127.0.0.1:9/api/v1", timeout: 2s}
        """
    )
    for polls in ("1 poll", "2 polls"):
        assert invoke("poll", "-c", str(path)).exit_code == 1
        out = invoke("check", "-c", str(path)).stdout
        assert f"    FAILING: {polls} in a row failed, since " in out
