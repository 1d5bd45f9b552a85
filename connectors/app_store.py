"""App Store reviews of an app, two ways (settings in app_store_config.py, wire details in
app_store_api.py).

1. **The owner's own app, with their App Store Connect API key** (``issuer_id``, ``key_id``
   and the ``.p8`` key): ``GET /v1/apps/{id}/customerReviews?sort=-createdDate&limit=200
   &include=response`` (https://developer.apple.com/documentation/appstoreconnectapi/
   get-v1-apps-_id_-customerreviews), every territory, paged by ``links.next``. A review is
   ``{"type": "customerReviews", "id", "attributes": {"rating", "title", "body",
   "reviewerNickname", "createdDate", "territory"}, "relationships": {"response": {"data":
   {"type": "customerReviewResponses", "id"}}}}``; the responses come in ``included`` with
   ``responseBody``, ``lastModifiedDate`` and ``state`` (``PUBLISHED`` or
   ``PENDING_PUBLISH``). A published response is the owner's reply (``owner_replied_at``).
   The API has no update time and sorts by creation only, so every poll reads the newest
   page (200 reviews) again and keeps a short fingerprint of each (stars, title, text,
   response): a review whose fingerprint changed (re-rated, re-written, answered) comes again
   with the same id for the core to re-score; older pages are read only while they hold
   reviews newer than the newest seen, up to ``max_pages``. Apple does not say when a review
   was edited, so ``edited_at`` stays unset here.
2. **Any app, without a key**: Apple's public reviews feed,
   ``{feed_base_url}/{country}/rss/customerreviews/page={n}/id={id}/sortby=mostrecent/json``,
   50 reviews a page, at most 10 pages (the newest 500 per country), newest ``updated`` first.
   An entry is ``id``, ``author.name``, ``im:rating``, ``title``, ``content``, ``updated``,
   ``im:version``, ``link`` (each ``{"label": ...}``). A review the reviewer changes keeps its
   id and gets a new ``updated``, so it comes again (``edited_at``: that time, when we saw it
   before). No owner replies are in the feed.

Which way: an app with ``own: true`` (the default when a key is configured) is read with
the key; ``own: false`` (a competitor's app, the default without a key) by the feed. Only the
owner's app is ``own_page`` (its reviews belong to its brand whatever their words); a
competitor's is a ``listing`` of its brand: its reviews belong to it too, but it is not
the owner's page. An own app
without a key is read by the feed, still ``own_page``.

``per_brand = False``. Cursor: ``{"v": 1, "apps": {<id>: {"newest": createdDate, "seen": {id:
fingerprint}}}, "feeds": {"<id>/<country>": {"since": updated, "at": [ids], "first": {id:
epoch of the first updated seen}}}}``. The first poll reaches back ``lookback``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.app_store_api import (
    Fed,
    Seen,
    Signer,
    connect_error,
    feed_entries,
    hourly_limit,
    label,
    mark,
    next_link,
    read_cursor,
    responses_of,
    when,
    write_cursor,
)
from connectors.app_store_config import App, AppStoreConfig
from connectors.base import Connector, FetchResult, SourceConfig, SourceState, one_item
from connectors.places import each_place, gather
from monitor.errors import ConnectorError, ParseError, RateLimited, SourceUnavailable
from monitor.http import json_of, raise_for_status, send
from monitor.models import Mention
from monitor.wording import count

__all__ = ["App", "AppStoreConfig", "AppStoreConnector"]

log = logging.getLogger(__name__)

CONNECT_PAGE = 200  # the API's largest `limit`
FEED_PAGE = 50
REMEMBER = 500  # first-seen times kept per feed: all the feed can show
STORE_LINK = "https://apps.apple.com/{country}app/id{app}?see-all=reviews"
#: Seconds this source waits when only ``hourly_reserve`` requests are left this hour.
RESERVE_WAIT = 900.0


class AppStoreConnector(Connector):
    """Reviews of apps on the App Store: with the owner's key, or the public feed."""

    name = "app_store"
    Config = AppStoreConfig
    config: AppStoreConfig
    per_brand = False

    def __init__(
        self, config: SourceConfig, http: httpx.Client, state: SourceState | None = None
    ) -> None:
        super().__init__(config, http, state)
        c = self.config
        self.signer = (
            Signer(str(c.issuer_id), str(c.key_id), c.private_key.get_secret_value())
            if c.has_key and c.private_key is not None
            else None
        )
        self.left: int | None = None  # requests left of the key's hour, as Apple last said
        self.hourly: int | None = None  # the key's requests an hour, as Apple last said

    # ------------------------------------------------------------------ fetch

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        return gather(self.fetch_pages(queries, cursor), cursor)

    def fetch_pages(self, queries: Sequence[str], cursor: str | None) -> Iterator[FetchResult]:
        """One step per app (each country of a feed app together), with its cursor."""
        apps, feeds = read_cursor(cursor)
        self.behind = None

        def read(app: App) -> list[Mention]:
            if self.config.by_key(app):
                mentions, apps[app.id] = self._read_connect(app, apps.get(app.id))
                return mentions
            found: list[Mention] = []
            for country in app.countries:
                where = f"{app.id}/{country}"
                more, feeds[where] = self._read_feed(app, country, feeds.get(where))
                found.extend(more)
            return found

        for mentions in each_place(self.config.apps, read, what="app"):
            mentions.sort(key=lambda m: m.created_at)
            yield mentions, write_cursor(apps, feeds, {a.id for a in self.config.apps})

    # ------------------------------------------------------------------ with the key

    def _read_connect(self, app: App, known: Seen | None) -> tuple[list[Mention], Seen]:
        now = datetime.now(UTC)
        floor = when(known.newest) if known and known.newest else None
        cutoff = now - self.config.lookback if known is None else None
        marks = known.seen if known else {}
        window: dict[str, str] = {}
        newest = known.newest if known else None
        found: list[Mention] = []
        url: str | None = f"{self.base_url}/v1/apps/{app.id}/customerReviews"
        params: dict[str, str] | None = {
            "sort": "-createdDate",
            "limit": str(CONNECT_PAGE),
            "include": "response",
        }
        oldest: datetime | None = None
        for page in range(self.config.max_pages):
            assert url is not None
            body = self._connect(url, params, app)
            replies = responses_of(body)
            if not isinstance(body["data"], list):
                raise ParseError(self.name, f"App Store Connect's reviews of {app.id} are no list")
            oldest = None
            for item in body["data"]:
                converted = self._review(app, item, replies)
                if converted is None:
                    continue
                mention, mark, stamp = converted
                rid = mention.external_id
                oldest = mention.created_at if oldest is None else min(oldest, mention.created_at)
                if newest is None or mention.created_at > when(newest):
                    newest = stamp
                if page == 0:
                    window[rid] = mark
                if cutoff is not None and mention.created_at < cutoff:
                    continue
                if page == 0:  # the newest page is read again: new, changed or answered
                    if marks.get(rid) != mark:
                        found.append(mention)
                elif floor is None or mention.created_at > floor:
                    found.append(mention)
            url, params = next_link(self.name, body, self.base_url), None
            reached = floor or cutoff
            if url is None or oldest is None or (reached is not None and oldest <= reached):
                break
        else:
            if url is not None:
                self.behind = now - oldest if oldest is not None else None
                log.warning(
                    "app_store: more than %d new reviews of app %s in one poll; older ones were"
                    " skipped (raise max_pages or poll more often)",
                    self.config.max_pages * CONNECT_PAGE,
                    app.id,
                )
        return found, Seen(newest, window)

    @one_item
    def _review(
        self, app: App, item: dict[str, Any], replies: dict[str, dict[str, Any]]
    ) -> tuple[Mention, str, str]:
        rid = str(item["id"])
        attributes = item["attributes"]
        stamp = str(attributes["createdDate"])
        created = when(stamp)
        stars = attributes.get("rating")
        relation = (item.get("relationships") or {}).get("response") or {}
        linked = relation.get("data") if isinstance(relation, dict) else None
        reply = replies.get(str(linked.get("id"))) if isinstance(linked, dict) else None
        reply = reply or {}
        public = reply.get("state") == "PUBLISHED" and reply.get("lastModifiedDate")
        title, text = attributes.get("title"), attributes.get("body")
        mention = Mention(
            source=self.name,
            external_id=rid,
            url=STORE_LINK.format(country="", app=app.id),
            author=str(attributes.get("reviewerNickname") or "an App Store reviewer"),
            title=str(title) if title else None,
            text=str(text or ""),
            created_at=created,
            raw={
                "app": app.id,
                "territory": str(attributes.get("territory") or ""),
                "review": item,
            },
            brand_hint=app.brand,
            own_page=True,
            rating=float(stars) if isinstance(stars, int) and 1 <= stars <= 5 else None,
            owner_replied_at=when(reply["lastModifiedDate"]) if public else None,
        )
        state = (reply.get("state"), reply.get("lastModifiedDate"), reply.get("responseBody"))
        return mention, mark(stars, title, text, *state), stamp

    def _connect(self, url: str, params: dict[str, str] | None, app: App) -> dict[str, Any]:
        """One App Store Connect request, within the hour's budget."""
        assert self.signer is not None
        if self.left is not None and self.left <= self.config.hourly_reserve:
            left, self.left = self.left, None
            raise RateLimited(
                self.name,
                f"only {left} App Store Connect requests are left for this key this hour; they"
                f" are left to your other tools, trying again in {RESERVE_WAIT / 60:.0f} minutes",
                retry_after=RESERVE_WAIT,
                hint="lower `hourly_reserve`, poll less often, or give mention-monitor a key of"
                " its own",
            )
        response = send(
            self.http,
            self.name,
            "GET",
            url,
            params=params,
            headers={"Authorization": f"Bearer {self.signer.token()}"},
            timeout=self.config.timeout.total_seconds(),
            max_response=self.config.max_response,
        )
        budget = hourly_limit(response)
        if budget is not None:
            self.hourly, self.left = budget
        if response.status_code >= 400:
            if response.status_code == 401:
                self.signer.forget()
            if response.status_code == 429:
                self.left = None  # the wait Apple asks for is the budget's wait
            raise connect_error(self.name, response, app.id)
        body = json_of(self.name, response, f"the reviews of app {app.id}")
        if not isinstance(body, dict) or not isinstance(body.get("data"), list | dict):
            raise ParseError(self.name, f"App Store Connect's answer for app {app.id} has no data")
        return body

    # ------------------------------------------------------------------ the public feed

    def _read_feed(self, app: App, country: str, known: Fed | None) -> tuple[list[Mention], Fed]:
        now = datetime.now(UTC)
        since = when(known.since) if known and known.since else now - self.config.lookback
        at = set(known.at) if known else set()
        first = dict(known.first) if known else {}
        top: tuple[datetime, set[str]] = (since, set(at))
        found: list[Mention] = []
        reached = False
        for page in range(1, self.config.feed_pages + 1):
            entries = self._feed_page(app, country, page)
            for entry in entries:
                converted = self._entry(app, country, entry, first)
                if converted is None:
                    continue
                mention, updated = converted
                rid = mention.external_id
                first.setdefault(rid, int(updated.timestamp()))
                if updated > top[0]:
                    top = (updated, {rid})
                elif updated == top[0]:
                    top[1].add(rid)
                if updated > since or (updated == since and rid not in at):
                    found.append(mention)
                else:
                    reached = True
            if reached or len(entries) < FEED_PAGE:
                break
        else:
            log.warning(
                "app_store: more than %d new reviews of app %s in %s since the last poll; the"
                " feed shows no more (poll more often)",
                self.config.feed_pages * FEED_PAGE,
                app.id,
                country.upper(),
            )
        stamp = top[0].isoformat().replace("+00:00", "Z")
        kept = dict(list(first.items())[-REMEMBER:])
        return found, Fed(stamp, sorted(top[1]), kept)

    @one_item
    def _entry(
        self, app: App, country: str, entry: dict[str, Any], first: dict[str, int]
    ) -> tuple[Mention, datetime]:
        rid = label(entry, "id")
        if not rid.isdigit():
            raise ValueError("a feed review's id is digits")
        updated = when(label(entry, "updated"))
        seen = first.get(rid)
        before = datetime.fromtimestamp(seen, UTC) if seen is not None else None
        stars = label(entry, "im:rating")
        title = label(entry, "title")
        mention = Mention(
            source=self.name,
            external_id=rid,
            url=STORE_LINK.format(country=f"{country}/", app=app.id),
            author=label(entry, "author", "name") or "an App Store reviewer",
            title=title or None,
            text=label(entry, "content"),
            created_at=before if before is not None and before < updated else updated,
            raw={"app": app.id, "country": country, "version": label(entry, "im:version")},
            brand_hint=app.brand,
            own_page=self.config.own(app),
            listing=not self.config.own(app),
            rating=float(stars) if stars in ("1", "2", "3", "4", "5") else None,
            edited_at=updated if before is not None and before < updated else None,
        )
        return mention, updated

    def _feed_page(self, app: App, country: str, page: int) -> list[dict[str, Any]]:
        where = f"app {app.id} in {country.upper()}"
        url = (
            f"{self.config.feed_base_url.rstrip('/')}/{country}/rss/customerreviews"
            f"/page={page}/id={app.id}/sortby=mostrecent/json"
        )
        response = send(
            self.http,
            self.name,
            "GET",
            url,
            timeout=self.config.timeout.total_seconds(),
            max_response=self.config.max_response,
        )
        if response.status_code in (400, 404):
            raise ConnectorError(
                self.name,
                f"the App Store has no reviews feed for {where} (HTTP {response.status_code})",
                hint="check the app's `id` (the digits after `id` in its App Store link) and"
                " that the app is sold in that country",
            )
        if response.status_code in (401, 403):
            raise SourceUnavailable(
                self.name,
                f"Apple refused the reviews feed for {where} (HTTP {response.status_code}); it"
                " needs no key, so Apple may be turning this computer away for a while",
                hint="if it lasts, poll less often (`every`) or read fewer countries",
            )
        raise_for_status(self.name, response)
        return feed_entries(self.name, json_of(self.name, response, "the reviews feed"), where)

    # ------------------------------------------------------------------ check

    def check(self, online: bool = False) -> list[str]:
        c = self.config
        keyed = [a for a in c.apps if c.by_key(a)]
        fed = [a for a in c.apps if not c.by_key(a)]
        key = f"App Store Connect key {c.key_id} set" if c.has_key else "no App Store Connect key"
        lines = [f"{key}; {count(len(keyed), 'app')} by the key, {len(fed)} by the public feed"]
        if not online:
            return lines
        for app in keyed:
            # The app's name alone: the cheapest request that proves the key and its access.
            body = self._connect(f"{self.base_url}/v1/apps/{app.id}", {"fields[apps]": "name"}, app)
            data = body["data"] if isinstance(body["data"], dict) else {}
            name = str((data.get("attributes") or {}).get("name") or "?")
            lines.append(f"app {app.id} ({name}, brand {app.brand}): Apple accepted the key")
        for app in fed:
            country = app.countries[0]
            entries = self._feed_page(app, country, 1)
            lines.append(
                f"app {app.id} (brand {app.brand}): the public feed answers, "
                f"{count(len(entries), 'review')} on its first page in {country.upper()}"
            )
        if keyed and self.left is not None and self.hourly is not None:
            lines.append(
                f"the key may make {self.hourly:,} requests an hour; {self.left:,} are left now"
                " (shared with your other tools that use it)"
            )
        return lines
