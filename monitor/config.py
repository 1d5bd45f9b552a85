"""Loading and validating config.yaml.

The owner edits one YAML file, so every problem in it is reported at once,
each with the file, the line and the key path, e.g.::

    config.yaml:14: brands[0].keywords: must not be empty

Secrets are written as ``${ENV_VAR}`` references and resolved here, from the
environment and from an env file (``.env`` beside the config, or ``env_file:``);
the environment wins, as with docker-compose. A missing variable is an error that
names it, except for commands that only read the database (``secrets=False``):
for them a source or channel whose secret is missing is left out, not built.
Each source and channel brings its own pydantic model (``extra="forbid"``),
looked up by name in the registries.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from monitor.config_errors import clean_loc, every_warning, suggestion, translate
from monitor.config_yaml import Lines, find_dollars, load_yaml
from monitor.errors import ConfigError
from monitor.redact import remember_config

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_DURATION_FULL = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*[smhd]\s*)+")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SPELLED = re.compile(r"(\d+(?:\.\d+)?)\s*(sec(?:ond)?s?|min(?:ute)?s?|h(?:ou)?rs?|hours?|days?)")


def parse_duration(value: object) -> timedelta:
    """``30s``, ``5m``, ``1h``, ``2d`` or combinations like ``1h30m``."""
    if isinstance(value, timedelta):
        return value
    hint = "write a number and a unit, like 30s, 5m, 1h, 2d"
    if value is None or value == "":
        raise ValueError(f"is empty: {hint}")
    text = value.strip() if isinstance(value, str) else str(value)
    if isinstance(value, str) and _DURATION_FULL.fullmatch(value):
        seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(value))
        if seconds > 0:
            return timedelta(seconds=seconds)
        raise ValueError(f"must be longer than 0: {hint}")
    if text.startswith("-") and _DURATION_FULL.fullmatch(text[1:]):
        raise ValueError(f"must be longer than 0: {hint}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{text} is not a duration: add a unit, like {text}s or {text}m")
    if not isinstance(value, str):
        raise ValueError(f"is not a duration: {hint}")
    spelled = _SPELLED.fullmatch(text.lower())
    if spelled:
        hint = f"write {spelled.group(1)}{spelled.group(2)[0]}"
    raise ValueError(f"'{text}' is not a duration: {hint}")


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True, populate_by_name=True
    )


def _non_empty_terms(values: list[str]) -> list[str]:
    cleaned = [v.strip() for v in values]
    if any(not v for v in cleaned):
        raise ValueError("an entry is empty")
    return cleaned


Sensitivity = Literal["low", "normal", "high"]


class BrandSentiment(StrictModel):
    """A brand's own tuning of the complaint scorer (``brands[].sentiment``)."""

    #: Words or phrases that mean trouble in this trade ("cold", "soggy" for a café).
    trouble: list[str] = Field(
        default=[],
        description="words or phrases that mean trouble in your trade, though not in general"
        ' ("cold", "soggy" for a café; "flat" for a bike shop); each counts as a complaint'
        ' cue, unless negated ("not cold")',
    )
    #: Words or phrases that are not trouble here ("killer", "sick" for a skate shop).
    not_trouble: list[str] = Field(
        default=[],
        description='words or phrases that are not trouble for you ("killer", "sick" for a'
        " skate shop); they are ignored, by VADER and by the complaint cues",
    )
    #: ``high`` flags more mentions, ``low`` fewer; unset: ``sentiment.sensitivity``.
    sensitivity: Sensitivity | None = Field(
        default=None,
        description="`low`, `normal` or `high` for this brand; unset: `sentiment.sensitivity`",
    )

    @field_validator("trouble", "not_trouble")
    @classmethod
    def _terms(cls, value: list[str]) -> list[str]:
        return _non_empty_terms(value)


class BrandConfig(StrictModel):
    """One brand to watch: what it is called and the words that mean it."""

    name: str = Field(
        min_length=1, description="the brand's name, shown in alerts; unique (ignoring case)"
    )
    keywords: list[str] = Field(
        description="names, `@handles` and `#tags` that mean the brand: a mention must contain"
        " one of them, as a whole word or phrase (case does not matter), to be kept"
    )
    exclude: list[str] = Field(
        default=[],
        description="a mention containing any of these is dropped for this brand (a namesake,"
        " another company)",
    )
    sources: list[str] | None = Field(
        default=None,
        description="look for this brand only in these sources (their names under `sources:`);"
        " unset: every source",
    )
    sentiment: BrandSentiment | None = Field(
        default=None, description="this brand's own tuning of the complaint scorer"
    )

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must not be empty: list the names, @handles and #tags of the brand")
        return _non_empty_terms(value)

    @field_validator("exclude")
    @classmethod
    def _exclude(cls, value: list[str]) -> list[str]:
        return _non_empty_terms(value)


