"""`mention-monitor init` in a terminal: a few questions, then a commented config and an .env.

It asks for the shop's name, the other names people use for it (handles, hashtags,
spellings), where to look (Hacker News needs no key; each other source says what it needs)
and one channel for alerts (Slack, e-mail, Telegram, or just the console). Secrets are typed
without being shown, written to ``.env`` beside the config (mode 600) and referred to in the
config as ``${VAR}``. Nothing is written before the last answer: Ctrl-C at any question
leaves no file, and each file is written whole (a temporary file, then renamed) with Ctrl-C
held back until both are in place. An existing config or .env is changed only after asking.
"""

from __future__ import annotations

import os
import re
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import click

from monitor.starter import CHANNELS, SOURCES, Answers, env_text, quoted, render

_URL = re.compile(r"https?://[^\s/]+\S*")


def _ask(
    text: str, *, default: str | None = None, check: Callable[[str], str] | None = None
) -> str:
    """A question; ``check`` returns the cleaned answer or raises BadParameter to ask again."""

    def proc(value: str) -> str:
        value = value.strip()
        if check is not None:
            return check(value)
        if not value:
            raise click.BadParameter("please answer (Ctrl-C stops without writing anything)")
        return value

    answer: str = click.prompt(text, default=default, value_proc=proc, show_default=bool(default))
    return answer


def _secret(text: str, check: Callable[[str], str] | None = None) -> str:
    """A secret: not shown while typed (paste it, then Enter)."""

    def proc(value: str) -> str:
        value = value.strip()
        if not value:
            raise click.BadParameter("please paste it (Ctrl-C stops without writing anything)")
        if "${" in value:  # the .env reader would take it for a variable of its own
            raise click.BadParameter("it holds ${, which .env files cannot keep: set it yourself")
        return check(value) if check is not None else value

    answer: str = click.prompt(f"{text} (not shown as you type)", hide_input=True, value_proc=proc)
    click.echo(f"  got it ({len(answer)} characters)")
    return answer


def _url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise click.BadParameter("write the whole address, starting with https://")
    return value


