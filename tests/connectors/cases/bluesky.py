from __future__ import annotations

from tests.connectors.cases import Case
from tests.standins import bluesky

CASE = Case(
    "bluesky",
    lambda: bluesky.BlueskyAPI([bluesky.post("3kacme1", "Acme is terrible today")]),
    lambda url: {
        "base_url": url,
        "handle": "acme.bsky.social",
        "app_password": "abcd-efgh-ijkl-mnop",
        "timeout": "0.5s",
    },
)
