from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.connectors.cases import Case
from tests.standins import youtube

CHANNEL = "UCacmeacmeacmeacmeacmeac"


def _api() -> youtube.YouTubeAPI:
    # The owner's channel has no comments yet: the one mention is a video found by search
    # (own-page comments are returned whatever the keywords, so they cannot be "empty").
    found = youtube.video(
        "vid00000001", "Acme is terrible today", published=datetime.now(UTC) - timedelta(hours=1)
    )
    return youtube.YouTubeAPI({CHANNEL: []}, [found])


CASE = Case(
    "youtube",
    _api,
    lambda url: {
        "base_url": url + youtube.PREFIX,
        "timeout": "0.5s",
        "api_key": youtube.KEY,
        "channels": [{"id": CHANNEL, "brand": "Acme"}],
        "search": True,
    },
)
