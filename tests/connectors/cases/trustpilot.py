from __future__ import annotations

from tests.connectors.cases import Case
from tests.standins.trustpilot import Review, TrustpilotAPI, Unit, ago

KEY = "contract-test-key-0123456789"
REVIEWED = "0000000000000000000000aa"
QUIET = "0000000000000000000000bb"


def make_api() -> TrustpilotAPI:
    review = Review(1, "Cold coffee, rude staff.", "Acme is terrible today", ago(minutes=1))
    return TrustpilotAPI(
        [
            Unit("acme.example", id=REVIEWED, reviews=[review], keys={KEY}),
            Unit("acme-quiet.example", id=QUIET, keys={KEY}),
        ]
    )


def _config(unit: str) -> dict[str, object]:
    return {"id": unit, "brand": "Acme"}


CASE = Case(
    "trustpilot",
    make_api,
    lambda url: {
        "base_url": url,
        "api_key": KEY,
        "business_units": [_config(REVIEWED)],
        "timeout": "0.5s",
    },
    empty_config=lambda url: {"base_url": url, "api_key": KEY, "business_units": [_config(QUIET)]},
)
