"""What `mention-monitor check` prints: the config as the owner wrote it, and how things stand.

Values are shown as written in config.yaml (monitor/wording.py ``as_written``): only the
settings the owner wrote appear under each source and channel; the rest are the documented
defaults. ``status`` (source health, deliveries, undeliverable alerts) is shared with `stats`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from connectors import load_connector
from monitor.config import Config
from monitor.text import terminal_safe
from monitor.wording import as_written, count

#: Keys shown in a source's or channel's first line (or in "Follow-up"), not among its settings.
_SOURCE_HEAD = {"every", "base_url", "enabled", "spread"}
_CHANNEL_HEAD = {"type", "name", "enabled", "brands", "min_severity"}

out = click.echo


def written(config: Config, *path: Any) -> Any:
    """The node the owner wrote at ``path`` (None where they wrote nothing)."""
    node: Any = config.written
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def shown(config: Config, effective: Any, *path: Any) -> str:
    return as_written(written(config, *path), effective)


def describe(config: Config, config_path: Path) -> None:
    """Everything `check` says about the config itself (before the sources are asked)."""
    out(f"Config OK: {config_path}")
    for warning in config.warnings:
        out(f"warning: {warning}")
    if config.env_file is not None:
        out(f"Secrets also read from: {config.env_file}")
        _warn_if_shared(config.env_file)
    out("")
    out("Brands:")
    for i, brand in enumerate(config.brands):
        out(f"  {terminal_safe(brand.name)}")
        out(f"    keywords: {shown(config, brand.keywords, 'brands', i, 'keywords')}")
        if brand.exclude:
            out(f"    exclude:  {shown(config, brand.exclude, 'brands', i, 'exclude')}")
        if brand.sources is None:
            out(f"    sources:  every source ({', '.join(config.sources)})")
        else:
            out(f"    sources:  {shown(config, brand.sources, 'brands', i, 'sources')}")
    out("")
    out("Sources:")
    for name, source in config.sources.items():
        state = "" if source.enabled else "  (enabled: false)"
        where = f" from {source.base_url}" if source.base_url else ""
        every = shown(config, source.every, "sources", name, "every")
        how = f"every {every}"
        connector = load_connector(name)
        if connector.streaming and connector.resumes:
            how = "live while `run` runs (`poll` reads what came since the last time)"
        elif connector.streaming:
            how += ", and live while `run` runs"
        out(f"  {name}: {how}{where}{state}")
        _settings(config, source, _SOURCE_HEAD, "sources", name)


def describe_channels(config: Config) -> None:
    out("Alert channels:")
    raw = written(config, "alerts", "channels") or []
    by_name = {str(c.get("name") or c.get("type")): i for i, c in enumerate(raw) if _is_map(c)}
    for channel in config.channels:
        brands = ", ".join(channel.brands) if channel.brands else "all brands"
        state = "" if channel.enabled else "  (enabled: false)"
        out(f"  {channel.name} ({channel.type}): {channel.min_severity}, {brands}{state}")
        if channel.name in by_name:
            _settings(config, channel, _CHANNEL_HEAD, "alerts", "channels", by_name[channel.name])


def _is_map(node: Any) -> bool:
    return isinstance(node, dict)


def _settings(config: Config, model: Any, head: set[str], *path: Any) -> None:
    """The settings the owner wrote for one source or channel, as written."""
    node = written(config, *path)
    if not isinstance(node, dict):
        return
    fields = {info.alias or name: name for name, info in type(model).model_fields.items()}
    parts = [
        f"{key}: {as_written(value, getattr(model, fields[key], None))}"
        for key, value in node.items()
        if key not in head and key in fields
    ]
    if parts:
        out("    " + ", ".join(parts))


def describe_follow_up(config: Config) -> None:
    out("Follow-up:")
    if config.spread.enabled:
        from monitor.spread import describe_schedule

        young = shown(config, config.spread.track_for, "spread", "track_for")
        out(f"  spread tracking: negative posts younger than {young}")
        for name, source in config.sources.items():
            rule = source.spread
            if not source.enabled:
                continue
            if rule is None:
                out(f"    {name}: not tracked (no engagement counts to re-read)")
                continue
            steps = rule.schedule or config.spread.schedule
            reach = (
                f", or an author with {count(rule.followers, 'follower')}" if rule.followers else ""
            )
            out(
                f"    {name}: read {describe_schedule(steps)}; spreading at {rule.spreading:g}/h, "
                f"viral at {rule.viral:g}/h (gain of {rule.min_gain}+){reach}"
            )
    else:
        out("  spread tracking: off")
    spikes = config.spikes
    if spikes.enabled:
        repeat = shown(config, spikes.repeat_after, "spikes", "repeat_after")
        out(
            f"  spikes: {spikes.min_count}+ negatives in an hour and {spikes.factor:g}x the "
            f"brand's normal, at most one per {repeat}"
        )
    else:
        out("  spikes: off")
    remind = config.alerts.remind_after
    if remind:
        out(f"  reminders: after {shown(config, remind, 'alerts', 'remind_after')} unanswered")
    else:
        out("  reminders: off")


def describe_inbox(config: Config) -> None:
    from monitor.config import is_loopback

    web = config.web
    out("Inbox:")
    where = f"http://{web.listen}/" if web.port else f"{web.listen} (a free port)"
    if web.enabled:
        out(f"  served by `run` at {where}")
    else:
        out("  off (web.enabled: false); `mention-monitor web` can still serve it")
    if web.public_url:
        out(f"  opened at {web.public_url}/ (path prefix {web.root_path or '/'})")
    if web.password is not None:
        out("  password: set")
    elif is_loopback(web.host):
        out("  password: none; open to whoever uses this machine")
    out(f"  API, exports by token, feeds: {'on' if web.api_token else 'off (no api_token)'}")


def describe_database(config: Config) -> None:
    """Where the mentions are kept, from one look taken now (never creating the file)."""
    from monitor.store import Store

    probe = Store(config.database, migrate=False)
    try:
        place = str(probe.path) if probe.path is not None else probe.safe_url
        new = probe.revision() is None
    finally:
        probe.close()
    out(f"Database: {place}")
    if new:
        if probe.path is not None:
            out("  new: it will be created on the first run")
        else:
            out("  new: its tables will be created on the first run")
        return
    store = Store(config.database)
    try:
        stored = sum(n for n, _ in store.counts_by_brand().values())
        out(f"  {count(stored, 'mention')} stored")
        status(store, config)
    finally:
        store.close()


def _warn_if_shared(env_file: Path) -> None:
    """The env file holds secrets: other users of the machine must not read it."""
    try:
        mode = env_file.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        out(
            f"  warning: {env_file} holds secrets and other users of this machine can "
            f"read it (mode {mode & 0o777:o}): chmod 600 {env_file}"
        )


def _online_probe(connector: Any) -> str | None:
    """For a source without credentials (Hacker News): does it answer? Its cheapest request.

    Sources with credentials test them in their own ``check(online=True)``.
    """
    if connector.name == "hackernews":
        connector.refresh(["1"])  # one story by id: one request, at most one hit
        return "Hacker News search answers"
    return None


def check_sources(config: Config, online: bool) -> int:
    """Each source's credentials (and, online, whether they work) and its metered usage."""
    from monitor.errors import ConnectorError
    from monitor.http import make_client
    from monitor.service import build_connectors
    from monitor.store import Store

    failed = 0
    store = Store(config.database, migrate=False)
    try:
        has_db = store.revision() is not None
        with make_client() as http:
            connectors = build_connectors(config, http, store if has_db else None)
            for name, connector in connectors.items():
                out(f"  {name} credentials:")
                try:
                    for line in connector.check(online):
                        out(f"    {terminal_safe(line)}")
                    answer = _online_probe(connector) if online else None
                    if answer:
                        out(f"    {answer}")
                except ConnectorError as exc:
                    failed += 1
                    out(f"    FAILED: {terminal_safe(exc.message)}")
                    if exc.hint:
                        out(f"    fix: {terminal_safe(exc.hint)}")
                usage_ = connector.usage() if has_db else None
                if usage_ is not None:
                    out(f"    usage: {usage(usage_)}")
                connector.close()
    finally:
        store.close()
    return failed


