from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import format_duration, load_config, parse_config, parse_duration
from monitor.errors import ConfigError
from tests.conftest import ConfigWriter

GOOD = """\
database: sqlite:///data/mentions.db
brands:
  - name: Acme Coffee
    keywords: ["Acme Coffee", "@acmecoffee"]
sources:
  hackernews:
    every: 5m
alerts:
  channels:
    - type: console
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, filename="config.yaml")
    return info.value.problems


def test_repo_config_and_init_template_are_valid_and_identical() -> None:
    root = Path(__file__).resolve().parents[2]
    repo = root / "config.yaml"
    template = root / "monitor" / "data" / "config.yaml"
    assert repo.read_text() == template.read_text()
    config = load_config(repo)
    assert [b.name for b in config.brands] == ["Acme Coffee", "Roastery Lane"]
    assert config.sources["hackernews"].base_url == "https://hn.algolia.com/api/v1"
    assert config.database == f"sqlite:///{root / 'mentions.db'}"


def test_relative_sqlite_path_is_relative_to_the_config_file(write_config: ConfigWriter) -> None:
    path = write_config(GOOD)
    config = load_config(path)
    assert config.database == f"sqlite:///{path.parent / 'data' / 'mentions.db'}"


def test_defaults_fill_in_and_console_is_always_on(write_config: ConfigWriter) -> None:
    config = load_config(
        write_config(
            GOOD.replace("    - type: console\n", "    []\n").replace(
                "  channels:\n", "  channels:"
            )
        )
    )
    assert [c.type for c in config.channels] == ["console"]
    hn = config.sources["hackernews"]
    assert hn.every == timedelta(minutes=5)
    assert hn.base_url == "https://hn.algolia.com/api/v1"


def test_empty_keywords_names_key_and_line() -> None:
    text = GOOD.replace('keywords: ["Acme Coffee", "@acmecoffee"]', "keywords: []")
    assert problems(text) == [
        "config.yaml:4: brands[0].keywords: must not be empty: "
        "list the names, @handles and #tags of the brand"
    ]


def test_all_problems_are_reported_at_once_in_line_order() -> None:
    text = """\
brands:
  - name: Acme
    keywords: ["Acme"]
    colour: red
  - name: acme
    keywords: ["  "]
sources:
  hackernews:
    every: 5 minutes
    base_urll: http://x
  twitter: {}
alerts:
  channels:
    - type: pager