class SentimentConfig(StrictModel):
    """When a mention counts as negative, and when it is serious.

    ``scorer``: ``complaint`` (VADER plus complaint cues, the default) or ``vader``
    (VADER alone). ``sensitivity`` moves the complaint scorer's threshold for every
    brand that does not set its own.
    """

    scorer: Literal["complaint", "vader"] = Field(
        default="complaint",
        description="`complaint`: VADER (a general-purpose list of positive and negative words)"
        ' plus cues of what a complaint looks like, such as "still waiting"; `vader`: VADER'
        " alone",
    )
    negative_below: float = Field(
        default=-0.05,
        ge=-1,
        le=1,
        description="a mention whose score (from -1, very negative, to +1, very positive) is at"
        " or below this is negative",
    )
    high_below: float = Field(
        default=-0.6,
        ge=-1,
        le=1,
        description="a negative mention at or below this is of `high` severity",
    )
    sensitivity: Sensitivity = Field(
        default="normal",
        description="how readily the `complaint` scorer flags a complaint: `high` flags more"
        " (its cues weigh 1.5 times as much), `low` fewer (cues weigh 0.6 times as much and the"
        " threshold is 0.1 lower); a brand can set its own",
    )


class AlertsConfig(StrictModel):
    console: bool = Field(
        default=True,
        description="also print every alert on the console, even when no console channel is listed",
    )
    dispatch_every: Duration = Field(
        default=timedelta(seconds=30),
        description="how often waiting alerts (and retries) are sent, besides right after each"
        " poll",
    )
    give_up_after: Duration = Field(
        default=timedelta(hours=24),
        description="a channel that keeps failing is retried (30 s, 1 min, 2 min, ... up to"
        " hourly) for this long; then the alert is marked undeliverable, and `check` and"
        " `stats` list it",
    )
    retry_base: Duration = Field(
        default=timedelta(seconds=30),
        description="the first wait before a retry; each further one doubles, up to an hour,"
        " give or take 20% so that retries do not all come at once",
    )
    health_after: int = Field(
        default=3,
        ge=1,
        description='a source that fails this many polls in a row sends every channel one "has'
        ' stopped working" alert, with the error and its fix, and one "works again" when it'
        " recovers",
    )
    silence_factor: float = Field(
        default=10.0,
        ge=2,
        description="a source that polls fine but has brought nothing new for this many times"
        " its usual gap between mentions (the middle one of its last 50 gaps, at least an hour;"
        ' once it has 20) sends one "has gone quiet" alert',
    )
    #: A negative mention still ``new`` this long after its alert gets one reminder;
    #: ``off`` for none.
    remind_after: Duration | None = Field(
        default=timedelta(hours=4),
        description="a negative mention still `new` (not acknowledged, resolved or ignored)"
        " this long after it was first seen gets one reminder, on the channels that had its"
        " alert; `off` for none",
    )
    channels: list[dict[str, Any]] = Field(
        default=[], description="the channels that are told; the console is always one"
    )

    @field_validator("remind_after", mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        return None if value in ("off", False) else value


class SpreadConfig(StrictModel):
    """Spread tracking: re-reading the engagement of recent negative mentions.

    Each source's thresholds are under ``sources.<name>.spread``; these keys are
    shared. ``schedule`` is the wait before each reading: the first after the
    mention was seen, the last repeated; a post that is moving goes back to the
    first step.
    """

    enabled: bool = Field(default=True, description="`false`: no tracking, no escalation alerts")
    track_for: Duration = Field(
        default=timedelta(hours=48), description="posts older than this are no longer re-read"
    )
    #: 5m then every 15m: a reading of 100 (HN, Reddit) or 20-25 posts (Mastodon,
    #: Bluesky) is one request, and a complaint can take off hours after it was posted.
    #: X, which bills each read, thins out on its own schedule.
    schedule: list[Duration] = Field(
        default_factory=lambda: [timedelta(minutes=5), timedelta(minutes=15)],
        min_length=1,
        description="the wait before each reading of a tracked post, the last one repeated"
        " (X has its own, `[5m, 20m, 1h, 6h]`); a longer one, like `[5m, 15m, 1h, 3h]`,"
        " spends fewer requests on posts that do not move",
    )
    #: A negative reply or quote counts as this many likes/points towards a post's heat.
    reply_weight: float = Field(
        default=3.0,
        ge=0,
        description="a negative reply or quote counts as this many likes or points",
    )
    #: A metered source (X) refreshes only while less than this share of its budget is used,
    #: so that finding new complaints keeps the rest.
    budget_share: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="a source that bills each read (X) re-reads only while less than this"
        " share of its monthly budget is used, so that finding new complaints keeps the rest",
    )


