"""A stand-in for Reddit: the OAuth token endpoint, the Data API and the public RSS feeds.

One server plays both of PRAW's hosts (point ``base_url`` and ``www_url`` at it):

- ``POST /api/v1/access_token`` (www.reddit.com): HTTP basic auth with the app's
  client id and secret, ``grant_type=client_credentials``; answers
  ``{"access_token", "token_type": "bearer", "expires_in", "scope"}`` or 401.
- ``GET /r/all/search`` (oauth.reddit.com): ``q`` in Reddit's search syntax
  (``"a phrase" OR word``), ``sort=new``, ``limit`` (at most 100), ``after``.
- ``GET /r/<a+b>/comments``: the newest comments of those subreddits, with paging.
- ``GET /api/info``: ``id=t3_..,t1_..`` (at most 100 fullnames, else 400).

Data API answers are Reddit's ``Listing`` JSON and carry the ``x-ratelimit-used``,
``x-ratelimit-remaining`` and ``x-ratelimit-reset`` headers; a request without a valid
bearer token gets 401 with ``www-authenticate: ... error="invalid_token"``. The feeds
``/r/<a+b>/new/.rss`` and ``/r/<a+b>/comments/.rss`` answer Reddit's Atom format.
"""

from __future__ import annotations

import base64
import html
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

from tests.standins.server import Request, Response

WEB = "https://www.reddit.com"
WINDOW = 600  # Reddit counts requests in 10-minute windows
LIMIT = 1000  # ... 100 a minute on average


def submission(
    id36: str,
    title: str,
    *,
    selftext: str = "",
    subreddit: str = "smallbusiness",
    author: str | None = "alice",
    created: float | None = None,
    score: int = 1,
    upvote_ratio: float = 1.0,
    num_comments: int = 0,
) -> dict[str, Any]:
    created = float(created if created is not None else int(time.time()))
    slug = re.sub(r"\W+", "_", title.lower()).strip("_")[:50]
    permalink = f"/r/{subreddit}/comments/{id36}/{slug}/"
    return {
        "kind": "t3",
        "data": {
            "id": id36,
            "name": f"t3_{id36}",
            "title": title,
            "selftext": selftext,
            "selftext_html": f'<div class="md"><p>{html.escape(selftext)}</p></div>'
            if selftext
            else None,
            "author": author if author is not None else "[deleted]",
            "author_fullname": f"t2_{author}" if author else None,
            "subreddit": subreddit,
            "subreddit_name_prefixed": f"r/{subreddit}",
            "subreddit_id": "t5_2qh1i",
            "permalink": permalink,
            "url": WEB + permalink,
            "domain": f"self.{subreddit}",
            "is_self": True,
            "created": created,
            "created_utc": created,
            "score": score,
            "ups": score,
            "downs": 0,
            "upvote_ratio": upvote_ratio,
            "num_comments": num_comments,
            "over_18": False,
            "stickied": False,
            "locked": False,
            "link_flair_text": None,
        },
    }


def comment(
    id36: str,
    body: str,
    *,
    link: dict[str, Any] | None = None,
    subreddit: str = "smallbusiness",
    author: str | None = "bob",
    created: float | None = None,
    score: int = 1,
) -> dict[str, Any]:
    created = float(created if created is not None else int(time.time()))
    post = (link or submission("zz1", "A thread", subreddit=subreddit))["data"]
    return {
        "kind": "t1",
        "data": {
            "id": id36,
            "name": f"t1_{id36}",
            "body": body,
            "body_html": f'<div class="md"><p>{html.escape(body)}</p></div>',
            "author": author if author is not None else "[deleted]",
            "subreddit": subreddit,
            "subreddit_name_prefixed": f"r/{subreddit}",
            "subreddit_id": "t5_2qh1i",
            "link_id": post["name"],
            "link_title": post["title"],
            "link_permalink": WEB + post["permalink"],
            "parent_id": post["name"],
            "permalink": f"{post['permalink']}{id36}/",
            "created": created,
            "created_utc": created,
            "score": score,
            "ups": score,
            "downs": 0,
            "replies": "",
            "stickied": False,
            "distinguished": None,
        },
    }


