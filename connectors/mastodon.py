"""Mastodon: public hashtag timelines and, opted in with a token, word search, on chosen servers.

API: https://docs.joinmastodon.org/methods/timelines/#tag (``GET /api/v1/timelines/tag/:hashtag``
with ``any[]``/``none[]``), https://docs.joinmastodon.org/methods/search/#v2 (``GET /api/v2/search
?type=statuses``) and https://docs.joinmastodon.org/methods/statuses/ (``GET /api/v1/statuses
?id[]=``, 4.3+). Auth: none for hashtag timelines (unless the server has closed them to anonymous
readers); word search needs a user access token with the ``read`` scope and ``search: true``.
Limits (https://docs.joinmastodon.org/api/rate-limits/): 300 requests per 5 minutes per IP (or
per token), and 300 *paging* requests (with ``min_id``/``max_id``) per 15 minutes per IP.

Each configured server is read on its own. Every keyword of a brand becomes a hashtag with its
spaces and punctuation removed ("Acme Coffee", "@acmecoffee" and "#AcmeCoffee" all give
#acmecoffee), plus the ``tags`` of the config. One request reads up to four of them: the path
tag and three ``any[]`` (Mastodon's TagFeed::LIMIT_PER_MODE takes four tags, path included).
The path tag must exist on that server: for a tag nobody there has used, Mastodon answers ``[]``
and ignores ``any[]`` (the ``any[]`` tags themselves may be unused). So the brand's tags are
*warm* on a server once one of them is known to exist (it came back in an answer): then each
poll reads them all, led by known tags, in ceil(tags / 4) requests; more when fewer tags are
known than that, as a known tag then leads again with ``none[]`` of itself (not to read its
posts twice) and 3 more tags. While none is known (*cold*), each tag is asked alone for its
newest page (no ``min_id``: no paging request) once per ``unused_tags_every``, so the first post
ever to use a brand's tag on a server can come that late.

Cursor, per server: the brand's tag feed keeps the newest status id read, the ids seen within
``overlap`` of it, the tags known to exist, and when cold tags were last asked. Mastodon ids are
snowflakes (milliseconds << 16), and a post federated late gets an id from its own time, below
ids already seen: so each poll reads forward (``min_id``, the ``Link`` header's ``prev``) from
``overlap`` before the newest id and skips the ids seen; a page cap (``max_pages``) leaves the
rest for the next poll. A version-1 cursor (one entry per tag) is carried over: that poll asks
every tag alone, each from its own old position. A status found on several servers (or tags) is
one mention: its ``uri`` is the same everywhere and is the external id.

Word search (``search: true``, servers with a token) only finds posts of people who opted in to
search, on servers with full-text search. It cannot OR keywords (every word is a must), so it
costs one request per remaining keyword: @handles and #tags are left to the timelines, and a
keyword containing all the words of another (e.g. "Acme Coffee app" and "Acme Coffee") is dropped.
With it on, a poll exceeds the product's floor of one search request per brand and source.

Cost per poll and brand, per server: warm, ceil(tags / 4) requests (+1 per further page of
``limit`` new statuses); cold, one per tag once per ``unused_tags_every`` and none in between;
with search, one per remaining keyword. One failing server fails the whole poll: no cursor moves,
so nothing is lost, and the error names the host. ``refresh`` asks the server each status was
found on: 20 ids a request on 4.3+, one per status before (server and local id in ``self.state``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, NamedTuple
from urllib.parse import quote

import httpx
from pydantic import ByteSize, Field, SecretStr, field_validator, model_validator

from connectors.base import (
    BrandJobsConfig,
    Connector,
    FetchResult,
    SourceConfig,
    SourceState,
    one_item,
    response_limit,
)
from monitor.config import Duration, StrictModel
from monitor.errors import ParseError, RateLimited
from monitor.http import json_of, raise_for_status, retry_after_of, send
from monitor.models import Mention
from monitor.text import html_to_text

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | list[str]]
Mark = dict[str, Any]  # one feed's cursor: n (newest id), s (ids seen), and for tags k, t, f
BATCH = 20  # ids per GET /api/v1/statuses (the server's DEFAULT_STATUSES_LIMIT)
KEEP_SEEN = 200  # ids remembered per feed inside the overlap window
TAGS_PER_REQUEST = 4  # TagFeed::LIMIT_PER_MODE: the path tag and three any[]
ENGAGEMENT = {  # our name -> the Status field (quotes_count since Mastodon 4.5)
    "likes": "favourites_count",
    "reposts": "reblogs_count",
    "replies": "replies_count",
    "quotes": "quotes_count",
}
HOW_TO_GET_ONE = (
    "on {host} open Preferences > Development > New application, tick only the `read` scope, "
    "save, and put 'Your access token' in the environment variable your config names "
    "(e.g. MASTODON_TOKEN)"
)


def _normalise_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = "https://" + value
    if not value.startswith(("https://", "http://")) or not httpx.URL(value).host:
        raise ValueError(f"{value!r} is not a server address like https://mastodon.social")
    return value


class Instance(StrictModel):
    """One Mastodon server to read, and optionally a token of an account on it."""

    url: str = Field(description="the server's address, e.g. `https://fosstodon.org`")
    access_token: SecretStr | None = Field(
        default=None,
        description="a token of an account on that server, as `${FOSSTODON_TOKEN}`; optional",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _normalise_url(value)

    @property
    def host(self) -> str:
        return httpx.URL(self.url).host


class MastodonConfig(BrandJobsConfig):
    #: Escalation thresholds (favourites + boosts + replies), per hour; see SpreadRule.
    SPREAD: ClassVar[dict[str, Any]] = {
        "spreading": 10,
        "viral": 50,
        "min_gain": 5,
        "followers": 5_000,
    }
    base_url: str = Field(
        default="https://mastodon.social",
        description="the server to watch when `instances` is empty",
    )
    access_token: SecretStr | None = Field(
        default=None,
        description="a token for `base_url`, as `${MASTODON_TOKEN}`; not with `instances`",
    )
    instances: list[Instance] = Field(
        default=[],
        description="several servers, each with its own optional token; unset: `base_url` alone",
    )
    tags: list[str] = Field(
        default=[],
        description="more hashtags to follow for every brand (with or without `#`)",
    )
    search: bool = Field(
        default=False,
        description="also search each keyword as text, on servers with a token (one request"
        " per keyword per poll)",
    )
    limit: int = Field(
        default=40, ge=1, le=40, description="posts per request (40 is Mastodon's most)"
    )
    max_pages: int = Field(
        default=5,
        ge=1,
        le=50,
        description="at most this many pages of new posts per request (hashtags or search)"
        " per poll; the rest comes at the next poll",
    )
    lookback: Duration = Field(
        default=timedelta(hours=24), description="how far back the very first poll looks"
    )
    overlap: Duration = Field(
        default=timedelta(minutes=15),
        description="how far before the newest post each poll reaches back, for posts that"
        " arrive late",
    )
    #: A page is 40 statuses of a few kB (some servers allow posts of 5,000+ characters).
    max_response: ByteSize = response_limit(5_000_000)
    unused_tags_every: Duration = Field(
        default=timedelta(hours=1),
        description="how often to ask again about a brand's hashtags while none of them has"
        " been used on a server",
    )

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str) -> str:
        return _normalise_url(value)

    @model_validator(mode="after")
    def _one_way(self) -> MastodonConfig:
        if self.instances and self.access_token is not None:
            raise ValueError(
                "`access_token` at this level is for `base_url` alone: with `instances:`, "
                "give each instance its own `access_token`"
            )
        urls = [i.url for i in self.instances]
        if len(set(urls)) != len(urls):
            raise ValueError("the same server is listed twice under `instances`")
        if self.search and all(s.access_token is None for s in self.servers()):
            raise ValueError(
                "`search: true` needs an `access_token` (Mastodon searches words only for a "
                "signed-in account): add one, or remove `search`"
            )
        return self

    def servers(self) -> list[Instance]:
        return self.instances or [Instance(url=self.base_url, access_token=self.access_token)]


def hashtags(keywords: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    """Distinct hashtags for keywords: no '#', '@', spaces or punctuation, lower case."""
    tags: dict[str, None] = {}
    for keyword in [*keywords, *extra]:
        tag = re.sub(r"\W", "", keyword).casefold()
        if re.search(r"[^\W\d]", tag):  # Mastodon's rule: at least one letter or '_'
            tags.setdefault(tag)
    return list(tags)


def search_queries(keywords: Sequence[str]) -> list[str]:
    """Word searches for a brand's keywords, in keyword order.

    @handles and #tags are left to the hashtag timelines. Mastodon ANDs the words of a query,
    so a keyword whose words include all the words of another is covered by it and dropped.
    """
    queries: dict[frozenset[str], str] = {}
    for keyword in keywords:
        if keyword.strip().startswith(("@", "#")):
            continue
        words = [w for w in (re.sub(r"^\W+|\W+$", "", w) for w in keyword.split()) if w]
        if words:  # a word with ':' could read as an operator (from:, is:): quote it
            terms = [f'"{w}"' if ":" in w else w for w in words]
            queries.setdefault(frozenset(w.casefold() for w in words), " ".join(terms))
    return [q for words, q in queries.items() if not any(other < words for other in queries)]


@dataclass(frozen=True)
class TagGroup:
    """One tag-timeline request: ``lead`` in the path (it must exist), the rest as any[]."""

    lead: str
    more: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # none[]: when ``lead`` leads again, not its posts twice


def tag_groups(tags: Sequence[str], known: Collection[str]) -> list[TagGroup]:
    """The fewest requests that read every tag, each led by a tag known to exist."""
    leads = [t for t in tags if t in known]
    if not leads:
        return []
    count = 1
    while min(count, len(leads)) * TAGS_PER_REQUEST + max(0, count - len(leads)) * 3 < len(tags):
        count += 1
    leads = leads[:count]
    rest = [t for t in tags if t not in leads]
    groups: list[TagGroup] = []
    for i in range(count):
        lead, again = (leads[i], False) if i < len(leads) else (leads[0], True)
        take = TAGS_PER_REQUEST - 1
        groups.append(TagGroup(lead, tuple(rest[:take]), (lead,) if again else ()))
        rest = rest[take:]
    return groups


def id_key(status_id: str) -> tuple[int, str]:
    """Mastodon's documented id order: longer is newer, then lexical."""
    return len(status_id), status_id


