"""The Slack app end to end: a real poll of the Hacker News stand-in finds a complaint, the
service posts it to the Slack stand-in with buttons, the Socket Mode stand-in presses
Acknowledge, the command line shows the mention acknowledged, the message says who did it
with fewer buttons, and when the post takes off the escalation arrives in its thread.
Time is a virtual clock, as in tests/monitor/test_spread.py."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from alerts.slack import SlackChannel
from monitor.cli import cli
from monitor.config import load_config
from monitor.service import Service
from tests.alerts.test_slack_app_presses import buttons, contexts, wait_for
from tests.conftest import ConfigWriter
from tests.monitor.test_spread import ANGRY, Clock
from tests.standins.hackernews import HackerNewsAPI, story
from tests.standins.slack_api import running


def test_a_polled_complaint_is_answered_from_slack_and_its_escalation_is_threaded(
    write_config: ConfigWriter,
    hn_url: str,
    hn_api: HackerNewsAPI,
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running() as api:
        monkeypatch.setenv("SLACK_BOT_TOKEN", api.bot_token)
        monkeypatch.setenv("SLACK_APP_TOKEN", api.app_token)
        path = write_config(
            f"""
            database: sqlite:///mentions.db
            brands:
              - name: Acme Coffee
                keywords: ["Acme Coffee"]
            sources:
              hackernews: {{base_url: "{hn_url}"}}
            alerts:
              console: false
              channels:
                - type: slack
                  bot_token: ${{SLACK_BOT_TOKEN}}
                  app_token: ${{SLACK_APP_TOKEN}}
                  channel: "#mentions"
                  base_url: {api.url}/api
            """
        )
        config = load_config(path)
        clock = Clock()
        channel = SlackChannel(config.channels[0], clock=lambda: 0.0, sleep=lambda s: None)
        service = Service(config, http=client, channels={"slack": channel}, clock=clock)
        stop = threading.Event()
        threads: list[threading.Thread] = []
        try:
            item = story(101, ANGRY, created=int(time.time()) - 60, points=1)
            hn_api.add(item)
            service.poll()
            service.dispatch()
            (first,) = api.messages()
            assert buttons(first) == ["Acknowledge", "Resolve", "Ignore", "Not negative"]

            threads = service.listen(stop)
            assert api.socket is not None and api.socket.wait_connected()
            envelope = api.socket.press(api.press(first["ts"], "Acknowledge"))
            assert api.socket.wait_ack(envelope) is not None
            assert wait_for(lambda: len(api.updates) == 1), "the message was not updated"

            listed = CliRunner().invoke(
                cli, ["mentions", "-c", str(path), "--status", "acknowledged", "--json"]
            )
            assert listed.exit_code == 0, listed.output
            (shown,) = [json.loads(line) for line in listed.stdout.splitlines()]
            assert shown["status"] == "acknowledged" and "charged me twice" in shown["title"]

            (updated,) = api.messages()
            said = f"Acknowledged by @maria on Slack at {clock.now:%H:%M} UTC"
            assert said in contexts(updated)
            assert buttons(updated) == ["Resolve", "Ignore", "Not negative"]

            for minute in range(1, 31):  # 1 -> 100 points in half an hour: it spreads
                item["points"] = 1 + round(minute * 100 / 30)
                clock.advance(minutes=1)
                service.watch()
                service.dispatch()
                if len(api.messages()) > 1:
                    break
            parent, escalation = api.messages()
            assert escalation["thread_ts"] == parent["ts"] == first["ts"]
            assert "Spreading" in _header(escalation)
            assert buttons(escalation) == ["Resolve", "Ignore", "Not negative"]
            assert api.problems == [] and api.socket.problems == []
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)
            service.close()
        assert not any(t.is_alive() for t in threads), "the listener did not stop"


def _header(message: dict[str, Any]) -> str:
    return str(message["blocks"][0]["text"]["text"])
