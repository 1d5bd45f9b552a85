"""Mastodon: public hashtag timelines and, with a token, full-text search, on chosen servers.

API: https://docs.joinmastodon.org/methods/timelines/#tag (``GET /api/v1/timelines/tag/:hashtag``),
https://docs.joinmastodon.org/methods/search/#v2 (``GET /api/v2/search?type=statuses``) and
https://docs.joinmastodon.org/methods/statuses/ (``GET /api/v1/statuses?id[]=``, 4.3+).
Auth: none for hashtag timelines (unless the server has closed them to anonymous readers);
full-text search needs a user access token with the ``read`` scope. Without one, only tags.
Limits (https://docs.joinmastodon.org/api/rate-limits/): 300 requests per 5 minutes per IP
(or per token), and 300 *paging* requests (``min_id``/``max_id``) per 15 minutes.

Each configured server is read on its own. Every keyword of a brand becomes a hashtag with its
spaces and punctuation removed ("Acme Coffee", "@acmecoffee" and "#AcmeCoffee" all give
#acmecoffee), plus the ``tags`` of the config. A tag timeline is read forward from the cursor
with ``min_id``, page by page (the ``Link`` header's ``prev``), so a page cap never skips
anything: the rest comes next poll. With a token, each keyword is also searched, newest first.

The cursor keeps, per server and per tag or search, the newest status id seen. Mastodon ids are
snowflakes (milliseconds << 16), and a post federated late gets an id from its own time, below
ids already seen: so each poll starts ``overlap`` before the newest id, and the cursor also keeps
the ids seen inside that window, so nothing is returned twice. A status found on several servers
(or tags) is one mention: its ``uri`` is the same everywhere and is the external id.

Cost per poll and brand: for each server, one request per distinct tag (plus one per further
page of ``limit`` new statuses; re-reading the overlap costs a page only when more than
``limit`` statuses fall inside it), and with a token one more per distinct keyword. One failing
server fails the whole poll: no cursor moves, so nothing is lost, and the error names the host.
``refresh`` asks the server each status was found on: 20 ids a request on Mastodon 4.3+, one
request per status before (that server and local id are kept in ``self.state``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

from connectors.base import Connector, FetchResult, SourceConfig, SourceState
from monitor.config import Duration, StrictModel
from monitor.errors import FetchTimeout, ParseError, RateLimited, SourceUnavailable
from monitor.http import raise_for_status, retry_after_of
from monitor.models import Mention
from monitor.text import html_to_text

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | list[str]]
BATCH = 20  # ids per GET /api/v1/statuses (the server's DEFAULT_STATUSES_LIMIT)
KEEP_SEEN = 200  # ids remembered per timeline inside the overlap window
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

    url: str
    access_token: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _normalise_url(value)

    @property
    def host(self) -> str:
        return httpx.URL(self.url).host


class MastodonConfig(SourceConfig):
    base_url: str = "https://mastodon.social"
    access_token: SecretStr | None = None
    instances: list[Instance] = []
    tags: list[str] = []
    limit: int = Field(default=40, ge=1, le=40)
    max_pages: int = Field(default=5, ge=1, le=50)
    lookback: Duration = timedelta(hours=24)
    overlap: Duration = timedelta(minutes=15)

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
    """Distinct search queries: '#'/'@' dropped (Mastodon won't full-text search those)."""
    queries: dict[str, str] = {}
    for keyword in keywords:
        term = " ".join(keyword.lstrip("@#").split())
        if term:
            queries.setdefault(term.casefold(), f'"{term}"' if " " in term else term)
    return list(queries.values())


def id_key(status_id: str) -> tuple[int, str]:
    """Mastodon's documented id order: longer is newer, then lexical."""
    return len(status_id), status_id


def snowflake_at(seconds: float) -> str:
    return str(int(seconds * 1000) << 16)


def snowflake_time(status_id: str) -> float | None:
    return (int(status_id) >> 16) / 1000 if status_id.isdigit() else None


@dataclass(frozen=True)
class Timeline:
    server: Instance
    kind: str  # "tag" or "search"
    term: str

    @property
    def key(self) -> str:
        return f"{self.server.url} {self.kind}:{self.term}"


class MastodonConnector(Connector):
    """Statuses on Mastodon servers that carry a brand's hashtag or (with a token) its words."""

    name = "mastodon"
    Config = MastodonConfig
    config: MastodonConfig

    def __init__(
        self, config: SourceConfig, http: httpx.Client, state: SourceState | None = None
    ) -> None:
        super().__init__(config, http, state)
        self._no_batch: set[str] = set()  # servers older than 4.3: no batch statuses method

    # ------------------------------------------------------------------ fetch

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        marks = self._read_cursor(cursor)
        new_marks: dict[str, dict[str, Any]] = {}
        found: dict[str, Mention] = {}
        for timeline in self._plan(queries):
            mark = marks.get(timeline.key, {})
            seen = set(mark.get("s", ()))
            floor = self._floor(mark.get("n"))
            if len(seen) >= KEEP_SEEN:  # never reach back past what can be told apart
                floor = max(floor, min(seen, key=id_key), key=id_key)
            read = self._read_tag if timeline.kind == "tag" else self._read_search
            statuses = read(timeline, floor, seen)
            for status in statuses:
                if status["id"] in seen or id_key(status["id"]) <= id_key(floor):
                    continue
                mention = self._to_mention(status, timeline.server)
                if mention is not None and mention.external_id not in found:
                    found[mention.external_id] = mention
                    where = {"server": timeline.server.url, "id": mention.raw["id"]}
                    self.state.set(_where_key(mention.external_id), json.dumps(where))
            # The newest id seen, and the ids seen within `overlap` of it (not to repeat them).
            ids = seen | {s["id"] for s in statuses}
            newest = max([*ids, mark.get("n", floor)], key=id_key)
            keep = sorted((i for i in ids if id_key(i) > id_key(self._floor(newest))), key=id_key)
            new_marks[timeline.key] = {"n": newest, "s": keep[-KEEP_SEEN:]}
        mentions = sorted(found.values(), key=lambda m: m.created_at)
        return mentions, json.dumps({"timelines": new_marks}, separators=(",", ":"))

    def _plan(self, keywords: Sequence[str]) -> list[Timeline]:
        tags = hashtags(keywords, self.config.tags)
        queries = search_queries(keywords)
        plan: list[Timeline] = []
        for server in self.config.servers():
            plan += [Timeline(server, "tag", tag) for tag in tags]
            if server.access_token is not None:
                plan += [Timeline(server, "search", q) for q in queries]
        return plan

    def _read_cursor(self, cursor: str | None) -> dict[str, dict[str, Any]]:
        if not cursor:
            return {}
        try:
            marks = json.loads(cursor)["timelines"]
            return {k: {"n": str(v["n"]), "s": [str(i) for i in v["s"]]} for k, v in marks.items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("mastodon: ignoring an unreadable cursor %r", cursor[:80])
            return {}

    def _floor(self, newest: str | None) -> str:
        """Read from ``lookback`` ago on the first poll, then from ``overlap`` before the newest."""
        if newest is None:
            return snowflake_at(time.time() - self.config.lookback.total_seconds())
        at = snowflake_time(newest)
        return newest if at is None else snowflake_at(at - self.config.overlap.total_seconds())

    def _read_tag(self, timeline: Timeline, floor: str, seen: set[str]) -> list[dict[str, Any]]:
        """Forward from ``floor``; pages of statuses already seen (the overlap) are not counted."""
        statuses: list[dict[str, Any]] = []
        path = f"/api/v1/timelines/tag/{quote(timeline.term, safe='')}"
        min_id, pages = floor, 0
        for _ in range(self.config.max_pages + KEEP_SEEN // self.config.limit + 1):
            params: Params = {"min_id": min_id, "limit": self.config.limit}
            response = self._request(timeline.server, path, params, missing=True)
            if response.status_code == 404:  # nobody on this server has used the tag yet
                break
            body = self._json(response)
            if not isinstance(body, list):
                raise ParseError(self.name, f"{timeline.server.host}: tag timeline is not a list")
            page = self._statuses(body)
            statuses += page
            pages += any(s["id"] not in seen for s in page)
            if len(body) < self.config.limit or not page:
                break
            if pages >= self.config.max_pages:
                log.info(
                    "mastodon: over %d new statuses for #%s on %s; the rest come next poll",
                    pages * self.config.limit,
                    timeline.term,
                    timeline.server.host,
                )
                break
            prev = response.links.get("prev", {}).get("url")  # newer page: min_id=newest here
            next_min = httpx.URL(prev).params.get("min_id") if prev else None
            next_min = next_min or max((s["id"] for s in page), key=id_key)
            if id_key(next_min) <= id_key(min_id):
                break
            min_id = next_min
        return statuses

    def _read_search(self, timeline: Timeline, floor: str, seen: set[str]) -> list[dict[str, Any]]:
        statuses: list[dict[str, Any]] = []
        for page in range(self.config.max_pages):
            params: dict[str, str | int | list[str]] = {"q": timeline.term, "type": "statuses"}
            params |= {"resolve": "false", "limit": self.config.limit, "min_id": floor}
            if page:
                params["offset"] = page * self.config.limit  # allowed with a user token
            body = self._json(self._request(timeline.server, "/api/v2/search", params))
            if not isinstance(body, dict) or not isinstance(body.get("statuses"), list):
                raise ParseError(self.name, f"{timeline.server.host}: search has no `statuses`")
            statuses += self._statuses(body["statuses"])
            if len(body["statuses"]) < self.config.limit:
                break
        else:
            log.warning(
                "mastodon: more than %d new search results for %s on %s; older ones were "
                "skipped (raise max_pages or poll more often)",
                self.config.max_pages * self.config.limit,
                timeline.term,
                timeline.server.host,
            )
        return statuses

    def _statuses(self, items: list[Any]) -> list[dict[str, Any]]:
        out = [s for s in items if isinstance(s, dict) and isinstance(s.get("id"), str)]
        if len(out) < len(items):
            log.warning("mastodon: skipped %d statuses without an id", len(items) - len(out))
        return out

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
                body = self._json(response)
                if not isinstance(body, list):
                    raise ParseError(self.name, f"{server.host}: statuses answer is not a list")
                found += self._statuses(body)
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
                lines.append(
                    f"{server.host}: no access token: hashtag timelines only "
                    f"(full-text search needs one: {HOW_TO_GET_ONE.format(host=server.host)})"
                )
                continue
            lines.append(f"{server.host}: access token set: hashtag timelines and search")
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
        try:
            response = self.http.get(
                server.url + path,
                params=params,
                headers=headers,
                timeout=self.config.timeout.total_seconds(),
            )
        except httpx.TimeoutException as exc:
            raise FetchTimeout(self.name, f"no answer from {server.host} in time") from exc
        except httpx.TransportError as exc:
            raise SourceUnavailable(
                self.name, f"cannot reach {server.host}: {type(exc).__name__}"
            ) from exc
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
        try:
            return response.json()
        except ValueError as exc:
            host = response.request.url.host
            raise ParseError(self.name, f"{host} answered with something that is not JSON") from exc

    def _rate_limited(self, server: Instance, response: httpx.Response) -> RateLimited:
        wait = retry_after_of(response)  # Mastodon sends X-RateLimit-Reset, an ISO 8601 time
        after = f"; it resets in {wait:.0f}s" if wait is not None else ""
        return RateLimited(
            self.name,
            f"{server.host} is rate limiting us (HTTP 429){after}",
            retry_after=wait,
            hint="Mastodon allows 300 paging requests per 15 minutes: poll less often or "
            "watch fewer tags",
        )


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