def snowflake_at(seconds: float) -> str:
    return str(int(seconds * 1000) << 16)


def snowflake_time(status_id: str) -> float | None:
    return (int(status_id) >> 16) / 1000 if status_id.isdigit() else None


class Read(NamedTuple):
    """What one request (and its further pages) gave."""

    lead: str  # the path tag, or the search query
    statuses: list[dict[str, Any]]
    floor: str  # statuses at or below this id are not new for this read
    reach: str | None = None  # the newest id read, when a page cap stopped it early


class MastodonConnector(Connector):
    """Statuses on Mastodon servers that carry a brand's hashtag or (opted in) its words."""

    name = "mastodon"
    Config = MastodonConfig
    config: MastodonConfig
    #: A request per brand and server: several workers share the brands (brands_per_job).
    splits_by_brand = True

    def __init__(
        self, config: SourceConfig, http: httpx.Client, state: SourceState | None = None
    ) -> None:
        super().__init__(config, http, state)
        self._no_batch: set[str] = set()  # servers older than 4.3: no batch statuses method

    # ------------------------------------------------------------------ fetch

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        old = self._read_cursor(cursor)
        tags = hashtags(queries, self.config.tags)
        texts = search_queries(queries) if self.config.search else []
        found: dict[str, Mention] = {}
        servers: dict[str, dict[str, Any]] = {}
        for server in self.config.servers():
            before = old.get(server.url, {})
            entry: dict[str, Any] = {}
            if tags:
                entry["tags"] = self._read_tags(server, tags, before.get("tags", {}), found)
            if texts and server.access_token is not None:
                searched = before.get("search", {})
                entry["search"] = {
                    q: self._read_search(server, q, searched.get(q, {}), found) for q in texts
                }
            servers[server.url] = entry
        mentions = sorted(found.values(), key=lambda m: m.created_at)
        return mentions, json.dumps({"v": 2, "servers": servers}, separators=(",", ":"))

    def _read_tags(
        self, server: Instance, tags: list[str], mark: Mark, found: dict[str, Mention]
    ) -> Mark:
        known = set(mark.get("k", ())) & set(tags)
        asked = mark.get("t")
        floor, seen = self._window(mark)
        if known:
            reads = [self._group(server, g, floor, seen) for g in tag_groups(tags, known)]
        elif asked is None or time.time() - asked >= self.config.unused_tags_every.total_seconds():
            asked, floors = time.time(), mark.get("f", {})
            reads = [self._probe(server, tag, floor, floors.get(tag), seen) for tag in tags]
        else:
            return mark  # cold, and asked lately: nothing until unused_tags_every has passed
        new, learned = self._advance(server, mark, floor, seen, reads, found)
        new["k"] = [t for t in tags if t in known | learned]
        if asked is not None:
            new["t"] = asked
        return new

    def _read_search(
        self, server: Instance, query: str, mark: Mark, found: dict[str, Mention]
    ) -> Mark:
        floor, seen = self._window(mark)
        return self._advance(
            server, mark, floor, seen, [self._search(server, query, floor)], found
        )[0]

    def _window(self, mark: Mark) -> tuple[str, set[str]]:
        """Where a feed is read from, and the ids already seen above that."""
        seen = set(mark.get("s", ()))
        floor = self._floor(mark.get("n"))
        if len(seen) >= KEEP_SEEN:  # never reach back past what can be told apart
            floor = max(floor, min(*seen, mark.get("n", floor), key=id_key), key=id_key)
        return floor, seen

    def _advance(
        self,
        server: Instance,
        mark: Mark,
        floor: str,
        seen: set[str],
        reads: list[Read],
        found: dict[str, Mention],
    ) -> tuple[Mark, set[str]]:
        """New mentions from one feed's reads into ``found``; its new mark and the tags seen."""
        learned: set[str] = set()
        for one in reads:
            learned |= {one.lead} if one.statuses else set()
            for status in one.statuses:
                post = status["reblog"] if isinstance(status.get("reblog"), dict) else status
                learned |= {str(t.get("name", "")).casefold() for t in _tags_of(post)}
                if status["id"] in seen or id_key(status["id"]) <= id_key(one.floor):
                    continue
                mention = self._to_mention(status, server)
                if mention is not None and mention.external_id not in found:
                    found[mention.external_id] = mention
                    where = {"server": server.url, "id": mention.raw["id"]}
                    self.state.set(_where_key(mention.external_id), json.dumps(where))
        # The newest id read (or, if a page cap stopped a read, the least far one got), and the
        # ids seen within `overlap` of it, not to repeat them.
        ids = seen | {s["id"] for one in reads for s in one.statuses}
        behind = [one.reach for one in reads if one.reach is not None]
        if behind:
            newest = min(behind, key=id_key)
        else:
            newest = max([*ids, mark.get("n", floor)], key=id_key)
        keep = sorted((i for i in ids if id_key(i) > id_key(self._floor(newest))), key=id_key)
        return {"n": newest, "s": keep[-KEEP_SEEN:]}, learned

    def _floor(self, newest: str | None) -> str:
        """Read from ``lookback`` ago on the first poll, then from ``overlap`` before the newest."""
        if newest is None:
            return snowflake_at(time.time() - self.config.lookback.total_seconds())
        at = snowflake_time(newest)
        return newest if at is None else snowflake_at(at - self.config.overlap.total_seconds())

    def _probe(
        self, server: Instance, tag: str, floor: str, own: str | None, seen: set[str]
    ) -> Read:
        """A tag not known to exist, alone: its newest page, then forward if that was all new.

        ``own``: where a version-1 cursor had got to on this tag, not to return that again.
        """
        if own is not None:
            floor = max(floor, self._floor(own), key=id_key)
        path = f"/api/v1/timelines/tag/{quote(tag, safe='')}"
        response = self._request(server, path, {"limit": self.config.limit}, missing=True)
        if response.status_code == 404:  # the documented answer for a tag nobody has used
            return Read(tag, [], floor)
        page = self._statuses(self._list(response, "tag timeline"))
        if len(page) < self.config.limit or any(id_key(s["id"]) <= id_key(floor) for s in page):
            return Read(tag, page, floor)
        more = self._group(server, TagGroup(tag), floor, seen)
        return Read(tag, page + more.statuses, floor, more.reach)

    def _group(self, server: Instance, group: TagGroup, floor: str, seen: set[str]) -> Read:
        """Forward from ``floor``; pages of statuses already seen (the overlap) are not counted."""
        statuses: list[dict[str, Any]] = []
        path = f"/api/v1/timelines/tag/{quote(group.lead, safe='')}"
        tags = {k: v for k, v in (("any[]", group.more), ("none[]", group.exclude)) if v}
        min_id, pages = floor, 0
        for _ in range(self.config.max_pages + KEEP_SEEN // self.config.limit + 1):
            params: Params = {**{k: list(v) for k, v in tags.items()}, "min_id": min_id}
            params = {**params, "limit": self.config.limit}
            response = self._request(server, path, params, missing=True)
            if response.status_code == 404:  # the lead tag is gone: nothing to read here
                break
            body = self._list(response, "tag timeline")
            page = self._statuses(body)
            statuses += page
            pages += any(s["id"] not in seen for s in page)
            if len(body) < self.config.limit or not page:
                break
            if pages >= self.config.max_pages:
                log.info(
                    "mastodon: over %d new statuses for #%s on %s; the rest come next poll",
                    pages * self.config.limit,
                    " #".join([group.lead, *group.more]),
                    server.host,
                )
                return Read(group.lead, statuses, floor, max((s["id"] for s in page), key=id_key))
            prev = response.links.get("prev", {}).get("url")  # newer page: min_id=newest here
            next_min = httpx.URL(prev).params.get("min_id") if prev else None
            next_min = next_min or max((s["id"] for s in page), key=id_key)
            if id_key(next_min) <= id_key(min_id):
                break
            min_id = next_min
        else:
            return Read(group.lead, statuses, floor, min_id)
        return Read(group.lead, statuses, floor)

    def _search(self, server: Instance, query: str, floor: str) -> Read:
        statuses: list[dict[str, Any]] = []
        for page in range(self.config.max_pages):
            params: dict[str, str | int | list[str]] = {"q": query, "type": "statuses"}
            params |= {"resolve": "false", "limit": self.config.limit, "min_id": floor}
            if page:
                params["offset"] = page * self.config.limit  # allowed with a user token
            body = self._json(self._request(server, "/api/v2/search", params))
            if not isinstance(body, dict) or not isinstance(body.get("statuses"), list):
                raise ParseError(self.name, f"{server.host}: search has no `statuses`")
            statuses += self._statuses(body["statuses"])
            if len(body["statuses"]) < self.config.limit:
                break
        else:
            log.warning(
                "mastodon: more than %d new search results for %s on %s; older ones were "
                "skipped (raise max_pages or poll more often)",
                self.config.max_pages * self.config.limit,
                query,
                server.host,
            )
        return Read(query, statuses, floor)

    def _read_cursor(self, cursor: str | None) -> dict[str, dict[str, Any]]:
        """Per server: {"tags": mark, "search": {query: mark}}; a version-1 cursor converted."""
        if not cursor:
            return {}
        try:
            data = json.loads(cursor)
            if "timelines" in data:
                return _from_version_1(data["timelines"])
            servers: dict[str, dict[str, Any]] = {}
            for url, entry in data["servers"].items():
                servers[url] = {"search": {q: _mark(m) for q, m in entry.get("search", {}).items()}}
                if "tags" in entry:
                    servers[url]["tags"] = _mark(entry["tags"])
            return servers
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("mastodon: ignoring an unreadable cursor %r", cursor[:80])
            return {}

    def _statuses(self, items: list[Any]) -> list[dict[str, Any]]:
        out = [s for s in items if isinstance(s, dict) and isinstance(s.get("id"), str)]
        if len(out) < len(items):
            log.warning("mastodon: skipped %d statuses without an id", len(items) - len(out))
        return out

    @one_item
    def _to_mention(self, status: dict[str, Any], server: Instance) -> Mention | None:
        # A boost counts as the post it boosts: same uri, so it dedupes with the original.
        post = status["reblog"] if isinstance(status.get("reblog"), dict) else status
        uri, account = post.get("uri"), post.get("account")
        try:
            created = datetime.fromisoformat(str(post["created_at"]))
        except (KeyError, ValueError):
            created = None
        if not (isinstance(uri, str) and isinstance(post.get("id"), str) and created):
            log.warning("mastodon: skipping a status without id/uri/created_at")
            return None
        account = account if isinstance(account, dict) else {}
        author = str(account.get("acct") or account.get("username") or "unknown")
        if "@" not in author:  # local accounts have no domain in `acct`
            author = f"{author}@{server.host}"
        text = html_to_text(str(post.get("content") or ""))
        spoiler = str(post.get("spoiler_text") or "").strip()
        if spoiler:
            text = f"{spoiler}\n{text}" if text else spoiler
        followers = account.get("followers_count")
        return Mention(
            source=self.name,
            external_id=uri,
            url=str(post.get("url") or uri),
            author=author,
            author_followers=followers if isinstance(followers, int) else None,
            text=text,
            created_at=created,
            engagement=_engagement(post),
            raw=post,
        )

    # ------------------------------------------------------------------ refresh

    def refresh(self, ids: Sequence[str]) -> dict[str, dict[str, int]]:
        servers = {s.url: s for s in self.config.servers()}
        wanted: dict[str, dict[str, str]] = {}  # server url -> local id -> uri
        for uri in dict.fromkeys(ids):
            where = self.state.get(_where_key(uri))
            try:
                place = json.loads(where) if where else None
                if place and place["server"] in servers:
                    wanted.setdefault(place["server"], {})[str(place["id"])] = uri
            except (ValueError, KeyError, TypeError):
                log.warning("mastodon: no usable location kept for %s", uri[:120])
        result: dict[str, dict[str, int]] = {}
        for url, by_id in wanted.items():
            for status in self._lookup(servers[url], list(by_id)):
                if status["id"] in by_id:
                    result[by_id[status["id"]]] = _engagement(status)
        return result

    def _lookup(self, server: Instance, local_ids: list[str]) -> list[dict[str, Any]]:
        if server.url not in self._no_batch:
            found: list[dict[str, Any]] = []
            for start in range(0, len(local_ids), BATCH):
                chunk = local_ids[start : start + BATCH]
                response = self._request(server, "/api/v1/statuses", {"id[]": chunk}, missing=True)
                if response.status_code == 404:  # before Mastodon 4.3
                    self._no_batch.add(server.url)
                    break
                found += self._statuses(self._list(response, "statuses answer"))
            else:
                return found
        found = []
        for local_id in local_ids:
            path = f"/api/v1/statuses/{quote(local_id, safe='')}"
            response = self._request(server, path, {}, missing=True)
            if response.status_code != 404:  # 404: deleted or made private
                found += self._statuses([self._json(response)])
        return found

    # ------------------------------------------------------------------ check

    def check(self, online: bool = False) -> list[str]:
        lines: list[str] = []
        for server in self.config.servers():
            if server.access_token is None:
                how = HOW_TO_GET_ONE.format(host=server.host)
                lines.append(
                    f"{server.host}: no access token: hashtag timelines only"
                    + (f" (word search needs one: {how})" if self.config.search else "")
                )
                continue
            if self.config.search:
                lines.append(f"{server.host}: access token set: hashtag timelines and word search")
            else:
                lines.append(
                    f"{server.host}: access token set: hashtag timelines (word search is off; "
                    "`search: true` turns it on)"
                )
            if online:
                path = "/api/v1/accounts/verify_credentials"
                body = self._json(self._request(server, path, {}))
                acct = body.get("acct") if isinstance(body, dict) else None
                lines.append(f"{server.host}: the token works (account @{acct})")
        return lines

    # ------------------------------------------------------------------ HTTP

    def _request(
        self, server: Instance, path: str, params: Params, *, missing: bool = False
    ) -> httpx.Response:
        """GET with our errors; a Mastodon 404 is handed back when ``missing`` is allowed."""
        headers: dict[str, str] = {}
        if server.access_token is not None:
            headers["Authorization"] = f"Bearer {server.access_token.get_secret_value()}"
        response = send(
            self.http,
            self.name,
            "GET",
            server.url + path,
            params=params,
            headers=headers,
            timeout=self.config.timeout.total_seconds(),
            max_response=self.config.max_response,
        )
        if response.status_code == 429:
            raise self._rate_limited(server, response)
        if missing and response.status_code == 404 and _is_api_error(response):
            return response
        if server.access_token is not None:
            hint = f"the access token for {server.host} is wrong, revoked or lacks `read`: "
        else:
            hint = f"{server.host} serves this only to apps with a token: "
        raise_for_status(
            self.name, response, auth_hint=hint + HOW_TO_GET_ONE.format(host=server.host)
        )
        return response

    def _json(self, response: httpx.Response) -> Any:
        return json_of(self.name, response)

    def _list(self, response: httpx.Response, what: str) -> list[Any]:
        body = self._json(response)
        if not isinstance(body, list):
            raise ParseError(self.name, f"{response.request.url.host}: {what} is not a list")
        return body

    def _rate_limited(self, server: Instance, response: httpx.Response) -> RateLimited:
        wait = retry_after_of(response)  # Mastodon sends X-RateLimit-Reset, an ISO 8601 time
        after = f"; it resets in {wait:.0f}s" if wait is not None else ""
        return RateLimited(
            self.name,
            f"{server.host} is rate limiting us (HTTP 429){after}",
            retry_after=wait,
            hint="Mastodon allows 300 paging requests per 15 minutes: poll less often, "
            "watch fewer tags or turn `search` off",
        )


def _mark(raw: Any) -> Mark:
    """A cursor entry, type-checked (a TypeError or KeyError makes the cursor unreadable)."""
    mark: Mark = {"s": [str(i) for i in raw.get("s", [])]}
    if "n" in raw:
        mark["n"] = str(raw["n"])
    if "k" in raw:
        mark["k"] = [str(t) for t in raw["k"]]
    if raw.get("t") is not None:
        mark["t"] = float(raw["t"])
    if "f" in raw:
        mark["f"] = {str(t): str(n) for t, n in raw["f"].items()}
    return mark


def _from_version_1(timelines: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{"<url> tag:<t>" | "<url> search:<q>": {n, s}} -> per server; tags asked alone once."""
    servers: dict[str, dict[str, Any]] = {}
    for key, raw in timelines.items():
        url, _, what = key.partition(" ")
        kind, _, term = what.partition(":")
        mark = _mark(raw)
        entry = servers.setdefault(url, {"search": {}})
        if kind == "search":
            entry["search"][" ".join(term.replace('"', " ").split())] = mark
        elif kind == "tag" and "n" in mark:
            tags = entry.setdefault("tags", {"s": [], "f": {}})
            tags["f"][term] = mark["n"]  # where this tag had got to
            tags["s"] = sorted({*tags["s"], *mark["s"]}, key=id_key)[-KEEP_SEEN:]
            tags["n"] = min(tags.get("n", mark["n"]), mark["n"], key=id_key)
    return servers


def _tags_of(post: dict[str, Any]) -> list[dict[str, Any]]:
    tags = post.get("tags")
    return [t for t in tags if isinstance(t, dict)] if isinstance(tags, list) else []


def _engagement(post: dict[str, Any]) -> dict[str, int]:
    return {key: post[f] for key, f in ENGAGEMENT.items() if isinstance(post.get(f), int)}


def _where_key(uri: str) -> str:
    return "status:" + hashlib.sha256(uri.encode()).hexdigest()[:32]


def _is_api_error(response: httpx.Response) -> bool:
    """Mastodon's own 404s are JSON with ``error``; a wrong address gives an HTML page."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "error" in body
