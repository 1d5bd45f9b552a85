"""The core's HTTP: every answer bounded, connection failures said in plain words.

Real loopback servers: one that answers 50 MB (with an honest Content-Length, with none,
chunked, gzip that unpacks to 50 MB, and a Content-Length that lies), a closed port, a
name that does not resolve, a port that takes the connection and never answers, one whose
queue is full so that connecting times out, and a TLS server whose certificate nobody trusts.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from connectors.hackernews import HackerNewsConfig, HackerNewsConnector
from monitor.config import BrandConfig, Config
from monitor.errors import ConnectorError, FetchTimeout, ParseError, SourceUnavailable
from monitor.http import (
    ResponseTooLarge,
    cannot_connect,
    get_json,
    make_client,
    send,
    timeouts,
)
from monitor.pipeline import Pipeline
from monitor.sentiment import VaderScorer
from monitor.store import Store
from tests.standins.hackernews import PREFIX, HackerNewsAPI, story
from tests.standins.ports import dropping_port
from tests.standins.server import Response, StandIn

FIFTY_MB = 50_000_000
MB = 1_000_000


def _fifty_mb() -> Iterator[bytes]:
    for _ in range(FIFTY_MB // MB):
        yield b" " * MB


BIG: dict[str, Response] = {
    "declared": Response(200, b" " * FIFTY_MB),
    "until close": Response(200, chunks=_fifty_mb),
    "chunked": Response(200, chunks=_fifty_mb, chunked=True),
    "gzip": Response(
        200, gzip.compress(b" " * FIFTY_MB), {"Content-Encoding": "gzip"}
    ),  # 50 kB on the wire
}


@pytest.fixture
def two_sources(tmp_path: Path) -> Iterator[tuple[StandIn, Pipeline]]:
    """A pipeline over two HN sources: "hackernews" (faults queued on it) and "healthy"."""
    api = HackerNewsAPI([story(1, "Acme is terrible today")])
    other = HackerNewsAPI([story(2, "Acme is lovely")])
    with StandIn(api) as bad, StandIn(other) as good:
        sources = {
            "hackernews": HackerNewsConfig(base_url=bad.url + PREFIX),
            "healthy": HackerNewsConfig(base_url=good.url + PREFIX),
        }
        config = Config(
            path=None,
            database=f"sqlite:///{tmp_path / 'm.db'}",
            brands=[BrandConfig(name="Acme", keywords=["Acme"])],
            sources=dict(sources),
            channels=[],
        )
        store = Store(config.database)
        with make_client(timeout=5) as client:
            connectors = {n: HackerNewsConnector(c, client) for n, c in sources.items()}
            yield bad, Pipeline(config, store, VaderScorer(), connectors, strict=True)
        store.close()


@pytest.mark.parametrize("shape", sorted(BIG))
def test_an_answer_over_the_bound_fails_that_poll_only(
    two_sources: tuple[StandIn, Pipeline], shape: str
) -> None:
    server, pipeline = two_sources
    server.fail_next(BIG[shape])
    failed = pipeline.poll_source("hackernews")
    assert failed.error is not None
    assert "127.0.0.1 sent more than 20 MB" in failed.error
    assert "raise `sources.hackernews.max_response` in config.yaml" in failed.error
    assert pipeline.poll_source("healthy").new == 1
    assert pipeline.poll_source("hackernews").new == 1  # the next poll works


def test_a_content_length_that_lies_short_reads_no_more_than_it_says(
    two_sources: tuple[StandIn, Pipeline],
) -> None:
    server, pipeline = two_sources
    server.fail_next(Response(200, b" " * FIFTY_MB, {"Content-Length": "100"}))
    failed = pipeline.poll_source("hackernews")
    assert failed.error is not None and "not JSON" in failed.error
    assert pipeline.poll_source("hackernews").new == 1


def test_the_bound_is_the_source_s_max_response() -> None:
    api = HackerNewsAPI([story(1, "Acme " + "x" * 300_000)])
    with StandIn(api) as server, make_client(timeout=5) as client:
        url = server.url + PREFIX + "/search"
        assert get_json(client, "hackernews", url, max_response=1 * MB)["hits"]
        with pytest.raises(Exception, match="sent more than 200 kB") as info:
            get_json(client, "hackernews", url, max_response=200_000)
    assert info.value.source == "hackernews"  # type: ignore[attr-defined]


def test_anything_else_on_the_client_gets_a_small_bound_on_the_wire() -> None:
    """Alert channels post with the client directly: a huge reply is an httpx error they
    already handle (as a failed delivery), never a process grown by 50 MB."""
    with StandIn(lambda request: Response(200, chunks=_fifty_mb, chunked=True)) as server:
        with make_client(timeout=5) as client, pytest.raises(httpx.HTTPError) as info:
            client.post(server.url + "/hooks/T0/B0/secret", json={"text": "hi"})
    assert isinstance(info.value, ResponseTooLarge)
    assert str(info.value) == "127.0.0.1 sent more than 1 MB"


def test_bytes_that_are_not_utf8_are_replaced_in_json() -> None:
    body = b'{"hits": [{"title": "Acme \xff\xfe caf\xc3\xa9"}]}'
    with StandIn(lambda request: Response(200, body)) as server, make_client() as client:
        answer = get_json(client, "hackernews", server.url + "/x")
    assert answer["hits"][0]["title"] == "Acme \ufffd\ufffd café"


# ---------------------------------------------------------------- cannot reach


def _unreachable(url: str) -> SourceUnavailable:
    with make_client(timeout=5) as client, pytest.raises(SourceUnavailable) as info:
        send(client, "hackernews", "GET", url)
    assert cannot_connect(info.value)
    assert "Error" not in info.value.message  # no library class names (ConnectError)
    return info.value


def _too_slow(url: str) -> FetchTimeout:
    with make_client(timeout=1) as client, pytest.raises(FetchTimeout) as info:
        send(client, "hackernews", "GET", url)
    assert "Error" not in info.value.message and "Timeout" not in info.value.message
    return info.value


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections (the kernel accepts them) and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def full_port() -> Iterator[int]:
    """A listening port whose queue is full and never read (tests/standins/ports.py)."""
    with dropping_port() as port:
        yield port


def test_a_port_that_never_answers_says_so_and_what_setting_to_raise(silent_port: int) -> None:
    error = _too_slow(f"http://127.0.0.1:{silent_port}/search")
    assert error.message == "127.0.0.1 took the connection but sent no answer within 1 second"
    assert error.hint and "`sources.hackernews.timeout`" in error.hint
    assert not cannot_connect(error)  # it connected: the machine is online


def test_a_connection_nobody_answers_says_the_computer_may_be_offline(full_port: int) -> None:
    error = _too_slow(f"http://127.0.0.1:{full_port}/search")
    assert error.message == "could not connect to 127.0.0.1: no answer within 1 second"
    assert error.hint and "online" in error.hint and "firewall" in error.hint
    assert cannot_connect(error)


def test_a_source_s_long_timeout_still_connects_within_10_seconds(full_port: int) -> None:
    """A source's `timeout` (20 s by default) is for its answer; getting no answer to
    connect at all says "offline" sooner."""
    assert (timeouts(30).connect, timeouts(30).read) == (10.0, 30.0)
    assert timeouts(2).connect == 2.0
    with make_client(timeout=5) as client, pytest.raises(FetchTimeout) as info:
        send(client, "hackernews", "GET", f"http://127.0.0.1:{full_port}/x", timeout=30)
    assert info.value.message.endswith("no answer within 10 seconds")


def test_a_server_error_is_not_a_failure_to_connect() -> None:
    with StandIn(lambda request: Response(503, b"down")) as server, make_client() as client:
        with pytest.raises(ConnectorError) as info:
            get_json(client, "hackernews", server.url + "/x")
    assert "server error (HTTP 503)" in str(info.value)
    assert not cannot_connect(info.value)


def test_a_closed_port_says_nothing_listens_there() -> None:
    error = _unreachable("http://127.0.0.1:9/search")
    assert error.message.startswith("127.0.0.1 refused the connection")
    assert error.hint and "base_url" in error.hint


def test_a_name_that_does_not_resolve_says_so_and_what_to_check() -> None:
    error = _unreachable("http://name.invalid/search")
    assert error.message == "cannot find name.invalid: the name does not resolve"
    assert error.hint and "online" in error.hint and "DNS" in error.hint
    assert "base_url" in error.hint


class _Quiet(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def untrusted_tls() -> Iterator[str]:
    """An HTTPS server on loopback whose certificate comes from a CA nobody trusts."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_untrusted_certificate_says_what_to_check(untrusted_tls: str) -> None:
    error = _unreachable(f"https://{untrusted_tls}/search")
    assert error.message == "127.0.0.1's TLS certificate could not be verified"
    assert error.hint and "date and time" in error.hint and "ca-certificates" in error.hint


def test_https_to_a_plain_http_server_says_the_tls_connection_failed() -> None:
    with StandIn(lambda request: Response(200, {})) as server:
        port = server.url.rsplit(":", 1)[1]
        error = _unreachable(f"https://127.0.0.1:{port}/search")
    assert error.message == "the secure (TLS) connection to 127.0.0.1 failed"
    assert error.hint and "https://" in error.hint


def test_a_parse_error_is_not_hidden_by_the_bound() -> None:
    with StandIn(lambda request: Response(200, b"{not json")) as server, make_client() as c:
        with pytest.raises(ParseError):
            get_json(c, "hackernews", server.url + "/x")


def test_a_proxy_that_cannot_be_reached_is_named_as_the_likely_cause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    error = _unreachable("http://hn.example/search")
    assert error.message.endswith("(through the proxy this computer is set to use)")
    assert error.hint and error.hint.startswith("check the proxy in HTTPS_PROXY/HTTP_PROXY")
