"""`mention-monitor demo`: a morning at a fictional café, through the real pipeline, offline.

Acme Coffee, a small café chain, and Roastery Lane, its coffee subscription. The
posts of one morning (monitor/data/demo_mentions.json, written for this demo) are
replayed on a fast clock: each source serves a post once its story time has come,
and everything after the fetch is the production code on a temporary SQLite
database: matching, exclusions, scoring, rules, the outbox, the dispatcher and the
console channel. The spread tracker re-reads the engagement of the negative posts
and finds the complaint that takes off; the spike job counts the hour's complaints
after an app update; the reminder job finds the complaint nobody answered; the
owner's acknowledgement goes through ``Store.set_status``, as the inbox's button and
``mentions ack`` do. What is printed besides the alerts is the clock, the scene
titles, and counts from the pipeline's own reports.

The story is set on the most recent morning (local time) that has fully passed, so
that ages read right in the alerts (``alerts.render.clock``) and in the inbox after.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, TextIO

import httpx

from alerts.console import ConsoleChannel, ConsoleConfig
from alerts.render import clock, duration, source_name
from connectors import load_connector
from connectors.base import Connector, FetchResult, SourceConfig
from monitor.config import BrandConfig, Config
from monitor.models import Mention
from monitor.service import Service
from monitor.store import Store
from monitor.wording import count

DEMO_BRANDS = [
    BrandConfig(
        name="Acme Coffee",
        keywords=["Acme Coffee", "@acmecoffee", "#acmecoffee"],
        exclude=["Acme Coffee Co. Ltd"],
    ),
    BrandConfig(name="Roastery Lane", keywords=["Roastery Lane", "@roasterylane"]),
]
#: The story's clock moves 5 minutes at a time: each source polls at every tick (its
#: `every`), and so does the follow-up job (which `run` runs every minute: on this story,
#: whose posts are found on the tick, that changes nothing but the time the replay takes).
TICK = timedelta(minutes=5)


def story_data() -> dict[str, Any]:
    text = resources.files("monitor").joinpath("data/demo_mentions.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class Post:
    """One post of the story: when it is posted, when its source's search finds it, and
    its engagement as it grows (what a re-read returns)."""

    record: dict[str, Any]
    posted: datetime
    seen: datetime
    growth: tuple[tuple[datetime, dict[str, int]], ...] = ()

    def mention(self) -> Mention:
        r = self.record
        return Mention(
            source=r["source"],
            external_id=r["external_id"],
            url=r["url"],
            author=r["author"],
            author_followers=r.get("author_followers"),
            title=r.get("title"),
            text=r["text"],
            created_at=self.posted,
            engagement=dict(r.get("engagement") or {}),
            raw=r,
        )

    def engagement_at(self, now: datetime) -> dict[str, int]:
        current: dict[str, int] = dict(self.record.get("engagement") or {})
        for at, counts in self.growth:
            if at <= now:
                current = dict(counts)
        return current


class StoryConfig(SourceConfig):
    """A story source's settings: its ``spread`` rule is the real source's."""

    SPREAD: ClassVar[dict[str, Any]] = {"spreading": 20, "viral": 100}


class StoryConnector(Connector):
    """One source of the story: serves each post once its time has come, and re-reads
    engagement as it grows (spread tracking), as the real source's API would."""

    name = "demo"
    Config = StoryConfig
    per_brand = False  # one search for every brand, like Reddit's

    def __init__(
        self,
        source: str,
        posts: Sequence[Post],
        now: Callable[[], datetime],
        http: httpx.Client,
        **spread: Any,
    ) -> None:
        config = StoryConfig(base_url=f"bundled:{source}", spread=spread or None)
        super().__init__(config, http)  # never used: the posts are bundled
        self.posts = {p.record["external_id"]: p for p in posts}
        self.now = now

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        now = self.now()
        since = datetime.fromisoformat(cursor) if cursor else None
        found = [
            p.mention()
            for p in self.posts.values()
            if p.seen <= now and (not since or p.seen > since)
        ]
        return found, now.isoformat()

    def refresh(self, ids: Sequence[str]) -> dict[str, dict[str, int]]:
        now = self.now()
        return {i: self.posts[i].engagement_at(now) for i in ids if i in self.posts}


