"""Reviews end to end (issue 14): a real poll of a loopback review API, real SQLite, the
Slack webhook stand-in, the inbox through the framework's test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from alerts.slack import SlackChannel, SlackConfig
from monitor.config import AlertsConfig, BrandConfig, Config, parse_config
from monitor.dispatcher import Dispatcher
from monitor.pipeline import Pipeline
from monitor.sentiment import make_scorer
from monitor.store import RESOLVED, MentionRow, NewMention, Store
from monitor.web import create_app
from tests.monitor.review_source import ReviewsConfig, ReviewsConnector
from tests.monitor.web.conftest import WEB, config_text, log_in
from tests.standins.reviews_generic import ReviewsAPI
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook, texts

ACME = BrandConfig(name="Acme Coffee", keywords=["Acme Coffee"], exclude=["staff"])
PLACE = "acme-main-street"


class World:
    """The review API, the pipeline polling it, and Slack."""

    def __init__(self, tmp_path: Path, api_url: str, slack_url: str, webhook: SlackWebhook):
        self.http = httpx.Client(timeout=10)
        source = ReviewsConfig(
            base_url=api_url, place=PLACE, brand="Acme Coffee", token=SecretStr("test-token")
        )
        slack = SlackConfig(webhook_url=slack_url + webhook.path, name="slack")
        self.config = Config(
            path=None,
            database=f"sqlite:///{tmp_path / 'reviews.db'}",
            brands=[ACME],
            sources={"reviews": source},
            channels=[slack],
        )
        self.store = Store(self.config.database)
        connector = ReviewsConnector(source, self.http)
        self.pipeline = Pipeline(
            self.config,
            self.store,
            make_scorer(self.config.sentiment, self.config.brands),
            {"reviews": connector},
            strict=True,
        )
        channel = SlackChannel(slack, http=self.http, sleep=lambda _: None)
        self.dispatcher = Dispatcher(self.store, {"slack": channel}, AlertsConfig(), strict=True)
        self.webhook = webhook

    def poll(self) -> None:
        report = self.pipeline.poll_source("reviews")
        assert report.ok, report.error
        self.dispatcher.dispatch()

    def review(self, external_id: str) -> MentionRow:
        (row,) = [m for m in self.store.mentions() if m.external_id == external_id]
        return row

    def sent(self) -> list[str]:
        return ["\n".join(texts(p)) for p in self.webhook.payloads]

    def close(self) -> None:
        self.store.close()
        self.http.close()


@pytest.fixture
def api() -> ReviewsAPI:
    return ReviewsAPI()


@pytest.fixture
def world(tmp_path: Path, api: ReviewsAPI, slack: tuple[StandIn, SlackWebhook]) -> Iterator[World]:
    server, webhook = slack
    with StandIn(api) as reviews:
        w = World(tmp_path, reviews.url, server.url, webhook)
        yield w
        w.close()


def test_a_one_star_review_alerts_once_improves_quietly_and_the_reply_resolves_it(
    world: World, api: ReviewsAPI
) -> None:
    # Kind words, one star, and the brand never named: on its own page, it is a complaint.
    api.post(PLACE, "r1", 1, "Nice staff, nice place.", "Dana")
    api.post(PLACE, "r2", 5, "Lovely flat white.", "Eli")
    world.poll()
    (message,) = world.sent()
    assert "1-star review" in message and "Dana" in message
    first = world.review("r1")
    assert (first.rating, first.negative, first.severity, first.own_page) == (1, True, "high", True)
    assert world.review("r2").negative is False  # five stars, nothing to tell

    world.poll()  # nothing new: nothing sent again
    assert len(world.sent()) == 1

    api.edit(PLACE, "r1", 4, "Came back, they made it right. Nice staff.")
    world.poll()
    assert len(world.sent()) == 1  # better is not news
    row = world.review("r1")
    assert (row.rating, row.negative, row.text) == (
        4,
        False,
        "Came back, they made it right. Nice staff.",
    )
    assert row.edited_at is not None
    (change,) = world.store.status_changes(row.id)
    assert (change.status, change.note, change.actor) == (
        "improved",
        "changed from 1 to 4 stars, new words",
        "the reviewer",
    )

    replied_at = api.reply(PLACE, "r1", "Thank you for coming back, Dana!")
    world.poll()
    row = world.review("r1")
    assert (row.status, row.status_note, row.acked_at) == (
        RESOLVED,
        "answered on reviews",
        replied_at,
    )
    last = world.store.status_changes(row.id)[-1]
    assert (last.status, last.actor) == (RESOLVED, "the business's reply on reviews")
    assert row.edited_at == world.review("r1").edited_at  # the reply is not the author's edit
    assert len(world.sent()) == 1


def test_a_review_changed_for_the_worse_alerts_as_such(world: World, api: ReviewsAPI) -> None:
    api.post(PLACE, "r1", 4, "Good coffee.", "Fay")
    world.poll()
    assert world.sent() == []
    api.edit(PLACE, "r1", 1, "Good coffee. Then they charged me twice.")
    world.poll()
    (message,) = world.sent()
    assert "Review changed: Acme Coffee on reviews" in message
    assert "This review changed from 4 to 1 stars, new words." in message
    row = world.review("r1")
    (change,) = world.store.status_changes(row.id)
    assert (change.status, change.note) == ("edited", "changed from 4 to 1 stars, new words")
    world.poll()  # the same edit seen again: no second alert
    assert len(world.sent()) == 1


def test_an_answered_review_first_seen_is_filed_resolved_without_an_alert(
    world: World, api: ReviewsAPI
) -> None:
    api.post(PLACE, "r1", 2, "Slow service.", "Gus")
    replied_at = api.reply(PLACE, "r1", "Sorry, Gus: we were two people short that day.")
    world.poll()
    assert world.sent() == []
    row = world.review("r1")
    assert (row.status, row.acked_at, row.owner_replied_at) == (RESOLVED, replied_at, replied_at)
    assert row.negative  # still a complaint, counted as one, and answered
    stats = world.store.negative_timeline(None)
    assert [(t.id, t.acked_at) for t in stats] == [(row.id, replied_at)]


def test_a_deleted_review_is_marked_and_kept(world: World, api: ReviewsAPI) -> None:
    api.post(PLACE, "r1", 1, "Awful.", "Hal")
    api.post(PLACE, "gone-before-seen", 1, "Terrible.", "Ivy")
    api.delete(PLACE, "gone-before-seen")
    world.poll()
    assert [m.external_id for m in world.store.mentions()] == ["r1"]
    api.delete(PLACE, "r1")
    world.poll()
    row = world.review("r1")
    assert row.deleted_at is not None and row.text == "Awful."
    assert world.store.status_changes(row.id)[-1].status == "deleted"
    assert len(world.sent()) == 1


def test_the_inbox_shows_stars_edits_and_the_history(
    world: World, api: ReviewsAPI, tmp_path: Path
) -> None:
    api.post(PLACE, "r1", 1, "Nice staff <script>alert(1)</script>", "Dana")
    world.poll()
    api.edit(PLACE, "r1", 3, "Better now <script>alert(1)</script>")
    world.poll()
    row = world.review("r1")
    web = parse_config(config_text(tmp_path / "reviews.db", WEB), base_dir=tmp_path)
    with TestClient(create_app(web, world.store), base_url="http://127.0.0.1:8080") as client:
        log_in(client)
        page = client.get(f"/mentions/{row.id}").text
        assert "3★ review" in page and ">edited<" in page
        assert "improved by the reviewer: changed from 1 to 3 stars, new words" in page
        assert "<script>alert(1)" not in page
        api_json = client.get(
            f"/api/mentions/{row.id}", headers={"Authorization": "Bearer tok-7f3a9c2e5b1d4a6f"}
        ).json()
    review = api_json["mention"]
    assert review["rating"] == 3 and review["edited_at"].endswith("Z")
    assert review["history"][-1]["status"] == "improved"


def test_a_reply_stored_but_not_yet_marked_is_marked_at_the_next_poll(
    world: World, api: ReviewsAPI
) -> None:
    """A process that stopped between writing a review and marking it answered."""
    api.post(PLACE, "r1", 2, "Slow service.", "Gus")
    replied_at = api.reply(PLACE, "r1", "Sorry, Gus.")
    connector = world.pipeline.connectors["reviews"]
    (mention,), _ = connector.fetch([], None)
    score = world.pipeline.reviews.score(mention, "Acme Coffee")
    item = NewMention(mention, "Acme Coffee", (), score, "negative", ())
    world.store.ingest("reviews", "*", [item], None)  # no cursor: the poll reads it again
    assert world.review("r1").status == "new"
    world.poll()
    row = world.review("r1")
    assert (row.status, row.acked_at) == (RESOLVED, replied_at)
    assert world.sent() == []


def test_an_answered_review_that_turns_worse_is_reopened_until_answered_again(
    world: World, api: ReviewsAPI
) -> None:
    api.post(PLACE, "r1", 3, "Coffee was fine, the wait was long.", "Jo")
    api.reply(PLACE, "r1", "Thanks Jo, we added a second barista.")
    world.poll()
    assert world.review("r1").status == RESOLVED and world.sent() == []

    api.edit(PLACE, "r1", 1, "Went back: worse. Cold coffee and rude staff.")
    world.poll()
    (message,) = world.sent()
    assert "This review changed from 3 to 1 stars, new words." in message
    row = world.review("r1")
    assert (row.status, row.status_note) == (
        "new",
        "reopened: changed from 3 to 1 stars, new words after it was answered",
    )
    assert world.store.status_changes(row.id)[-1].actor == "the reviewer"

    world.poll()  # the old answer does not resolve the new complaint
    assert world.review("r1").status == "new" and len(world.sent()) == 1

    again = api.reply(PLACE, "r1", "Jo, we are sorry: please ask for Sam next time.")
    world.poll()
    row = world.review("r1")
    assert (row.status, row.owner_replied_at) == (RESOLVED, again)
    assert len(world.sent()) == 1


def test_an_ignored_review_that_turns_worse_alerts_but_stays_ignored(
    world: World, api: ReviewsAPI
) -> None:
    api.post(PLACE, "r1", 3, "It was ok.", "Kim")
    world.poll()
    row = world.review("r1")
    world.store.set_status(row.id, "ignored", None, row.first_seen_at, actor="the inbox")
    api.edit(PLACE, "r1", 1, "Terrible, never again.")
    world.poll()
    assert len(world.sent()) == 1
    assert world.review("r1").status == "ignored"
