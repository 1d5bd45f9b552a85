"""The poll jobs of a configuration: one per source, or several for a source shared by brand.

Most sources ask for every brand in a few requests, and one job polls them whole. A source
whose poll costs a request per brand or per term (Mastodon, Bluesky: a connector's
``splits_by_brand``) would bound how many brands one install carries, whatever the number
of workers, since one poll runs in one worker. Its brands are therefore split, in config
order, into jobs of ``brands_per_job`` (``poll:mastodon#1``, ``poll:mastodon#2``, ...), each
claimed under its own lease (monitor/store/leases.py) by whichever worker is free, each at
most once per ``every``. Every worker reads the same config.yaml, so all cut the same jobs.

A job keeps its own cursor where the source keeps one for every brand (``*1``, ``*2``; a
per-brand source keeps one per brand anyway), and a job's failure is not hidden by
another job's success (monitor/pipeline.py). A worker polls one job of a source at a time,
as it always polled one source once at a time: a second worker, not a second thread,
doubles what one source carries, and the requests each machine sends stay as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from connectors.base import Connector
from monitor.config import BrandConfig, Config


@dataclass(frozen=True, slots=True)
class PollJob:
    """One scheduled poll: a source, or one group of a source's brands."""

    source: str
    #: 1-based; None when one job polls the source for every brand.
    group: int | None = None
    groups: int = 1
    #: The brands it polls, 1-based in the source's list, and how many the source has.
    first: int = 1
    last: int = 0
    brands: int = 0

    @property
    def id(self) -> str:
        """The scheduler's job id and the lease's name."""
        return f"poll:{self.source}" if self.group is None else f"poll:{self.source}#{self.group}"

    @property
    def suffix(self) -> str:
        """What tells this job's state apart from the source's other jobs': '' or '#2'."""
        return "" if self.group is None else f"#{self.group}"

    def describe(self) -> str:
        """``mastodon``, or ``mastodon (brands 51-100 of 230)``."""
        if self.group is None:
            return self.source
        return f"{self.source} (brands {self.first}-{self.last} of {self.brands})"


def poll_jobs(
    config: Config, connectors: Mapping[str, Connector], sources: Iterable[str] | None = None
) -> list[PollJob]:
    """The jobs that poll ``sources`` (default: every connector), in order."""
    jobs: list[PollJob] = []
    for name in sources if sources is not None else connectors:
        size = connectors[name].brands_per_job
        total = len(config.brands_for(name))
        if size is None or total <= size:
            jobs.append(PollJob(name, first=1, last=total, brands=total))
            continue
        groups = -(-total // size)
        for k in range(groups):
            first = k * size + 1
            last = min(total, first + size - 1)
            jobs.append(PollJob(name, k + 1, groups, first, last, total))
    return jobs


def job_brands(config: Config, job: PollJob) -> list[BrandConfig]:
    """The brands ``job`` polls (all the source's brands for an unsplit job)."""
    brands = config.brands_for(job.source)
    if job.group is None:
        return brands
    return brands[job.first - 1 : job.last]


def describe_lease(name: str) -> str:
    """What a lease's job is, in an owner's words (for `status`)."""
    kind, _, what = name.partition(":")
    if kind == "poll":
        source, _, group = what.partition("#")
        return f"polling {source}" + (f" (brand group {group})" if group else "")
    if kind == "watch":
        return "spread tracking, spikes and reminders"
    if kind == "stream":
        return f"listening to {what}"
    return name
