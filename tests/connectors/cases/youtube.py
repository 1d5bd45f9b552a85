from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.connectors.cases import Case
from tests.standins import youtube

CHANNEL = "UCacmeacmeacmeacmeacmeac"


def _api() -> youtube.YouTubeAPI:
    # One comment under the owner's video: the own-page path, the source's main one (its
    # video search shares the same requests and errors, and is tested in test_youtube.py).
    said = youtube.comment(
        "UgzContract1",
        "Acme is terrible today",
        channel=CHANNEL,
        published=datetime.now(UTC) - timedelta(hours=1),
    )
    return youtube.YouTubeAPI({CHANNEL: [youtube.Thread(said)]})


def _empty(api: Any) -> None:
    api.threads[CHANNEL] = []  # comments under the owner's videos come whatever the keywords


CASE = Case(
    "youtube",
    _api,
    lambda url: {
        "base_url": url + youtube.PREFIX,
        "timeout": "0.5s",
        "api_key": youtube.KEY,
        "channels": [{"id": CHANNEL, "brand": "Acme"}],
    },
    empty=_empty,
)
