"""From a fresh clone to the first alert in Slack, following the README's 5-minute path.

Walked as an owner walks it, each step a real command in a temporary folder:

1. ``git clone`` this repository (its committed HEAD, from the local path);
2. ``python3 -m venv .venv`` and ``.venv/bin/pip install -e .`` (from the package registry
   pip is set up with; most of the time goes here, so it is printed on its own);
3. write ``config.yaml`` as the README shows: one brand with its keywords, Hacker News as
   the source, a Slack channel whose ``webhook_url`` is ``${SLACK_WEBHOOK_URL}``, and the
   address itself in ``.env`` (mode 600). Hacker News is a loopback stand-in
   (tests/standins/hackernews.py, ``base_url`` pointed at it) holding one fresh complaint,
   and the webhook is a loopback Slack receiver (tests/standins/slack.py);
4. ``mention-monitor check`` and ``mention-monitor test-alert`` (the README's step 4: the
   receiver gets the sample alert);
5. ``mention-monitor run``, timed until the receiver holds the complaint's alert.

Printed: seconds for each step and the total, and the total without the install. Not
counted: the owner's reading and typing, and getting a Slack webhook address. The README's
optional ``mention-monitor poll`` before ``run`` would deliver the same alert the same way.

Measured (Python 3.11, the local package registry): 37.0 s with pip's cache (venv 6.3 s,
install 23.7 s), 55.6 s without it (install 42.1 s); the rest is the same either way, about
7 s: clone 0.5 s, check 1.5-1.7 s, test-alert 2.2-2.6 s, run -> first alert 2.1-2.6 s.

Run: ``.venv/bin/python benchmarks/first_alert.py [--no-pip-cache] [--keep]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the loopback stand-ins in tests/standins

from tests.standins.hackernews import PREFIX, HackerNewsAPI, story  # noqa: E402
from tests.standins.server import StandIn  # noqa: E402
from tests.standins.slack import SlackWebhook  # noqa: E402

COMPLAINT = "Acme Coffee charged me twice and nobody answers my emails. Still waiting, awful"
#: How long `run` may take to deliver before the walk is called failed.
RUN_LIMIT = 180.0


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Walk:
    """The steps, each timed, run in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.times: list[tuple[str, float]] = []

    def step(self, name: str, argv: Sequence[str], *, cwd: Path | None = None) -> str:
        started = time.perf_counter()
        done = subprocess.run(
            list(argv), cwd=cwd or self.folder, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - started
        self.times.append((name, seconds))
        print(f"  {name:<40} {seconds:7.1f} s", flush=True)
        if done.returncode:
            sys.exit(f"{name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def note(self, name: str, seconds: float) -> None:
        self.times.append((name, seconds))
        print(f"  {name:<40} {seconds:7.1f} s", flush=True)


def write_config(repo: Path, hn_url: str, webhook: str, web_listen: str | None) -> None:
    """config.yaml and .env as the README's steps 2 and 3 write them."""
    web = f"web:\n  listen: {web_listen}\n" if web_listen else ""
    (repo / "config.yaml").write_text(
        textwrap.dedent(
            f"""\
            database: sqlite:///mentions.db
            brands:
              - name: Acme Coffee
                keywords: ["Acme Coffee", "@acmecoffee", "#acmecoffee"]
            sources:
              hackernews:
                every: 5m
                base_url: {hn_url}
            alerts:
              channels:
                - type: slack
                  webhook_url: ${{SLACK_WEBHOOK_URL}}
            """
        )
        + web,
        encoding="utf-8",
    )
    env = repo / ".env"
    env.write_text(f"SLACK_WEBHOOK_URL={webhook}\n", encoding="utf-8")
    env.chmod(0o600)


def first_alert(walk: Walk, repo: Path, receiver: SlackWebhook) -> None:
    """`mention-monitor run` until the receiver holds the complaint's alert."""
    before = len(receiver.payloads)
    started = time.perf_counter()
    service = subprocess.Popen(
        [str(repo / ".venv/bin/mention-monitor"), "run"],
        cwd=repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not any("charged me twice" in str(p) for p in receiver.payloads[before:]):
            if service.poll() is not None:
                log = service.stderr.read() if service.stderr else ""
                sys.exit(f"`mention-monitor run` stopped:\n{log}")
            if time.perf_counter() - started > RUN_LIMIT:
                sys.exit(f"no alert within {RUN_LIMIT:.0f} s of `mention-monitor run`")
            time.sleep(0.02)
        walk.note("run -> first alert in Slack", time.perf_counter() - started)
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.kill()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repo", default=str(ROOT), help="the repository to clone")
    parser.add_argument("--no-pip-cache", action="store_true", help="pip without its cache")
    parser.add_argument("--keep", action="store_true", help="keep the folder it worked in")
    args = parser.parse_args(argv)

    hn = HackerNewsAPI([story(4242, COMPLAINT, points=12, comments=3, author="dana_r")])
    receiver = SlackWebhook()
    folder = Path(tempfile.mkdtemp(prefix="first-alert-"))
    try:
        with StandIn(hn) as hn_server, StandIn(receiver) as slack_server:
            walk = Walk(folder)
            print(f"From a fresh clone of {args.repo} to the first alert in Slack:")
            repo = folder / "mention-monitor"
            walk.step("git clone", ["git", "clone", "--quiet", args.repo, str(repo)])
            walk.step("python3 -m venv .venv", [sys.executable, "-m", "venv", ".venv"], cwd=repo)
            pip = [".venv/bin/pip", "install", "--quiet", "--disable-pip-version-check"]
            if args.no_pip_cache:
                pip.append("--no-cache-dir")
            walk.step("pip install -e . (the install)", [*pip, "-e", "."], cwd=repo)
            started = time.perf_counter()
            listen = None if port_free(8080) else f"127.0.0.1:{free_port()}"
            write_config(repo, hn_server.url + PREFIX, slack_server.url + receiver.path, listen)
            walk.note("write config.yaml and .env", time.perf_counter() - started)
            if listen:
                print(f"    (port 8080 is taken here: the inbox listens on {listen})")
            program = str(repo / ".venv/bin/mention-monitor")
            walk.step("mention-monitor check", [program, "check"], cwd=repo)
            walk.step("mention-monitor test-alert", [program, "test-alert"], cwd=repo)
            if not receiver.payloads:
                sys.exit("test-alert said OK but the receiver holds nothing")
            first_alert(walk, repo, receiver)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    total = sum(seconds for _, seconds in walk.times)
    install = sum(s for name, s in walk.times if "venv" in name or "install" in name)
    print(f"  {'total':<40} {total:7.1f} s")
    print(f"  {'total without the venv and install':<40} {total - install:7.1f} s")
    print(f"  (Python {sys.version.split()[0]}, pip cache {'off' if args.no_pip_cache else 'on'})")


if __name__ == "__main__":
    os.environ.pop("MENTION_MONITOR_CONFIG", None)
    main()
