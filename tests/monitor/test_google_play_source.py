"""The Google Play source as an owner runs it: the real CLI polls the Play stand-in
(tests/standins/google_play.py) with a service account's key file and alerts a Slack webhook
stand-in; a source that could not read for more than Google's week says so once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import load_config
from monitor.pipeline import ALL_BRANDS
from monitor.store import Store
from monitor.store.tables import AlertRow
from tests.conftest import ConfigWriter
from tests.monitor.test_review_sources import stored
from tests.standins import google_play as g
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook
from tests.test_cli import invoke


@pytest.fixture
def api() -> g.PlayAPI:
    return g.PlayAPI()


@pytest.fixture
def config_path(
    write_config: ConfigWriter,
    api: g.PlayAPI,
    slack: tuple[StandIn, SlackWebhook],
    tmp_path: Path,
) -> Iterator[Path]:
    server, webhook = slack
    with StandIn(api) as play:
        key = tmp_path / "play-key.json"
        key.write_text(json.dumps(g.key_file(f"{play.url}/token")), encoding="utf-8")
        yield write_config(
            f"""
            brands:
              - name: Acme App
                keywords: ["Acme App"]
            sources:
              google_play:
                base_url: {play.url}
                service_account_file: {key.name}  # beside config.yaml
                apps:
                  - {{package: {g.PACKAGE}, brand: Acme App}}
            alerts:
              console: false
              channels:
                - type: slack
                  webhook_url: {server.url + webhook.path}
            """
        )


def health_notices(path: Path) -> list[dict[str, str]]:
    store = Store(load_config(path, secrets=False).database)
    try:
        with store.session() as s:
            rows = s.scalars(select(AlertRow).where(AlertRow.kind == "health"))
            return [dict(row.payload or {}, key=row.dedupe_key) for row in rows]
    finally:
        store.close()


def test_a_play_review_alerts_once_improves_quietly_and_a_reply_resolves_it(
    api: g.PlayAPI, config_path: Path, slack: tuple[StandIn, SlackWebhook]
) -> None:
    webhook = slack[1]
    api.add("gp:1", "Nice design.", 1, ago=300)
    api.add("gp:2", "Does what it says", 5, ago=200)
    first = invoke("poll", "-c", str(config_path))
    assert first.exit_code == 0, first.output
    assert sorted(stored(config_path)) == [("gp:1", "new", 1.0, True), ("gp:2", "new", 5.0, False)]
    assert len(webhook.payloads) == 1, "one alert, for the 1-star review only"
    assert "1-star review" in str(webhook.payloads[0])

    api.edit("gp:1", "Nice design, and the crash is fixed.", 4)
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    assert len(webhook.payloads) == 1, "an edit to 4 stars alerted again"
    assert ("gp:1", "new", 4.0, False) in stored(config_path)

    api.reply("gp:1", "Thanks for updating your review!")
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    assert ("gp:1", "resolved", 4.0, False) in stored(config_path)
    assert len(webhook.payloads) == 1


def test_a_poll_after_more_than_a_week_tells_the_owner_once(
    api: g.PlayAPI, config_path: Path, slack: tuple[StandIn, SlackWebhook]
) -> None:
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    store = Store(load_config(config_path, secrets=False).database)
    try:
        state = json.loads(store.get_cursor("google_play", ALL_BRANDS) or "")
        state["at"] -= 9 * 86_400  # the service was off for nine days
        store.ingest("google_play", ALL_BRANDS, [], json.dumps(state))
    finally:
        store.close()
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    (notice,) = health_notices(config_path)
    assert notice["key"].startswith("notice:google_play:gap:")
    assert notice["source"] == "google_play" and "Play Console" in notice["text"]
    assert any("missed reviews" in json.dumps(p) for p in slack[1].payloads)
