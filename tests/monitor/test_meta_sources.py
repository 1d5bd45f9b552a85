"""The Facebook source with the review rules, as an owner runs it: the real CLI polls the
Graph stand-in (tests/standins/meta_graph.py) and alerts a Slack webhook stand-in. A
"doesn't recommend" never names the shop: it belongs to the Page's brand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ConfigWriter
from tests.monitor.test_review_sources import stored
from tests.standins import meta_graph as meta
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook, message_problems
from tests.test_cli import invoke

PAGE = "104455782266871"


@pytest.fixture
def page() -> meta.FacebookPage:
    return meta.FacebookPage(PAGE)


@pytest.fixture
def config_path(
    write_config: ConfigWriter,
    page: meta.FacebookPage,
    slack: tuple[StandIn, SlackWebhook],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    server, webhook = slack
    monkeypatch.setenv("META_PAGE_TOKEN", meta.TOKEN)
    with StandIn(meta.MetaAPI([page])) as graph:
        yield write_config(
            f"""
            brands:
              - name: Acme Coffee
                keywords: ["Acme Coffee"]
            sources:
              facebook:
                base_url: {graph.url}/{meta.VERSION}
                page_token: ${{META_PAGE_TOKEN}}
                pages:
                  - {{id: "{PAGE}", brand: Acme Coffee}}
            alerts:
              console: false
              channels:
                - type: slack
                  webhook_url: {server.url + webhook.path}
            """
        )


def test_a_doesnt_recommend_alerts_once_and_the_pages_reply_resolves_a_comment(
    page: meta.FacebookPage, config_path: Path, slack: tuple[StandIn, SlackWebhook]
) -> None:
    webhook = slack[1]
    bad = page.recommend(False, "Nice staff.", who="Sam Smith")
    post = page.post()
    complaint = page.comment(post, "My order never came and nobody answers the phone")
    first = invoke("poll", "-c", str(config_path))
    assert first.exit_code == 0, first.output
    rows = {row[0]: row for row in stored(config_path)}
    assert rows[bad] == (bad, "new", 1.0, True)
    assert rows[complaint][1:] == ("new", None, True)
    assert len(webhook.payloads) == 2
    rated = next(p for p in webhook.payloads if "Nice staff." in str(p))
    assert "1-star review" in str(rated) and message_problems(rated) == []
    assert meta.TOKEN not in str(webhook.payloads)

    page.ratings[0]["recommendation_type"] = "positive"  # changed their mind
    page.reply(post, complaint, "So sorry! We have called you back.")
    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    rows = {row[0]: row for row in stored(config_path)}
    assert rows[bad] == (bad, "new", 5.0, False)
    assert rows[complaint][1] == "resolved"
    assert len(webhook.payloads) == 2, "a better rating or the Page's reply alerted again"

    assert invoke("poll", "-c", str(config_path)).exit_code == 0
    assert len(webhook.payloads) == 2