class SpikesConfig(StrictModel):
    """A spike: a brand's negative mentions in the last hour against its own baseline."""

    enabled: bool = Field(default=True, description="`false`: no spike alerts")
    baseline: Duration = Field(
        default=timedelta(days=7),
        description="how far back a brand's normal number of negative mentions an hour is"
        " measured (or as long as the database has existed)",
    )
    factor: float = Field(
        default=3.0,
        ge=1,
        description="a spike: the last hour holds this many times the normal hourly count",
    )
    min_count: int = Field(default=5, ge=2, description="and at least this many negative mentions")
    repeat_after: Duration = Field(
        default=timedelta(hours=6),
        description="the least time between two spike alerts for one brand",
    )


def split_listen(value: str) -> tuple[str, int]:
    """``127.0.0.1:8080`` -> ("127.0.0.1", 8080); ``[::1]:8080`` -> ("::1", 8080)."""
    host, sep, port = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(
            f"'{value}' is not HOST:PORT: write e.g. 127.0.0.1:8080 (this machine only) "
            "or 0.0.0.0:8080 (every network it is on; needs web.password)"
        )
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Only this machine can reach ``host``: localhost, 127.x.x.x or ::1."""
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything


class WebConfig(StrictModel):
    """The inbox (``web:``): the page where the owner sees and answers mentions.

    ``enabled``: ``run`` serves it. ``listen``: HOST:PORT. ``public_url``: the address the
    owner opens (behind a reverse proxy, with its path prefix); alerts link there.
    ``password``: required when ``listen`` is not this machine only. ``api_token``: turns on
    the JSON API, exports by token and the Atom feeds.
    """

    enabled: bool = Field(
        default=True,
        description="`run` serves the inbox; `false`: it does not (`mention-monitor web`"
        " still can)",
    )
    listen: str = Field(
        default="127.0.0.1:8080",
        description="`HOST:PORT` to serve on; `127.0.0.1` is this machine only. Anything else"
        " (`0.0.0.0:8080`, every network) needs `password`, or the service refuses to start",
    )
    public_url: str | None = Field(
        default=None,
        description="the address you open, e.g. `https://shop.example/monitor` behind a"
        " reverse proxy: its path is the inbox's prefix, alerts link there, and `https` makes"
        " the login cookie secure",
    )
    password: SecretStr | None = Field(
        default=None,
        description="the owner's password, as `${MENTION_MONITOR_PASSWORD}` (at least 8"
        " characters); without it the inbox is open to whoever can reach `listen`",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="`${MENTION_MONITOR_API_TOKEN}`: turns on the JSON API, exports by token"
        " and the Atom feeds (see docs/api.md)",
    )

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        split_listen(value)
        return value.strip()

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"'{value}' is not the address of a page: write it as the owner opens it, "
                "e.g. https://shop.example/monitor"
            )
        if parts.query or parts.fragment:
            raise ValueError("must not have a ?query or #fragment: just the address")
        return value.strip().rstrip("/")

    @field_validator("password", "api_token")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # an empty ${VAR}: as if not set
        if len(value.get_secret_value()) < 8:
            raise ValueError("is too short: use at least 8 characters (better 16 or more)")
        return value

    @property
    def host(self) -> str:
        return split_listen(self.listen)[0]

    @property
    def port(self) -> int:
        return split_listen(self.listen)[1]

    @property
    def root_path(self) -> str:
        """The path prefix a reverse proxy serves the inbox under ("" or "/monitor")."""
        if self.public_url is None:
            return ""
        return urlsplit(self.public_url).path.rstrip("/")

    @property
    def https(self) -> bool:
        return self.public_url is not None and self.public_url.startswith("https:")

    def exposure_problem(self) -> str | None:
        """Why serving as configured is refused: beyond this machine without a password."""
        if is_loopback(self.host) or self.password is not None:
            return None
        return (
            f"{self.listen} can be reached from other machines, but web.password "
            "is not set: anyone could read and answer your mentions. Set web.password "
            "(e.g. password: ${MENTION_MONITOR_PASSWORD}, and export that variable), or "
            "listen on 127.0.0.1 only (behind a reverse proxy)"
        )


class _FileConfig(StrictModel):
    """The top level of config.yaml, before sources and channels are resolved."""

    database: str = Field(
        default="sqlite:///mentions.db",
        description="where mentions and the alert queue are kept: by default the file"
        " `mentions.db` beside the config file (a relative path is relative to the config"
        " file), created by the first `run` or `poll`; an existing file that is empty or not"
        " mention-monitor's is refused. A big install can use PostgreSQL, e.g."
        " `postgresql://monitor:${DB_PASSWORD}@db/mentions` (see docs/operations.md)",
    )
    env_file: str | None = Field(
        default=None,
        description="a file of `NAME=value` lines that `${NAME}` in this config may use,"
        " relative to the config file; unset: `.env` beside the config file, if there. A"
        " variable set in the real environment wins over the file",
    )
    brands: list[BrandConfig] = Field(min_length=1, description="what to watch")
    sources: dict[str, dict[str, Any] | None] = Field(
        min_length=1,
        description="where to look; a source with no settings (`hackernews:` alone) takes its"
        " defaults",
    )
    alerts: AlertsConfig = Field(
        default=AlertsConfig(), description="who is told, and how alerts are followed up"
    )
    sentiment: SentimentConfig = Field(
        default=SentimentConfig(), description="when a mention counts as negative"
    )
    spread: SpreadConfig = Field(
        default=SpreadConfig(),
        description="re-reading young negative posts to catch the ones that take off",
    )
    spikes: SpikesConfig = Field(
        default=SpikesConfig(), description="bursts of negative mentions of one brand"
    )
    web: WebConfig = Field(default=WebConfig(), description="the inbox, the web page `run` serves")


@dataclass
class Config:
    """A validated configuration, ready for the service."""

    path: Path | None
    database: str
    brands: list[BrandConfig]
    sources: dict[str, Any]  # name -> the connector's own config model
    channels: list[Any]  # the channels' own config models
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    sentiment: SentimentConfig = field(default_factory=SentimentConfig)
    spread: SpreadConfig = field(default_factory=SpreadConfig)
    spikes: SpikesConfig = field(default_factory=SpikesConfig)
    web: WebConfig = field(default_factory=WebConfig)
    #: The env file the secrets were read from, if any.
    env_file: Path | None = None
    #: Sources and channels left out because their secrets are not set (``secrets=False``),
    #: each as "channel slack: SLACK_WEBHOOK_URL is not set".
    left_out: list[str] = field(default_factory=list)
    #: The file as written (ruamel's tree: quotes kept, ``${VAR}`` not resolved), for `check`.
    written: dict[str, Any] = field(default_factory=dict)
    #: What works but should change, each "config.yaml:9: sources.x.every: ...".
    warnings: list[str] = field(default_factory=list)

    def brands_for(self, source: str) -> list[BrandConfig]:
        return [b for b in self.brands if b.sources is None or source in b.sources]


# ---------------------------------------------------------------- problems


def format_path(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


class _Problems:
    def __init__(self, filename: str, lines: Lines) -> None:
        self.filename = filename
        self.lines = lines
        self.items: list[tuple[int, str]] = []
        #: Values already explained (an unset ``${VAR}``, a ``$VAR`` without braces): that is
        #: their one problem, not the "not a URL" their empty or literal value then causes.
        self.unset: set[tuple[Any, ...]] = set()
        self.warnings: list[tuple[int, str]] = []
        self.paths: set[tuple[Any, ...]] = set()

    def where(self, path: tuple[Any, ...]) -> tuple[int, str]:
        line = self.lines.line_of(path)
        where = f"{self.filename}:{line}" if line else self.filename
        return line or 0, f"{where}: {format_path(path)}"

    def add(self, path: tuple[Any, ...], message: str, *, unset: bool = False) -> None:
        """One problem per key: the first said is the one to fix."""
        if (path in self.unset and not unset) or path in self.paths:
            return
        self.paths.add(path)
        line, where = self.where(path)
        self.items.append((line, f"{where}: {message}"))

    def warn(self, path: tuple[Any, ...], message: str) -> None:
        line, where = self.where(path)
        self.warnings.append((line, f"{where}: {message}"))

    def add_validation(
        self, exc: ValidationError, prefix: tuple[Any, ...], model: type[BaseModel]
    ) -> None:
        """Every error of a model, in the owner's words (monitor/config_errors.py).

        A misspelt key is one problem: "did you mean `keywords`?", not also "keywords is
        required"."""
        errors = exc.errors()
        meant = {
            (*loc[:-1], hint)
            for err in errors
            if err["type"] == "extra_forbidden"
            for loc in [clean_loc(err["loc"])]
            if (hint := suggestion(loc, model))
        }
        for err in errors:
            if err["type"] == "missing" and clean_loc(err["loc"]) in meant:
                continue
            loc = prefix + clean_loc(err["loc"])
            if err["type"] == "value_error" and any(
                u[: len(loc)] == loc and len(u) > len(loc) for u in self.unset
            ):
                continue  # a check across keys, failing because one of them is not set
            self.add(loc, translate(err, model, prefix))

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError([text for _, text in sorted(self.items, key=lambda i: i[0])])


