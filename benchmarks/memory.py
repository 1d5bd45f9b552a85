"""Peak resident memory of ``mention-monitor run`` with the example config, after start-up.

With ``--answer-mb 50`` the stand-in answers every search with a 50 MB page of hits
instead (streamed with no Content-Length, so the service cannot refuse it unread;
``--declared`` sends the Content-Length): the poll must fail with the clear "sent more
than" error, and the floor is then 150 MB (it was 549 MB before answers were bounded).

Measured: the service is started as it is in production (``.venv/bin/mention-monitor run
-c config.yaml``) on a temporary copy of the repository's config.yaml whose database is a
SQLite file in the temporary directory and whose hackernews ``base_url`` points at a
stand-in Algolia API on 127.0.0.1 (the first search of each term gets 200 stories and
comments naming Acme Coffee, a third of them complaints, so the first poll really
matches, scores, stores and alerts; any other source in the file is disabled), so
nothing leaves the machine. Once the first poll is
done, the process's VmHWM (peak RSS) and VmRSS are sampled from /proc/<pid>/status for
``--seconds``; then it gets SIGTERM and must exit within 15 s.

The inbox is served as ``run`` serves it (``web:`` of the example config, moved to a free
port on 127.0.0.1); while sampling, the benchmark opens its pages (the inbox, all mentions,
a mention's page, sources, alerts) a few times over real HTTP, then leaves it idle and
reports the CPU time the process used while idle. ``--no-web`` measures without it.

Printed: the samples, peak RSS, the pages opened and their time, the CPU used while idle,
the exit code and how long the stop took.

Floor: peak RSS < 120 MB (decimal megabytes, 120,000,000 bytes); < 150 MB with a big answer.

``--brands 100`` runs it with 100 brands of ten keywords each (issue 15's worker with 100
brands).

Run: ``.venv/bin/python benchmarks/memory.py [--seconds N] [--answer-mb 50 [--declared]]
[--brands N]``.
Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml import YAML

FLOOR_MB = 120.0
BIG_FLOOR_MB = 150.0
STOP_LIMIT_S = 15.0
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.yaml"
EXECUTABLE = ROOT / ".venv" / "bin" / "mention-monitor"
EMPTY_SEARCH = {"hits": [], "nbHits": 0, "page": 0, "nbPages": 0, "hitsPerPage": 100}
TEXTS = [
    "Acme Coffee got my order wrong again and the latte was cold. Terrible service.",
    "Tried the new Acme Coffee roastery on Harbour Road, lovely flat white!",
    "Does anyone know if Acme Coffee ships beans abroad? Asking for a friend in Lyon.",
]


def first_page(start: int) -> dict[str, Any]:
    now = int(time.time())
    hits = [
        {
            "objectID": str(start + i),
            "created_at_i": now - 60 * i,
            "author": f"user{i}",
            "title": None,
            "story_text": None,
            "comment_text": f"<p>{TEXTS[i % 3]} ({i})</p>",
            "points": None,
            "num_comments": None,
            "_tags": ["comment"],
        }
        for i in range(200)
    ]
    return {"hits": hits, "nbHits": 200, "page": 0, "nbPages": 1, "hitsPerPage": 200}


def big_page(size: int) -> Iterator[bytes]:
    """A page of hits in Algolia's format, ``size`` bytes or a little more, 1 MB at a time."""
    now = int(time.time())
    sent, i, held = 0, 0, 0
    chunk = [b'{"hits": [']
    while sent < size:
        hit = {
            "objectID": str(10_000_000 + i),
            "created_at_i": now - 60,
            "author": f"user{i}",
            "comment_text": f"<p>{TEXTS[i % 3]} ({i})</p>",
            "_tags": ["comment"],
        }
        piece = (b"," if i else b"") + json.dumps(hit).encode()
        chunk.append(piece)
        sent += len(piece)
        held += len(piece)
        i += 1
        if held >= 1_000_000:
            yield b"".join(chunk)
            chunk, held = [], 0
    chunk.append(b'], "nbHits": %d, "page": 0, "nbPages": 1, "hitsPerPage": %d}' % (i, i))
    yield b"".join(chunk)


