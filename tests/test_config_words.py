"""Config problems in an owner's words, through `mention-monitor check` on real YAML files.

Every kind of mistake a config can hold is written into a file and checked: the answer names
the file, the line and the key, says what to write (with a right value to copy), and holds
none of the validator's own phrases.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pydantic import BaseModel, ValidationError

from alerts import REGISTRY as CHANNELS
from alerts import load_channel
from connectors import REGISTRY as SOURCES
from connectors import load_connector
from monitor import config as config_module
from monitor.cli import cli
from monitor.config_errors import translate

#: What pydantic, or a Python repr, would say: none of it may reach the owner.
VALIDATOR_WORDS = (
    "Input should",
    "Field required",
    "validation error",
    "pydantic",
    "type=",
    "Extra inputs",
    "should have at least",
    "String should",
    "Value error",
    "Dictionary should",
    "unable to parse",
    "None",
    "[type",
)

GOOD = """\
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


def check(path: Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["check", "-c", str(path)], env=env, catch_exceptions=False)


def problems_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    result = check(path, env)
    assert result.exit_code == 2, result.output
    for phrase in VALIDATOR_WORDS:
        assert phrase not in result.output, (phrase, result.output)
    lines = result.stderr.splitlines()
    assert lines[0] in ("Configuration problem:", f"{len(lines) - 1} configuration problems:")
    return [line.strip().removeprefix(f"{path}:") for line in lines[1:]]


