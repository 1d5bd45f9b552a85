from __future__ import annotations

from typing import Any

from tests.connectors.cases import Case
from tests.standins import meta_graph as meta

PAGE = "104455782266871"


def _api() -> meta.MetaAPI:
    page = meta.FacebookPage(PAGE)
    post = page.post()
    page.comment(post, "Acme is terrible today")
    return meta.MetaAPI([page])


def _empty(api: Any) -> None:
    api.pages[PAGE].posts.clear()  # a comment under the owner's post comes whatever the keywords


CASE = Case(
    "facebook",
    _api,
    lambda url: {
        "base_url": f"{url}/{meta.VERSION}",
        "timeout": "0.5s",
        "page_token": meta.TOKEN,
        "pages": [{"id": PAGE, "brand": "Acme"}],
    },
    empty=_empty,
)
