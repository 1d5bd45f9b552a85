"""deploy/docker-compose.yml: two workers on PostgreSQL 16, checked for what they need
(docs/more-than-one-machine.md). Where a Docker engine answers, tests/ops/test_docker.py
builds the image itself; this file only reads the compose file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from monitor.config import load_config
from tests.ops.conftest import ROOT

COMPOSE = ROOT / "deploy" / "docker-compose.yml"
EXAMPLE = ROOT / "deploy" / "docker" / "config.example.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def test_two_workers_share_one_postgresql_with_a_volume_and_a_health_check(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    workers = {n: s for n, s in services.items() if s.get("image") == "mention-monitor"}
    assert len(workers) == 2
    (db,) = (s for s in services.values() if str(s.get("image", "")).startswith("postgres:"))
    assert db["image"] == "postgres:16"
    [data] = db["volumes"]
    volume, _, path = data.partition(":")
    assert path == "/var/lib/postgresql/data" and volume in compose["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    name = next(n for n, s in services.items() if s is db)
    for worker in workers.values():
        assert worker["build"] == ".."  # the repository's Dockerfile
        assert "./config.yaml:/config/config.yaml:ro" in worker["volumes"]  # one config
        assert worker["env_file"] == ".env"  # the same secrets
        assert worker["depends_on"][name]["condition"] == "service_healthy"
        url = worker["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://") and f"@{name}:5432/" in url
    assert sum("ports" in w for w in workers.values()) == 1  # one inbox published


def test_the_example_config_works_with_the_database_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "database: sqlite:////data/mentions.db", "database: ${DATABASE_URL}"
    )
    assert "${DATABASE_URL}" in text
    config_path = tmp_path / "config.yaml"
    config_path.write_text(text, encoding="utf-8")
    url = "postgresql+psycopg://monitor:s3cret@postgres:5432/mentions"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MENTION_MONITOR_PASSWORD", "correct horse battery staple")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/example")
    assert load_config(config_path).database == url
