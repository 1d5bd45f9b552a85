from __future__ import annotations

from typing import Any

from tests.connectors.cases import Case
from tests.standins import google_reviews as g


def _api() -> g.GoogleAPI:
    api = g.GoogleAPI()
    api.add(g.review("AbFvOq1", "Acme is terrible today", 1))
    return api


def _empty(api: Any) -> None:
    api.places[(g.ACCOUNT, g.LOCATION)] = []


CASE = Case(
    "google_reviews",
    _api,
    lambda url: {
        "base_url": url,
        "token_url": f"{url}/token",
        "client_id": g.CLIENT_ID,
        "client_secret": g.CLIENT_SECRET,
        "refresh_token": g.REFRESH_TOKEN,
        "locations": [{"account": g.ACCOUNT, "location": g.LOCATION, "brand": "Acme"}],
        "timeout": "0.5s",
    },
    empty=_empty,
)
