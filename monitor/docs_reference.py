"""The configuration reference, docs/config.md, generated from the config models.

Every key's type (in an owner's words), default and description come from the pydantic
models: monitor/config.py, each source's ``Config`` (connectors/) and each channel's
(alerts/). A description is the field's ``Field(description=...)``; a field redeclared
only to change its default (a source's ``base_url``) keeps the one it inherits.

The tables of one source or channel also appear on its own page, docs/sources/<name>.md
and docs/channels/<name>.md, between the ``BEGIN`` and ``END`` markers. ``make docs``
rewrites all of them; tests/test_docs.py fails when a file differs from what this module
produces now, so the reference cannot drift from the code::

    python -m monitor.docs_reference           # rewrite docs/ (what `make docs` runs)
    python -m monitor.docs_reference --check   # exit 1 naming each file out of date
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel

from alerts import REGISTRY as CHANNELS
from alerts import load_channel
from alerts.base import ChannelConfig, QuietHours
from connectors import REGISTRY as SOURCES
from connectors import load_connector
from connectors.base import SourceConfig, SpreadRule
from monitor.config import (
    AlertsConfig,
    BrandConfig,
    BrandSentiment,
    SentimentConfig,
    SpikesConfig,
    SpreadConfig,
    WebConfig,
    _FileConfig,
)
from monitor.docs_tables import Reference, Section, default_text, is_model, shown, unwrap

BEGIN = "<!-- keys: generated from the code by `make docs`; change the models, not this table -->"
END = "<!-- end of generated keys -->"

INTRO = """\
# Every key of config.yaml

This page is generated from the code by `make docs` (`python -m monitor.docs_reference`),
so it always matches what `mention-monitor check` accepts. How to write the file, with
examples, is in [Writing config.yaml](configuration.md).

How to read the **type** column:

- **duration**: a number and a unit, `30s`, `5m`, `1h`, `2d`, or combined, `1h30m`;
- **size**: a number and a unit, `500kB`, `10MB` (`MiB` works too);
- **secret**: write `${VARIABLE}` and set that variable in the environment or in the `.env`
  file beside the config; never the secret itself (see
  [Secrets](configuration.md#secrets-passwords-tokens-webhook-addresses));
- **`true` or `false`**: yes or no;
- **list**: `[a, b]` on one line, or one `- item` a line;
- **settings**: the keys of the section linked, indented under this key.

A key you leave out takes its default; a key marked *required* must be there. An unknown
key is an error that names it (and the closest known key).
"""


# ---------------------------------------------------------------- the sections


def _source_models() -> dict[str, type[SourceConfig]]:
    return {name: load_connector(name).Config for name in SOURCES}


def _channel_models() -> dict[str, type[ChannelConfig]]:
    return {name: load_channel(name).Config for name in CHANNELS}


def _own_keys(model: type[BaseModel], base: type[BaseModel], skip: set[str]) -> list[str]:
    """A source's (or channel's) keys: its own, and the shared ones whose default it changes."""
    shared = base.model_fields
    return [
        name
        for name, info in model.model_fields.items()
        if name not in skip
        and (name not in shared or default_text(info) != default_text(shared[name]))
    ]


def _shared_defaults(base: type[BaseModel], models: dict[str, type[BaseModel]]) -> dict[str, str]:
    """For each shared key some sources (or channels) change: who has which default."""
    out: dict[str, str] = {}
    for name, info in base.model_fields.items():
        own = default_text(info)
        changed = {
            kind: default_text(model.model_fields[name])
            for kind, model in models.items()
            if default_text(model.model_fields[name]) != own
        }
        if changed and (own == "*required*" or len(changed) == len(models)):
            out[name] = "each one's own (see its section)"
        elif changed:
            out[name] = own + " (" + ", ".join(f"{k}: {d}" for k, d in changed.items()) + ")"
    return out


def _nested(model: type[BaseModel], keys: list[str], known: set[type[BaseModel]]) -> list[Any]:
    """The models of a source's or channel's own keys that have no section yet."""
    found = []
    for name in keys:
        annotation = unwrap(model.model_fields[name].annotation)
        for arg in (annotation, *get_args(annotation)):
            arg = unwrap(arg)
            if is_model(arg) and arg not in known:
                found.append((model.model_fields[name].alias or name, arg))
    return found


def _thresholds(sources: dict[str, type[SourceConfig]]) -> str:
    keys = ["spreading", "viral", "min_gain", "followers", "schedule"]
    lines = ["| source | " + " | ".join(f"`{k}`" for k in keys) + " |"]
    lines.append("|---|" + "---|" * len(keys))
    for name, model in sources.items():
        if not model.SPREAD:
            lines.append(f"| `{name}` | not tracked: it has no counts to re-read |" + " |" * 4)
            continue
        rule = SpreadRule.model_validate(model.SPREAD)
        cells = [shown(getattr(rule, k)) for k in keys[:-1]]
        cells.append(shown(rule.schedule) if rule.schedule else "`spread.schedule`")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sections() -> tuple[list[Section], dict[str, list[Section]], dict[str, list[Section]]]:
    """Every section of config.md in order; and, by name, each source's and channel's."""
    sources, channels = _source_models(), _channel_models()
    top = [
        Section(
            "Top level",
            _FileConfig,
            "The keys at the left margin of config.yaml.",
            types={
                "sources": "each source's name, with its settings: [Every source](#every-source)"
                " and the source's own section below"
            },
        ),
        Section("Brands", BrandConfig, "Each entry of `brands:`: what you watch."),
        Section(
            "A brand's sentiment",
            BrandSentiment,
            "Under a brand's `sentiment:`: its own tuning of the complaint scorer, for the"
            " mentions filed under it (see [How negatives are found](detection.md)).",
        ),
        Section(
            "Sentiment",
            SentimentConfig,
            "Under `sentiment:`: when a mention counts as negative, for every brand"
            " (see [How negatives are found](detection.md)).",
        ),
        Section(
            "Alerts",
            AlertsConfig,
            "Under `alerts:`: how alerts are sent, retried and followed up.",
            types={"channels": "list of channels: [Every channel](#every-channel)"},
        ),
        Section(
            "Spread tracking",
            SpreadConfig,
            "Under `spread:`: re-reading young negative posts to catch the ones that take off"
            " (see [Before it spreads](spread.md)). Each source's thresholds are under"
            " [its `spread:`](#spread-thresholds).",
        ),
        Section(
            "Spikes",
            SpikesConfig,
            "Under `spikes:`: bursts of negative mentions of one brand"
            " (see [Spikes](spread.md#spikes)).",
        ),
        Section(
            "The inbox", WebConfig, "Under `web:`: the inbox's web page (see [The inbox](web.md))."
        ),
        Section(
            "Every source",
            SourceConfig,
            "Under `sources: <name>:`, every source takes these keys, besides its own.",
            defaults={**_shared_defaults(SourceConfig, dict(sources)), "spread": "its own"},
        ),
        Section(
            "Spread thresholds",
            SpreadRule,
            "Under `sources: <name>: spread:`: when a tracked negative post on that source"
            " escalates. Set one key and the others keep the source's default.",
            defaults={"spreading": "its own", "viral": "its own"},
            after="Each source's own:\n\n" + _thresholds(sources),
        ),
    ]
    known: set[type[BaseModel]] = {s.model for s in top} | {QuietHours}
    by_source: dict[str, list[Section]] = {}
    for name, model in sources.items():
        keys = _own_keys(model, SourceConfig, {"spread"})
        by_source[name] = [
            Section(
                f"Source: {name}",
                model,
                f"Under `sources: {name}:`. How to get access, what it costs and how it reads:"
                f" [sources/{name}.md](sources/{name}.md).",
                keys=keys,
            )
        ]
        for key, nested in _nested(model, keys, known):
            known.add(nested)
            by_source[name].append(
                Section(
                    f"Each entry of {key} ({name})",
                    nested,
                    f"Each entry of `{key}:` under `sources: {name}:`.",
                    level=3,
                )
            )
    shared = Section(
        "Every channel",
        ChannelConfig,
        "Each entry of `alerts: channels:` takes these keys, besides its type's own: which"
        " alerts it gets, and when (see"
        " [Who is told, and when](configuration.md#who-is-told-and-when)).",
        types={"type": "one of " + ", ".join(f"`{n}`" for n in CHANNELS)},
        defaults={
            **_shared_defaults(ChannelConfig, dict(channels)),
            "type": "*required*",
            "name": "the `type`",
        },
    )
    quiet = Section("Quiet hours", QuietHours, "Under a channel's `quiet_hours:`.")
    by_channel = {
        name: [
            Section(
                f"Channel: {name}",
                model,
                f"An entry of `alerts: channels:` with `type: {name}`. How to set it up and"
                f" what its messages look like: [channels/{name}.md](channels/{name}.md).",
                keys=_own_keys(model, ChannelConfig, {"type"}),
            )
        ]
        for name, model in channels.items()
    }
    every = [
        *top,
        *(s for group in by_source.values() for s in group),
        shared,
        quiet,
        *(s for group in by_channel.values() for s in group),
    ]
    return every, by_source, by_channel


# ---------------------------------------------------------------- the files


def config_page(reference: Reference) -> str:
    parts = [INTRO.strip()]
    parts += [reference.render(section) for section in reference.sections]
    return "\n\n".join(parts) + "\n"


def page_block(reference: Reference, group: list[Section], shared: str) -> str:
    """What goes between the markers of a source's or channel's own page."""
    head, *nested = group
    parts = [BEGIN, reference.table(head, "../config.md")]
    for section in nested:
        parts += [f"{section.intro}", reference.table(section, "../config.md")]
    parts += [shared, END]
    return "\n\n".join(parts)


def _replace_block(path: Path, text: str, block: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{path}: the generated keys' markers are missing: put\n{BEGIN}\n{END}")
    return text[:start] + block + text[end + len(END) :]


def expected(docs: Path) -> dict[Path, str]:
    """Each generated file (or page with a generated block) and what it should hold now."""
    every, by_source, by_channel = sections()
    reference = Reference(every)
    files = {docs / "config.md": config_page(reference)}
    pages: list[tuple[Path, list[Section], str]] = [
        (
            docs / "sources" / f"{name}.md",
            group,
            "Every source also takes `every`, `base_url`, `timeout`, `max_response`, `enabled`"
            " and `spread`: see [Every source](../config.md#every-source).",
        )
        for name, group in by_source.items()
    ]
    pages += [
        (
            docs / "channels" / f"{name}.md",
            group,
            "Every channel also takes the keys that say which alerts it gets, and when"
            " (`brands`, `min_severity`, `mode`, `quiet_hours`, ...): see"
            " [Every channel](../config.md#every-channel).",
        )
        for name, group in by_channel.items()
    ]
    for path, group, shared in pages:
        if path.is_file():
            block = page_block(reference, group, shared)
            files[path] = _replace_block(path, path.read_text(encoding="utf-8"), block)
    if reference.missing:
        raise ValueError(
            "these config keys have no description: give each a Field(description=...): "
            + ", ".join(reference.missing)
        )
    return files


def main(argv: list[str] | None = None, out: Callable[[str], Any] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitor.docs_reference", description=__doc__)
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="the docs folder")
    parser.add_argument("--check", action="store_true", help="only say which files differ")
    args = parser.parse_args(argv)
    try:
        files = expected(args.docs)
    except ValueError as exc:
        out(f"error: {exc}")
        return 1
    stale = [p for p, text in files.items() if not p.is_file() or p.read_text("utf-8") != text]
    for path in stale:
        if args.check:
            out(f"{path} is out of date: run `make docs`")
        else:
            path.write_text(files[path], encoding="utf-8")
            out(f"wrote {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
