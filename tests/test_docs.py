"""The README and docs/ hold together and document everything an owner can run or set.

A command, option or config key missing from README.md + docs/, a source or channel without
its page, a relative link (or #anchor) that leads nowhere, a generated table that no longer
matches the code, or a README that grows long or speaks engineer: each fails here.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Literal

import click
import pytest
from pydantic import BaseModel, Field, SecretStr

from alerts import REGISTRY as CHANNELS
from alerts import load_channel
from alerts.base import QuietHours
from connectors import REGISTRY as SOURCES
from connectors import load_connector
from connectors.base import SpreadRule
from monitor import docs_reference
from monitor.cli import cli
from monitor.config import (
    AlertsConfig,
    BrandConfig,
    BrandSentiment,
    Duration,
    SentimentConfig,
    SpikesConfig,
    SpreadConfig,
    WebConfig,
    _FileConfig,
)
from monitor.docs_tables import Reference, Section, slug

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = {
    p: p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
}
EVERYTHING = "\n".join(PAGES.values())
COMMANDS_PAGE = (DOCS / "commands.md").read_text(encoding="utf-8")


#: Words an owner should not have to know. docs/promises.md may use them, explained once.
ENGINEER_WORDS = ["SQLAlchemy", "Alembic", "WAL", "HMAC", "outbox"]


def _prose(text: str) -> str:
    """The text outside fenced code blocks."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def _headings(text: str) -> list[tuple[int, str]]:
    return [
        (len(m.group(1)), m.group(2).strip())
        for m in re.finditer(r"^(#{1,6}) +(.+?) *#*$", _prose(text), flags=re.MULTILINE)
    ]


def _anchors(text: str) -> set[str]:
    """The anchors GitHub makes of a page's headings: a repeated one gets -1, -2, ..."""
    seen: dict[str, int] = {}
    anchors = set()
    for _, title in _headings(text):
        base = slug(title)
        anchors.add(f"{base}-{seen[base]}" if base in seen else base)
        seen[base] = seen.get(base, 0) + 1
    return anchors


def _section(text: str, heading: re.Pattern[str]) -> str:
    """From the first heading that matches to the next heading of the same or a higher level."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"(#{1,6}) ", line)
        if m and heading.search(line):
            level = len(m.group(1))
            end = next(
                (
                    j
                    for j in range(i + 1, len(lines))
                    if (n := re.match(r"(#{1,6}) ", lines[j])) and len(n.group(1)) <= level
                ),
                len(lines),
            )
            return "\n".join(lines[i:end])
    return ""


# ---------------------------------------------------------------- the README


def test_readme_opens_with_the_two_commands() -> None:
    commands = re.findall(r"^(make \w+)\s*(?:#.*)?$", README, flags=re.MULTILINE)
    assert commands[:2] == ["make run", "make test"]
    first_block = re.search(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    assert first_block is not None and first_block.start() < README.index("\n## ")
    assert re.findall(r"^make \w+", first_block.group(1), flags=re.MULTILINE) == [
        "make run",
        "make test",
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_readme_is_short_enough_to_read() -> None:
    lines = README.count("\n")
    assert lines < 260, f"README.md has {lines} lines: move reference into docs/"


@pytest.mark.parametrize("word", ENGINEER_WORDS)
def test_readme_speaks_to_owners(word: str) -> None:
    found = re.findall(rf"\b{word}\b", README, flags=0 if word.isupper() else re.IGNORECASE)
    assert found == [], f"README.md says {word!r}: say it in an owner's words, or in docs/"


def test_readme_shows_the_inbox_and_the_five_minute_path() -> None:
    assert "](docs/screenshots/inbox.png)" in README
    path = _section(README, re.compile(r"5 minutes"))
    steps = [
        "mention-monitor init",
        "keywords",
        "SLACK_WEBHOOK_URL",
        "docs/channels/email.md",
        "mention-monitor check",
        "mention-monitor poll",
        "mention-monitor run",
        "first alert",
        "http://127.0.0.1:8080/",
        "Acknowledge",
    ]
    positions = [path.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions, strict=True) if p < 0]
    assert positions == sorted(positions), "the 5-minute path's steps are out of order"


def test_no_editing_note_is_left_behind() -> None:
    for path, text in PAGES.items():
        assert "should then read" not in text, path


# ---------------------------------------------------------------- commands and keys


def _commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(cli.commands.items()):
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in sorted(command.commands.items())]
    return found


def _options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option)]


def _named(option: click.Option, text: str) -> bool:
    """One of the option's names (`-c` or `--config`) is in the text, as a word of its own."""
    return any(re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text) for o in option.opts)


