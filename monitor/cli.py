"""The `mention-monitor` command. Thin: parse, load config, call the core.

Exit codes: 0 success, 1 runtime failure, 2 bad configuration or usage.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor import __version__
from monitor.checking import status as _status
from monitor.checking import usage as _usage
from monitor.checking import when as _when
from monitor.config import load_config, parse_duration
from monitor.errors import ConfigError, MonitorError, StorageError
from monitor.redact import RedactingFormatter
from monitor.text import shorten, terminal_safe
from monitor.wording import count

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_ENV = "MENTION_MONITOR_CONFIG"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class _Group(click.Group):
    """Turns our errors into a clear message and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(
                "Configuration problem:"
                if len(exc.problems) == 1
                else f"{len(exc.problems)} configuration problems:",
                err=True,
            )
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            ctx.exit(2)
        except MonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


def config_option(func: F) -> F:
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path("config.yaml"),
        envvar=CONFIG_ENV,
        show_default=True,
        show_envvar=True,
        help="The configuration file.",
    )(func)


def _setup_logging(verbose: int, default: int = logging.WARNING) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else default
    logging.basicConfig(
        level=level,
        format=LOG_FORMAT,
        stream=sys.stderr,
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    for noisy in ("httpx", "httpcore", "urllib3", "apscheduler", "alembic", "slack_sdk"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mention-monitor")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Watch public social media for mentions of your brands and warn you
    about the negative ones while they are still small.

    Start with `mention-monitor init`, edit config.yaml, check it with
    `mention-monitor check`, then `mention-monitor run`.
    """
    ctx.obj = {"verbose": verbose}
    _setup_logging(verbose)


def _verbose(ctx: click.Context) -> int:
    return int((ctx.obj or {}).get("verbose", 0))


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="config.yaml")
@click.option(
    "--no-input", is_flag=True, help="Do not ask anything: write the commented template as it is."
)
@click.pass_context
def init(ctx: click.Context, path: Path, no_input: bool) -> None:
    """Write a commented starter config to PATH (default ./config.yaml).

    In a terminal it first asks for your shop's name, its handles and hashtags, where to
    look and where to send alerts; secrets go to an .env file beside it (only you can read
    it), then the result is checked. Without a terminal (or with --no-input) it writes the
    template, and refuses to overwrite an existing file.
    """
    if no_input or not (sys.stdin.isatty() and sys.stdout.isatty()):
        if path.exists():
            raise click.UsageError(f"{path} already exists; not overwriting it")
        starter = resources.files("monitor").joinpath("data/config.yaml").read_text("utf-8")
        try:
            path.write_text(starter, encoding="utf-8")
        except OSError as exc:
            raise click.FileError(str(path), hint=str(exc)) from exc
        click.echo(f"Wrote {path}. Edit the brands, then run: mention-monitor check -c {path}")
        return
    from monitor import setup

    if path.exists() and not click.confirm(f"{path} already exists. Replace it?", default=False):
        raise click.UsageError(f"{path} already exists; not overwriting it")
    answers = setup.ask()
    try:
        env_file = setup.write(path, answers)
    except OSError as exc:
        raise click.FileError(str(path), hint=str(exc)) from exc
    written = f"{path} and {env_file} (your secrets; only you can read it)" if env_file else path
    click.echo(f"\nWrote {written}. Checking it: mention-monitor check -c {path}\n")
    ctx.invoke(check, config_path=path, online=False)
    click.echo(
        f"\nNext: mention-monitor test-alert -c {path}   (sends a test alert)\n"
        f"      mention-monitor run -c {path}          (starts watching)"
    )


@cli.command()
@config_option
@click.option(
    "--online",
    is_flag=True,
    help="Also ask each source and channel whether its credentials are valid.",
)
@click.pass_context
def check(ctx: click.Context, config_path: Path, online: bool) -> None:
    """Validate the config and print what will be watched, where, and who is warned,
    with each setting as written in the file.

    With --online, each source is asked whether it answers and its credentials
    work; exits 1 if one does not.
    """
    from monitor import checking

    config = load_config(config_path)
    checking.describe(config, config_path)
    failed = checking.check_sources(config, online)
    for section in (
        checking.describe_channels,
        checking.describe_follow_up,
        checking.describe_inbox,
        checking.describe_database,
    ):
        click.echo("")
        section(config)
        if section is checking.describe_channels:
            failed += checking.check_channels(config, online)
    if failed:
        click.echo("")
        click.echo(checking.failed_line(failed))
        ctx.exit(1)


def _load_warned(config_path: Path) -> Any:
    """The config for `run` and `poll`: what works but should change is logged at start."""
    config = load_config(config_path)
    for warning in config.warnings:
        logging.getLogger("monitor.config").warning("%s", warning)
    return config


@cli.command()
@config_option
@click.pass_context
def run(ctx: click.Context, config_path: Path) -> None:
    """Run the service: poll every source on its schedule, send alerts, and serve the
    inbox (config `web:`, by default at http://127.0.0.1:8080/).

    Stops cleanly on Ctrl-C or SIGTERM. One `run` per SQLite file; on PostgreSQL, start
    it as often as you like, on one machine or several: the workers share the work.
    """
    from monitor.runlock import RunLock
    from monitor.scheduler import Scheduler
    from monitor.service import Service

    _setup_logging(_verbose(ctx), default=logging.INFO)
    config = _load_warned(config_path)
    ctx.with_resource(RunLock(config.database, "run"))  # one run or poll per SQLite file
    sock = None
    if config.web.enabled:
        from monitor.web.serve import bind

        sock = bind(config.web.listen)  # an address in use stops us here, before any poll
    server = None
    try:
        service = Service(config)
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    try:
        resumed = service.store.resume_channel()
        if resumed:
            logging.getLogger("monitor").warning(
                "resuming paused channels after restart: %s", ", ".join(resumed)
            )
        if sock is not None:
            from monitor.web import create_app
            from monitor.web.serve import WebServer

            server = WebServer(create_app(config, service.store), config.web, sock)
            server.start()
        # What start-up built (modules, config, scorer, engine) lives as long as the
        # process: moved out of the collector's sight, a full collection scans only what
        # the service makes from now on (it was most of each scan, and a pause in a poll).
        gc.collect()
        gc.freeze()
        Scheduler(service).run_forever()
    finally:
        if server is not None:
            server.stop()
        elif sock is not None:
            sock.close()
        service.close()


@cli.command()
@config_option
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Serve here instead of at the config's web.listen.",
)
@click.pass_context
def web(ctx: click.Context, config_path: Path, listen: str | None) -> None:
    """Serve the inbox alone, without polling: for a second machine reading a shared
    database, or while `run` is stopped. `run` on the same config may run beside it.

    Needs web.password (when listening beyond this machine) but no source or channel
    secret. Stops on Ctrl-C or SIGTERM.
    """
    from monitor.config import split_listen
    from monitor.store import Store
    from monitor.web import create_app
    from monitor.web.serve import WebServer, bind, wait_for_stop

    _setup_logging(_verbose(ctx), default=logging.INFO)
    config = load_config(config_path, secrets=False, web_secrets=True)
    setting = "web.listen"
    if listen is not None:
        try:
            split_listen(listen)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--listen") from None
        config.web = config.web.model_copy(update={"listen": listen.strip()})
        setting = "--listen"
    exposure = config.web.exposure_problem()
    if exposure:
        raise ConfigError(f"{config_path}: {setting}: {exposure}")
    sock = bind(config.web.listen, setting=setting)
    try:
        store = Store(config.database)  # no run lock: `run` must still be able to start
    except BaseException:
        sock.close()
        raise
    server = WebServer(create_app(config, store), config.web, sock)
    try:
        server.start()
        click.echo(f"Inbox: {server.url}  (Ctrl-C to stop)", err=True)
        wait_for_stop()
    finally:
        server.stop()
        store.close()


@cli.command()
@config_option
@click.option(
    "--to",
    "to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the copy here (default: beside the database, named with the time).",
)
def backup(config_path: Path, to: Path | None) -> None:
    """Copy the SQLite database safely, even while `run` is running (never copy the file
    itself then: its latest changes are in the -wal file beside it)."""
    from monitor.store.backup import back_up_database, megabytes

    config = load_config(config_path, secrets=False)
    made = back_up_database(config.database, to)
    click.echo(f"Backed up to {made.path} ({megabytes(made.size)}, {made.seconds:.1f} s)")


@cli.command()
@config_option
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.pass_context
def poll(ctx: click.Context, config_path: Path, sources: tuple[str, ...]) -> None:
    """Run one cycle of every source, re-read due posts (spread tracking), look for
    spikes and unanswered negatives, send the alerts, and exit.

    Exits 1 if a source failed or an alert could not be sent.
    """
    from monitor.runlock import RunLock
    from monitor.service import Service, WatchReport
    from monitor.workers import Worker, worker_name

    config = _load_warned(config_path)
    ctx.with_resource(RunLock(config.database, "poll"))  # waits for a poll, refuses a run
    service = Service(config)
    # On a database that `run` workers share, a poll takes part as one more worker: it
    # leaves a job that a running worker is doing now to that worker.
    worker = Worker(service.store, clock=service.clock)
    watching = False
    try:
        worker.start()
        reports = service.poll(sources or None, worker)
        watching = worker.claim("watch", timedelta(0), service.clock()).held
        watched = service.watch() if watching else WatchReport()
        dispatched = service.dispatch()
    except StorageError as exc:
        service.alarm.failed(exc)  # the outbox is in that database: tell the channels directly
        raise
    finally:
        try:
            worker.stop(forget=True)
        finally:
            service.close()
    for r in reports:
        if r.error:
            line = f"{r.source}: FAILED: {r.error}"
            if r.deferred_until:
                line += f" (next try after {r.deferred_until:%H:%M:%S} UTC)"
        elif r.deferred_until:
            line = f"{r.source}: skipped, rate limited until {r.deferred_until:%H:%M:%S} UTC"
        else:
            line = f"{r.source}: {r.fetched} fetched, {r.new} new, {r.negative} negative"
        if r.busy:
            who = terminal_safe(worker_name(r.busy))  # another machine's host name
            line += f" (left to {who}, which was polling it at that moment)"
        click.echo(line, err=True)
    track = watched.track
    click.echo(
        f"follow-up: {track.read} of {count(track.due, 'due post')} re-read, "
        f"{count(track.escalations, 'escalation')}, {count(watched.spikes, 'spike')}, "
        f"{count(watched.reminders, 'reminder')} queued"
        if watching
        else "follow-up: left to a running worker, which was doing it at that moment",
        err=True,
    )
    for problem in [*watched.errors, *(f"{k}: {v}" for k, v in track.skipped.items())]:
        click.echo(f"follow-up: {terminal_safe(problem)}", err=True)
    click.echo(
        f"alerts: {dispatched.sent} sent in {count(dispatched.messages, 'message')}, "
        f"{dispatched.retrying} to retry, {dispatched.dead} failed, {dispatched.held} held",
        err=True,
    )
    if any(not r.ok for r in reports) or dispatched.dead or dispatched.retrying or watched.errors:
        ctx.exit(1)


@cli.command()
@click.option("--no-web", is_flag=True, help="Do not open the replay in the inbox; just exit.")
@click.option(
    "--listen",
    metavar="HOST:PORT",
    default="127.0.0.1:8080",
    show_default=True,
    help="Where to serve the inbox (a free port is taken if this one is in use).",
)
@click.pass_context
def demo(ctx: click.Context, no_web: bool, listen: str) -> None:
    """Replay a morning at a fictional café (bundled posts) through the real pipeline on
    a fast clock, then show it in the inbox until Ctrl-C.

    Uses a temporary database and no network; prints the alerts it raises: a complaint,
    the complaint spreading, a spike of complaints, a reminder.
    """
    from monitor.config import is_loopback, split_listen
    from monitor.demo import run_demo

    try:
        host = split_listen(listen)[0]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--listen") from None
    if not is_loopback(host):
        raise click.BadParameter(
            "the demo inbox has no password: listen on this machine only (127.0.0.1)",
            param_hint="--listen",
        )
    run_demo(sys.stdout, then=None if no_web else _demo_inbox(ctx, listen))
    if no_web:
        click.echo(
            "The demo's database is gone now: the `mention-monitor mentions` commands in its "
            "alerts are examples of what you run on your own install."
        )


def _demo_inbox(ctx: click.Context, listen: str) -> Callable[[Any, Any], None]:
    """What the demo does before its database goes: serve it in the inbox until Ctrl-C."""

    def serve(config: Any, result: Any) -> None:
        from monitor.config import WebConfig
        from monitor.store import Store
        from monitor.web import create_app
        from monitor.web.serve import WebServer, WebServerError, bind, wait_for_stop

        config.web = WebConfig(listen=listen)
        try:
            sock = bind(listen, setting="--listen")
        except WebServerError:
            host = listen.rpartition(":")[0]
            config.web = WebConfig(listen=f"{host}:0")
            sock = bind(config.web.listen, setting="--listen")
        store = Store(config.database)
        server = WebServer(create_app(config, store), config.web, sock)
        try:
            server.start()
            click.echo(f"See them in the inbox: {server.url}  (Ctrl-C to end the demo)")
            click.echo(
                "Until then, the commands in the alerts work on the demo's database from "
                f"another terminal, e.g. `mention-monitor mentions -c {result.config_path}`."
            )
            wait_for_stop()
        finally:
            server.stop()
            store.close()

    return serve


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.group(cls=_Group, invoke_without_command=True)
@config_option
@click.option("--brand", help="Only this brand.")
@click.option("--negative", is_flag=True, help="Only negative mentions.")
@click.option(
    "--status",
    type=click.Choice(["new", "acknowledged", "resolved", "ignored"]),
    help="Only mentions with this status.",
)
@click.option("--since", callback=_since, help="Only mentions posted within this long, e.g. 24h.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def mentions(
    ctx: click.Context,
    config_path: Path,
    brand: str | None,
    negative: bool,
    status: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """List stored mentions, newest first; or follow one up.

    \b
    mention-monitor mentions --negative --status new   what still needs an answer
    mention-monitor mentions show 42                   one mention, its readings and history
    mention-monitor mentions ack 42 --note "replied"   you are on it (reminders stop)
    mention-monitor mentions resolve 42                done
    mention-monitor mentions ignore 42                 not worth an answer (tracking stops)
    """
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    if ctx.invoked_subcommand is not None:
        return
    from monitor.reasons import why_text
    from monitor.store import Store

    config = load_config(config_path, secrets=False)
    if brand is not None and brand.casefold() not in {b.name.casefold() for b in config.brands}:
        raise click.BadParameter(
            f"no brand '{brand}' in {config_path} "
            f"(brands: {', '.join(b.name for b in config.brands)})",
            param_hint="--brand",
        )
    store = Store(config.database)
    try:
        rows = store.mentions(
            brand=brand,
            negative=True if negative else None,
            since=since,
            status=status,
            limit=limit,
        )
    finally:
        store.close()
    for row in rows:
        if as_json:
            click.echo(json.dumps(_mention_record(row), ensure_ascii=False))
        else:
            text = terminal_safe(f"{row.title} - {row.text}" if row.title else row.text)
            state = f" [{row.status}]" if row.negative else ""
            level = {1: " SPREADING", 2: " VIRAL"}.get(row.level, "")
            # Why, in owner words; the scorer's numbers are in `mentions show`.
            said = why_text(row.reasons) if row.negative else ""
            click.echo(
                f"#{row.id} {row.created_at:%Y-%m-%d %H:%M} {row.source:<10} "
                f"{terminal_safe(row.brand)} | {row.label}{state}{level} | "
                f"{terminal_safe(row.author)}: {shorten(text, 100)}\n    {terminal_safe(row.url)}"
                + (f"\n    why: {shorten(terminal_safe(said), 200)}" if said else "")
            )
    if not rows and not as_json:
        click.echo("No mentions stored yet that fit.", err=True)


def _mention_record(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "source": row.source,
        "external_id": row.external_id,
        "brand": row.brand,
        "url": row.url,
        "author": row.author,
        "title": row.title,
        "text": row.text,
        "created_at": row.created_at.isoformat(),
        "first_seen_at": row.first_seen_at.isoformat(),
        "engagement": row.engagement,
        "negative": row.negative,
        "compound": row.compound,
        "label": row.label,
        "severity": row.severity,
        "reasons": row.reasons,
        "matched_terms": row.matched_terms,
        "status": row.status,
        "status_note": row.status_note,
        "level": {0: None, 1: "spreading", 2: "viral"}.get(row.level),
        "negative_replies": row.negative_replies,
        "tracked_until_next_reading": (
            row.next_refresh_at.isoformat() if row.next_refresh_at else None
        ),
    }


def _sub_config_option(func: F) -> F:
    """``-c`` after a `mentions` subcommand too (``mentions ack 42 -c shop.yaml``)."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The configuration file (as `mentions -c`).",
    )(func)


def _status_command(word: str, status: str, help_text: str) -> None:
    @mentions.command(word, help=help_text)
    @click.argument("mention_ids", metavar="ID...", nargs=-1, required=True, type=int)
    @click.option("--note", help="A note kept with the change (what you did, who answered).")
    @_sub_config_option
    @click.pass_context
    def change(
        ctx: click.Context, mention_ids: tuple[int, ...], note: str | None, config_path: Path | None
    ) -> None:
        from monitor.store import Store

        config = load_config(config_path or ctx.obj["config_path"], secrets=False)
        store = Store(config.database)
        failed = 0
        try:
            for mention_id in mention_ids:
                try:
                    old, new = store.set_status(
                        mention_id, status, note, datetime.now(UTC), actor="the command line"
                    )
                except MonitorError as exc:
                    click.echo(f"error: {exc}", err=True)
                    failed += 1
                    continue
                if old == new:
                    kept = "; the note was not kept" if note else ""
                    click.echo(f"mention #{mention_id}: already {new}, nothing changed{kept}")
                else:
                    click.echo(f"mention #{mention_id}: {old} -> {new}")
        finally:
            store.close()
        if failed:
            ctx.exit(1)


_status_command(
    "ack",
    "acknowledged",
    "Mark mentions acknowledged: you have seen them and are on it. Stops the reminder; "
    "a post that keeps spreading still escalates.",
)
_status_command("resolve", "resolved", "Mark mentions resolved: answered and done.")
_status_command(
    "ignore",
    "ignored",
    "Mark mentions ignored: not worth an answer. Stops reminders and spread tracking.",
)


@mentions.command("show")
@click.argument("mention_id", metavar="ID", type=int)
@_sub_config_option
@click.pass_context
def show(ctx: click.Context, mention_id: int, config_path: Path | None) -> None:
    """One mention in full: text, score, status history and engagement readings."""
    from monitor.reasons import why_text
    from monitor.store import STATUSES, Store

    config = load_config(config_path or ctx.obj["config_path"], secrets=False)
    store = Store(config.database)
    try:
        row = store.mention(mention_id)
        if row is None:
            raise MonitorError(
                f"no mention #{mention_id} in the database "
                "(list them with `mention-monitor mentions`)"
            )
        changes = store.status_changes(mention_id)
        snapshots = store.snapshots(mention_id)
    finally:
        store.close()
    safe = terminal_safe
    out = click.echo
    out(f"#{row.id} {safe(row.brand)} on {row.source}, by {safe(row.author)}")
    out(f"  posted {_when(row.created_at)}, first seen {_when(row.first_seen_at)}")
    out(f"  {safe(row.url)}")
    if row.title:
        out(f"  title: {safe(row.title)}")
    out(f"  text: {safe(row.text)}")
    if said := why_text(row.reasons):
        out(f"  why: {safe(said)}")
    out(f"  sentiment: {row.label} {row.compound:+.2f} ({'; '.join(safe(r) for r in row.reasons)})")
    # The note of the change that set the status (older databases kept an earlier one).
    setter = next((c for c in reversed(changes) if c.status in STATUSES), None)
    status_note = setter.note if setter is not None and setter.status == row.status else None
    if setter is None:
        status_note = row.status_note
    out(f"  status: {row.status}" + (f" ({safe(status_note)})" if status_note else ""))
    for change in changes:
        note = f": {safe(change.note)}" if change.note else ""
        out(f"    {_when(change.at)} -> {change.status}{note}")
    level = {1: "spreading", 2: "viral"}.get(row.level)
    if level:
        out(f"  escalated: {level}")
    if row.negative_replies:
        out(f"  negative replies or quotes seen: {row.negative_replies}")
    if snapshots:
        tracked = (
            f"next reading {_when(row.next_refresh_at)}" if row.next_refresh_at else "finished"
        )
        out(f"  engagement readings ({tracked}):")
        for snap in snapshots:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(snap.engagement.items()))
            out(f"    {_when(snap.taken_at)}: {counts or 'no counts'}")


@mentions.command("verdict")
@click.argument("mention_id", metavar="ID", type=int)
@click.argument("verdict", type=click.Choice(["negative", "not-negative"]))
@_sub_config_option
@click.pass_context
def verdict(ctx: click.Context, mention_id: int, verdict: str, config_path: Path | None) -> None:
    """Tell the scorer it was wrong (or right): the mention is negative, or not.

    The mention follows your word, and the brand's scorer learns from it: `run`
    picks it up at its next poll. "not-negative" also stops its reminder and tracking.
    """
    from monitor.feedback import give_verdict
    from monitor.store import Store

    config = load_config(config_path or ctx.obj["config_path"], secrets=False)
    store = Store(config.database)
    try:
        result = give_verdict(
            config, store, mention_id, verdict, datetime.now(UTC), actor="the command line"
        )
    finally:
        store.close()
    said = "already marked" if not result.changed else "marked"
    click.echo(f"mention #{mention_id}: {said} {result.words}")


@cli.command()
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Use this config's `sentiment:` settings and its brands' names.",
)
@click.option(
    "--brand",
    default=None,
    metavar="NAME",
    help="Apply this brand's `sentiment:` tuning (trouble terms, sensitivity); needs -c.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def score(config_path: Path | None, brand: str | None, as_json: bool) -> None:
    """Score texts read from stdin, one per line; print one result per line, in order.

    Each result has the verdict (negative or not), the compound score from -1 to 1,
    the label and the reasons: VADER's score and the complaint cues it found.
    """
    from monitor.config import SentimentConfig
    from monitor.sentiment import make_scorer

    if config_path is None:
        if brand is not None:
            raise click.BadParameter("needs -c CONFIG, where the brand is", param_hint="--brand")
        scorer = make_scorer(SentimentConfig())
    else:
        config = load_config(config_path, secrets=False)
        if brand is not None:
            names = {b.name.casefold(): b.name for b in config.brands}
            if brand.casefold() not in names:
                raise click.BadParameter(
                    f"no brand '{brand}' in {config_path} (brands: {', '.join(names.values())})",
                    param_hint="--brand",
                )
            brand = names[brand.casefold()]
        scorer = make_scorer(config.sentiment, config.brands)
    for line in sys.stdin:
        result = scorer.score(line.rstrip("\n"), brand=brand)
        if as_json:
            click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            click.echo(f"{result.label:<8} {result.compound:+.3f}  {'; '.join(result.reasons)}")


@cli.command("test-alert")
@config_option
@click.option("--channel", "names", multiple=True, help="Only this channel (repeatable).")
@click.pass_context
def test_alert(ctx: click.Context, config_path: Path, names: tuple[str, ...]) -> None:
    """Send a sample alert to each channel and report, per channel, success or why not.

    A success also resumes a channel that was paused because it failed.
    Exits 1 if any channel failed.
    """
    from alerts.base import sample_alert
    from monitor.errors import AlertError
    from monitor.http import make_client
    from monitor.links import InboxLinks
    from monitor.models import Alert
    from monitor.service import build_channels
    from monitor.store import Store

    config = load_config(config_path)
    known = [c.name for c in config.channels]
    for name in names:
        if name not in known:
            raise click.BadParameter(
                f"no channel '{name}' (channels: {', '.join(known)})", param_hint="--channel"
            )
    chosen = [c for c in config.channels if not names or c.name in names]
    links = InboxLinks.of(config.web.public_url)

    def with_links(alert: Alert) -> Alert:
        return links.attach(alert) if links is not None else alert

    failed = 0
    with make_client() as http:
        channels = build_channels(chosen, http)
        store = Store(config.database)
        try:
            for name, channel in channels.items():
                try:
                    channel.send(with_links(sample_alert(name)))
                except AlertError as exc:
                    failed += 1
                    click.echo(f"{name}: FAILED: {exc.message}")
                    continue
                finally:
                    channel.close()
                resumed = store.resume_channel(name)
                click.echo(f"{name}: OK" + (" (was paused; resumed)" if resumed else ""))
        finally:
            store.close()
    for c in chosen:
        if not c.enabled:
            click.echo(f"{c.name}: skipped (enabled: false)")
    if failed:
        ctx.exit(1)


@cli.command()
@config_option
def stats(config_path: Path) -> None:
    """Mentions per brand, how fast negatives were answered, delivery per channel, source
    health and undeliverable alerts."""
    from datetime import timedelta

    from monitor.http import make_client
    from monitor.service import build_connectors
    from monitor.store import Store

    config = load_config(config_path, secrets=False)
    store = Store(config.database)
    try:
        now = datetime.now(UTC)
        windows = {
            "24h": store.counts_by_brand(now - timedelta(hours=24)),
            "7d": store.counts_by_brand(now - timedelta(days=7)),
            "all": store.counts_by_brand(),
        }
        click.echo("Mentions (negative in brackets):      24h        7d       all")
        for brand in config.brands:
            cells = [windows[w].get(brand.name, (0, 0)) for w in ("24h", "7d", "all")]
            row = "".join(f"{f'{n:,} ({neg:,})':>10}" for n, neg in cells)
            click.echo(f"  {terminal_safe(brand.name):<34}{row}")
        _responses(store, config, now - timedelta(days=30))
        _status(store, config)
        with make_client() as http:
            usages = {
                name: connector.usage()
                for name, connector in build_connectors(config, http, store).items()
            }
        metered = {name: u for name, u in usages.items() if u is not None}
        if metered:
            click.echo("Metered use:")
            for name, usage in metered.items():
                click.echo(f"  {name}: {_usage(usage)}")
    finally:
        store.close()
    if config.left_out:
        click.echo("Left out here, their secrets are not set (`run` needs them):")
        for line in config.left_out:
            click.echo(f"  {line}")


@cli.command()
@config_option
def status(config_path: Path) -> None:
    """Which `run` processes (workers) are running on this database, what each is doing
    and since when; then each source's health and what the channels delivered."""
    from monitor.store import Leases, Store, Workers
    from monitor.workers import describe_workers

    config = load_config(config_path, secrets=False)
    store = Store(config.database)
    try:
        now = datetime.now(UTC)
        lines = describe_workers(Workers(store).all(), Leases(store).held(now), now)
        for line in lines:
            click.echo(terminal_safe(line))
        _status(store, config)
    finally:
        store.close()


def _responses(store: Any, config: Any, since: datetime) -> None:
    """Per brand: posting -> alert and alert -> first answer (medians), unanswered negatives."""
    from monitor.followup import human, response_stats

    stats = response_stats(store, since)
    out = click.echo
    out("Negative mentions of the last 30 days (median times):")
    head = f"{'negative':>9}{'posted->alert':>15}{'alert->answer':>15}{'unanswered':>12}"
    out(f"  {'brand':<26}{head}")
    for brand in config.brands:
        r = stats.get(brand.name)
        if r is None:
            out(f"  {terminal_safe(brand.name):<26}{0:>9}{'-':>15}{'-':>15}{0:>12}")
            continue
        out(
            f"  {terminal_safe(brand.name):<26}{r.negatives:>9}"
            f"{human(r.median(r.post_to_alert)):>15}{human(r.median(r.alert_to_ack)):>15}"
            f"{r.unanswered:>12}"
        )
        if r.unanswered:
            ids = " ".join(f"#{i}" for i in r.unanswered_ids[-8:])
            more = f" and {r.unanswered - 8} more" if r.unanswered > 8 else ""
            out(f"    waiting for an answer: {ids}{more} (`mention-monitor mentions ack ID`)")


def main() -> None:
    cli(prog_name="mention-monitor")
