"""When the database cannot be written, the owner still hears it: straight to the channels.

The database lives on a real 2 MB filesystem (tmpfs, mounted by the test where it
may) that the test fills up; where mounting is not allowed, SQLite's own page limit
(``max_page_count``) makes the same "database or disk is full" at the store. The
scheduler's real jobs run against it, with a Slack stand-in as the channel.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from monitor.config import load_config
from monitor.polljobs import PollJob
from monitor.scheduler import Scheduler
from monitor.service import Service
from tests.conftest import ConfigWriter
from tests.standins.hackernews import PREFIX, HackerNewsAPI, story
from tests.standins.server import StandIn
from tests.standins.slack import SlackWebhook, texts


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A mounted 2 MB filesystem, or None where this process may not mount one."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = shutil.which("mount")
    done = (
        subprocess.run(
            [mount, "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
            capture_output=True,
            check=False,
        )
        if mount
        else None
    )
    if done is None or done.returncode != 0:
        yield None
        return
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as f:  # nothing left to write (and fail) at close
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def slack_texts(webhook: SlackWebhook) -> list[str]:
    return [" ".join(texts(p)) for p in webhook.payloads]


def test_a_database_that_cannot_be_written_is_told_to_every_channel_once(
    tmp_path: Path,
    write_config: ConfigWriter,
    small_disk: Path | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = small_disk or tmp_path
    api, webhook = HackerNewsAPI(), SlackWebhook()
    with StandIn(api) as hn, StandIn(webhook) as slack:
        config = load_config(
            write_config(
                f"""
                database: sqlite:///{folder / "mentions.db"}
                brands:
                  - name: Acme Coffee
                    keywords: ["Acme Coffee"]
                sources:
                  hackernews:
                    base_url: {hn.url + PREFIX}
                    overlap: 1s
                alerts:
                  console: false
                  channels:
                    - type: slack
                      webhook_url: {slack.url + webhook.path}
                """
            )
        )
        service = Service(config)
        scheduler = Scheduler(service)
        try:
            scheduler._poll_then_dispatch(PollJob("hackernews"))
            assert webhook.payloads == []

            if small_disk is not None:
                filler = fill(small_disk)
            else:  # no mount here: the store itself says the disk is full

                def cap(conn: Any, _record: Any) -> None:
                    conn.execute("PRAGMA max_page_count = 1")

                event.listen(service.store.engine, "connect", cap)
                service.store.engine.dispose()
            now = int(time.time())
            api.add(
                *(story(i, f"Acme Coffee burnt my toast {i}" * 40, created=now) for i in range(50))
            )
            caplog.clear()
            with caplog.at_level(logging.WARNING):
                for _ in range(4):
                    scheduler._poll_then_dispatch(PollJob("hackernews"))
                    scheduler._dispatch()
                    scheduler._watch_then_dispatch()

            # One message to the channel, one log line with what to do, no tracebacks.
            sent = slack_texts(webhook)
            assert len(sent) == 1 and "cannot write its database" in sent[0]
            assert "disk is full" in sent[0] and "free some space" in sent[0]
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(errors) == 1 and "free some space" in errors[0].getMessage()
            assert not any(r.exc_info for r in caplog.records)

            # Space again: the poll stores what was missed, and the owner hears it works.
            if small_disk is not None:
                filler.unlink()
            else:
                event.remove(service.store.engine, "connect", cap)
                service.store.engine.dispose()
            scheduler._poll_then_dispatch(PollJob("hackernews"))
            scheduler._dispatch()
        finally:
            service.close()
    sent = slack_texts(webhook)
    assert sum("can write its database again" in t for t in sent) == 1
    assert not any("hackernews works again" in t for t in sent)  # not a source's failure
    assert len(service.store.mentions(limit=100)) == 50
