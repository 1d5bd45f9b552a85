"""The starter config, filled in with an owner's answers (`mention-monitor init` in a terminal).

The template (monitor/data/config.yaml, the same as the repository's config.yaml) is kept
whole, comments and all: only three blocks are replaced. The brands under ``brands:``, the
active sources under ``sources:`` (the commented examples stay, less those of the chosen
sources) and the active channels under ``alerts: channels:`` (the console stays, the chosen
channel's commented example goes). Secrets are written as ``${VAR}``; their values go to the
env file (``env_text``), never into the config.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources

#: Sources in the order they are offered: name, what it is, what it needs.
SOURCES: list[tuple[str, str, str]] = [
    ("hackernews", "Hacker News", "no key needed"),
    ("rss", "Google Alerts and other feeds (RSS)", "no key needed: you paste each feed's address"),
    ("mastodon", "Mastodon", "no key needed: hashtags on a server you choose"),
    (
        "reddit",
        "Reddit",
        "no key needed for the new posts of subreddits you name; searching all of Reddit "
        "needs a Reddit app (its client id and secret)",
    ),
    ("bluesky", "Bluesky", "needs your Bluesky handle and an app password"),
    ("x", "X (Twitter)", "needs an X API bearer token; X bills every post it returns"),
]

#: Channels in the order they are offered: key, what it is.
CHANNELS: list[tuple[str, str]] = [
    ("slack", "Slack (an incoming webhook)"),
    ("email", "E-mail (your mail provider's SMTP server)"),
    ("telegram", "Telegram (a bot you make with @BotFather)"),
    ("console", "just this console for now (add a channel later)"),
]


@dataclass
class Answers:
    """What the owner said. ``secrets``: variable name -> value, for the env file."""

    brand: str
    keywords: list[str]
    #: source name -> its settings as YAML lines (indented under the source)
    sources: dict[str, list[str]] = field(default_factory=lambda: {"hackernews": []})
    #: the channel's YAML lines (an item of ``channels:``), or [] for the console only
    channel: list[str] = field(default_factory=list)
    channel_type: str = "console"
    secrets: dict[str, str] = field(default_factory=dict)


def template() -> str:
    return resources.files("monitor").joinpath("data/config.yaml").read_text("utf-8")


def quoted(text: str) -> str:
    """A YAML string in double quotes (JSON's are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def render(answers: Answers, text: str | None = None) -> str:
    """The template with the owner's brand, sources and channel."""
    lines = (text if text is not None else template()).splitlines()
    lines = _replace_block(lines, "brands:", _brand_lines(answers))
    lines = _replace_sources(lines, answers)
    lines = _replace_channels(lines, answers)
    return "\n".join(lines) + "\n"


def _brand_lines(answers: Answers) -> list[str]:
    keywords = ", ".join(quoted(k) for k in answers.keywords)
    return [
        f"  - name: {quoted(answers.brand)}",
        f"    keywords: [{keywords}]",
        "    # A mention containing any of these is dropped (another company, a namesake):",
        f"    # exclude: [{quoted(answers.brand + ' Ltd')}]",
    ]


def _top_block(lines: list[str], key: str) -> tuple[int, int]:
    """``key:``'s line and the end of its indented block (blank lines after it excluded)."""
    start = lines.index(key)
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(" ")):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return start, end


def _replace_block(lines: list[str], key: str, new: list[str]) -> list[str]:
    start, end = _top_block(lines, key)
    return [*lines[: start + 1], *new, *lines[end:]]


def _without_examples(block: list[str], prefix: str, names: set[str]) -> list[str]:
    """Drops the commented example of each chosen name (``prefix`` + name + ``:``)."""
    kept: list[str] = []
    skipping = False
    starts = re.compile(rf"^{re.escape(prefix)}(\w+)\b")
    for line in block:
        match = starts.match(line)
        if match:
            skipping = match.group(1) in names
        elif not line.startswith(prefix[: prefix.index("#") + 1]):
            skipping = False
        if not skipping:
            kept.append(line)
    return kept


def _replace_sources(lines: list[str], answers: Answers) -> list[str]:
    start, end = _top_block(lines, "sources:")
    block = lines[start + 1 : end]
    active_end = next((i for i, line in enumerate(block) if not line.strip()), len(block))
    template_active = block[:active_end]
    new: list[str] = []
    for name, settings in answers.sources.items():
        if name == "hackernews" and not settings:
            new += template_active  # the template's own, with its comments
            continue
        comment = next((s[1] for s in SOURCES if s[0] == name), name)
        new.append(f"  {name}:".ljust(35) + f"# {comment}")
        new += [f"    {line}" for line in settings]
    examples = _without_examples(block[active_end:], "  # ", set(answers.sources))
    return [*lines[: start + 1], *new, *examples, *lines[end:]]


def _replace_channels(lines: list[str], answers: Answers) -> list[str]:
    start, end = _top_block(lines, "alerts:")
    block = lines[start + 1 : end]
    head = block.index("  channels:")
    items_end = next(
        (i for i in range(head + 1, len(block)) if block[i].startswith("    # ")), len(block)
    )
    new = block[head + 1 : items_end] + [
        f"    {'- ' if i == 0 else '  '}{line}" for i, line in enumerate(answers.channel)
    ]
    examples = _without_examples(block[items_end:], "    # - type: ", {answers.channel_type})
    return [
        *lines[: start + 1],
        *block[: head + 1],
        *new,
        *examples,
        *lines[end:],
    ]


_PLAIN_ENV = re.compile(r"[A-Za-z0-9_./:@+-]*")


def env_line(name: str, value: str) -> str:
    """One line of an env file that python-dotenv (and docker-compose) read back exactly.

    python-dotenv expands ``${NAME}`` even in single quotes: a value holding ``${`` cannot be
    written (the dialogue refuses one)."""
    if _PLAIN_ENV.fullmatch(value):
        return f"{name}={value}"
    if "'" not in value:
        return f"{name}='{value}'"  # single quotes: nothing inside is expanded
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}"'


def env_text(secrets: dict[str, str], existing: str = "") -> str:
    """``existing`` (an env file's text) with ``secrets`` set: their old lines replaced."""
    names = set(secrets)
    assignment = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
    kept = []
    for line in existing.splitlines():
        match = assignment.match(line)
        if not (match and match.group(1) in names):
            kept.append(line)
    header = [] if kept else ["# Secrets for mention-monitor (config.yaml names them as ${VAR})."]
    return "\n".join([*kept, *header, *(env_line(k, v) for k, v in secrets.items())]) + "\n"