@pytest.mark.parametrize(("name", "command"), _commands(), ids=[n for n, _ in _commands()])
def test_every_command_and_option_is_documented(name: str, command: click.Command) -> None:
    assert f"mention-monitor {name}" in EVERYTHING
    for option in _options(command):
        longest = max(option.opts, key=len)
        assert longest in EVERYTHING, f"{name} {longest}"
    # and each in the command's own section of docs/commands.md
    group, _, sub = name.partition(" ")
    own = rf"`mention-monitor {re.escape(name)}`"
    if sub:
        own += rf"|`mention-monitor {re.escape(group)} .*`{re.escape(sub)}`"
    section = _section(COMMANDS_PAGE, re.compile(own))
    assert section, f"docs/commands.md has no section for `mention-monitor {name}`"
    missing = [o.opts for o in _options(command) if not _named(o, section)]
    assert missing == [], f"docs/commands.md, `mention-monitor {name}`: {missing}"


def test_the_global_options_are_documented() -> None:
    assert [o.opts for o in _options(cli) if not _named(o, COMMANDS_PAGE)] == []


def _models() -> list[tuple[str, type[BaseModel]]]:
    models: list[tuple[str, type[BaseModel]]] = [
        ("top level", _FileConfig),
        ("brands", BrandConfig),
        ("brands[].sentiment", BrandSentiment),
        ("alerts", AlertsConfig),
        ("sentiment", SentimentConfig),
        ("spread", SpreadConfig),
        ("spikes", SpikesConfig),
        ("web", WebConfig),
        ("sources.<name>.spread", SpreadRule),
        ("quiet_hours", QuietHours),
    ]
    models += [(f"source {n}", load_connector(n).Config) for n in SOURCES]
    models += [(f"channel {n}", load_channel(n).Config) for n in CHANNELS]
    return models


@pytest.mark.parametrize(("where", "model"), _models(), ids=[w for w, _ in _models()])
def test_every_config_key_is_documented(where: str, model: type[BaseModel]) -> None:
    keys = [info.alias or name for name, info in model.model_fields.items()]
    missing = [key for key in keys if f"`{key}`" not in EVERYTHING]
    assert missing == [], f"{where}: keys missing from README.md and docs/: {missing}"


def test_the_generated_reference_matches_the_code() -> None:
    for path, text in docs_reference.expected(DOCS).items():
        assert path.read_text(encoding="utf-8") == text, f"{path} is out of date: run make docs"


# ---------------------------------------------------------------- pages and links


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_source_has_a_page_that_says_how_to_get_access(name: str) -> None:
    page = DOCS / "sources" / f"{name}.md"
    assert page.is_file(), f"{page} is missing"
    text = page.read_text(encoding="utf-8")
    assert re.search(r"^## How to get", text, flags=re.MULTILINE), f"{page}: no 'How to get'"
    assert re.search(r"^## What it costs", text, flags=re.MULTILINE), f"{page}: no costs"
    assert docs_reference.BEGIN in text and docs_reference.END in text
    assert f"](docs/sources/{name}.md)" in README


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_every_channel_has_a_page_that_says_how_to_set_it_up(name: str) -> None:
    page = DOCS / "channels" / f"{name}.md"
    assert page.is_file(), f"{page} is missing"
    text = page.read_text(encoding="utf-8")
    assert re.search(r"^## Set it up", text, flags=re.MULTILINE), f"{page}: no 'Set it up'"
    assert docs_reference.BEGIN in text and docs_reference.END in text
    assert f"](channels/{name}.md)" in (DOCS / "README.md").read_text(encoding="utf-8")


def _links() -> list[tuple[Path, str]]:
    found = []
    for path, text in PAGES.items():
        for target in re.findall(r"\]\(([^)\s]+)\)", _prose(text)):
            if not re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                found.append((path, target))
    return found


