"""README.md documents every command, option and config key: a missing one fails here."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from pydantic import BaseModel

from alerts import REGISTRY as CHANNELS
from alerts import load_channel
from connectors import REGISTRY as SOURCES
from connectors import load_connector
from connectors.base import SpreadRule
from monitor.cli import cli
from monitor.config import (
    AlertsConfig,
    BrandConfig,
    SentimentConfig,
    SpikesConfig,
    SpreadConfig,
    WebConfig,
    _FileConfig,
)

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
#: The README and the pages in docs/ that it links to.
DOCS = README + "".join(
    page.read_text(encoding="utf-8")
    for page in sorted((Path(__file__).resolve().parents[1] / "docs").rglob("*.md"))
)


def test_readme_opens_with_the_two_commands() -> None:
    commands = re.findall(r"^(make \w+)\s*(?:#.*)?$", README, flags=re.MULTILINE)
    assert commands[:2] == ["make run", "make test"]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "make test" in ci


def _commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(cli.commands.items()):
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in sorted(command.commands.items())]
    return found


@pytest.mark.parametrize(("name", "command"), _commands(), ids=[n for n, _ in _commands()])
def test_every_command_and_option_is_documented(name: str, command: click.Command) -> None:
    assert f"mention-monitor {name}" in DOCS
    for param in command.params:
        if isinstance(param, click.Option):
            longest = max(param.opts, key=len)
            assert f"{longest}" in DOCS, f"{name} {longest}"


def _models() -> list[tuple[str, type[BaseModel]]]:
    models: list[tuple[str, type[BaseModel]]] = [
        ("top level", _FileConfig),
        ("brands", BrandConfig),
        ("alerts", AlertsConfig),
        ("sentiment", SentimentConfig),
        ("spread", SpreadConfig),
        ("spikes", SpikesConfig),
        ("web", WebConfig),
        ("sources.<name>.spread", SpreadRule),
    ]
    models += [(f"source {n}", load_connector(n).Config) for n in SOURCES]
    models += [(f"channel {n}", load_channel(n).Config) for n in CHANNELS]
    return models


@pytest.mark.parametrize(("where", "model"), _models(), ids=[w for w, _ in _models()])
def test_every_config_key_is_documented(where: str, model: type[BaseModel]) -> None:
    keys = [info.alias or name for name, info in model.model_fields.items()]
    missing = [key for key in keys if f"`{key}`" not in README]
    assert missing == [], f"{where}: keys missing from README.md: {missing}"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_source_says_how_to_get_credentials(name: str) -> None:
    assert re.search(rf"^### `{name}`", README, flags=re.MULTILINE), name