Missing = list[tuple[tuple[Any, ...], str]]


def _resolve_env(node: Any, path: tuple[Any, ...], env: dict[str, str], missing: Missing) -> Any:
    """Substitute every ``${VAR}``; the unset ones are listed in ``missing`` (path, name)."""
    if isinstance(node, dict):
        return {k: _resolve_env(v, (*path, k), env, missing) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_env(v, (*path, i), env, missing) for i, v in enumerate(node)]
    if isinstance(node, str):

        def substitute(match: re.Match[str]) -> str:
            value = env.get(match.group(1))
            if value is None:
                missing.append((path, match.group(1)))
                return ""
            return value

        return _ENV_REF.sub(substitute, node)
    return node


def _environment(
    tree: dict[str, Any], base_dir: Path | None, problems: _Problems
) -> tuple[dict[str, str], Path | None]:
    """The variables ``${VAR}`` may use: the env file's, overridden by the real environment."""
    named = tree.get("env_file")
    env_file: Path | None = None
    if isinstance(named, str) and named.strip():
        env_file = (base_dir or Path.cwd()) / Path(named.strip()).expanduser()
        if not env_file.is_file():
            problems.add(("env_file",), f"{env_file}: no such file")
            env_file = None
    elif named is not None:
        problems.add(("env_file",), "must be the path of a file, e.g. .env")
    elif base_dir is not None and (base_dir / ".env").is_file():
        env_file = base_dir / ".env"
    values: dict[str, str] = {}
    if env_file is not None:
        try:
            values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
        except (OSError, UnicodeDecodeError) as exc:
            problems.add(("env_file",), f"{env_file} cannot be read: {exc}")
            env_file = None
    return {**values, **os.environ}, env_file


