from __future__ import annotations

import time

from tests.connectors.cases import Case
from tests.standins import mastodon

TOKEN = "contract-test-token"

CASE = Case(
    "mastodon",
    lambda: mastodon.MastodonAPI(
        [mastodon.status("Acme is terrible today", tags=("acme",), created=time.time() - 60)],
        tokens={TOKEN},
    ),
    # With a token, both the hashtag timeline (#acme) and full-text search are read.
    lambda url: {"base_url": url, "access_token": TOKEN, "timeout": "0.5s"},
)
