from __future__ import annotations

import time

from tests.connectors.cases import Case
from tests.standins import x


def _api() -> x.XAPI:
    return x.XAPI(
        [x.post("Acme is terrible today", author="42", created=time.time() - 60)],
        [x.user("42", "grumpy_customer", followers=1200)],
    )


CASE = Case(
    "x",
    _api,
    lambda url: {"base_url": url, "bearer_token": x.TOKEN, "timeout": "0.5s"},
)
