"""`mention-monitor check --online`: every source is asked, and a failure is exit 1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from tests.conftest import ConfigWriter
from tests.standins import x
from tests.standins.hackernews import PREFIX
from tests.standins.server import Response, StandIn


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def hn_config(write_config: ConfigWriter, hn_url: str, extra: str = "") -> Path:
    return write_config(
        f"""
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          hackernews: {{base_url: "{hn_url}", timeout: 2s}}
        {extra}
        """
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def x_server() -> Iterator[StandIn]:
    with StandIn(x.XAPI(users=[x.user("1001", "alice")])) as server:
        yield server


def test_hacker_news_is_asked_online_and_a_pass_exits_0(
    write_config: ConfigWriter, hn_server: StandIn, hn_url: str
) -> None:
    path = hn_config(write_config, hn_url)
    offline = invoke("check", "-c", str(path))
    assert offline.exit_code == 0 and hn_server.requests == []  # offline: no network
    result = invoke("check", "-c", str(path), "--online")
    assert result.exit_code == 0, result.output
    assert "Hacker News search answers" in result.stdout
    (request,) = hn_server.requests  # its cheapest request: one search for one story
    assert request.path == PREFIX + "/search" and request.params["hitsPerPage"] == "1"


def test_hacker_news_unreachable_or_failing_exits_1(
    write_config: ConfigWriter, hn_server: StandIn, hn_url: str
) -> None:
    down = hn_config(write_config, f"http://127.0.0.1:{closed_port()}{PREFIX}")
    result = invoke("check", "-c", str(down), "--online")
    assert result.exit_code == 1, result.output
    assert "no credentials needed\n    FAILED: 127.0.0.1 refused the connection" in result.stdout
    assert "new: it will be created on the first run" in result.stdout
    assert "1 source check failed" in result.stdout

    hn_server.fail_next(Response(503, b"down"), times=5)
    failing = invoke("check", "-c", str(hn_config(write_config, hn_url)), "--online")
    assert failing.exit_code == 1 and "HTTP 503" in failing.stdout


def test_a_refused_x_token_exits_1_on_a_new_and_on_an_existing_database(
    write_config: ConfigWriter, hn_url: str, x_server: StandIn
) -> None:
    path = hn_config(
        write_config,
        hn_url,
        extra=f"""  x: {{base_url: "{x_server.url}", bearer_token: "${{X_BEARER_TOKEN}}"}}""",
    )
    for _ in ("new database", "existing database"):
        refused = invoke("check", "-c", str(path), "--online", env={"X_BEARER_TOKEN": "wrong"})
        assert refused.exit_code == 1, refused.output
        assert "x credentials:\n    FAILED:" in refused.stdout
        assert "wrong" not in refused.output
        invoke("mentions", "-c", str(path))  # creates the database for the second round
    accepted = invoke("check", "-c", str(path), "--online", env={"X_BEARER_TOKEN": x.TOKEN})
    assert accepted.exit_code == 0, accepted.output
    assert "X accepted the bearer token" in accepted.stdout
