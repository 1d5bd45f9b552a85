"""The registry of sources: a name in config.yaml -> the class that fetches from it.

Modules are imported only when config.yaml uses them (monitor/registry.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.registry import load_class

if TYPE_CHECKING:
    from connectors.base import Connector

REGISTRY: dict[str, str] = {
    "hackernews": "connectors.hackernews:HackerNewsConnector",
    "x": "connectors.x:XConnector",
    "reddit": "connectors.reddit:RedditConnector",
    "bluesky": "connectors.bluesky:BlueskyConnector",
    "mastodon": "connectors.mastodon:MastodonConnector",
    "rss": "connectors.rss:RSSConnector",
    "google_reviews": "connectors.google_reviews:GoogleReviewsConnector",
    "trustpilot": "connectors.trustpilot:TrustpilotConnector",
    "youtube": "connectors.youtube:YouTubeConnector",
    "google_play": "connectors.google_play:GooglePlayConnector",
}


def load_connector(name: str) -> type[Connector]:
    return load_class(REGISTRY, name, "source")
