from __future__ import annotations

import json
from typing import Any

from tests.connectors.cases import Case
from tests.standins import google_play as g


def _api() -> g.PlayAPI:
    api = g.PlayAPI()
    api.add("gp-1", "Acme is terrible today", 1)
    return api


def _empty(api: Any) -> None:
    api.apps[g.PACKAGE] = {}


CASE = Case(
    "google_play",
    _api,
    lambda url: {
        "base_url": url,
        "service_account_json": json.dumps(g.key_file(f"{url}/token")),
        "apps": [{"package": g.PACKAGE, "brand": "Acme"}],
        "timeout": "0.5s",
    },
    empty=_empty,
)
