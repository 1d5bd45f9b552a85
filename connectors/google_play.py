"""Google Play: the reviews of the owner's own Android apps.

API: Google Play Developer API, ``reviews.list`` (https://developers.google.com/
android-publisher/api-ref/rest/v3/reviews/list; the wire and its errors: google_play_api.py),
with a service account's access token (google_service_account.py: a JWT signed RS256 with the
account's JSON key, scope ``https://www.googleapis.com/auth/androidpublisher``). The service
account must be invited in Play Console (Users and permissions) for the app.

The answer is ``{"reviews": [Review], "tokenPagination": {"nextPageToken"}, "pageInfo"}``, the
most recently created or modified first. A Review is ``reviewId``, ``authorName`` and
``comments[]``, each either a ``userComment`` (``text``: the title and the body joined by a
tab where the reviewer wrote both; ``lastModified`` ``{"seconds", "nanos"}``, ``starRating``
1-5, ``reviewerLanguage``, ``device``, ``androidOsVersion``, ``appVersionName``,
``thumbsUpCount``, ``originalText`` when translated) or a ``developerComment`` (the owner's
reply: ``text``, ``lastModified``).

Limits that bite: **only reviews created or modified in the last 7 days are listed**, and only
those with words (a bare star rating is not), of the production app. A source polled less
often than that, or that could not poll for a week, misses reviews for good: the owner is told
once (a notice) and can read them in Play Console. 200 GET requests an hour per app: counted
per app and UTC hour (``hourly_quota``), warned of at 80% and stopped at 100% like X's budget.

The API gives no creation time: a review's first ``lastModified`` seen is its time, and a later
different one is an edit (``edited_at``); a reply's ``lastModified`` is ``owner_replied_at``.

Cursor: ``{"v": 1, "at": <epoch of the poll>, "apps": {<package>: {"newest": <epoch>, "seen":
{<reviewId>: [<first lastModified>, <fingerprint>, <lastModified>]}}}}`` (reviews changed in
the last 8 days). Each poll reads an app's reviews newest first down to the newest one the
poll before saw (at most ``max_pages`` pages) and returns a review when it is new or its
fingerprint (its ``lastModified``, stars, words and the reply's ``lastModified``) changed, so
an edit or a reply on the pages read comes again.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Connector, FetchResult, Notice, Usage, one_item
from connectors.google_play_api import HourlyBudget, PlayAPI
from connectors.google_play_config import WINDOW, App, GooglePlayConfig
from connectors.google_service_account import AccessTokens
from monitor.config import format_duration
from monitor.errors import BudgetExhausted
from monitor.models import Mention, utcnow
from monitor.wording import count

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/androidpublisher"
#: Polling less often than this leaves too little of the week for a few failed polls.
SAFE_EVERY = timedelta(days=1)
PAGE_SIZE = 100  # the API's maximum (10 when not asked)
REMEMBER = 5000  # reviews remembered per app
STORE_URL = "https://play.google.com/store/apps/details?id={}"
CONSOLE = "Play Console > your app > Ratings and reviews > Reviews"
ANONYMOUS = "A Google user"


def moment(stamp: Any) -> datetime:
    """A protobuf Timestamp as JSON gives it: ``{"seconds": "1443676826", "nanos": 713000000}``."""
    return datetime.fromtimestamp(int(stamp["seconds"]) + int(stamp.get("nanos") or 0) / 1e9, UTC)


class GooglePlayConnector(Connector):
    """Reviews of the owner's Android apps on Google Play, edits and replies included."""

    name = "google_play"
    Config = GooglePlayConfig
    config: GooglePlayConfig
    per_brand = False

    #: What "now" is (tests set their own).
    clock: Callable[[], datetime] = staticmethod(utcnow)
    _api: PlayAPI | None = None
    _said_every = False

    @property
    def budget(self) -> HourlyBudget:
        return HourlyBudget(self.state, self.config.hourly_quota, lambda: self.clock())

    @property
    def api(self) -> PlayAPI:
        """The wire, made at first use: reading the key may fail, and only a poll should."""
        if self._api is None:
            tokens = AccessTokens(
                self.name,
                self.config.account(),
                SCOPE,
                self.http,
                token_url=self.config.token_url,
                timeout=self.config.timeout.total_seconds(),
            )
            self._api = PlayAPI(
                self.name,
                self.base_url,
                tokens,
                self.budget,
                timeout=self.config.timeout.total_seconds(),
                max_response=self.config.max_response,
                translation=self.config.translation_language,
            )
        return self._api

    # ------------------------------------------------------------ fetch

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        state = self._read_cursor(cursor)
        now = self.clock()
        self._warn_window(state, now)
        if all(self.budget.left(a.package) < 1 for a in self.config.apps):
            raise self._exhausted()
        found: list[Mention] = []
        apps = state["apps"]
        for app in self.config.apps:
            mentions, apps[app.package] = self._read_app(app, apps.get(app.package), now)
            found.extend(mentions)
        state["at"] = now.timestamp()
        found.sort(key=lambda m: m.edited_at or m.created_at)
        return found, json.dumps(state, separators=(",", ":"))

    def _read_app(
        self, app: App, previous: Any, now: datetime
    ) -> tuple[list[Mention], dict[str, Any]]:
        first = not isinstance(previous, dict) or not isinstance(previous.get("seen"), dict)
        seen: dict[str, list[Any]] = {} if first else dict(previous["seen"])
        before = 0.0 if first else float(previous.get("newest") or 0)
        floor = (now - min(self.config.lookback, WINDOW)).timestamp()
        newest = before
        found: dict[str, Mention] = {}
        token: str | None = None
        for page in range(self.config.max_pages):
            if self.budget.left(app.package) < 1:
                log.warning(
                    "google_play: this hour's quota for %s is used up; the rest waits for the"
                    " next hour",
                    app.package,
                )
                break
            body = self.api.reviews(app.package, app.brand, token, PAGE_SIZE)
            reviews = body.get("reviews") or []
            oldest = now.timestamp()
            for review in reviews:
                read = self._to_mention(app, review, seen)
                if read is None:
                    continue
                mention, modified, fingerprint = read
                oldest, newest = min(oldest, modified), max(newest, modified)
                known = seen.get(mention.external_id)
                first_seen = float(known[0]) if known else modified
                seen[mention.external_id] = [first_seen, fingerprint, modified]
                if known is not None and known[1] == fingerprint:
                    continue
                if first and modified < floor:
                    continue  # older than the first poll reports: remembered only
                found.setdefault(mention.external_id, mention)
            token = (body.get("tokenPagination") or {}).get("nextPageToken") or None
            if not token or not reviews or oldest < (floor if first else before):
                break
            if page == self.config.max_pages - 1:
                log.warning(
                    "google_play: more new or changed reviews of %s than %d pages in one poll;"
                    " the older ones were not read (raise max_pages or poll more often)",
                    app.package,
                    self.config.max_pages,
                )
        keep_from = (now - WINDOW - timedelta(days=1)).timestamp()
        kept = sorted(
            ((k, v) for k, v in seen.items() if float(v[-1]) >= keep_from or k in found),
            key=lambda kv: -float(kv[1][-1]),
        )[:REMEMBER]
        return list(found.values()), {"newest": newest, "seen": dict(kept)}

    @one_item
    def _to_mention(
        self, app: App, review: dict[str, Any], seen: dict[str, list[Any]]
    ) -> tuple[Mention, float, str]:
        """The review as a Mention, its ``lastModified`` (epoch) and its fingerprint."""
        rid = str(review["reviewId"])
        comments = review.get("comments") or []
        user = next((c["userComment"] for c in comments if c.get("userComment")), None)
        if not isinstance(user, dict):
            raise ValueError("a review without the reviewer's comment")
        reply = next((c["developerComment"] for c in comments if c.get("developerComment")), None)
        modified = moment(user["lastModified"])
        replied = moment(reply["lastModified"]) if reply and reply.get("lastModified") else None
        known = seen.get(rid)
        first = datetime.fromtimestamp(float(known[0]), UTC) if known else modified
        said = str(user.get("text") or "")
        title, tab, body = said.partition("\t")
        stars = user.get("starRating")
        rating = float(stars) if isinstance(stars, int) and 1 <= stars <= 5 else None
        mention = Mention(
            source=self.name,
            external_id=rid,
            url=app.link or STORE_URL.format(app.package),
            author=str(review.get("authorName") or "").strip() or ANONYMOUS,
            title=title.strip() if tab else None,
            text=body if tab else said,
            created_at=first,
            raw={
                "package": app.package,
                "starRating": stars,
                "lastModified": modified.isoformat(),
                "reviewerLanguage": str(user.get("reviewerLanguage") or ""),
                "appVersionName": str(user.get("appVersionName") or ""),
                "device": str(user.get("device") or ""),
                "androidOsVersion": user.get("androidOsVersion"),
                "thumbsUpCount": int(user.get("thumbsUpCount") or 0),
                "originalText": str(user.get("originalText") or ""),
                "reply": str(reply.get("text") or "") if reply else "",
            },
            brand_hint=app.brand,
            own_page=True,
            rating=rating,
            edited_at=modified if modified - first > timedelta(seconds=1) else None,
            owner_replied_at=replied,
        )
        said_all = f"{modified.timestamp()}|{stars}|{said}|{replied.timestamp() if replied else ''}"
        digest = zlib.crc32(said_all.encode("utf-8", "replace"))
        return mention, modified.timestamp(), f"{digest:08x}"

    # ------------------------------------------------------------ the week

    def _warn_window(self, state: dict[str, Any], now: datetime) -> None:
        """Tell the owner once when reviews may have been missed, or may be."""
        every = self.config.every
        if every > SAFE_EVERY and not self._said_every:
            self._said_every = True
            self.notices.append(
                Notice(
                    f"every:{int(every.total_seconds())}",
                    "google_play polls too rarely for Google Play's 7 days",
                    f"google_play polls every {format_duration(every)}, but Google lists a"
                    " review for 7 days only after it was written or changed: a few failed"
                    " polls and reviews are missed for good. Set `sources.google_play.every`"
                    f" to a few hours at most (1 request an app each). {CONSOLE} shows every"
                    " review.",
                )
            )
        last = state.get("at")
        if isinstance(last, int | float) and now.timestamp() - last > WINDOW.total_seconds():
            since = datetime.fromtimestamp(last, UTC)
            self.notices.append(
                Notice(
                    f"gap:{int(last)}",
                    "google_play may have missed reviews",
                    f"google_play last read the reviews on {since:%Y-%m-%d %H:%M} UTC, more than"
                    " the 7 days Google keeps them in the API: reviews written or changed before"
                    f" {now - WINDOW:%Y-%m-%d %H:%M} UTC and not since cannot be read here any"
                    f" more. Read them in {CONSOLE}.",
                )
            )
            log.warning("google_play: last poll %s, more than 7 days ago", since.isoformat())

    # ------------------------------------------------------------ budget

    def usage(self) -> Usage:
        busiest = max(self.budget.used(a.package) for a in self.config.apps)
        return Usage(
            period=f"the hour {self.clock():%Y-%m-%d %H}:00 UTC",
            used=busiest,
            limit=self.config.hourly_quota,
            unit="reviews requests (the busiest app)",
            setting="hourly_quota",
            resets="the next hour",
        )

    def _exhausted(self) -> BudgetExhausted:
        u = self.usage()
        return BudgetExhausted(
            self.name,
            f"this hour's Google Play quota is used up: {u.used} of {u.limit} requests in"
            f" {u.period}; polling resumes in {self.budget.seconds_to_reset() / 60:.0f} min",
            hint="poll less often (`every`), or raise `hourly_quota` if Google granted more",
        )

    # ------------------------------------------------------------ check

    def check(self, online: bool = False) -> list[str]:
        account = self.config.account()
        apps = count(len(self.config.apps), "app")
        lines = [f"service account {account.client_email}; {apps}"]
        every = self.config.every
        lines.append(
            f"Google lists reviews for 7 days only; polling every {format_duration(every)}"
            + (" is too rare: set `every` to a few hours at most" if every > SAFE_EVERY else "")
        )
        if online:
            for app in self.config.apps:
                body = self.api.reviews(app.package, app.brand, None, 1)
                listed = "reviews listed" if body.get("reviews") else "no review in the last 7 days"
                lines.append(f"{app.brand} ({app.package}): OK, {listed}")
        per_day = len(self.config.apps) * max(1, round(86_400 / max(every.total_seconds(), 1)))
        u = self.usage()
        lines.append(
            f"a poll costs 1 request an app (more after a burst of reviews): about {per_day:,} a"
            f" day; Google allows {self.config.hourly_quota} an hour per app; used in"
            f" {u.period}: {u.used}"
        )
        return lines

    # ------------------------------------------------------------ cursor

    def _read_cursor(self, cursor: str | None) -> dict[str, Any]:
        """The cursor's state; a fresh one (a first poll) when there is none or it is unreadable."""
        try:
            state = json.loads(cursor) if cursor else None
        except ValueError:
            state = None
        if isinstance(state, dict) and state.get("v") == 1 and isinstance(state.get("apps"), dict):
            return state
        if cursor:
            log.warning("google_play: ignoring an unreadable cursor; this poll is a first one")
        return {"v": 1, "apps": {}}
