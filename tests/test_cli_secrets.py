"""Secrets an owner's shell may not have: read-only commands do without them; an env file.

A config whose Slack channel (and X source) read `${VAR}`s that are not set: the
commands that only read the database work; those that send or poll say what is
missing. `.env` beside the config, or `env_file:`, supplies them; the real
environment wins over the file, as with docker-compose.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from tests.conftest import ConfigWriter
from tests.standins.hackernews import HackerNewsAPI, comment
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook

NEGATIVE = "Acme Coffee charged me twice and the latte was cold. Terrible service."
SECRETS = ("SLACK_WEBHOOK_URL", "X_BEARER_TOKEN")


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def config(write_config: ConfigWriter, hn_url: str, hn_api: HackerNewsAPI) -> Path:
    hn_api.add(comment(2, NEGATIVE, created=int(time.time()) - 200))
    return write_config(
        f"""
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          hackernews: {{base_url: "{hn_url}", timeout: 2s}}
          x: {{bearer_token: "${{X_BEARER_TOKEN}}", base_url: "http://127.0.0.1:9"}}
        alerts:
          channels:
            - type: slack
              webhook_url: ${{SLACK_WEBHOOK_URL}}
        """
    )


def stored_id(config: Path, slack_url: str) -> int:
    """Poll once with the secrets set in the environment; the negative mention's id."""
    only_hn = config.read_text().replace("  x: {", "  x: {enabled: false, ")
    config.write_text(only_hn)
    env = {"SLACK_WEBHOOK_URL": slack_url, "X_BEARER_TOKEN": "t"}
    assert invoke("poll", "-c", str(config), env=env).exit_code == 0
    rows = [
        json.loads(x) for x in invoke("mentions", "-c", str(config), "--json").stdout.splitlines()
    ]
    return int(next(r["id"] for r in rows if r["negative"]))


def test_read_only_commands_run_without_channel_or_source_secrets(
    config: Path, slack: tuple[StandIn, SlackWebhook]
) -> None:
    server, webhook = slack
    mention = str(stored_id(config, server.url + webhook.path))
    c = str(config)
    for args in [
        ("mentions", "-c", c),
        ("mentions", "-c", c, "--negative", "--json"),
        ("mentions", "show", mention, "-c", c),
        ("mentions", "ack", mention, "-c", c),
        ("mentions", "resolve", mention, "--note", "refunded", "-c", c),
        ("mentions", "-c", c, "ignore", mention),
        ("stats", "-c", c),
    ]:
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "is not set" not in result.stderr, args
    assert NEGATIVE in invoke("mentions", "show", mention, "-c", c).stdout
    stats = invoke("stats", "-c", c).stdout
    assert "Left out here, their secrets are not set" in stats
    assert "channel slack: SLACK_WEBHOOK_URL is not set" in stats
    score = invoke("score", "-c", c, "--brand", "Acme Coffee", input="awful, cold latte\n")
    assert score.exit_code == 0 and score.stdout.startswith("negative")


@pytest.mark.parametrize("command", ["check", "poll", "run", "test-alert"])
def test_commands_that_poll_or_send_still_name_the_missing_secret(
    command: str, config: Path
) -> None:
    result = invoke(command, "-c", str(config))
    assert result.exit_code == 2
    assert "alerts.channels[0].webhook_url: environment variable SLACK_WEBHOOK_URL is not set" in (
        result.stderr
    )
    assert "sources.x.bearer_token: environment variable X_BEARER_TOKEN is not set" in (
        result.stderr
    )


def test_a_dot_env_beside_the_config_supplies_the_secrets(
    config: Path, slack: tuple[StandIn, SlackWebhook]
) -> None:
    server, webhook = slack
    env_file = config.parent / ".env"
    env_file.write_text(
        f"# mention-monitor secrets\nSLACK_WEBHOOK_URL={server.url}{webhook.path}\n"
        'X_BEARER_TOKEN="token from the file"\n'
    )
    env_file.chmod(0o600)
    check = invoke("check", "-c", str(config))
    assert check.exit_code == 0, check.output
    assert f"Secrets also read from: {env_file}" in check.stdout
    assert "warning" not in check.stdout
    assert webhook.path not in check.output  # still masked
    sent = invoke("test-alert", "-c", str(config), "--channel", "slack")
    assert sent.exit_code == 0, sent.output
    assert len(webhook.payloads) == 1


def test_the_environment_wins_over_the_env_file(
    config: Path, slack: tuple[StandIn, SlackWebhook]
) -> None:
    server, webhook = slack
    (config.parent / ".env").write_text(
        f"SLACK_WEBHOOK_URL={server.url}/services/T000/B000/stale\nX_BEARER_TOKEN=t\n"
    )
    fresh = {"SLACK_WEBHOOK_URL": server.url + webhook.path}
    sent = invoke("test-alert", "-c", str(config), "--channel", "slack", env=fresh)
    assert sent.exit_code == 0, sent.output
    assert len(webhook.payloads) == 1 and "/stale" not in [r.path for r in server.requests]
    stale = invoke("test-alert", "-c", str(config), "--channel", "slack")
    assert stale.exit_code == 1  # the file's stale URL: Slack says no_service


def test_env_file_key_is_relative_to_the_config_and_must_exist(
    config: Path, slack: tuple[StandIn, SlackWebhook], tmp_path: Path
) -> None:
    server, webhook = slack
    folder = tmp_path / "secrets"
    folder.mkdir()
    named = folder / "monitor.env"
    named.write_text(f"SLACK_WEBHOOK_URL={server.url}{webhook.path}\nX_BEARER_TOKEN=t\n")
    named.chmod(0o644)
    config.write_text("env_file: secrets/monitor.env\n" + config.read_text())
    check = invoke("check", "-c", str(config))
    assert check.exit_code == 0, check.output
    assert f"Secrets also read from: {named}" in check.stdout
    assert (
        f"warning: {named} holds secrets and other users of this machine can read it "
        f"(mode 644): chmod 600 {named}"
    ) in check.stdout

    named.unlink()
    missing = invoke("check", "-c", str(config))
    assert missing.exit_code == 2
    assert f"{config}:1: env_file: {named}: no such file" in missing.stderr
