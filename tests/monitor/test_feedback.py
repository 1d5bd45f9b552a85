"""The owner's verdicts: kept with their history, re-judging the mention, teaching the
brand's scorer (in this process and in others), on real SQLite files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from alerts.console import ConsoleConfig
from connectors.base import SourceConfig
from monitor.cli import cli
from monitor.config import BrandConfig, Config, load_config
from monitor.errors import StatusError
from monitor.feedback import give_verdict
from monitor.migrations import upgrade
from monitor.models import Mention
from monitor.pipeline import ALL_BRANDS, Pipeline
from monitor.sentiment import make_scorer
from monitor.store import Store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SOURCE = "forum"
ACME = BrandConfig(name="Acme Air", keywords=["Acme Air", "@acmeair"])
#: Complaints with no negative word, which the scorer finds neutral.
REBOOKED = [
    "@acmeair rebooked me onto a flight tomorrow morning",
    "Acme Air rebooked me again, now connecting through Denver",
    "so Acme Air rebooked me on the red eye",
]
#: Neutral posts the owner says are fine.
FINE = [
    "Acme Air boarding now at gate 4",
    "flying Acme Air to Denver tomorrow",
    "what is the baggage allowance on Acme Air",
]
BORDERLINE = "Acme Air just rebooked me onto the evening flight"


def make_config(tmp_path: Path) -> Config:
    return Config(
        path=None,
        database=f"sqlite:///{tmp_path / 'feedback.db'}",
        brands=[ACME],
        sources={SOURCE: SourceConfig(base_url="http://127.0.0.1:9")},
        channels=[ConsoleConfig.model_validate({"type": "console"})],
    )


def make_pipeline(config: Config, store: Store) -> Pipeline:
    scorer = make_scorer(config.sentiment, config.brands)
    return Pipeline(config, store, scorer, {}, clock=lambda: NOW, strict=True)


def arrive(pipeline: Pipeline, *texts: str, first: int = 1) -> list[int]:
    """Mentions arriving in one poll; their ids in order."""
    mentions = [
        Mention(SOURCE, str(first + i), f"https://forum.test/{first + i}", "someone", t, NOW)
        for i, t in enumerate(texts)
    ]
    return pipeline.process(SOURCE, ALL_BRANDS, mentions, None).new_ids


def teach(config: Config, store: Store, ids: list[int], verdict: str) -> None:
    for mention_id in ids:
        give_verdict(config, store, mention_id, verdict, NOW)


def test_a_verdict_is_kept_once_with_its_history_and_rejudges_the_mention(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    store = Store(config.database)
    (mention_id,) = arrive(make_pipeline(config, store), "Acme Air lost my bag, terrible")
    row = store.mention(mention_id)
    assert row is not None and row.negative and row.verdict is None
    store.set_status(mention_id, "acknowledged", "looking", NOW)
    assert store.due_alerts(NOW)  # its alert waits to be sent

    result = give_verdict(config, store, mention_id, "not_negative", NOW + timedelta(minutes=1))
    assert (result.changed, result.was_negative, result.negative) == (True, True, False)
    assert result.previous is None and result.words == "not negative"
    row = store.mention(mention_id)
    assert row is not None
    assert (row.verdict, row.verdict_at, row.negative) == (
        "not_negative",
        NOW + timedelta(minutes=1),
        False,
    )
    assert row.reasons[0] == "you marked this not negative" and row.label != "negative"
    assert row.severity == "info" and row.next_refresh_at is None
    assert row.status == "acknowledged"  # a verdict is no status change
    assert store.due_alerts(NOW) == []  # not a complaint: its unsent alert is dropped
    history = [(c.status, c.note) for c in store.status_changes(mention_id)]
    assert history == [("acknowledged", "looking"), ("not_negative", None)]
    marker = store.verdict_marker()

    again = give_verdict(config, store, mention_id, "not-negative", NOW + timedelta(minutes=2))
    assert not again.changed
    assert len(store.status_changes(mention_id)) == 2 and store.verdict_marker() == marker

    back = give_verdict(config, store, mention_id, "negative", NOW + timedelta(minutes=3))
    assert (back.changed, back.previous, back.negative) == (True, "not_negative", True)
    row = store.mention(mention_id)
    assert row is not None and row.negative and row.label == "negative"
    assert row.reasons[0] == "you marked this negative"
    assert not any("not negative" in r for r in row.reasons)  # the old word is replaced
    assert len(store.status_changes(mention_id)) == 3 and store.verdict_marker() != marker
    store.close()


def test_an_unknown_mention_or_word_is_a_clear_error(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store = Store(config.database)
    (mention_id,) = arrive(make_pipeline(config, store), "Acme Air was fine")
    with pytest.raises(StatusError, match="no mention #99"):
        give_verdict(config, store, 99, "negative", NOW)
    with pytest.raises(StatusError, match="'meh' is not a verdict"):
        give_verdict(config, store, mention_id, "meh", NOW)
    assert store.verdict_marker() is None
    store.close()


def test_verdicts_on_similar_posts_tip_a_borderline_mention(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store = Store(config.database)
    pipeline = make_pipeline(config, store)
    before = pipeline.scorer.score(BORDERLINE, "Acme Air")
    assert not before.negative

    teach(config, store, arrive(pipeline, *REBOOKED, first=1), "negative")
    teach(config, store, arrive(pipeline, *FINE, first=10), "not_negative")
    (mention_id,) = arrive(pipeline, BORDERLINE, first=20)  # the next poll learns first
    row = store.mention(mention_id)
    assert row is not None and row.negative and row.severity == "negative"
    assert row.compound == before.compound  # the scorer's own figure stays
    assert row.reasons[-1].startswith("you marked similar posts negative (rebooked")
    assert pipeline.scorer.score(BORDERLINE, "Acme Air") == pipeline.scorer.score(
        BORDERLINE, "Acme Air"
    )
    # Only this brand learned; another brand's mention is scored as before.
    assert pipeline.scorer.score(BORDERLINE, "Other") == before
    store.close()


def test_the_same_verdicts_teach_the_same_in_any_order(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store = Store(config.database)
    pipeline = make_pipeline(config, store)
    teach(config, store, arrive(pipeline, *REBOOKED, first=1), "negative")
    teach(config, store, arrive(pipeline, *FINE, first=10), "not_negative")
    pipeline._learn()
    verdicts = store.verdict_texts()
    model = pipeline.scorer.model("Acme Air")
    assert model is not None and model.verdicts == 6
    pipeline.scorer.learn(reversed(verdicts))
    assert pipeline.scorer.model("acme air") == model
    store.close()


def test_few_verdicts_change_little(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store = Store(config.database)
    pipeline = make_pipeline(config, store)
    teach(config, store, arrive(pipeline, REBOOKED[0], first=1), "negative")
    pipeline._learn()
    assert not pipeline.scorer.score(BORDERLINE, "Acme Air").negative  # one is not a pattern

    teach(config, store, arrive(pipeline, *REBOOKED[1:], first=2), "negative")
    pipeline._learn()
    assert pipeline.scorer.score(BORDERLINE, "Acme Air").negative
    # Far from the line, the scorer's own judgement stands.
    happy = "Acme Air rebooked me and it was wonderful, thank you so much!"
    assert not pipeline.scorer.score(happy, "Acme Air").negative
    store.close()


def test_a_verdict_given_by_another_process_is_learned_at_the_next_poll(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    service = Store(config.database)
    pipeline = make_pipeline(config, service)
    ids = arrive(pipeline, *REBOOKED, *FINE)
    (control,) = arrive(pipeline, BORDERLINE, first=20)
    row = service.mention(control)
    assert row is not None and not row.negative

    inbox = Store(config.database)  # the web page or the CLI, another connection
    teach(config, inbox, ids[:3], "negative")
    teach(config, inbox, ids[3:], "not_negative")
    inbox.close()

    (later,) = arrive(pipeline, BORDERLINE, first=30)
    row = service.mention(later)
    assert row is not None and row.negative
    assert "you marked similar posts negative" in row.reasons[-1]
    assert not pipeline.scorer.refresh(service)  # nothing new: nothing learned again
    service.close()


def test_migration_0007_adds_the_verdict_and_takes_it_away(tmp_path: Path) -> None:
    from alembic import command

    from monitor.migrations import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO mentions (source, external_id, brand, matched_terms, url, author, "
                "text, created_at, first_seen_at, engagement, compound, label, negative, "
                "severity, reasons, raw) VALUES ('forum', '1', 'Acme Air', '[]', 'u', 'a', "
                "'old text', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '{}', -0.5, "
                "'negative', 1, 'negative', '[]', '{}')"
            )
        )
    upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("mentions")}
    assert {"verdict", "verdict_at"} <= columns
    assert "ix_mentions_verdict_at" in {i["name"] for i in inspect(engine).get_indexes("mentions")}
    store = Store(url)
    give_verdict(make_config(tmp_path), store, 1, "not_negative", NOW)
    store.close()

    command.downgrade(alembic_config(engine), "0006")
    columns = {c["name"] for c in inspect(engine).get_columns("mentions")}
    assert not {"verdict", "verdict_at"} & columns
    with engine.connect() as conn:
        assert conn.execute(text("SELECT text, negative FROM mentions")).one() == (
            "old text",
            0,
        )
    engine.dispose()


def test_the_cli_gives_a_verdict(hn_config_path: Path) -> None:
    config = load_config(hn_config_path)
    store = Store(config.database)
    mention = Mention("hackernews", "7", "https://hn.test/7", "a", "Acme Coffee was cold", NOW)
    (mention_id,) = (
        make_pipeline(config, store).process("hackernews", "Acme Coffee", [mention], None).new_ids
    )
    store.close()
    runner = CliRunner()
    args = ["mentions", "verdict", str(mention_id), "not-negative", "-c", str(hn_config_path)]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert first.stdout == f"mention #{mention_id}: marked not negative\n"
    again = runner.invoke(cli, args)
    assert again.stdout == f"mention #{mention_id}: already marked not negative\n"
    show = runner.invoke(cli, ["mentions", "show", str(mention_id), "-c", str(hn_config_path)])
    assert "you marked this not negative" in show.stdout and "-> not_negative" in show.stdout
    wrong = runner.invoke(
        cli, ["mentions", "verdict", "999", "negative", "-c", str(hn_config_path)]
    )
    assert wrong.exit_code == 1 and "no mention #999" in wrong.stderr
    bad = runner.invoke(cli, ["mentions", "verdict", str(mention_id), "meh"])
    assert bad.exit_code == 2
