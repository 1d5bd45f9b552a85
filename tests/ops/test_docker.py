"""The Dockerfile, .dockerignore and deploy/docker: linted, their promises checked, and, where
a Docker engine answers, the image built and its container asked for /healthz.

Without an engine (CI has none) what can be run is run: hadolint on the Dockerfile, the build
context that .dockerignore leaves turned into a wheel (as the image's ``pip install .`` does),
the HEALTHCHECK's own command against a real inbox, and the example config loaded.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from monitor.config import load_config
from monitor.errors import ConfigError
from tests.ops.conftest import ENABLE_DOCKER, ENABLE_HADOLINT, ROOT, tool

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "deploy" / "docker" / "docker-compose.yml"
EXAMPLE = ROOT / "deploy" / "docker" / "config.example.yaml"
PASSWORD = "correct horse battery staple"
SECRETS = {
    "MENTION_MONITOR_PASSWORD": PASSWORD,
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/example",
}


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), " ".join(rest.split())))
    return found


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


def last(steps: list[tuple[str, str]], word: str) -> str:
    values = [rest for w, rest in steps if w == word]
    assert values, word
    return values[-1]


# ------------------------------------------------------------------ lint


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("hadolint", ENABLE_HADOLINT), "--no-color", "--failure-threshold", "style", path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hadolint_finds_nothing_at_its_strictest() -> None:
    done = hadolint(DOCKERFILE)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    assert "hadolint ignore" not in DOCKERFILE.read_text(encoding="utf-8")


def test_hadolint_would_report_a_mistake(tmp_path: Path) -> None:
    """The lint above can fail: an image left running as root is reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text(encoding="utf-8") + "\nUSER root\n", encoding="utf-8")
    done = hadolint(bad)
    assert done.returncode != 0 and "DL3002" in done.stdout


# ------------------------------------------------------------------ promises


def test_a_small_image_from_python_slim(steps: list[tuple[str, str]]) -> None:
    bases = [rest for word, rest in steps if word == "FROM"]
    assert len(bases) == 2  # build, then the image: no compiler or cache carried over
    assert all(base.split()[0] == "python:3.11-slim" for base in bases)
    installs = [rest for word, rest in steps if word == "RUN" and "pip install" in rest]
    assert installs and all("--no-cache-dir" in rest for rest in installs)
    assert any(word == "COPY" and rest.startswith("--from=build") for word, rest in steps)