@pytest.mark.parametrize(
    ("page", "target"), _links(), ids=[f"{p.relative_to(ROOT)}->{t}" for p, t in _links()]
)
def test_every_relative_link_leads_somewhere(page: Path, target: str) -> None:
    file, _, anchor = target.partition("#")
    dest = (page.parent / file).resolve() if file else page
    assert dest.exists(), f"{page.relative_to(ROOT)}: {target} does not exist"
    if anchor:
        assert dest.suffix == ".md", f"{page.relative_to(ROOT)}: {target}: an anchor in a non-page"
        known = _anchors(dest.read_text(encoding="utf-8"))
        assert anchor in known, f"{page.relative_to(ROOT)}: no heading makes #{anchor} in {file}"


def test_the_docs_index_lists_every_page() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in sorted(DOCS.rglob("*.md")):
        if page.name != "README.md":
            assert f"]({page.relative_to(DOCS)})" in index, page


def test_slugs_are_the_ones_github_makes() -> None:
    assert slug("Source: hackernews") == "source-hackernews"
    assert (
        slug("`mention-monitor mentions ack`, `resolve`") == "mention-monitor-mentions-ack-resolve"
    )
    assert slug("A brand's sentiment") == "a-brands-sentiment"
    assert _anchors("# A\n## A\n```\n# not a heading\n```\n## A\n") == {"a", "a-1", "a-2"}


# ---------------------------------------------------------------- the generator


class _Shop(BaseModel):
    every: Duration = Field(default=timedelta(minutes=90), description="how often")
    mode: Literal["calm", "busy"] = Field(default="busy", description="the mood")
    token: SecretStr | None = Field(default=None, description="a secret")
    tags: list[str] = Field(default=["a", "b"], min_length=1, description="the tags")
    limit: int = Field(default=20_000, ge=1, le=100_000, description="how many")
    undocumented: bool = True


def test_the_reference_gives_types_and_defaults_in_an_owners_words() -> None:
    reference = Reference([Section("Shop", _Shop, "Under `shop:`.")])
    table = reference.table(reference.sections[0])
    assert "| `every` | duration | `1h30m` | how often |" in table
    assert "| `mode` | one of `calm`, `busy` | `busy` | the mood |" in table
    assert "| `token` | secret | not set | a secret |" in table
    assert "| `tags` | list of texts, at least one | `[a, b]` | the tags |" in table
    assert "| `limit` | whole number, 1 to 100,000 | `20000` | how many |" in table
    assert reference.missing == [f"{__name__}._Shop.undocumented"]


def test_a_key_without_a_description_stops_the_generator(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(BrandConfig.model_fields["exclude"], "description", None)
    with pytest.raises(ValueError, match=r"monitor\.config\.BrandConfig\.exclude"):
        docs_reference.expected(tmp_path)


def test_make_docs_rewrites_what_is_stale_and_check_says_so(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    said: list[str] = []
    assert docs_reference.main(["--docs", str(docs), "--check"], out=said.append) == 0
    assert said == []

    slack = docs / "channels" / "slack.md"
    slack.write_text(slack.read_text().replace("| `max_text` |", "| `max_txt` |"))
    (docs / "config.md").unlink()
    assert docs_reference.main(["--docs", str(docs), "--check"], out=said.append) == 1
    assert said == [
        f"{docs / 'config.md'} is out of date: run `make docs`",
        f"{slack} is out of date: run `make docs`",
    ]
    said.clear()
    assert docs_reference.main(["--docs", str(docs)], out=said.append) == 0
    assert len(said) == 2
    assert slack.read_text() == (DOCS / "channels" / "slack.md").read_text()
    assert docs_reference.main(["--docs", str(docs), "--check"], out=said.append) == 0


def test_a_page_without_the_markers_is_named(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    page = docs / "sources" / "rss.md"
    page.write_text(page.read_text().replace(docs_reference.END, ""))
    said: list[str] = []
    assert docs_reference.main(["--docs", str(docs)], out=said.append) == 1
    assert said[0].startswith(f"error: {page}: the generated keys' markers are missing")
