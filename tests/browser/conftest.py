"""Browser tests: Debian's headless Chromium, driven by Selenium, against the real service.

``mention-monitor run -c config.yaml`` runs as a subprocess, as an owner starts it, polling a
loopback Hacker News stand-in (tests/standins/hackernews.py) that holds a few mentions of two
brands, complaints and praise, and two hostile ones written to run script in a careless page.
Its inbox listens on a free loopback port with a password. One service and one browser serve
the whole module; each test works on its own mention, so the tests do not depend on their order.

The browser is the one Debian packages (``chromium`` and ``chromium-driver``): nothing is
downloaded at run time (SE_OFFLINE keeps Selenium Manager from trying). Where it is missing the
tests are skipped with a line saying how to install it, except under CI (the variable ``CI`` is
set), where a missing browser fails: CI installs it (.ci/run) and never skips these tests.

Screenshots go to pytest's temporary directory, or to the directory named by the variable
``MENTION_MONITOR_SCREENSHOTS`` (``make screenshots`` sets docs/screenshots).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.pages import DESKTOP, WAIT, Browser
from tests.standins import hackernews
from tests.standins.server import StandIn

ENABLE = "apt-get install chromium chromium-driver"
PASSWORD = "correct horse battery staple"
BROWSERS = ("chromium", "chromium-browser")
DRIVERS = ("chromedriver", "/usr/lib/chromium/chromedriver")

DAY = 86_400
# (id, title, author, points, comments, days ago): what the stand-in holds. Each test that
# changes a mention has its own; the screenshots show them all.
ACK = (9001, "Acme Coffee charged me twice and support never answered. Awful.", "dana_r", 14, 6, 0)
VERDICT = (9002, "Acme Coffee latte was cold and the barista was rude, terrible", "mk", 3, 1, 0)
CSRF = (9003, "Acme Coffee lost my order and nobody called back, horrible", "lee", 2, 0, 0)
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>document.documentElement.dataset.pwned='script'</script>"
LINKED = (
    9012,
    "Acme Coffee delivery came two hours late and the cups leaked, awful",
    "robin",
    3,
    0,
    0,
)
HOSTILE_IMG = (9004, f"Acme Coffee is the worst, never again {IMG}", "mallory", 1, 0, 0)
HOSTILE_SCRIPT = (9005, f"Acme Coffee ruined my morning, awful {SCRIPT}", "mallory", 1, 0, 0)
OTHERS = [
    (9006, "Lovely flat white at Acme Coffee this morning, great staff", "sam", 5, 2, 0),
    (9007, "Acme Coffee beans arrived stale and the bag was torn, disappointed", "jo", 4, 3, 1),
    (9008, "Acme Coffee refund still not here after two weeks. Terrible.", "pat", 9, 5, 2),
    (9009, "Is Acme Coffee open on Sundays?", "alex", 1, 0, 3),
    (9010, "Roastery Lane has the best espresso in town", "kim", 7, 1, 0),
    (9011, "Roastery Lane order never arrived, worst service", "ray", 2, 1, 1),
]
POSTS = [ACK, VERDICT, CSRF, LINKED, HOSTILE_IMG, HOSTILE_SCRIPT, *OTHERS]


def posted_at(now: int, days_ago: int) -> int:
    """A post ``days_ago`` days before ``now``, ten minutes old on the first poll."""
    return now - days_ago * DAY - 600


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) as Debian installs them, or None."""
    browser = next(filter(None, map(shutil.which, BROWSERS)), None)
    driver = next(filter(None, map(shutil.which, DRIVERS)), None)
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser_paths() -> tuple[str, str]:
    found = find_browser()
    if found is None:
        message = f"no Chromium and chromedriver found: to run the browser tests, {ENABLE}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI never skips them; .ci/run installs it)")
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "mention_monitor_config")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["MENTION_MONITOR_PASSWORD"] = PASSWORD
    return env


