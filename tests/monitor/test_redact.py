"""No configured secret leaves the process, even when a server echoes our request back.

The echoing stand-in behaves like a badly configured API or proxy: every answer
is an error whose body quotes the request line, the headers and the body we
sent. The real CLI polls Bluesky, Mastodon, X and a private RSS feed through it
until each source's health alert goes out to a real Slack stand-in; then the
log, the command output, ``check``, the database file and what Slack received
are searched for every secret.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from monitor.redact import MASK, REDACTOR, RedactingFormatter, Redactor, redact_data
from tests.conftest import ConfigWriter
from tests.standins.server import Request, Response, StandIn
from tests.standins.slack import SlackWebhook

BSKY_PASSWORD = "abcd-efgh-ijkl-mnop"
MASTODON_TOKEN = "mastodon-token-Zq8rT2vW9xY"
X_TOKEN = "AAAAAAAAAAAAAAAAAAAAAx%2Btoken%2Fwith%2Fslashes"
FEED_TOKEN = "feedtoken7c2e91d0"
SECRETS = [BSKY_PASSWORD, MASTODON_TOKEN, X_TOKEN, FEED_TOKEN]


def echo(request: Request) -> Response:
    """An error page that quotes the whole request, as some proxies and frameworks do."""
    query = "&".join(f"{k}={v}" for k, vs in request.multi.items() for v in vs)
    headers = " ".join(f"{k}={v}" for k, v in request.headers.items())
    body = request.body.decode("utf-8", "replace")
    text = (
        f"Cannot {request.method} {request.path}?{query} headers: {headers} body={body} "
        f"auth={request.headers.get('authorization', '')}"
    )
    return Response(400, {"error": "BadRequest", "message": text})


def test_redactor_masks_every_form_of_a_secret() -> None:
    r = Redactor()
    r.add("p@ss word/+1")
    r.add_url("https://user:hunter22@feeds.example/rss?token=s3cr3tvalue&page=2")
    for text in (
        "p@ss word/+1",
        "p%40ss%20word%2F%2B1",
        "p%40ss+word%2F%2B1",
        json.dumps({"password": "p@ss word/+1"}),
        "https://user:hunter22@feeds.example/",
        "GET /rss?token=s3cr3tvalue",
    ):
        masked = r(text)
        assert MASK in masked, text
        for secret in ("p@ss word/+1", "hunter22", "s3cr3tvalue", "p%40ss"):
            assert secret not in masked
    assert r("page=2 is not a secret") == "page=2 is not a secret"
    # A search feed's words are not secrets; a private feed's path token is.
    r.add_url("https://news.example/rss/search?q=acme+coffee&hl=en-GB")
    r.add_url("https://www.google.com/alerts/feeds/04973652110238712345/1762538291074563892")
    r.add_url("https://example.com/blog/a-rather-long-post-title_re0/feed.xml?page=12")
    assert r("no acme coffee here, en-GB") == "no acme coffee here, en-GB"
    assert r("a-rather-long-post-title_re0 page 12") == "a-rather-long-post-title_re0 page 12"
    assert r("GET /alerts/feeds/04973652110238712345/1762538291074563892") == (
        f"GET /alerts/feeds/{MASK}/{MASK}"
    )
    r.add("ab")  # too short to mask as a substring
    assert r("about") == "about"
    REDACTOR.add("p@ss word/+1")
    assert redact_data({"a": ["p@ss word/+1", 3]}) == {"a": [MASK, 3]}


def test_log_lines_and_tracebacks_are_redacted() -> None:
    REDACTOR.add("tb-secret-123456")
    formatter = RedactingFormatter("%(message)s")
    try:
        raise ValueError("request failed: token=tb-secret-123456")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "sent %s", ("tb-secret-123456",), sys.exc_info()
        )
    line = formatter.format(record)
    assert "tb-secret-123456" not in line
    assert line.count(MASK) == 3  # the message, the source line and the exception


def test_an_echoing_server_leaks_no_secret_anywhere(
    write_config: ConfigWriter, tmp_path: Path
) -> None:
    webhook = SlackWebhook()
    with StandIn(echo) as api, StandIn(webhook) as slack:
        config = write_config(
            f"""
            database: sqlite:///mentions.db
            brands:
              - name: Acme Coffee
                keywords: ["Acme Coffee"]
            sources:
              bluesky:
                base_url: {api.url}
                handle: acme.example
                app_password: ${{BSKY_APP_PASSWORD}}
              mastodon:
                base_url: {api.url}
                access_token: ${{MASTODON_TOKEN}}
                search: true
              x:
                base_url: {api.url}
                bearer_token: ${{X_BEARER_TOKEN}}
              rss:
                feeds: ["{api.url}/private/feed.xml?token={FEED_TOKEN}"]
            alerts:
              health_after: 1
              channels:
                - type: slack
                  name: team
                  webhook_url: ${{SLACK_URL}}
            """
        )
        env = {
            **os.environ,
            "BSKY_APP_PASSWORD": BSKY_PASSWORD,
            "MASTODON_TOKEN": MASTODON_TOKEN,
            "X_BEARER_TOKEN": X_TOKEN,
            "SLACK_URL": slack.url + webhook.path,
        }
        outputs = []
        for args in (["-v", "poll"], ["-v", "poll"], ["check"], ["check", "--online"]):
            done = subprocess.run(
                [sys.executable, "-m", "monitor", *args, "-c", str(config)],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            outputs.append(done.stdout + done.stderr)
        received = json.dumps([r.body.decode("utf-8", "replace") for r in slack.requests])

    everything = "\n".join(outputs)
    # The sources really failed on the echo, and the owner was told, with the echo quoted.
    assert "FAILED" in everything
    assert "has stopped working" in received
    assert MASK in everything + received
    database = b"".join(p.read_bytes() for p in tmp_path.glob("mentions.db*"))
    for secret in SECRETS:
        assert secret not in everything, f"{secret} in the CLI output or log"
        assert secret not in received, f"{secret} in an alert"
        assert secret.encode() not in database, f"{secret} in the database"
