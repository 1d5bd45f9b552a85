"""deploy/mention-monitor.service: systemd accepts it, and it keeps the promises the docs make.

``systemd-analyze verify`` checks every directive and that the program it starts exists; the
unit names /opt/mention-monitor/bin/mention-monitor, which is not on a test machine, so the
copy it verifies starts this venv's ``mention-monitor`` instead (nothing else is changed).
Any line it prints (an unknown key, a misplaced one) fails the test: systemd only warns.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import monitor.cli as cli_module
from monitor.cli import cli
from tests.ops.conftest import ENABLE_SYSTEMD, ROOT, tool

UNIT = ROOT / "deploy" / "mention-monitor.service"
PROGRAM = "/opt/mention-monitor/bin/mention-monitor"
CONFIG = "/etc/mention-monitor/config.yaml"
#: The most `systemd-analyze security` may rate it (0 = locked down, 10 = fully exposed).
MOST_EXPOSURE = 2.0


def parse(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections of a unit file, each key with every value it was given, in order."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        sections[section][key.strip()].append(value.strip())
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse(UNIT.read_text(encoding="utf-8"))


def one(unit: dict[str, dict[str, list[str]]], key: str, section: str = "Service") -> str:
    values = unit[section][key]
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    analyze = tool("systemd-analyze", ENABLE_SYSTEMD)
    return subprocess.run(
        [analyze, "verify", "--man=no", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def copy_starting_this_venv(tmp_path: Path, extra: str = "") -> Path:
    here = Path(sys.executable).parent / "mention-monitor"
    assert here.exists(), here
    text = UNIT.read_text(encoding="utf-8").replace(PROGRAM, str(here)) + extra
    copy = tmp_path / "mention-monitor.service"
    copy.write_text(text, encoding="utf-8")
    return copy


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    done = verify(copy_starting_this_venv(tmp_path))
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_verify_would_report_a_mistake(tmp_path: Path) -> None:
    """The check above can fail: a misspelt directive is reported (systemd only warns)."""
    done = verify(copy_starting_this_venv(tmp_path, "\n[Service]\nRestartSecs=5\n"))
    assert "Unknown key 'RestartSecs'" in done.stdout + done.stderr


def test_the_hardening_rates_low_exposure() -> None:
    analyze = tool("systemd-analyze", ENABLE_SYSTEMD)
    done = subprocess.run(
        [analyze, "security", "--offline=yes", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    assert found is not None, done.stdout + done.stderr
    assert float(found.group(1)) <= MOST_EXPOSURE


def test_it_restarts_after_a_failure_but_not_on_a_bad_config(
    unit: dict[str, dict[str, list[str]]],
) -> None:
    assert one(unit, "Restart") == "on-failure"
    assert 1 <= int(one(unit, "RestartSec")) <= 60
    # Exit code 2 is a bad configuration (monitor/cli.py): retrying cannot fix it.
    assert one(unit, "RestartPreventExitStatus") == "2"
    assert "2 bad configuration" in (cli_module.__doc__ or "")
    assert int(one(unit, "StartLimitBurst", "Unit")) >= 3


def test_it_runs_the_service_as_its_own_user_with_the_env_file(
    unit: dict[str, dict[str, list[str]]],
) -> None:
    user = one(unit, "User")
    assert user == "mention-monitor" and one(unit, "Group") == "mention-monitor"
    assert "DynamicUser" not in unit["Service"]  # a fixed user the owner can `sudo -u`
    assert one(unit, "NoNewPrivileges") == "yes"
    assert one(unit, "CapabilityBoundingSet") == ""
    # The .env beside the config: systemd hands its values over, and the program's own
    # loader (which reads the .env beside its config) finds the same file.
    env_file = one(unit, "EnvironmentFile")
    assert not env_file.startswith("-"), "a missing env file must be an error, not ignored"
    assert Path(env_file) == Path(CONFIG).parent / ".env"
    assert one(unit, "WorkingDirectory") == str(Path(CONFIG).parent)


def test_it_starts_run_with_the_config_and_our_cli_accepts_the_line(
    unit: dict[str, dict[str, list[str]]],
) -> None:
    argv = shlex.split(one(unit, "ExecStart"))
    assert argv == [PROGRAM, "run", "-c", CONFIG]
    run = cli.commands["run"]
    with run.make_context("run", argv[2:]) as ctx:
        assert ctx.params["config_path"] == Path(CONFIG)


def test_only_its_state_directory_is_writable(unit: dict[str, dict[str, list[str]]]) -> None:
    """ProtectSystem=strict makes every path read-only but StateDirectory=: the database,
    its -wal, -shm and .lock files and the backups before an upgrade all live there."""
    assert one(unit, "ProtectSystem") == "strict"
    assert one(unit, "StateDirectory") == "mention-monitor"
    assert "ReadWritePaths" not in unit["Service"]
    assert one(unit, "PrivateTmp") == "yes" and one(unit, "ProtectHome") == "yes"
    text = UNIT.read_text(encoding="utf-8")
    assert "database: sqlite:////var/lib/mention-monitor/mentions.db" in text


def test_the_operations_page_walks_the_same_layout() -> None:
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for needed in (
        "deploy/mention-monitor.service",
        "useradd --system",
        PROGRAM.rsplit("/bin/", 1)[0],
        CONFIG,
        "/etc/mention-monitor/.env",
        "sqlite:////var/lib/mention-monitor/mentions.db",
        "systemctl enable --now mention-monitor",
        "journalctl -u mention-monitor",
    ):
        assert needed in page, needed
