from __future__ import annotations

from tests.connectors.cases import Case
from tests.standins import app_store as a

PRIVATE_KEY, PUBLIC_KEY = a.new_key()
QUIET_APP = "1111111111"


def _api() -> a.AppStore:
    # The owner's app read with the key: the source's main path (the public feed shares its
    # errors' handling and is tested in test_app_store.py).
    api = a.AppStore(PUBLIC_KEY)
    api.add(a.Review(1, "Acme is terrible today", "Crashes", created=a.ago(minutes=5)))
    api.apps[QUIET_APP] = ("Acme Quiet", [])
    return api


def _config(url: str, app: str = a.APP_ID) -> dict[str, object]:
    return {
        "base_url": url,
        "feed_base_url": url,
        "issuer_id": a.ISSUER,
        "key_id": a.KEY_ID,
        "private_key": PRIVATE_KEY,
        "apps": [{"id": app, "brand": "Acme"}],
        "timeout": "0.5s",
    }


CASE = Case("app_store", _api, _config, empty_config=lambda url: _config(url, QUIET_APP))