@dataclass
class Story:
    start: datetime
    end: datetime
    posts: list[Post]
    scenes: dict[datetime, str]
    answers: dict[datetime, tuple[str, str, str]]  # external id, status, note

    @classmethod
    def load(cls, now: datetime | None = None) -> Story:
        """The story on the last morning (local time) that is over by ``now``."""
        data = story_data()
        local = (now or datetime.now(UTC)).astimezone()
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if day + _clock(data["end"]) > local:
            day -= timedelta(days=1)

        def at(value: str) -> datetime:
            return (day + _clock(value)).astimezone(UTC)

        posts = [
            Post(
                r,
                at(r["posted"]),
                at(r.get("seen", r["posted"])),
                tuple((at(t), counts) for t, counts in r.get("growth", ())),
            )
            for r in data["posts"]
        ]
        return cls(
            start=at(data["start"]),
            end=at(data["end"]),
            posts=posts,
            scenes={at(t): said for t, said in data["scenes"]},
            answers={at(t): (post, status, note) for t, post, status, note in data["answers"]},
        )

    def times(self) -> Iterator[datetime]:
        when = self.start
        while when <= self.end:
            yield when
            when += TICK

    def sources(self, now: Callable[[], datetime], http: httpx.Client) -> dict[str, StoryConnector]:
        by_source: dict[str, list[Post]] = {}
        for post in self.posts:
            by_source.setdefault(post.record["source"], []).append(post)
        return {
            name: StoryConnector(name, posts, now, http, **load_connector(name).Config.SPREAD)
            for name, posts in sorted(by_source.items())
        }


def _clock(value: str) -> timedelta:
    hours, _, minutes = value.partition(":")
    return timedelta(hours=int(hours), minutes=int(minutes))


@dataclass
class DemoResult:
    replayed: int = 0
    stored: int = 0
    negative: int = 0
    alerts_sent: int = 0
    escalations: int = 0
    spikes: int = 0
    reminders: int = 0
    #: The demo's config.yaml, while ``then`` runs (the commands in its alerts name it).
    config_path: Path | None = None


def write_config(directory: Path) -> Path:
    """A config.yaml for the demo's database, so that `mention-monitor mentions ... -c` and
    `mention-monitor web -c` work on it while the demo runs."""
    brands = "\n".join(
        f"  - name: {json.dumps(b.name)}\n    keywords: {json.dumps(b.keywords)}"
        + (f"\n    exclude: {json.dumps(b.exclude)}" if b.exclude else "")
        for b in DEMO_BRANDS
    )
    path = directory / "config.yaml"
    path.write_text(
        "# The demo's own configuration: its database lives as long as the demo runs.\n"
        f"database: sqlite:///{directory / 'demo.db'}\n"
        f"brands:\n{brands}\n"
        "sources:\n"
        "  hackernews:\n"
        "    enabled: false   # the demo replays bundled posts; nothing is polled from here\n",
        encoding="utf-8",
    )
    return path


def run_demo(
    out: TextIO,
    then: Callable[[Config, DemoResult], None] | None = None,
    *,
    pace: float | None = None,
    now: datetime | None = None,
) -> DemoResult:
    """Replay the story; ``then`` (the inbox) runs before the database is removed.

    ``pace``: real seconds to pause after each thing said (default: a little on a
    terminal, none otherwise). The alerts' follow-up commands name the demo's config
    when ``then`` keeps the database while the owner can use them.
    """
    if pace is None:
        pace = 0.6 if out.isatty() else 0.0
    story = Story.load(now)
    result = DemoResult(replayed=len(story.posts))
    with tempfile.TemporaryDirectory(prefix="mention-monitor-demo-", dir=_scratch()) as tmp:
        path = write_config(Path(tmp))
        result.config_path = path if then is not None else None
        clock_now = [story.start]
        http = httpx.Client()  # the service's, handed to the story's sources: none is used
        connectors = story.sources(lambda: clock_now[0], http)
        config = Config(
            path=path if then is not None else None,  # no commands to give without it
            database=f"sqlite:///{Path(tmp) / 'demo.db'}",
            brands=DEMO_BRANDS,
            sources={name: c.config for name, c in connectors.items()},
            channels=[ConsoleConfig()],
        )
        hints = str(path) if then is not None else None
        console = ConsoleChannel(ConsoleConfig(), stream=out, config_path=hints)
        service = Service(
            config,
            store=Store(config.database),
            http=http,
            connectors=dict(connectors),
            channels={"console": console},
            clock=lambda: clock_now[0],
        )
        teller = Teller(out, pace, story.start)
        try:
            with clock(lambda: clock_now[0]), _quiet_log():
                for moment in story.times():
                    clock_now[0] = moment
                    _play(moment, story, service, teller, result, hints)
        finally:
            service.close()
            http.close()
        teller.say(story.end, _summary(result, config), pause=False)
        if then is not None:
            then(config, result)
    return result


