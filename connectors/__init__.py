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
    "bluesky_stream": "connectors.bluesky_stream:BlueskyStreamConnector",
    "mastodon": "connectors.mastodon:MastodonConnector",
    "mastodon_stream": "connectors.mastodon_stream:MastodonStreamConnector",
    "rss": "connectors.rss:RSSConnector",
    "google_reviews": "connectors.google_reviews:GoogleReviewsConnector",
    "trustpilot": "connectors.trustpilot:TrustpilotConnector",
    "youtube": "connectors.youtube:YouTubeConnector",
    "app_store": "connectors.app_store:AppStoreConnector",
    "facebook": "connectors.facebook:FacebookConnector",
    "instagram": "connectors.instagram:InstagramConnector",
    "google_play": "connectors.google_play:GooglePlayConnector",
}


def load_connector(name: str) -> type[Connector]:
    return load_class(REGISTRY, name, "source")