@dataclass
class Service:
    """The running service: where its inbox is, its config, its log, the stand-in it polls."""

    url: str
    config: Path
    log: Path
    hn: hackernews.HackerNewsAPI
    proc: subprocess.Popen[bytes]
    started: int  # when the stand-in's posts were dated from (Unix time)

    def posted_days(self) -> dict[int, str]:
        """Each post's UTC day, as the charts count it."""
        return {
            object_id: time.strftime("%Y-%m-%d", time.gmtime(posted_at(self.started, days)))
            for object_id, _, _, _, _, days in POSTS
        }

    def cli(self, *args: str) -> str:
        """``mention-monitor ARGS -c config.yaml``, as the owner types it; its output."""
        done = subprocess.run(
            [str(Path(sys.executable).parent / "mention-monitor"), *args, "-c", str(self.config)],
            env=child_env(),
            cwd=self.config.parent,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"mention-monitor {' '.join(args)}: {done.stderr}"
        return done.stdout

    def still_running(self) -> None:
        """Fail with the service's log if ``mention-monitor run`` has exited."""
        if self.proc.poll() is not None:
            pytest.fail(
                f"mention-monitor run exited with {self.proc.returncode}:\n{self.log_tail()}"
            )

    def alert_link(self, title: str, words: str) -> str | None:
        """The address after "``words``:" in the console alert about ``title``, or None."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        for block in text.split("\n\n"):
            if title in block:
                for line in block.splitlines():
                    if line.strip().startswith(f"{words}: "):
                        return line.split(": ", 1)[1].strip()
        return None

    def log_tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]


def write_config(path: Path, hn_url: str, port: int) -> None:
    path.write_text(
        textwrap.dedent(
            f"""\
            database: sqlite:///mentions.db
            brands:
              - name: Acme Coffee
                keywords: ["Acme Coffee"]
              - name: Roastery Lane
                keywords: ["Roastery Lane"]
            sources:
              hackernews:
                every: 2s
                base_url: {hn_url}
                lookback: 7d
            alerts:
              channels:
                - type: console
            web:
              enabled: true
              listen: 127.0.0.1:{port}
              public_url: http://127.0.0.1:{port}
              password: ${{MENTION_MONITOR_PASSWORD}}
            """
        ),
        encoding="utf-8",
    )


def wait_until_serving(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text(encoding="utf-8", errors="replace")
            pytest.fail(f"mention-monitor run exited with {proc.returncode}:\n{text[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the inbox did not answer at {url} within {WAIT:g} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``mention-monitor run`` with its inbox, polling a Hacker News stand-in every 2 s."""
    workdir = tmp_path_factory.mktemp("service")
    now = int(time.time())
    api = hackernews.HackerNewsAPI()
    for object_id, title, author, points, comments, days in POSTS:
        created = posted_at(now, days)
        api.add(hackernews.story(object_id, title, created=created, author=author,
                                 points=points, comments=comments))  # fmt: skip
    with StandIn(api) as hn_server:
        port = free_port()
        config = workdir / "config.yaml"
        write_config(config, hn_server.url + hackernews.PREFIX, port)
        log = workdir / "service.log"
        executable = Path(sys.executable).parent / "mention-monitor"
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [str(executable), "run", "-c", str(config)],
                cwd=workdir,
                env=child_env(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(proc, url, log)
            yield Service(url=url, config=config, log=log, hn=api, proc=proc, started=now)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def driver(browser_paths: tuple[str, str]) -> Iterator[WebDriver]:
    """A headless Chromium; its performance log records every response's status code."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a browser
    chromium, chromedriver = browser_paths
    options = Options()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--no-proxy-server",
        "--disable-gpu",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--lang=en-GB",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    chrome = webdriver.Chrome(service=ChromeService(executable_path=chromedriver), options=options)
    chrome.set_page_load_timeout(WAIT)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture
def browser(driver: WebDriver, service: Service) -> Iterator[Browser]:
    """The browser, logged in to the service's inbox, at desktop width."""
    service.still_running()
    b = Browser(driver, service.url)
    b.desktop()
    if not b.logged_in():
        b.login(PASSWORD)
    yield b
    b.desktop()
    service.still_running()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("MENTION_MONITOR_SCREENSHOTS")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line at the end of a run that skipped the browser tests, saying how to run them."""
    skipped = terminalreporter.stats.get("skipped", [])
    if any(ENABLE in str(getattr(report, "longrepr", "")) for report in skipped):
        terminalreporter.write_line(
            f"The browser tests were skipped: no Chromium here. To run them: {ENABLE}",
            yellow=True,
        )