def _items(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _numbers(count: int, many: bool) -> Callable[[str], list[int]]:
    def parse(value: str) -> list[int]:
        picked = _items(value)
        if not picked or (not many and len(picked) > 1):
            raise click.BadParameter("write one number" if not many else "write the numbers")
        if any(not p.isdigit() or not 1 <= int(p) <= count for p in picked):
            raise click.BadParameter(f"write numbers from 1 to {count}, separated by commas")
        return sorted({int(p) for p in picked})

    return parse


def _menu(title: str, options: list[str], *, default: str, many: bool) -> list[int]:
    click.echo(title)
    for i, option in enumerate(options, start=1):
        click.echo(f"  {i}. {option}")
    prompt = "Numbers, separated by commas" if many else "Number"
    picked: list[int] = click.prompt(
        prompt, default=default, value_proc=_numbers(len(options), many)
    )
    return picked


def ask() -> Answers:
    """The dialogue. Raises click.Abort on Ctrl-C (or end of input)."""
    click.echo(
        "Let's set up mention-monitor for your shop. Press Enter to take the suggestion in "
        "[brackets]; Ctrl-C stops without writing anything.\n"
    )
    brand = _ask("Your shop's (or brand's) name, as people write it")
    others = _ask(
        "Other names people use for it: your @handles, #hashtags and other spellings, "
        "separated by commas (Enter for none)",
        default="",
        check=lambda v: v,
    )
    keywords = list(dict.fromkeys([brand, *_items(others)]))
    answers = Answers(brand=brand, keywords=keywords, sources={})
    click.echo("")
    picked = _menu(
        "Where should it look?",
        [f"{label}: {needs}" for _, label, needs in SOURCES],
        default="1",
        many=True,
    )
    for number in picked:
        name = SOURCES[number - 1][0]
        answers.sources[name] = _SOURCE_QUESTIONS[name](answers)
    click.echo("")
    (choice,) = _menu(
        "Where should alerts go?", [label for _, label in CHANNELS], default="4", many=False
    )
    kind = CHANNELS[choice - 1][0]
    answers.channel_type = kind
    answers.channel = _CHANNEL_QUESTIONS[kind](answers)
    return answers


# ------------------------------------------------------------------ sources


def _hackernews(_answers: Answers) -> list[str]:
    return []  # the template's own entry


def _rss(answers: Answers) -> list[str]:
    click.echo(
        "  A feed's address: for Google Alerts, make an alert for your shop's name, choose "
        '"Deliver to: RSS feed", then copy the feed icon\'s link.'
    )
    feeds = _ask(
        "  Feed addresses, separated by commas",
        check=lambda v: ",".join(_url(u) for u in _items(v)) or _url(""),
    )
    lines = ["feeds:"]
    for url in _items(feeds):
        lines += [f"  - url: {url}", f"    brand: {quoted(answers.brand)}"]
    return lines


def _mastodon(_answers: Answers) -> list[str]:
    server = _ask("  Which Mastodon server", default="https://mastodon.social", check=_url)
    return ["instances:", f"  - url: {server}"]


def _reddit(answers: Answers) -> list[str]:
    subreddits = _ask(
        "  Subreddits to read (your town's, your trade's), separated by commas, without r/",
        check=_subreddits,
    )
    lines = [f"subreddits: [{subreddits}]"]
    if click.confirm("  Do you have a Reddit app (a client id and secret)?", default=False):
        answers.secrets["REDDIT_CLIENT_ID"] = _secret("  Its client id")
        answers.secrets["REDDIT_CLIENT_SECRET"] = _secret("  Its secret")
        lines += ["client_id: ${REDDIT_CLIENT_ID}", "client_secret: ${REDDIT_CLIENT_SECRET}"]
    return lines


def _subreddits(value: str) -> str:
    names = [s.removeprefix("/").removeprefix("r/").strip("/") for s in _items(value)]
    if not names or not all(re.fullmatch(r"[A-Za-z0-9_]{2,21}", n) for n in names):
        raise click.BadParameter("write names as in r/<name>, like coffee, london")
    return ", ".join(names)


def _bluesky(answers: Answers) -> list[str]:
    handle = _ask("  Your Bluesky handle (like acmecoffee.bsky.social)", check=_handle)
    click.echo("  An app password: Bluesky, Settings, Privacy and security, App passwords, Add.")
    answers.secrets["BLUESKY_APP_PASSWORD"] = _secret("  The app password")
    return [f"handle: {handle}", "app_password: ${BLUESKY_APP_PASSWORD}"]


def _handle(value: str) -> str:
    value = value.lstrip("@")
    if not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}", value):
        raise click.BadParameter("write it like acmecoffee.bsky.social")
    return value


def _x(answers: Answers) -> list[str]:
    click.echo(
        "  The bearer token: X Developer Console, your app, Keys and tokens. X bills every "
        "post it returns; the config keeps a monthly budget of 10,000 posts."
    )
    answers.secrets["X_BEARER_TOKEN"] = _secret("  The bearer token")
    return ["bearer_token: ${X_BEARER_TOKEN}", "monthly_read_budget: 10000"]


_SOURCE_QUESTIONS: dict[str, Callable[[Answers], list[str]]] = {
    "hackernews": _hackernews,
    "rss": _rss,
    "mastodon": _mastodon,
    "reddit": _reddit,
    "bluesky": _bluesky,
    "x": _x,
}


# ------------------------------------------------------------------ channels


def _slack(answers: Answers) -> list[str]:
    click.echo(
        '  In Slack: add the app "Incoming WebHooks" (or make an app with an incoming '
        "webhook) for the channel you want, and copy its Webhook URL."
    )
    answers.secrets["SLACK_WEBHOOK_URL"] = _secret("  The webhook URL", check=_url)
    return [
        "type: slack                  # test it with `mention-monitor test-alert`",
        "webhook_url: ${SLACK_WEBHOOK_URL}",
    ]


