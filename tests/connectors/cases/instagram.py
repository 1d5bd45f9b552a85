from __future__ import annotations

from typing import Any

from tests.connectors.cases import Case
from tests.standins import meta_graph as meta

ACCOUNT = "17841405822304914"


def _api() -> meta.MetaAPI:
    account = meta.InstagramAccount(ACCOUNT)
    media = account.publish()
    account.comment(media, "Acme is terrible today")
    return meta.MetaAPI(instagram=[account])


def _empty(api: Any) -> None:
    api.instagram[ACCOUNT].media.clear()  # comments on the owner's media need no keyword


CASE = Case(
    "instagram",
    _api,
    lambda url: {
        "base_url": f"{url}/{meta.VERSION}",
        "timeout": "0.5s",
        "page_token": meta.TOKEN,
        "accounts": [{"id": ACCOUNT, "brand": "Acme"}],
    },
    empty=_empty,
)
