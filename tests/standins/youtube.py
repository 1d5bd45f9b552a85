"""A stand-in for the YouTube Data API v3 (https://developers.google.com/youtube/v3/docs).

Serves ``GET /youtube/v3/commentThreads`` (``allThreadsRelatedToChannelId``, ``part``,
``order=time``: newest first by the top-level comment's ``publishedAt``, ``maxResults`` 1-100,
default 20, ``pageToken``, ``textFormat``), ``GET /youtube/v3/search`` (``q`` with ``|`` for
OR and quoted phrases, case-insensitive in the title or description, ``type=video``,
``order=date``, ``publishedAfter``, ``maxResults`` 0-50, default 5) and
``GET /youtube/v3/channels`` (``id``, comma-separated). Every call needs ``key``: a missing
or wrong one gets Google's 400 ``keyInvalid``/``API_KEY_INVALID`` body. Errors are Google's
shape: ``{"error": {"code", "message", "errors": [{"message", "domain", "reason"}],
"status"}}``. ``quota`` units a day are counted (1 per list call, 100 per search) and past
it every call gets 403 ``quotaExceeded``. ``disabled`` channels answer 403
``commentsDisabled``; unknown channels 404 ``channelNotFound``. Like Google, the ``replies``
part holds at most ``REPLIES_SHOWN`` replies of a thread, and a search title is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.standins.server import Request, Response

PREFIX = "/youtube/v3"
KEY = "AIzaSyTEST-stand-in-key-0123456789abcd"
REPLIES_SHOWN = 5


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def comment(
    comment_id: str,
    text: str,
    *,
    channel: str,
    video: str = "dQw4w9WgXcQ",
    author: str = "Unhappy Customer",
    author_channel: str = "UCstrangerstrangerstrang",
    published: datetime,
    updated: datetime | None = None,
    likes: int = 0,
    parent: str | None = None,
) -> dict[str, Any]:
    snippet: dict[str, Any] = {
        "channelId": channel,
        "videoId": video,
        "textDisplay": html.escape(text),
        "textOriginal": text,
        "authorDisplayName": author,
        "authorProfileImageUrl": "https://yt3.ggpht.com/x.jpg",
        "authorChannelUrl": f"http://www.youtube.com/channel/{author_channel}",
        "authorChannelId": {"value": author_channel},
        "canRate": True,
        "viewerRating": "none",
        "likeCount": likes,
        "publishedAt": stamp(published),
        "updatedAt": stamp(updated or published),
    }
    if parent:
        snippet["parentId"] = parent
    return {"kind": "youtube#comment", "etag": "e", "id": comment_id, "snippet": snippet}


@dataclass
class Thread:
    top: dict[str, Any]
    replies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.top["id"])

    def resource(self, parts: set[str], plain: bool) -> dict[str, Any]:
        top = self.top
        if plain:  # textDisplay is HTML unless plain text was asked for
            top = {
                **top,
                "snippet": {**top["snippet"], "textDisplay": top["snippet"]["textOriginal"]},
            }
        out: dict[str, Any] = {"kind": "youtube#commentThread", "etag": "e", "id": self.id}
        if "snippet" in parts:
            out["snippet"] = {
                "channelId": top["snippet"]["channelId"],
                "videoId": top["snippet"]["videoId"],
                "topLevelComment": top,
                "canReply": True,
                "totalReplyCount": len(self.replies),
                "isPublic": True,
            }
        if "replies" in parts and self.replies:
            out["replies"] = {"comments": self.replies[:REPLIES_SHOWN]}
        return out


def video(
    video_id: str,
    title: str,
    *,
    published: datetime,
    description: str = "",
    channel: str = "UCcreatorcreatorcreatorc",
    channel_title: str = "A Reviewer",
) -> dict[str, Any]:
    return {
        "kind": "youtube#searchResult",
        "etag": "e",
        "id": {"kind": "youtube#video", "videoId": video_id},
        "snippet": {
            "publishedAt": stamp(published),
            "channelId": channel,
            "title": html.escape(title),
            "description": html.escape(description),
            "thumbnails": {},
            "channelTitle": html.escape(channel_title),
            "liveBroadcastContent": "none",
            "publishTime": stamp(published),
        },
    }


def google_error(status: int, reason: str, message: str, domain: str = "youtube") -> Response:
    names = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": names.get(status, "UNKNOWN"),
        }
    }
    return Response(status, body)


def quota_exceeded() -> Response:
    return google_error(
        403,
        "quotaExceeded",
        "The request cannot be completed because you have exceeded your "
        '<a href="/youtube/v3/getting-started#quota">quota</a>.',
        "youtube.quota",
    )


class YouTubeAPI:
    """The stand-in's state: channels and their threads, searchable videos, a quota."""

    def __init__(
        self,
        threads: dict[str, list[Thread]] | None = None,
        videos: list[dict[str, Any]] | None = None,
        *,
        key: str = KEY,
        quota: int = 10_000,
    ) -> None:
        self.threads = threads if threads is not None else {}
        self.videos = videos or []
        self.key = key
        self.quota = quota
        self.used = 0
        self.disabled: set[str] = set()

    def __call__(self, request: Request) -> Response:
        if request.params.get("key") != self.key:
            return Response(
                400,
                {
                    "error": {
                        "code": 400,
                        "message": "API key not valid. Please pass a valid API key.",
                        "errors": [
                            {
                                "message": "API key not valid. Please pass a valid API key.",
                                "domain": "global",
                                "reason": "badRequest",
                            }
                        ],
                        "status": "INVALID_ARGUMENT",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "API_KEY_INVALID",
                                "domain": "googleapis.com",
                            }
                        ],
                    }
                },
            )
        method = request.path.removeprefix(PREFIX + "/")
        cost = 100 if method == "search" else 1
        if self.used + cost > self.quota:
            return quota_exceeded()
        self.used += cost
        if method == "commentThreads":
            return self._threads(request)
        if method == "search":
            return self._search(request)
        if method in ("channels", "videoCategories"):
            ids = [i for i in request.params.get("id", "").split(",") if i in self.threads]
            items = [{"kind": "youtube#channel", "etag": "e", "id": i} for i in ids]
            return Response(200, {"kind": "youtube#channelListResponse", "items": items})
        return google_error(404, "notFound", "Not Found", "global")

    def _threads(self, request: Request) -> Response:
        channel = request.params.get("allThreadsRelatedToChannelId", "")
        if channel not in self.threads:
            return google_error(
                404,
                "channelNotFound",
                "The channel identified by the <code>allThreadsRelatedToChannelId</code>"
                " parameter could not be found.",
            )
        if channel in self.disabled:
            return google_error(403, "commentsDisabled", "Comments are disabled.")
        size = int(request.params.get("maxResults", "20"))
        if not 1 <= size <= 100:
            return google_error(400, "invalidParameter", "Invalid value for maxResults.")
        parts = set(request.params.get("part", "").split(","))
        plain = request.params.get("textFormat") == "plainText"
        ordered = sorted(
            self.threads[channel], key=lambda t: t.top["snippet"]["publishedAt"], reverse=True
        )
        return self._page(request, [t.resource(parts, plain) for t in ordered], size)

    def _search(self, request: Request) -> Response:
        if request.params.get("type") != "video":
            return google_error(400, "invalidParameter", "only type=video is served here")
        size = int(request.params.get("maxResults", "5"))
        if not 0 <= size <= 50:
            return google_error(400, "invalidParameter", "Invalid value for maxResults.")
        alternatives = [a.strip().strip('"').lower() for a in request.params["q"].split("|")]
        after = request.params.get("publishedAfter")
        found = []
        for item in sorted(self.videos, key=lambda v: v["snippet"]["publishedAt"], reverse=True):
            said = html.unescape(item["snippet"]["title"] + " " + item["snippet"]["description"])
            if after and item["snippet"]["publishedAt"] <= after:
                continue
            if any(a and _contains(said, a) for a in alternatives):
                found.append(item)
        return self._page(request, found, size)

    def _page(self, request: Request, items: list[dict[str, Any]], size: int) -> Response:
        start = int(request.params.get("pageToken", "0").removeprefix("P") or 0)
        page = items[start : start + size]
        body: dict[str, Any] = {
            "kind": "youtube#listResponse",
            "etag": "e",
            "pageInfo": {"totalResults": len(items), "resultsPerPage": size},
            "items": page,
        }
        if start + size < len(items):
            body["nextPageToken"] = f"P{start + size}"
        return Response(200, body)


def _contains(text: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE) is not None