class StandIn:
    """A loopback Algolia HN API: 200 hits for the first searches, then nothing new."""

    def __init__(self, big: int = 0, declared: bool = False) -> None:
        self.big = big
        self.declared = declared
        self.searches = 0
        self.other: list[str] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with stand_in._lock:
                    if path == "/search_by_date":
                        stand_in.searches += 1
                        searches = stand_in.searches
                    else:
                        stand_in.other.append(path)
                if path == "/search_by_date" and stand_in.big:
                    self.big_answer()
                    return
                if path != "/search_by_date":
                    status, body = 404, {"message": "?"}
                elif searches <= 4:
                    status, body = 200, first_page(100_000 * searches)
                else:
                    status, body = 200, EMPTY_SEARCH
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def big_answer(self) -> None:
                pieces = big_page(stand_in.big)
                if stand_in.declared:
                    pieces = iter([b"".join(pieces)])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                first = next(pieces)
                if stand_in.declared:
                    self.send_header("Content-Length", str(len(first)))
                self.end_headers()
                try:
                    for piece in (first, *pieces):
                        self.wfile.write(piece)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the service stopped reading: what it should do
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_config(target: Path, stand_in_url: str, web: bool = True, brands: int = 0) -> None:
    """The example config with a local database and every source kept off the network;
    with ``brands``, that many brands in all (the example's first, then made-up ones of
    ten keywords each)."""
    yaml = YAML(typ="rt")
    data = yaml.load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    for n in range(1, brands):
        name = f"Shop{n:04d} Roasters"
        words = ["app", "delivery", "refund", "lisbon", "porto", "cafe", "beans"]
        keywords = [name, f"@shop{n:04d}", f"#shop{n:04d}", *(f"{name} {w}" for w in words)]
        data["brands"].append({"name": name, "keywords": keywords})
    if brands:
        del data["brands"][brands:]
    data["database"] = "sqlite:///mentions.db"  # relative to the copy: in the temp dir
    inbox = data.get("web") or {}
    inbox["enabled"] = web
    inbox["listen"] = "127.0.0.1:0"  # a free port
    data["web"] = inbox
    for name, source in data["sources"].items():
        if name == "hackernews":
            source["base_url"] = stand_in_url
        elif source is not None:
            source["enabled"] = False
        else:
            data["sources"][name] = {"enabled": False}
    with target.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of a process, in kB (KiB, as /proc reports them)."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


INBOX_PAGES = ("/", "/?view=all", "/mentions/1", "/sources", "/alerts", "/healthz")


def open_pages(log: Path, rounds: int = 5) -> str:
    """Open the inbox's pages ``rounds`` times; a line saying what was opened, how fast."""
    import re

    import httpx

    found = re.search(r"inbox at (http://\S+/)", log.read_text(encoding="utf-8", errors="replace"))
    if found is None:
        return "inbox: not found in the log"
    url = found.group(1).rstrip("/")
    times: list[float] = []
    statuses: set[int] = set()
    with httpx.Client(timeout=10, trust_env=False) as client:
        for _ in range(rounds):
            for page in INBOX_PAGES:
                started = time.perf_counter()
                statuses.add(client.get(url + page).status_code)
                times.append(time.perf_counter() - started)
    times.sort()
    return (
        f"inbox at {url}: {len(times)} pages opened (HTTP {sorted(statuses)}), median "
        f"{times[len(times) // 2] * 1000:.0f} ms, slowest {times[-1] * 1000:.0f} ms"
    )