def _terms(query: str) -> list[str]:
    """``"a phrase" OR word`` -> ["a phrase", "word"] (Reddit's syntax, as much as we need)."""
    return [t.strip().strip('"').casefold() for t in query.split(" OR ") if t.strip()]


def _matches(terms: list[str], text: str) -> bool:
    text = text.casefold()
    return any(re.search(rf"(?<!\w){re.escape(t)}(?!\w)", text) for t in terms)


class RedditAPI:
    """Reddit's state: posts and comments (Reddit JSON ``{"kind", "data"}``), an app, tokens."""

    def __init__(
        self,
        things: list[dict[str, Any]] | None = None,
        *,
        client_id: str = "test-client-id",
        client_secret: str = "test-client-secret",
    ) -> None:
        self.things: list[dict[str, Any]] = list(things or [])
        self.client_id = client_id
        self.client_secret = client_secret
        self.tokens: set[str] = set()
        self.used = 0
        self.window_start = time.monotonic() - WINDOW / 2

    def add(self, *things: dict[str, Any]) -> None:
        self.things.extend(things)

    def __call__(self, request: Request) -> Response:
        path = request.path.removesuffix(".json").rstrip("/") or "/"
        if request.method == "POST" and path == "/api/v1/access_token":
            return self._token(request)
        feed = re.fullmatch(r"/r/([\w+]+)/(new|comments)/\.rss", request.path.rstrip("/"))
        if feed and request.method == "GET":
            return self._feed(feed.group(1), feed.group(2), request)
        auth = request.headers.get("authorization", "")
        if not auth.startswith("bearer ") or auth.removeprefix("bearer ") not in self.tokens:
            return Response(
                401,
                {"message": "Unauthorized", "error": 401},
                {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'},
            )
        self.used += 1
        if path == "/r/all/search":
            return self._search(request)
        listing = re.fullmatch(r"/r/([\w+]+)/comments", path)
        if listing:
            return self._comments(listing.group(1), request)
        if path == "/api/info":
            return self._info(request)
        return self._json(404, {"message": "Not Found", "error": 404})

    def _json(self, status: int, body: Any) -> Response:
        elapsed = (time.monotonic() - self.window_start) % WINDOW
        return Response(
            status,
            body,
            {
                "x-ratelimit-used": str(self.used),
                "x-ratelimit-remaining": f"{max(0, LIMIT - self.used)}.0",
                "x-ratelimit-reset": str(int(WINDOW - elapsed)),
            },
        )

    def _token(self, request: Request) -> Response:
        expected = f"{self.client_id}:{self.client_secret}".encode()
        given = request.headers.get("authorization", "")
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        if given != "Basic " + base64.b64encode(expected).decode():
            return Response(401, {"message": "Unauthorized", "error": 401})
        if form.get("grant_type") != "client_credentials":
            return Response(200, {"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return Response(
            200,
            {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"},
        )

    def _page(self, found: list[dict[str, Any]], request: Request) -> Response:
        found = sorted(found, key=lambda t: t["data"]["created_utc"], reverse=True)
        limit = min(int(request.params.get("limit", 25)), 100)
        after = request.params.get("after")
        if after:
            names = [t["data"]["name"] for t in found]
            found = found[names.index(after) + 1 :] if after in names else []
        page = found[:limit]
        more = len(found) > limit
        return self._json(
            200,
            {
                "kind": "Listing",
                "data": {
                    "after": page[-1]["data"]["name"] if more else None,
                    "dist": len(page),
                    "modhash": None,
                    "geo_filter": "",
                    "children": page,
                    "before": None,
                },
            },
        )

    def _search(self, request: Request) -> Response:
        if request.params.get("sort") != "new":
            return self._json(400, {"message": "expected sort=new", "error": 400})
        terms = _terms(request.params.get("q", ""))
        found = [
            t
            for t in self.things
            if t["kind"] == "t3"
            and _matches(terms, f"{t['data']['title']}\n{t['data']['selftext']}")
        ]
        return self._page(found, request)

    def _wanted(self, subs: str) -> set[str]:
        return {s.casefold() for s in subs.split("+")}

    def _comments(self, subs: str, request: Request) -> Response:
        wanted = self._wanted(subs)
        found = [
            t
            for t in self.things
            if t["kind"] == "t1" and t["data"]["subreddit"].casefold() in wanted
        ]
        return self._page(found, request)

    def _info(self, request: Request) -> Response:
        ids = [i for i in request.params.get("id", "").split(",") if i]
        if len(ids) > 100:
            return self._json(400, {"message": "too many ids", "error": 400})
        by_name = {t["data"]["name"]: t for t in self.things}
        children = [by_name[i] for i in ids if i in by_name]
        return self._json(
            200,
            {"kind": "Listing", "data": {"after": None, "children": children, "before": None}},
        )

    def _feed(self, subs: str, which: str, request: Request) -> Response:
        wanted = self._wanted(subs)
        kind = "t3" if which == "new" else "t1"
        found = sorted(
            (
                t
                for t in self.things
                if t["kind"] == kind and t["data"]["subreddit"].casefold() in wanted
            ),
            key=lambda t: t["data"]["created_utc"],
            reverse=True,
        )[: min(int(request.params.get("limit", 25)), 100)]
        self_url = f"{WEB}/r/{subs}/{which}/.rss"
        label = "newest submissions" if which == "new" else "newest comments"
        entries = "".join(_entry(t["data"], kind) for t in found)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">'
            f'<category term="{subs}" label="r/{subs}"/>'
            f"<updated>{_when(time.time())}</updated>"
            "<icon>https://www.redditstatic.com/icon.png/</icon>"
            f"<id>/r/{subs}/{which}/.rss</id>"
            f'<link rel="self" href="{self_url}" type="application/atom+xml" />'
            f'<link rel="alternate" href="{WEB}/r/{subs}/{which}/" type="text/html" />'
            f"<title>{label} : {subs}</title>{entries}</feed>"
        )
        return Response(200, xml, {"Content-Type": "application/atom+xml; charset=UTF-8"})


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))