CASES = [
    # (what, replace this, with this, the one problem expected)
    (
        "a list written as text",
        'keywords: ["Acme Coffee", "@acmecoffee"]',
        "keywords: Acme Coffee",
        '3: brands[0].keywords: write a list, e.g. ["Acme Coffee", "@acmecoffee"]',
    ),
    (
        "a duration of nothing",
        "every: 5m",
        "every: 0s",
        "6: sources.hackernews.every: must be longer than 0: write a number and a unit, "
        "like 30s, 5m, 1h, 2d",
    ),
    (
        "a duration spelt out",
        "every: 5m",
        "every: 10 minutes",
        "6: sources.hackernews.every: '10 minutes' is not a duration: write 10m",
    ),
    (
        "a number where a duration goes",
        "every: 5m",
        "every: 300",
        "6: sources.hackernews.every: 300 is not a duration: add a unit, like 300s or 300m",
    ),
    (
        "a misspelt key",
        "keywords:",
        "keyword:",
        "3: brands[0].keyword: is not a setting here; did you mean `keywords`?",
    ),
    (
        "a key of another place",
        "sources:\n",
        "keywords: [x]\nsources:\n",
        "4: keywords: is not a setting here: it belongs to a brand: put it under an entry "
        "of `brands:`",
    ),
    (
        "a source outside `sources:`",
        "sources:\n",
        "hackernews: {}\nsources:\n",
        "4: hackernews: is not a setting here: sources go under `sources:`, e.g. "
        "sources: {hackernews: {}}",
    ),
    (
        "an unknown key with nothing close",
        "every: 5m",
        "every: 5m\n    colour: red",
        "7: sources.hackernews.colour: is not a setting here (the settings here: base_url, "
        "enabled, every, hits_per_page, lookback, max_requests, max_response, overlap, spread, "
        "tags, timeout)",
    ),
    (
        "a required key left out",
        '    keywords: ["Acme Coffee", "@acmecoffee"]\n',
        "",
        '2: brands[0].keywords: is required: add it, e.g. keywords: ["Acme Coffee", "@acmecoffee"]',
    ),
    (
        "an empty list that needs entries",
        "  channels:\n    - type: console\n",
        "  channels:\n    - type: email\n      host: smtp.example.com\n"
        "      from: a@example.com\n      to: []\n",
        "12: alerts.channels[0].to: must list at least one address, e.g. [owner@example.com]",
    ),
    (
        "no brand at all",
        'brands:\n  - name: Acme Coffee\n    keywords: ["Acme Coffee", "@acmecoffee"]\n',
        "brands: []\n",
        "1: brands: must list at least one brand, e.g. [{name: Acme Coffee, keywords: "
        '["Acme Coffee", "@acmecoffee"]}]',
    ),
    (
        "a brand written as a name only",
        'brands:\n  - name: Acme Coffee\n    keywords: ["Acme Coffee", "@acmecoffee"]\n',
        "brands:\n  - Acme Coffee\n",
        "2: brands[0]: write its settings as `key: value` lines under it, e.g. "
        '{name: Acme Coffee, keywords: ["Acme Coffee"]}',
    ),
    (
        "sources as a list",
        "sources:\n  hackernews:\n    every: 5m\n",
        "sources: [hackernews]\n",
        "4: sources: write its settings as `key: value`, not a list, e.g. {hackernews: {}}",
    ),
    (
        "no source at all",
        "sources:\n  hackernews:\n    every: 5m\n",
        "sources: {}\n",
        "4: sources: must name at least one source, e.g. sources: {hackernews: {}}",
    ),
    (
        "a whole number with decimals",
        "every: 5m",
        "max_requests: 2.5",
        "6: sources.hackernews.max_requests: write a whole number, without decimals, e.g. 10",
    ),
    (
        "a word where a number goes",
        "every: 5m",
        "max_requests: many",
        "6: sources.hackernews.max_requests: write a whole number, e.g. 10",
    ),
    (
        "a number too small",
        "every: 5m",
        "max_requests: 0",
        "6: sources.hackernews.max_requests: must be at least 1",
    ),
    (
        "a number too big",
        "every: 5m",
        "hits_per_page: 5000",
        "6: sources.hackernews.hits_per_page: must be at most 1000",
    ),
    (
        "a size too small",
        "every: 5m",
        "max_response: 1kB",
        "6: sources.hackernews.max_response: must be at least 10kB",
    ),
    (
        "a size without a unit we know",
        "every: 5m",
        "max_response: 5 elephants",
        "6: sources.hackernews.max_response: write a size, e.g. 10MB or 500kB",
    ),
    (
        "a switch that is neither true nor false",
        "every: 5m",
        "enabled: maybe",
        "6: sources.hackernews.enabled: write true or false",
    ),
    (
        "a word where a decimal goes",
        "alerts:\n",
        "sentiment: {negative_below: lots}\nalerts:\n",
        "7: sentiment.negative_below: write a number, e.g. -0.05",
    ),
    (
        "an endless number",
        "alerts:\n",
        "spikes: {min_count: .inf}\nalerts:\n",
        "7: spikes.min_count: write an ordinary number, e.g. 5",
    ),
    (
        "a share of nothing",
        "alerts:\n",
        "spread: {budget_share: 0}\nalerts:\n",
        "7: spread.budget_share: must be more than 0",
    ),
    (
        "a choice not on the list",
        "    - type: console\n",
        "    - type: console\n      min_severity: loud\n",
        "10: alerts.channels[0].min_severity: must be one of: all, negative, high",
    ),
    (
        "settings written as text",
        "    - type: console\n",
        "    - type: console\n      quiet_hours: 22-07\n",
        "10: alerts.channels[0].quiet_hours: write its settings as `key: value` lines under it, "
        'e.g. {from: "22:00", to: "07:00"}',
    ),
    (
        "a number where a name goes",
        "  - name: Acme Coffee",
        "  - name: 2024",
        "2: brands[0].name: write it as text (in quotes if it looks like a number), "
        "e.g. Acme Coffee",
    ),
    (
        "an empty name",
        "  - name: Acme Coffee",
        '  - name: ""',
        "2: brands[0].name: must not be empty",
    ),
    (
        "a list where one value goes",
        "  - name: Acme Coffee",
        "  - name: [Acme, Coffee]",
        "2: brands[0].name: write one value, not a list or settings, e.g. Acme Coffee",
    ),
    (
        "a pattern not matched",
        "    every: 5m\n",
        "    every: 5m\n  x: {bearer_token: t, lang: english}\n",
        "7: sources.x.lang: write a language code, e.g. en or pt-BR",
    ),
    (
        "a text too short",
        "    every: 5m\n",
        "    every: 5m\n  reddit: {user_agent: ab}\n",
        "7: sources.reddit.user_agent: must be at least 7 characters long",
    ),
    (
        "a channel without a type",
        "    - type: console\n",
        "    - webhook_url: https://hooks.slack.com/services/T/B/x\n",
        "9: alerts.channels[0]: needs `type:`, one of: apprise, console, email, slack, webhook",
    ),
    (
        "our own words stay as written",
        "    - type: console\n",
        "    - type: console\n      timezone: Mars/Olympus\n",
        "10: alerts.channels[0].timezone: unknown timezone 'Mars/Olympus': use an IANA name "
        "like Europe/London",
    ),
]