def _optional_owner(path: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The source or channel a value belongs to: what a read-only command can leave out."""
    if len(path) >= 2 and path[0] == "sources":
        return path[:2]
    if len(path) >= 3 and path[:2] == ("alerts", "channels") and isinstance(path[2], int):
        return path[:3]
    return None


# ---------------------------------------------------------------- loading


def load_config(
    path: str | os.PathLike[str], *, secrets: bool = True, web_secrets: bool | None = None
) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem.

    ``secrets=False`` is for commands that only read the database: a source or
    channel whose ``${VAR}`` is not set is left out (``Config.left_out``) instead
    of being an error, and so are the inbox's password and API token unless
    ``web_secrets`` (default: as ``secrets``) asks for them (``mention-monitor web``).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such file (create one with `mention-monitor init {file}`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot be read: {exc}") from None
    return parse_config(
        text,
        filename=str(file),
        base_dir=file.resolve().parent,
        path=file,
        secrets=secrets,
        web_secrets=web_secrets,
    )


def parse_config(
    text: str,
    *,
    filename: str = "config.yaml",
    base_dir: Path | None = None,
    path: Path | None = None,
    secrets: bool = True,
    web_secrets: bool | None = None,
) -> Config:
    """Validate config text; ``base_dir`` is where relative paths (and ``.env``) are.

    With the inbox's secrets resolved (``web_secrets``, default ``secrets``) and ``web``
    enabled, listening beyond this machine without ``web.password`` is a problem.
    """
    if web_secrets is None:
        web_secrets = secrets
    tree = load_yaml(text, filename)
    lines = Lines()
    lines.record(tree)
    problems = _Problems(filename, lines)
    plain = _plain(tree)
    env, env_file = _environment(plain, base_dir, problems)
    for where, message in find_dollars(plain, env):
        problems.add(where, message)
        problems.unset.add(where)
    missing: Missing = []
    data = _resolve_env(plain, (), env, missing)
    left_out: dict[tuple[Any, ...], list[str]] = {}
    for where, name in missing:
        owner = None if secrets else _optional_owner(where)
        if where[:2] in (("web", "password"), ("web", "api_token")):
            owner = None if web_secrets else where[:2]
        if owner is None:
            problems.add(where, f"environment variable {name} is not set", unset=True)
            problems.unset.add(where)
        elif name not in left_out.setdefault(owner, []):
            left_out[owner].append(name)

    top: _FileConfig | None = None
    try:
        top = _FileConfig.model_validate(data)
    except ValidationError as exc:
        problems.add_validation(exc, (), _FileConfig)
    # Sources and channels are checked even when the top level has problems,
    # so the owner sees every problem in one go.
    raw_sources = {
        name: raw
        for name, raw in _dict(data.get("sources")).items()
        if ("sources", name) not in left_out
    }
    sources = _validate_sources(raw_sources, base_dir, problems)
    raw_channels = _dict(data.get("alerts")).get("channels")
    raw_brands = data.get("brands")
    brand_names = {str(b.get("name")) for b in _list(raw_brands) if isinstance(b, dict)}
    skip = {owner[2] for owner in left_out if owner[0] == "alerts"}
    channels = _validate_channels(_list(raw_channels), brand_names, problems, skip)
    if top is not None:
        _check_brands(top, problems)
        _check_brand_references(sources, {b.name for b in top.brands}, problems)
        database = _resolve_database(top.database, base_dir or Path.cwd(), problems)
        exposure = top.web.exposure_problem() if top.web.enabled and web_secrets else None
        if exposure and ("web", "password") not in problems.unset:
            problems.add(("web", "listen"), exposure)
    problems.raise_if_any()
    assert top is not None
    for name, source in sources.items():
        written = _dict(_dict(plain.get("sources")).get(name)).get("every")
        shown = str(written) if written is not None else format_duration(source.every)
        warning = every_warning(name, source.every, shown) if source.enabled else None
        if warning:
            problems.warn(("sources", name, "every"), warning)
    if top.alerts.console and not any(c.type == "console" for c in channels):
        channels.insert(0, load_channel_config("console", {"type": "console"}))
    # From here on, no text we log, store or send can carry one of its secrets.
    remember_config([*sources.values(), top.web], channels, database)
    return Config(
        path=path,
        database=database,
        brands=top.brands,
        sources=sources,
        channels=channels,
        alerts=top.alerts,
        sentiment=top.sentiment,
        spread=top.spread,
        spikes=top.spikes,
        web=top.web,
        env_file=env_file,
        written=tree,
        warnings=[text for _, text in sorted(problems.warnings, key=lambda w: w[0])],
        left_out=[
            f"{_owner_name(owner, data)}: {', '.join(names)} "
            + ("is" if len(names) == 1 else "are")
            + " not set"
            for owner, names in left_out.items()
        ],
    )


def _owner_name(owner: tuple[Any, ...], data: dict[str, Any]) -> str:
    if owner[0] == "sources":
        return f"source {owner[1]}"
    if owner[0] == "web":
        return f"inbox {owner[1]}"
    raw = _dict(_list(_dict(data.get("alerts")).get("channels"))[owner[2]])
    return f"channel {raw.get('name') or raw.get('type') or owner[2]}"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)  # not ruamel's quoted-string subclass
    return node


def load_channel_config(kind: str, raw: dict[str, Any]) -> Any:
    from alerts import load_channel

    return load_channel(kind).Config.model_validate(raw)


def _validate_sources(
    raw_sources: dict[str, Any], base_dir: Path | None, problems: _Problems
) -> dict[str, Any]:
    """Each source's settings; ``base_dir`` (the config file's folder) reaches validators
    as the context's ``base_dir``, for files a source names (connectors/base.py
    ``config_file``)."""
    from connectors import REGISTRY, load_connector

    sources: dict[str, Any] = {}
    for name, raw in raw_sources.items():
        if name not in REGISTRY:
            problems.add(("sources", name), _unknown("source", name, REGISTRY))
            continue
        model = load_connector(name).Config
        if raw is not None and not isinstance(raw, dict):
            problems.add(("sources", name), "must be a mapping of settings (or empty)")
            continue
        try:
            sources[name] = model.model_validate(raw or {}, context={"base_dir": base_dir})
        except ValidationError as exc:
            problems.add_validation(exc, ("sources", name), model)
    return sources


def _validate_channels(
    raw_channels: list[Any], brand_names: set[str], problems: _Problems, skip: set[int]
) -> list[Any]:
    from alerts import REGISTRY, load_channel

    channels: list[Any] = []
    for i, raw in enumerate(raw_channels):
        if i in skip:
            continue
        where = ("alerts", "channels", i)
        if not isinstance(raw, dict):
            problems.add(where, "must be a mapping with at least `type:`")
            continue
        kind = raw.get("type")
        if kind is None:
            problems.add(where, f"needs `type:`, one of: {', '.join(sorted(REGISTRY))}")
            continue
        if kind not in REGISTRY:
            problems.add((*where, "type"), _unknown("channel type", kind, REGISTRY))
            continue
        model = load_channel(str(kind)).Config
        try:
            channels.append(model.model_validate(raw))
        except ValidationError as exc:
            problems.add_validation(exc, where, model)
    seen: set[str] = set()
    for i, channel in enumerate(channels):
        if channel.name in seen:
            problems.add(
                ("alerts", "channels", i, "name"),
                f"two channels are called '{channel.name}': give each a different `name:`",
            )
        seen.add(channel.name)
        for brand in channel.brands or []:
            if brand not in brand_names:
                problems.add(
                    ("alerts", "channels", i, "brands"), _unknown("brand", brand, brand_names)
                )
    return channels


def _check_brands(top: _FileConfig, problems: _Problems) -> None:
    seen: dict[str, int] = {}
    for i, brand in enumerate(top.brands):
        key = brand.name.casefold()
        if key in seen:
            problems.add(("brands", i, "name"), f"'{brand.name}' is already brands[{seen[key]}]")
        seen.setdefault(key, i)
        for name in brand.sources or []:
            if name not in top.sources:
                problems.add(
                    ("brands", i, "sources"),
                    _unknown("source", name, top.sources) + " under `sources:`",
                )


#: Names owners try that mean one of ours.
_ALIASES = {"twitter": "x", "hn": "hackernews", "bsky": "bluesky", "atom": "rss", "feeds": "rss"}


def _check_brand_references(
    sources: dict[str, Any], brand_names: set[str], problems: _Problems
) -> None:
    """A source setting named `brand` (an RSS feed's) must name a brand under `brands:`."""

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "brand" and isinstance(value, str) and value not in brand_names:
                    problems.add((*path, key), _unknown("brand", value, brand_names))
                walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*path, i))

    for name, source in sources.items():
        walk(source.model_dump(by_alias=True), ("sources", name))


def _unknown(what: str, name: object, known: Any) -> str:
    names = sorted(str(k) for k in known)
    alias = _ALIASES.get(str(name).lower())
    close = [alias] if alias in names else difflib.get_close_matches(str(name), names, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(names) or 'none'}"
    return f"unknown {what} '{name}' ({hint})"


def _resolve_database(url: str, base_dir: Path, problems: _Problems) -> str:
    """Relative SQLite paths are relative to the config file, not to the working directory."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        problems.add(("database",), f"'{url}' is not a database URL (e.g. sqlite:///mentions.db)")
        return url
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        db_path = Path(parsed.database or "")
        if not db_path.is_absolute():
            parsed = parsed.set(database=str((base_dir / db_path).resolve()))
    return parsed.render_as_string(hide_password=False)
