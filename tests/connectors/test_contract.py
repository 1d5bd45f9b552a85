"""The shared connector contract (STYLE.md item 9), run against every connector.

Each connector's stand-in and config come from tests/connectors/cases/<name>.py.

Each connector meets a stand-in of its API on loopback that answers 200, empty,
401, 429 with Retry-After, 500, a timeout and malformed bodies; each fault must
become the right error from monitor/errors.py, and through the pipeline a
recorded failure, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors import REGISTRY, load_connector
from connectors.base import Connector
from monitor.config import BrandConfig, Config
from monitor.errors import (
    AuthError,
    ConnectorError,
    FetchTimeout,
    ParseError,
    RateLimited,
    SourceUnavailable,
)
from monitor.http import make_client
from monitor.pipeline import Pipeline
from monitor.sentiment import VaderScorer
from monitor.store import Store
from tests.connectors.cases import Case, all_cases
from tests.standins.server import Response, StandIn

CASES = all_cases()


def test_every_registered_connector_has_a_contract_case() -> None:
    """A streaming source has no request to answer 200 or 401 to: its own tests cover the
    same faults over its WebSocket (tests/connectors/test_bluesky_stream.py)."""
    polled = {name for name in REGISTRY if not load_connector(name).streaming}
    assert set(CASES) == polled and polled != set(REGISTRY)


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


@pytest.fixture
def server(case: Case) -> Iterator[StandIn]:
    with StandIn(case.make_api()) as s:
        yield s


@pytest.fixture
def conn(case: Case, server: StandIn) -> Iterator[Connector]:
    cls = load_connector(case.name)
    with make_client(timeout=5) as client:
        c = cls(cls.Config.model_validate(case.config(server.url)), client)
        yield c
        c.close()


def test_200_gives_mentions_and_a_cursor(conn: Connector) -> None:
    mentions, cursor = conn.fetch(["Acme"], None)
    assert [m.source for m in mentions] == [conn.name]
    assert "Acme" in mentions[0].full_text
    assert mentions[0].created_at.tzinfo is not None
    assert cursor


def test_empty_answer_is_no_mentions(case: Case, server: StandIn, conn: Connector) -> None:
    if case.empty is not None:  # an own-page source reads its page whatever the keywords
        case.empty(server.route)
    if case.empty_config is not None:  # an own page is read whole: one with nothing on it
        cls = load_connector(case.name)
        conn = cls(cls.Config.model_validate(case.empty_config(server.url)), conn.http)
    mentions, _ = conn.fetch(["Nobody-Mentions-This"], None)
    assert mentions == []


def _fifty_mb() -> Iterator[bytes]:
    for _ in range(50):
        yield b" " * 1_000_000


FAULTS: dict[str, tuple[Response, type[ConnectorError]]] = {
    "50 MB": (Response(200, chunks=_fifty_mb, chunked=True), ConnectorError),
    "401": (Response(401, {"message": "Invalid credentials"}), AuthError),
    "429": (Response(429, {"message": "slow down"}, {"Retry-After": "120"}), RateLimited),
    "500": (Response(500, b"<html>oops</html>", {"Content-Type": "text/html"}), SourceUnavailable),
    "timeout": (Response(200, {"hits": []}, delay=2.0), FetchTimeout),
    "not json": (Response(200, b"{not json", {"Content-Type": "application/json"}), ParseError),
    "wrong shape": (Response(200, {"unexpected": True}), ParseError),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faults_become_our_errors(conn: Connector, server: StandIn, fault: str) -> None:
    response, error = FAULTS[fault]
    server.fail_next(response, times=5)
    with pytest.raises(error) as info:
        conn.fetch(["Acme"], None)
    assert info.value.source == conn.name
    if fault == "50 MB":
        assert type(info.value) is ConnectorError
        assert "127.0.0.1 sent more than" in str(info.value)
        assert f"sources.{conn.name}.max_response" in str(info.value)
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == pytest.approx(120)


def _config(case: Case, url: str, db: Path, names: list[str]) -> Config:
    cls = load_connector(case.name)
    return Config(
        path=None,
        database=f"sqlite:///{db}",
        brands=[BrandConfig(name="Acme", keywords=["Acme"])],
        sources={n: cls.Config.model_validate(case.config(url)) for n in names},
        channels=[],
    )


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_is_recorded_and_the_other_sources_go_on(
    case: Case, server: StandIn, tmp_path: Path, fault: str
) -> None:
    with StandIn(case.make_api()) as healthy:
        config = _config(case, server.url, tmp_path / "m.db", [case.name])
        config.sources["healthy"] = load_connector(case.name).Config.model_validate(
            case.config(healthy.url)
        )
        store = Store(config.database)
        cls = load_connector(case.name)
        with make_client(timeout=5) as client:
            connectors = {n: cls(c, client) for n, c in config.sources.items()}
            pipeline = Pipeline(config, store, VaderScorer(), connectors, strict=True)
            server.fail_next(FAULTS[fault][0], times=5)
            bad = pipeline.poll_source(case.name)
            good = pipeline.poll_source("healthy")
        health = store.health()
        store.close()
    assert bad.error and case.name in bad.error
    assert health[case.name].consecutive_failures == 1
    assert health[case.name].last_error == bad.error
    assert good.ok and good.new == 1
    assert health["healthy"].last_success_at is not None


def test_429_defers_only_this_source_until_retry_after(
    case: Case, server: StandIn, tmp_path: Path
) -> None:
    config = _config(case, server.url, tmp_path / "m.db", [case.name])
    store = Store(config.database)
    cls = load_connector(case.name)
    with make_client(timeout=5) as client:
        connectors = {case.name: cls(config.sources[case.name], client)}
        pipeline = Pipeline(config, store, VaderScorer(), connectors, strict=True)
        server.fail_next(FAULTS["429"][0])
        before = datetime.now(UTC)
        first = pipeline.poll_source(case.name)
        asked = len(server.requests)
        second = pipeline.poll_source(case.name)
    store.close()
    assert first.deferred_until is not None and not first.ok
    assert second.deferred_until == first.deferred_until and second.ok
    assert len(server.requests) == asked  # no request while deferred
    wait = (first.deferred_until - before).total_seconds()
    assert 115 < wait < 125


def test_connection_refused_is_source_unavailable(case: Case) -> None:
    cls = load_connector(case.name)
    with make_client(timeout=2) as client:
        c = cls(cls.Config.model_validate(case.config("http://127.0.0.1:9")), client)
        with pytest.raises(SourceUnavailable) as info:
            c.fetch(["Acme"], None)
    assert "127.0.0.1 refused the connection" in str(info.value)
    assert info.value.hint and "base_url" in info.value.hint
