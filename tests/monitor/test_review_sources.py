"""Review sources and the review rules together, as an owner runs them: the real CLI polls
the Google Business Profile stand-in (tests/standins/google_reviews.py) and alerts a Slack
webhook stand-in. A review never names the shop: it belongs to the location's brand."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.store import Store
from tests.conftest import ConfigWriter
from tests.standins import google_reviews as google
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook, message_problems
from tests.test_cli import invoke


@pytest.fixture
def api() -> google.GoogleAPI:
    return google.GoogleAPI()


@pytest.fixture
def config_path(
    write_config: ConfigWriter,
    api: google.GoogleAPI,
    slack: tuple[StandIn, SlackWebhook],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    server, webhook = slack
    with StandIn(api) as google_server:
        yield write(write_config, google_server.url, server.url + webhook.path, monkeypatch)


def write(
    write_config: ConfigWriter, google_url: str, slack_url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", google.CLIENT_SECRET)
    monkeypatch.setenv("GOOGLE_REFRESH_TOKEN", google.REFRESH_TOKEN)
    return write_config(
        f"""
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          google_reviews:
            base_url: {google_url}
            token_url: {google_url}/token
            client_id: {google.CLIENT_ID}
            client_secret: ${{GOOGLE_CLIENT_SECRET}}
            refresh_token: ${{GOOGLE_REFRESH_TOKEN}}
            locations:
              - {{account: "{google.ACCOUNT}", location: "{google.LOCATION}", brand: Acme Coffee}}
        alerts:
          console: false
          channels:
            - type: slack
              webhook_url: {slack_url}
        """
    )


def stored(path: Path) -> list[tuple[str, str, float | None, bool]]:
    store = Store(load_config(path, secrets=False).database)
    try:
        return [(m.external_id, m.status, m.rating, m.negative) for m in store.mentions()]
    finally:
        store.close()


def test_a_google_review_alerts_once_improves_quietly_and_a_reply_resolves_it(
    api: google.GoogleAPI, config_path: Path, slack: tuple[StandIn, SlackWebhook]
) -> None:
    webhook = slack[1]
    now = time.time()
    api.add(google.review("r1", "Nice staff.", stars=1, created=now - 300, updated=now - 300))
    api.add(google.review("r2", "Lovely flat white", stars=5, created=now - 200, updated=now - 200))
    first = invoke("poll", "-c", str(config_path))
    assert first.exit_code == 0, first.output
    assert sorted(stored(config_path)) == [("r1", "new", 1.0, True), ("r2", "new", 5.0, False)]
    assert len(webhook.payloads) == 1, "one alert, for the 1-star review only"
    assert "1-star review" in str(webhook.payloads[0])

    api.edit("r1", "Nice staff, they fixed my order.", stars=4, when=now - 60)
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    assert len(webhook.payloads) == 1, "an edit to 4 stars alerted again"
    assert ("r1", "new", 4.0, False) in stored(config_path)

    api.reply("r1", "Thank you, see you soon!", when=now - 30)
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    assert ("r1", "resolved", 4.0, False) in stored(config_path)
    assert len(webhook.payloads) == 1


def test_a_hostile_review_is_stored_once_and_shown_as_written(
    api: google.GoogleAPI, config_path: Path, slack: tuple[StandIn, SlackWebhook]
) -> None:
    hostile = "<script>alert(1)</script> *bold* <!channel> \x1b[31mred\x1b[0m Ba\u200bd\u202e 1/10"
    now = time.time()
    api.add(
        google.review(
            "r9", hostile, stars=1, created=now - 60, updated=now - 60, reviewer="<b>\u200bEve</b>"
        )
    )
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    (payload,) = slack[1].payloads
    assert message_problems(payload) == []
    assert "<!channel>" not in payload["text"] and "\x1b" not in json.dumps(payload)
    assert [row[0] for row in stored(config_path)] == ["r9"]