def _email(answers: Answers) -> list[str]:
    click.echo("  Your mail provider's SMTP settings (in its help pages, or your mail app's).")
    host = _ask("  SMTP server", check=_host)
    port = _ask("  Port (587 usually; 465 for SSL)", default="587", check=_port)
    username = _ask("  User name (often your address; Enter for none)", default="", check=str)
    lines = ["type: email", f"host: {host}", f"port: {port}"]
    if port == "465":
        lines.append("security: ssl")
    if username:
        answers.secrets["SMTP_PASSWORD"] = _secret("  Password")
        lines += [f"username: {quoted(username)}", "password: ${SMTP_PASSWORD}"]
    sender = _ask(
        "  Send from (an address the server lets you send as)",
        default=username if "@" in username else None,
        check=_address,
    )
    to = _ask("  Send alerts to", default=sender, check=_address)
    return [*lines, f"from: {quoted(sender)}", f"to: [{quoted(to)}]"]


def _host(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9.-]+", value):
        raise click.BadParameter("write the server's name, like smtp.example.com")
    return value


def _port(value: str) -> str:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise click.BadParameter("write a number, like 587")
    return value


def _address(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise click.BadParameter("write an e-mail address, like owner@example.com")
    return value


def _telegram(answers: Answers) -> list[str]:
    click.echo(
        "  In Telegram: message @BotFather, send /newbot, and copy the token it gives. Then "
        "send your bot a message, and find your chat id (e.g. message @userinfobot)."
    )
    answers.secrets["TELEGRAM_BOT_TOKEN"] = _secret("  The bot token", check=_bot_token)
    chat = _ask("  Your chat id (a number)", check=_chat_id)
    return [
        "type: apprise                # Telegram, through Apprise",
        "name: telegram",
        f'urls: ["tgram://${{TELEGRAM_BOT_TOKEN}}/{chat}"]',
    ]


def _bot_token(value: str) -> str:
    if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", value):
        raise click.BadParameter("a bot token looks like 123456789:AAE...; paste it whole")
    return value


def _chat_id(value: str) -> str:
    if not re.fullmatch(r"-?\d+", value):
        raise click.BadParameter("a chat id is a number, like 123456789 (groups: -100...)")
    return value


def _console(_answers: Answers) -> list[str]:
    return []


_CHANNEL_QUESTIONS: dict[str, Callable[[Answers], list[str]]] = {
    "slack": _slack,
    "email": _email,
    "telegram": _telegram,
    "console": _console,
}


# ------------------------------------------------------------------ writing


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Ctrl-C while the files are written takes effect once they are all in place."""
    caught: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)

    previous: Any = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def write_whole(path: Path, text: str, mode: int = 0o644) -> None:
    """``path`` gets ``text`` whole or not at all (a temporary file beside it, renamed)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def env_plan(env_path: Path, secrets: dict[str, str]) -> str | None:
    """The .env text to write, after asking about an existing one; None to leave it alone."""
    if not secrets:
        return None
    if not env_path.exists():
        return env_text(secrets)
    existing = env_path.read_text(encoding="utf-8")
    if not click.confirm(
        f"{env_path} already exists. Add the new secrets to it (its other lines are kept)?",
        default=True,
    ):
        names = ", ".join(secrets)
        click.echo(f"  Not changed. Set these yourself before `run`: {names}")
        return None
    present = set(re.findall(r"^\s*(?:export\s+)?([A-Za-z_]\w*)\s*=", existing, re.MULTILINE))
    keep = {
        name: value
        for name, value in secrets.items()
        if name not in present
        or click.confirm(f"  {name} is already in it. Replace its value?", default=False)
    }
    return env_text(keep, existing) if keep else None


def write(path: Path, answers: Answers) -> Path | None:
    """Writes the config and, with secrets, the env file beside it; returns the env file."""
    env_path = path.parent / ".env"
    env = env_plan(env_path, answers.secrets)
    config = render(answers)
    with _ctrl_c_held():
        if env is not None:
            write_whole(env_path, env, 0o600)
        write_whole(path, config)
    return env_path if env is not None else None
