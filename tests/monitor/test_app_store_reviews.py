"""The App Store source with the review rules, as an owner runs it: the real CLI polls the
App Store stand-in (tests/standins/app_store.py) and alerts a Slack webhook stand-in. The
owner's app is read with their key; a competitor's through the public feed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.store import Store
from tests.conftest import ConfigWriter
from tests.standins import app_store as a
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook
from tests.test_cli import invoke

PRIVATE_KEY, PUBLIC_KEY = a.new_key()


@pytest.fixture
def api() -> a.AppStore:
    return a.two_apps(PUBLIC_KEY)


@pytest.fixture
def config_path(
    write_config: ConfigWriter, api: a.AppStore, slack: tuple[StandIn, SlackWebhook], tmp_path: Path
) -> Iterator[Path]:
    server, webhook = slack
    key = tmp_path / f"AuthKey_{a.KEY_ID}.p8"
    key.write_text(PRIVATE_KEY)
    with StandIn(api) as apple:
        yield write_config(
            f"""
            brands:
              - name: Acme App
                keywords: ["Acme App"]
              - name: Rival
                keywords: ["Rival"]
            sources:
              app_store:
                base_url: {apple.url}
                feed_base_url: {apple.url}
                issuer_id: {a.ISSUER}
                key_id: {a.KEY_ID}
                private_key_file: {key}
                apps:
                  - {{id: "{a.APP_ID}", brand: Acme App}}
                  - {{id: "{a.RIVAL}", brand: Rival, own: false, countries: [us, gb]}}
            alerts:
              console: false
              channels:
                - type: slack
                  webhook_url: {server.url + webhook.path}
            """
        )


def stored(path: Path) -> dict[str, tuple[str, float | None, bool, str]]:
    store = Store(load_config(path, secrets=False).database)
    try:
        return {m.external_id: (m.status, m.rating, m.negative, m.brand) for m in store.mentions()}
    finally:
        store.close()


def test_a_review_of_the_owners_app_alerts_once_improves_quietly_and_a_response_resolves_it(
    api: a.AppStore, config_path: Path, slack: tuple[StandIn, SlackWebhook]
) -> None:
    webhook = slack[1]
    bad = api.add(a.Review(1, "Looks nice.", created=a.ago(minutes=5)))
    good = api.add(a.Review(5, "Love the new widgets", created=a.ago(minutes=4)))
    first = invoke("poll", "-c", str(config_path))
    assert first.exit_code == 0, first.output
    rows = stored(config_path)
    assert rows[bad.id] == ("new", 1.0, True, "Acme App")
    assert rows[good.id] == ("new", 5.0, False, "Acme App")
    assert len(webhook.payloads) == 1 and "1-star review" in str(webhook.payloads[0])
    assert "App Store" in str(webhook.payloads[0]) and "app_store" not in str(webhook.payloads[0])

    bad.edit(4, "Looks nice, and the crash is fixed.")
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    assert stored(config_path)[bad.id] == ("new", 4.0, False, "Acme App")
    assert len(webhook.payloads) == 1, "an edit to 4 stars alerted again"

    bad.answer("Thanks for updating your review!")
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    assert stored(config_path)[bad.id][0] == "resolved"
    assert len(webhook.payloads) == 1


def test_every_review_of_a_competitors_app_is_filed_under_its_brand(
    api: a.AppStore, config_path: Path, slack: tuple[StandIn, SlackWebhook]
) -> None:
    """A review on a competitor's listing is about that app whether or not it names it."""
    named = api.add(a.Review(1, "Rival lost all my notes", country="gb"), a.RIVAL)
    unnamed = api.add(a.Review(1, "Lost all my notes"), a.RIVAL)
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    rows = stored(config_path)
    assert rows[named.feed_id] == ("new", 1.0, True, "Rival")
    assert rows[unnamed.feed_id] == ("new", 1.0, True, "Rival")
    assert api.feed_requests == 2  # one page in each country
