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
    # A token, as most users give one; word search stays off (the default, `search: false`),
    # so the hashtag timeline (#acme) is what is read. tests/connectors/test_mastodon.py
    # covers `search: true`.
    lambda url: {"base_url": url, "access_token": TOKEN, "timeout": "0.5s"},
)