"""
    assert problems(text) == [
        "config.yaml:4: brands[0].colour: is not a setting here "
        "(the settings here: exclude, keywords, name, sentiment, sources)",
        "config.yaml:6: brands[1].keywords: an entry is empty",
        "config.yaml:9: sources.hackernews.every: '5 minutes' is not a duration: write 5m",
        "config.yaml:10: sources.hackernews.base_urll: is not a setting here; "
        "did you mean `base_url`?",
        "config.yaml:11: sources.twitter: unknown source 'twitter' (did you mean 'x'?)",
        "config.yaml:14: alerts.channels[0].type: unknown channel type 'pager' "
        "(known: apprise, console, email, slack, webhook)",
    ]
    fixed = text.replace("    colour: red\n", "").replace('["  "]', '["acme"]')
    assert problems(fixed)[0] == "config.yaml:4: brands[1].name: 'acme' is already brands[0]"


def test_unknown_source_for_a_brand() -> None:
    text = GOOD.replace("    keywords:", "    sources: [reddit]\n    keywords:")
    assert problems(text) == [
        "config.yaml:4: brands[0].sources: unknown source 'reddit' (known: hackernews) "
        "under `sources:`"
    ]


def test_missing_required_keys() -> None:
    assert problems("database: sqlite:///x.db\n") == [
        "config.yaml: brands: is required: add it, e.g. "
        'brands: [{name: Acme Coffee, keywords: ["Acme Coffee", "@acmecoffee"]}]',
        "config.yaml: sources: is required: add it, e.g. sources: {hackernews: {}}",
    ]


def test_env_references_are_resolved_and_missing_ones_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = GOOD.replace("sqlite:///data/mentions.db", "postgresql://u:${DB_PASS}@db/mentions")
    monkeypatch.delenv("DB_PASS", raising=False)
    assert problems(text) == ["config.yaml:1: database: environment variable DB_PASS is not set"]
    monkeypatch.setenv("DB_PASS", "s3cret")
    assert parse_config(text).database == "postgresql://u:s3cret@db/mentions"


def test_yaml_syntax_error_names_the_line() -> None:
    found = problems("brands:\n  - name: [unclosed\nsources: {}\n")
    assert found == [
        "config.yaml:3: a list in [brackets] is not closed with ] (or its items "
        "are not separated by commas)"
    ]


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file .*mention-monitor init"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(bad)


def test_not_a_mapping() -> None:
    assert problems("- just\n- a list\n") == [
        "config.yaml: must be a mapping with at least `brands:` and `sources:`"
    ]


def test_channel_routing_names_unknown_brands_and_duplicate_names() -> None:
    text = GOOD.replace(
        "    - type: console\n",
        "    - type: console\n      brands: [Acme Cofee]\n    - type: console\n",
    )
    assert problems(text) == [
        "config.yaml:11: alerts.channels[0].brands: unknown brand 'Acme Cofee' "
        "(did you mean 'Acme Coffee'?)",
        "config.yaml:12: alerts.channels[1].name: two channels are called 'console': "
        "give each a different `name:`",
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("2d", 172800), ("1h30m", 5400), ("0.5s", 0.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5", "'5' is not a duration: write a number and a unit"),
        ("5 minutes", "'5 minutes' is not a duration: write 5m"),
        ("", "is empty: write a number and a unit"),
        (None, "is empty: write a number and a unit"),
        ("0s", "must be longer than 0"),
        ("-1m", "must be longer than 0"),
        ("m5", "'m5' is not a duration"),
        (300, "300 is not a duration: add a unit, like 300s or 300m"),
        (["5m"], "is not a duration: write a number and a unit"),
    ],
)
def test_bad_durations(text: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value).startswith(message)


def test_format_duration_round_trips() -> None:
    assert format_duration(timedelta(seconds=5400)) == "1h30m"
    assert format_duration(parse_duration("2d")) == "2d"


def test_a_plugin_whose_library_is_missing_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.registry import load_class

    (tmp_path / "fancy_plugin.py").write_text("import fancy_sdk_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = {"fancy": "fancy_plugin:Fancy", "lost": "lost_plugin_xyz:Lost"}
    with pytest.raises(
        ConfigError,
        match="source 'fancy' needs the Python package 'fancy_sdk_not_installed': pip install",
    ):
        load_class(registry, "fancy", "source")
    with pytest.raises(ConfigError, match="its module lost_plugin_xyz cannot be found"):
        load_class(registry, "lost", "source")
    with pytest.raises(ConfigError, match="unknown source 'other'"):
        load_class(registry, "other", "source")


def test_a_feed_for_a_brand_must_name_a_configured_brand() -> None:
    text = GOOD.replace(
        "    every: 5m\n",
        "    every: 5m\n  rss:\n    feeds:\n      - url: https://example.com/feed.xml\n"
        "        brand: Acme Cofee\n",
    )
    assert problems(text) == [
        "config.yaml:11: sources.rss.feeds[0].brand: unknown brand 'Acme Cofee' "
        "(did you mean 'Acme Coffee'?)"
    ]


SECRETIVE = """\
database: postgresql://monitor:${DB_PASSWORD}@db/mentions
brands:
  - name: Acme Coffee
    keywords: ["Acme Coffee"]
sources:
  hackernews: {}
  x: {bearer_token: "${X_BEARER_TOKEN}"}
alerts:
  channels:
    - type: slack
      name: shop-slack
      webhook_url: ${SLACK_WEBHOOK_URL}
    - type: console
"""


def test_read_only_loading_leaves_out_what_has_no_secret_but_needs_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DB_PASSWORD", "X_BEARER_TOKEN", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as info:
        parse_config(SECRETIVE, secrets=False)
    assert info.value.problems == [
        "config.yaml:1: database: environment variable DB_PASSWORD is not set"
    ]
    monkeypatch.setenv("DB_PASSWORD", "pw")
    config = parse_config(SECRETIVE, secrets=False)
    assert list(config.sources) == ["hackernews"]
    assert [c.name for c in config.channels] == ["console"]
    assert config.left_out == [
        "source x: X_BEARER_TOKEN is not set",
        "channel shop-slack: SLACK_WEBHOOK_URL is not set",
    ]
    assert len(problems(SECRETIVE)) == 2  # the default (secrets=True) still requires both


def test_the_env_file_fills_in_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("DB_PASSWORD", "from-the-shell")
    (tmp_path / ".env").write_text(
        "DB_PASSWORD=from-the-file\nX_BEARER_TOKEN=tok\n"
        "export SLACK_WEBHOOK_URL='https://hooks.slack.com/services/T/B/x'\n"
    )
    path = tmp_path / "config.yaml"
    path.write_text(SECRETIVE)
    config = load_config(path)
    assert config.env_file == tmp_path / ".env"
    assert "from-the-shell" in config.database
    assert config.sources["x"].bearer_token.get_secret_value() == "tok"
    assert config.channels[0].webhook_url.get_secret_value().endswith("/T/B/x")
