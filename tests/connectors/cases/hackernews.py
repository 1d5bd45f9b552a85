from __future__ import annotations

import time

from tests.connectors.cases import Case
from tests.standins import hackernews

CASE = Case(
    "hackernews",
    lambda: hackernews.HackerNewsAPI(
        [hackernews.story(1, "Acme is terrible today", created=int(time.time()) - 60)]
    ),
    lambda url: {"base_url": url + hackernews.PREFIX, "timeout": "0.5s"},
)