def child_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "mention_monitor_config")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def wait_for_first_poll(
    proc: subprocess.Popen[bytes], stand_in: StandIn, log: Path, timeout: float
) -> str:
    """Until the stand-in has been asked and the log reports the poll, or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return "exited"
        text = log.read_text(encoding="utf-8", errors="replace")
        if stand_in.searches and ("hackernews: " in text and " fetched" in text):
            return "polled"
        if "source hackernews failed" in text:
            return "poll failed"
        time.sleep(0.1)
    return "requested, no poll report in the log" if stand_in.searches else "never polled"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="how long to sample after the first poll"
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=30.0, help="longest wait for the first poll"
    )
    parser.add_argument(
        "--answer-mb",
        type=float,
        default=0.0,
        help="answer every search with a page this big (MB), e.g. 50",
    )
    parser.add_argument(
        "--declared", action="store_true", help="send the big page's Content-Length"
    )
    parser.add_argument("--no-web", action="store_true", help="run without the inbox")
    parser.add_argument(
        "--brands", type=int, default=0, help="this many brands (the example's, then made up)"
    )
    args = parser.parse_args(argv)
    big = int(args.answer_mb * 1_000_000)
    floor = BIG_FLOOR_MB if big else FLOOR_MB
    if not EXECUTABLE.exists():
        print(f"{EXECUTABLE} not found: create the virtualenv first (make run)", file=sys.stderr)
        return 2

    with (
        tempfile.TemporaryDirectory(prefix="mention-monitor-mem-") as tmp,
        StandIn(big, args.declared) as stand_in,
    ):
        workdir = Path(tmp)
        config = workdir / "config.yaml"
        write_config(config, stand_in.url, web=not args.no_web, brands=args.brands)
        log = workdir / "service.log"
        with log.open("wb") as log_file:
            started = time.monotonic()
            proc = subprocess.Popen(
                [str(EXECUTABLE), "run", "-c", str(config)],
                cwd=workdir,
                env=child_env(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            try:
                state = wait_for_first_poll(proc, stand_in, log, args.startup_timeout)
                ready = time.monotonic() - started
                print(f"service pid {proc.pid}, stand-in API {stand_in.url}")
                print(
                    f"first poll: {state} after {ready:.1f} s "
                    f"({stand_in.searches} search requests so far)"
                )
                if proc.poll() is not None:
                    print(f"the service exited early with code {proc.returncode}; its log:")
                    print(log.read_text(encoding="utf-8", errors="replace"))
                    return 1

                samples: list[dict[str, int]] = [proc_status(proc.pid)]
                pages = "inbox: off (--no-web)" if args.no_web else open_pages(log)
                print(pages)
                cpu_before, idle_from = cpu_seconds(proc.pid), time.monotonic()
                end = time.monotonic() + args.seconds
                while True:
                    samples.append(proc_status(proc.pid))
                    if time.monotonic() >= end:
                        break
                    time.sleep(min(0.5, max(0.0, end - time.monotonic())))
                idle_cpu = cpu_seconds(proc.pid) - cpu_before
                idle_s = time.monotonic() - idle_from
                print(f"CPU while idle: {idle_cpu:.2f} s in {idle_s:.1f} s (scheduler and inbox)")
            finally:
                stop_started = time.monotonic()
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    code: int | None = proc.wait(timeout=STOP_LIMIT_S)
                except subprocess.TimeoutExpired:
                    code = None
                    proc.kill()
                    proc.wait()
                stop_s = time.monotonic() - stop_started

        peak_kib = max(s["VmHWM"] for s in samples)
        peak_mb = peak_kib * 1024 / 1e6
        rss = ", ".join(f"{s['VmRSS'] / 1024:.1f}" for s in samples)
        print(f"VmRSS samples over {args.seconds:g} s (MiB): {rss}")
        print(f"peak RSS (VmHWM): {peak_mb:.1f} MB ({peak_kib / 1024:.1f} MiB)")
        print(f"stand-in API: {stand_in.searches} search requests, other paths {stand_in.other}")
        stopped = code is not None
        if stopped:
            print(f"SIGTERM: exited with code {code} after {stop_s:.1f} s")
        else:
            print(f"SIGTERM: still running after {STOP_LIMIT_S:g} s; killed")
        text = log.read_text(encoding="utf-8", errors="replace")
        problems = [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]
        if problems:
            print("errors in the service log:")
            for line in problems:
                print(f"  {line}")
        lines = text.splitlines()
        full = not stopped or code != 0 or len(lines) <= 12
        shown = lines if full else lines[-12:]
        print(f"service log ({len(lines)} lines{'' if full else ', the last 12'}):")
        for line in shown:
            print(f"  {line}")
        if big:
            refused = "sent more than" in text
            print(f"a {args.answer_mb:g} MB answer: {'refused' if refused else 'NOT refused'}")
        passed = peak_mb < floor and (not big or "sent more than" in text)
        print(f"floor {floor:g} MB: {'PASS' if passed else 'FAIL'}")
        return 0 if passed and stopped and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