@pytest.mark.parametrize(("what", "old", "new", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_mistake_is_one_problem_in_plain_words(
    tmp_path: Path, what: str, old: str, new: str, expected: str
) -> None:
    assert old in GOOD, what
    assert problems_of(tmp_path, GOOD.replace(old, new, 1)) == [expected]


def test_an_unset_variable_is_one_problem_not_a_second_about_the_empty_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_URL", raising=False)
    monkeypatch.delenv("SMTP_PW", raising=False)
    text = GOOD.replace(
        "    - type: console\n",
        "    - type: slack\n      webhook_url: ${SLACK_URL}\n"
        "    - type: email\n      host: smtp.example.com\n      username: me@example.com\n"
        "      password: ${SMTP_PW}\n      from: me@example.com\n      to: [me@example.com]\n",
    )
    assert problems_of(tmp_path, text) == [
        "10: alerts.channels[0].webhook_url: environment variable SLACK_URL is not set",
        "14: alerts.channels[1].password: environment variable SMTP_PW is not set",
    ]


def test_a_variable_without_braces_says_to_write_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_URL", "https://hooks.slack.com/services/T/B/x")
    text = GOOD.replace(
        "    - type: console\n", "    - type: slack\n      webhook_url: $SLACK_URL\n"
    ).replace('"@acmecoffee"]', '"@acmecoffee", "$ACME"]')
    # The brand's cashtag $ACME is a keyword (ACME is not set); the webhook is a variable.
    assert problems_of(tmp_path, text) == [
        "10: alerts.channels[0].webhook_url: write ${SLACK_URL}: with braces, to use the "
        "environment variable"
    ]


def test_a_tab_in_the_indentation_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("    every: 5m", "\tevery: 5m")
    assert problems_of(tmp_path, text) == [
        "6: indent with spaces, not tabs (this line starts with a tab)"
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '["Acme Coffee", "@acmecoffee"]',
            "[@acmecoffee]",
            '3: a value that starts with @ must be in quotes, e.g. "@acmecoffee"',
        ),
        (
            "  - name: Acme Coffee",
            "  - name: Acme: the café",
            '2: a second ": " on one line: '
            'put a value that holds ": " in quotes, e.g. name: "Acme: the café"',
        ),
        (
            '"@acmecoffee"]',
            '"@acmecoffee"',
            "4: a list in [brackets] is not closed with ] (or "
            "its items are not separated by commas)",
        ),
        (
            "    every: 5m\n",
            "    every: 5m\n    every: 1h\n",
            "7: `every` is written twice in the same place: keep one",
        ),
        (
            "    every: 5m\n",
            "    every: 5m\n   lookback: 1h\n",
            "7: the indentation does not line up: keys of "
            "one block, and the `-` of one list, start in the same column",
        ),
    ],
    ids=["@ unquoted", "colon in a value", "unclosed list", "key twice", "indentation"],
)
def test_yaml_slips_in_plain_words(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert problems_of(tmp_path, GOOD.replace(old, new, 1)) == [expected]


def test_polling_too_often_is_a_warning_from_check_and_at_start(
    tmp_path: Path, hn_url: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        GOOD.replace("every: 5m", f"every: 1s\n    base_url: {hn_url}"), encoding="utf-8"
    )
    result = check(path)
    assert result.exit_code == 0, result.output  # a warning, not an error
    warning = (
        f"warning: {path}:6: sources.hackernews.every: 1s is more often than Hacker News "
        "should be asked (it gets a few new items a minute, and its search allows 10,000 "
        "requests an hour): use 30s or more"
    )
    assert warning in result.stdout.splitlines()
    poll = CliRunner().invoke(cli, ["poll", "-c", str(path)], catch_exceptions=False)
    assert poll.exit_code == 0, poll.output
    assert warning.removeprefix("warning: ") in poll.stderr
    relaxed = CliRunner().invoke(cli, ["check", "-c", str(path)], catch_exceptions=False)
    path.write_text(GOOD.replace("every: 5m", "every: 30s"), encoding="utf-8")
    relaxed = check(path)
    assert "warning" not in relaxed.output


# ------------------------------------------------------------------ every type, every model


def _models() -> list[type[BaseModel]]:
    models: list[type[BaseModel]] = [
        config_module._FileConfig,
        config_module.BrandConfig,
        config_module.BrandSentiment,
        config_module.AlertsConfig,
        config_module.SentimentConfig,
        config_module.SpreadConfig,
        config_module.SpikesConfig,
        config_module.WebConfig,
    ]
    models += [load_connector(n).Config for n in SOURCES]
    models += [load_channel(n).Config for n in CHANNELS]
    return models


BAD_VALUES: list[Any] = [
    "abc",
    "",
    1.5,
    -5,
    0,
    10**12,
    [],
    ["a"],
    {},
    {"zz": 1},
    True,
    None,
    math.inf,
    "5 elephants",
    "99XB",
    [1, [2]],
    [{"zz": 1}],
    {"spreading": -1, "viral": 0},
]


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_every_error_a_config_model_can_give_is_in_owner_words(model: type[BaseModel]) -> None:
    """A wrong value of every kind in every key of every model: each error pydantic raises
    is translated, with none of its phrases and never the catch-all."""
    seen: set[str] = set()
    for name, info in model.model_fields.items():
        for value in BAD_VALUES:
            data: dict[str, Any] = {info.alias or name: value}
            if "type" in model.model_fields and name != "type":
                data["type"] = model.model_fields["type"].default
            try:
                model.model_validate(data)
            except ValidationError as exc:
                for err in exc.errors():
                    seen.add(err["type"])
                    text = translate(err, model)
                    assert text and "is not a value this key takes" not in text, err
                    for phrase in VALIDATOR_WORDS:
                        assert phrase not in text, (err, text)
    assert seen  # the model was exercised
