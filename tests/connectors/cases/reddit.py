from __future__ import annotations

import time

from tests.connectors.cases import Case
from tests.standins import reddit

CASE = Case(
    "reddit",
    lambda: reddit.RedditAPI(
        [reddit.submission("acme1", "Acme is terrible today", created=int(time.time()) - 60)]
    ),
    lambda url: {
        "base_url": url,
        "www_url": url,
        "client_id": "test-client-id",
        "client_secret": "test-client-secret",
        "user_agent": "python:mention-monitor-tests:v0 (by /u/nobody)",
        "timeout": "0.5s",
    },
)