class Teller:
    """Prints the story's lines with its clock (local time), at a pace a person can follow."""

    def __init__(self, out: TextIO, pace: float, start: datetime) -> None:
        self.out = out
        self.pace = pace
        self.day = f"{start.astimezone():%A}"

    def say(self, when: datetime, text: str, *, pause: bool = True) -> None:
        indent = "\n" + " " * 7
        self.out.write(f"{when.astimezone():%H:%M}  {indent.join(text.splitlines())}\n\n")
        self.out.flush()
        if self.pace and pause:
            time.sleep(self.pace)


def _play(
    moment: datetime,
    story: Story,
    service: Service,
    teller: Teller,
    result: DemoResult,
    hints: str | None,
) -> None:
    """One tick of the story: its scene, the owner's answer, then what `run` does: poll
    every source and dispatch, run the follow-up job and dispatch."""
    if moment in story.scenes:
        scene = story.scenes[moment]
        teller.say(moment, f"{teller.day} morning. {scene}" if moment == story.start else scene)
    if moment in story.answers:
        _answer(moment, *story.answers[moment], service.store, teller, hints)
    reports = service.poll()
    new = sum(r.new for r in reports)
    negative = sum(r.negative for r in reports)
    result.stored += new
    result.negative += negative
    if new:
        where = ", ".join(source_name(r.source) for r in reports if r.new)
        said = f"{count(new, 'new mention')} ({where})"
        said += f", {negative} negative:" if negative else ", nothing negative: no alert"
        teller.say(moment, said)
    result.alerts_sent += service.dispatch().sent
    watched = service.watch()
    result.escalations += watched.track.escalations
    result.spikes += watched.spikes
    result.reminders += watched.reminders
    waited = service.config.alerts.remind_after or timedelta(0)
    for happened, said in (
        (
            watched.track.escalations,
            f"{count(watched.track.escalations, 'complaint')} taking off (the spread "
            "tracker re-reads the engagement of negative posts):",
        ),
        (watched.spikes, "More complaints in the last hour than usual: a spike."),
        (
            watched.reminders,
            f"{count(watched.reminders, 'complaint')} nobody has answered for "
            f"{duration(waited)}: a reminder.",
        ),
    ):
        if happened:
            teller.say(moment, said)
    result.alerts_sent += service.dispatch().sent


def _answer(
    moment: datetime,
    external_id: str,
    status: str,
    note: str,
    store: Store,
    teller: Teller,
    hints: str | None,
) -> None:
    """The owner answers a mention, through the one store operation every door uses."""
    row = next(r for r in store.mentions(limit=1000) if r.external_id == external_id)
    old, new = store.set_status(row.id, status, note, moment)
    where = f" -c {shlex.quote(hints)}" if hints else ""
    command = f"mention-monitor mentions ack {row.id} --note ...{where}"
    teller.say(
        moment,
        f"You answer the complaint on {source_name(row.source)} and acknowledge mention "
        f"#{row.id}\n(the inbox's Acknowledge button, or `{command}`):\n"
        f'mention #{row.id}: {old} -> {new}, note "{note}". It gets no reminder; it is still '
        "watched in case it keeps spreading.",
    )


def _summary(result: DemoResult, config: Config) -> str:
    waited = config.alerts.remind_after
    unanswered = f", still unanswered after {duration(waited)}" if waited else ""
    return (
        f"The end of the morning. {count(result.replayed, 'post')} found: {result.stored} "
        f"named a brand and were stored, {result.negative} of them negative. The others did "
        "not name a brand as a whole word, or were excluded (Acme Coffee Co. Ltd is another "
        "company).\n"
        f"{count(result.alerts_sent, 'alert')}: one for each negative mention, then "
        f"{count(result.escalations, 'post')} spreading, {count(result.spikes, 'spike')} "
        f"of complaints and {count(result.reminders, 'reminder')} (a complaint"
        f"{unanswered})."
    )


def _scratch() -> str | None:
    """Where the throwaway database goes: memory-backed /dev/shm where there is one (its
    writes need not reach a disk; the replay takes a third of the time), else the usual
    temporary directory."""
    shm = Path("/dev/shm")  # noqa: S108 (TemporaryDirectory makes a private directory in it)
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@contextmanager
def _quiet_log() -> Iterator[None]:
    """The service's warnings (a post spreading, a spike) are the alerts printed here."""
    logger = logging.getLogger("monitor")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