def test_it_runs_as_a_user_of_its_own(steps: list[tuple[str, str]]) -> None:
    user = last(steps, "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0
    made = [rest for word, rest in steps if word == "RUN" and "useradd" in rest]
    assert made and f"--uid {uid}" in made[0]
    assert "chown mention-monitor:mention-monitor /data" in made[0]


def test_the_database_on_a_volume_and_the_inbox_on_8080(steps: list[tuple[str, str]]) -> None:
    assert json.loads(last(steps, "VOLUME")) == ["/data"]
    assert last(steps, "WORKDIR") == "/data"
    assert last(steps, "EXPOSE") == "8080"
    assert "MENTION_MONITOR_CONFIG=/config/config.yaml" in last(steps, "ENV")
    assert json.loads(last(steps, "ENTRYPOINT")) == ["mention-monitor"]
    assert json.loads(last(steps, "CMD")) == ["run"]


def healthcheck(steps: list[tuple[str, str]]) -> list[str]:
    check = last(steps, "HEALTHCHECK")
    _, _, command = check.partition(" CMD ")
    argv: list[str] = json.loads(command)
    return argv


def test_the_healthcheck_needs_no_curl(steps: list[tuple[str, str]]) -> None:
    argv = healthcheck(steps)
    assert argv[:2] == ["python", "-c"]
    assert "urllib.request" in argv[2] and "http://127.0.0.1:8080/healthz" in argv[2]


# ------------------------------------------------------------------ the build context


def ignored(patterns: list[str], path: str) -> bool:
    """Docker's .dockerignore: the last pattern matching the path or a folder above it wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for raw in patterns:
        keep = raw.startswith("!")
        pattern = raw[1:] if keep else raw
        pattern = pattern.strip().strip("/")
        regex = "".join(
            ".*"
            if token == "**"
            else "[^/]*"
            if token == "*"
            else "[^/]"
            if token == "?"
            else re.escape(token)
            for token in re.split(r"(\*\*|\*|\?)", pattern)
        )
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            verdict = not keep
    return verdict


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def context_files() -> list[str]:
    """What `docker build .` would send from a working copy: the repository's files and
    what an owner's running copy leaves beside them."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    owners = [".env", "mentions.db", "mentions.db-wal", "mentions.db.before-0007-x.bak"]
    owners += ["monitor/__pycache__/cli.cpython-311.pyc", "deploy/docker/.env", ".venv/bin/x"]
    return sorted(set(listed + owners))


def test_the_build_context_holds_the_program_and_never_secrets_or_data() -> None:
    patterns = dockerignore()
    sent = {path for path in context_files() if not ignored(patterns, path)}
    for secret in (".env", "deploy/docker/.env", "mentions.db", "mentions.db-wal"):
        assert secret not in sent
    assert not any(path.startswith((".git/", ".venv/", "tests/")) for path in sent)
    assert not any("__pycache__" in path or path.endswith(".bak") for path in sent)
    assert {"pyproject.toml", "README.md", "monitor/cli.py", "alerts/slack.py"} <= sent
    # Every COPY from the context finds its files.
    steps = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    for word, rest in steps:
        if word == "COPY" and not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert any(p == source or p.startswith(source + "/") for p in sent), source


def test_the_build_context_makes_a_whole_package(tmp_path: Path) -> None:
    """What the image's `pip install .` gets: the context copied as .dockerignore leaves it,
    built into a wheel that carries every template, migration and data file of the program."""
    patterns = dockerignore()
    context = tmp_path / "context"
    for path in context_files():
        if not ignored(patterns, path) and (ROOT / path).is_file():
            (context / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, context / path)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), "."],
        cwd=context,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("mention_monitor-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    for package in ("monitor", "connectors", "alerts"):
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert str(path.relative_to(ROOT)) in inside, path


# ------------------------------------------------------------------ the example


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_copy(tmp_path: Path) -> Path:
    """The example config with its database in tmp_path instead of the container's /data."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "database: sqlite:////data/mentions.db" in text
    copy = tmp_path / "config.yaml"
    copy.write_text(text.replace("////data/", f"///{tmp_path}/"), encoding="utf-8")
    return copy


def test_the_example_config_serves_the_inbox_to_the_published_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = load_config(EXAMPLE)
    assert config.database == "sqlite:////data/mentions.db"
    assert config.web.listen == "0.0.0.0:8080" and config.web.password is not None
    monkeypatch.delenv("MENTION_MONITOR_PASSWORD")
    with pytest.raises(ConfigError, match=r"web\.password"):
        load_config(local_copy(tmp_path))  # beyond the container, never without a password


def test_compose_mounts_what_the_image_expects(steps: list[tuple[str, str]]) -> None:
    compose = YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))
    (service,) = compose["services"].values()
    assert (COMPOSE.parent / service["build"] / "Dockerfile").resolve() == DOCKERFILE
    mounts = {m.split(":")[1]: m.split(":")[0] for m in service["volumes"]}
    config_path = last(steps, "ENV").split("MENTION_MONITOR_CONFIG=")[1].split()[0]
    assert mounts[config_path] == "./config.yaml"
    assert mounts["/data"] in compose["volumes"]  # a named volume: kept across rebuilds
    assert service["ports"] == [f"{last(steps, 'EXPOSE')}:8080"]
    assert service["env_file"] == ".env" and service["restart"] == "unless-stopped"
    env_example = (COMPOSE.parent / "env.example").read_text(encoding="utf-8")
    for name in SECRETS:
        assert f"{name}=" in env_example and f"${{{name}}}" in EXAMPLE.read_text("utf-8")


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[int]:
    """`mention-monitor web` on the example config, on a free loopback port."""
    port = free_port()
    env = {**os.environ, **SECRETS}
    command = [sys.executable, "-m", "monitor", "web", "-c", str(local_copy(tmp_path))]
    command += ["--listen", f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_healthcheck_command_passes_on_a_live_inbox_and_fails_without(
    inbox: int, steps: list[tuple[str, str]]
) -> None:
    argv = healthcheck(steps)
    argv = [sys.executable, argv[1], argv[2].replace(":8080/", f":{inbox}/")]
    assert subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode == 0
    closed = [sys.executable, argv[1], argv[2].replace(f":{inbox}/", f":{free_port()}/")]
    assert subprocess.run(closed, capture_output=True, timeout=30, check=False).returncode != 0


# ------------------------------------------------------------------ a real image


def docker() -> str:
    found = shutil.which("docker")
    if (
        found is None
        or subprocess.run([found, "info"], capture_output=True, timeout=60, check=False).returncode
    ):
        pytest.skip(f"no Docker engine answers `docker info`: to build the image, {ENABLE_DOCKER}")
    return found


def test_the_image_builds_and_its_container_answers_healthz(tmp_path: Path) -> None:
    engine = docker()
    tag = f"mention-monitor-test:{uuid.uuid4().hex[:8]}"
    name = tag.replace(":", "-")
    config = tmp_path / "config.yaml"
    config.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            "    - type: slack\n      webhook_url: ${SLACK_WEBHOOK_URL}\n", "    - type: console\n"
        ),
        encoding="utf-8",
    )
    config.chmod(0o644)
    port = free_port()
    subprocess.run([engine, "build", "-q", "-t", tag, str(ROOT)], check=True, timeout=900)
    try:
        start = [engine, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080"]
        start += ["-e", f"MENTION_MONITOR_PASSWORD={PASSWORD}"]
        start += ["-v", f"{config}:/config/config.yaml:ro", tag]
        subprocess.run(
            start,
            check=True,
            capture_output=True,
            timeout=120,
        )
        status, deadline = "", time.monotonic() + 180
        while status != "healthy" and time.monotonic() < deadline:
            time.sleep(2)
            status = subprocess.run(
                [engine, "inspect", "--format", "{{.State.Health.Status}}", name],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            assert status != "unhealthy", logs(engine, name)
        assert status == "healthy", logs(engine, name)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert json.load(answer) == {"status": "ok"}
        user = subprocess.run(
            [engine, "exec", name, "id", "-u"], capture_output=True, text=True, check=True
        )
        assert user.stdout.strip() == "10001"
    finally:
        subprocess.run([engine, "rm", "-f", "-v", name], capture_output=True, check=False)
        subprocess.run([engine, "rmi", "-f", tag], capture_output=True, check=False)


def logs(engine: str, name: str) -> str:
    done = subprocess.run([engine, "logs", name], capture_output=True, text=True, check=False)
    return shlex.join(["docker", "logs", name]) + "\n" + done.stdout + done.stderr


def test_the_operations_page_says_what_the_image_does(steps: list[tuple[str, str]]) -> None:
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    uid = last(steps, "USER").split(":")[0]
    for needed in (
        f"uid {uid}",
        f"chown {uid}:{uid}",
        "/config/config.yaml",
        "sqlite:////data/mentions.db",
        "listen: 0.0.0.0:8080",
        "password: ${MENTION_MONITOR_PASSWORD}",
        "requires `web.password`",
        "`/healthz`",
        "docker compose up -d --build",
        "deploy/docker/",
    ):
        assert needed in page, needed