def check_channels(config: Config, online: bool) -> int:
    """What each channel says of its own set-up (the Slack app, the Telegram bot) and,
    online, whether its service accepts it; the number that failed."""
    from monitor.errors import AlertError
    from monitor.http import make_client
    from monitor.service import build_channels

    failed = 0
    with make_client() as http:
        for name, channel in build_channels(config.channels, http).items():
            try:
                lines = channel.check(online)
            except AlertError as exc:
                failed += 1
                out(f"  {name}: FAILED: {terminal_safe(exc.message)}")
                continue
            finally:
                channel.close()
            for i, line in enumerate(lines):
                out(f"  {name}: {terminal_safe(line)}" if i == 0 else f"    {terminal_safe(line)}")
    return failed


def usage(used: Any) -> str:
    limit = f" of {used.limit:,}" if used.limit else ""
    cost = f", about ${used.cost_usd:.2f}" if used.cost_usd is not None else ""
    return f"{used.used:,}{limit} {used.unit} in {used.period}{cost}"


def when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "never"


def status(store: Any, config: Config) -> None:
    """Source health, channel delivery and dead alerts: shared by `check` and `stats`."""
    from monitor.store import DEAD, PENDING, SENT

    health = store.health()
    out("Source health:")
    for name in config.sources:
        row = health.get(name)
        if row is None:
            out(f"  {name}: not polled yet")
            continue
        out(f"  {name}: last success {when(row.last_success_at)}, {row.total_count:,} stored")
        if row.consecutive_failures:
            polls = count(row.consecutive_failures, "poll")
            out(
                f"    FAILING: {polls} in a row failed, since {when(row.last_error_at)}: "
                f"{terminal_safe(row.last_error or '')}"
            )
        elif row.last_error:
            out(f"    last error {when(row.last_error_at)}: {terminal_safe(row.last_error)}")
    counts = store.alert_counts()
    paused = store.paused_channels()
    out("Alert delivery:")
    for channel in config.channels:
        n = {s: counts.get((channel.name, s), 0) for s in (SENT, PENDING, DEAD)}
        out(
            f"  {channel.name}: {n[SENT]:,} sent, {n[PENDING]:,} waiting, {n[DEAD]:,} undeliverable"
        )
        if channel.name in paused:
            since, reason = paused[channel.name]
            out(f"    PAUSED since {when(since)}: {terminal_safe(reason)}")
            out(f"    fix it, then: mention-monitor test-alert --channel {channel.name}")
    dead = store.dead_alerts(limit=5)
    if dead:
        out("Undeliverable alerts (newest first):")
        for row in dead:
            out(f"  alert {row.id} to {row.channel}: {terminal_safe(row.last_error or '')}")


def failed_line(failed: int) -> str:
    return f"{count(failed, 'source check')} failed (see FAILED above)"