def _entry(data: dict[str, Any], kind: str) -> str:
    """One Atom entry as Reddit writes it (content is escaped HTML)."""
    author = data["author"]
    user = f"{WEB}/user/{author}"
    link = WEB + data["permalink"]
    if kind == "t3":
        body = f'<!-- SC_OFF --><div class="md"><p>{html.escape(data["selftext"])}</p></div>'
        body = (body + "<!-- SC_ON -->") if data["selftext"] else ""
        content = (
            f'{body} &#32; submitted by &#32; <a href="{user}"> /u/{author} </a> <br/>'
            f' <span><a href="{data["url"]}">[link]</a></span> &#32;'
            f' <span><a href="{link}">[comments]</a></span>'
        )
        title = data["title"]
        published = f"<published>{_when(data['created_utc'])}</published>"
    else:
        content = f'<div class="md"><p>{html.escape(data["body"])}</p></div>'
        title = f"/u/{author} on {data['link_title']}"
        published = ""
    return (
        f"<entry><author><name>/u/{escape(author)}</name><uri>{escape(user)}</uri></author>"
        f'<category term="{data["subreddit"]}" label="r/{data["subreddit"]}"/>'
        f'<content type="html">{escape(content)}</content>'
        f"<id>{data['name']}</id><link href={quoteattr(link)} />"
        f"<updated>{_when(data['created_utc'])}</updated>{published}"
        f"<title>{escape(title)}</title></entry>"
    )
