"""RSS and Atom feeds: Google Alerts, review sites, blogs, news searches (no key needed).

API: any RSS 0.9x/1.0/2.0 or Atom feed over HTTP(S), fetched with the core's httpx client
and parsed by feedparser 6 (https://feedparser.readthedocs.io/) from the downloaded bytes
(feedparser never fetches anything itself). Auth: none; a feed that answers 401/403 needs a
login and is reported as AuthError naming the feed. Limits: none in general; we are polite:
one conditional GET per feed per poll (``If-None-Match``/``If-Modified-Since``), so an
unchanged feed costs a bodiless 304.

``per_brand = False``: one poll reads every feed once for all brands. The keywords are not
sent anywhere; entries whose title and text do not contain the longest word of any keyword
(the matcher's own first test, so never stricter than it) are left out, and the pipeline
matches the rest. A feed configured with ``brand:`` marks its entries with ``brand_hint``.

Identity: ``external_id`` is the entry's link (Google Alerts redirect links unwrapped to the
article), so the same article in two feeds is one mention; entries without a link use their
guid, namespaced by feed, or a hash of title and date. Links longer than 300 characters
(the store's column) are replaced by their SHA-256.

Cursor: ``{"v": 1, "feeds": {<feed>: {"etag", "modified", "seen": [...]}}}``, keyed by a
hash of the feed URL (URLs can carry private tokens). ``seen`` holds short hashes of the
link and guid of every entry in the feed's latest document plus the most recent others, up
to ``REMEMBER`` keys: an entry is returned once whatever its date, so one that shows up late
with an older date is not lost. A feed read for the first time returns only entries newer
than ``lookback``. Entries are remembered whether or not they named a brand: a keyword added
later applies to new entries only.

Failures: a feed that fails keeps its cursor (nothing in it is skipped when it recovers). If
no feed could be read, fetch raises the first feed's error, like any source. If others were
read, their mentions are returned (a broken feed must not hide complaints in the working
ones), the failure is logged as a warning on every poll and noted in ``self.state``
(``check`` lists it); a feed that answered 429 is not asked again before its Retry-After.

Engagement: feeds have none, so ``refresh`` is not implemented.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser  # type: ignore[import-untyped, unused-ignore]
from pydantic import Field, field_validator, model_validator

from connectors.base import Connector, FetchResult, SourceConfig, one_item
from monitor.config import Duration, StrictModel
from monitor.errors import (
    AuthError,
    ConnectorError,
    ParseError,
    RateLimited,
)
from monitor.http import raise_for_status, repair_utf8, send
from monitor.matching import keyword_needles, normalise
from monitor.models import Mention
from monitor.text import html_to_text
from monitor.wording import count

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)
REMEMBER = 500  # seen keys kept per feed beyond those in its latest document
MAX_ID = 300  # the store's external_id column
USABLE = ("link", "id", "title", "summary", "content")  # an entry with none of these is debris
THINGS_NOBODY_CARES_ABOUT = feedparser.ThingsNobodyCaresAboutButMe  # encoding/type notes
_GOOGLE_HOST = re.compile(r"(?:www\.)?google\.(?:com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})")
AUTH_HINT = (
    "mention-monitor reads public feeds only: open the feed URL in a private browser window; "
    "if it asks for a login, use the site's public feed (Google Alerts: 'Deliver to: RSS feed')"
)


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class Feed(StrictModel):
    """One feed to read. A plain string in config.yaml is its ``url``."""

    url: str = Field(
        description="the feed's `https://` (or `http://`) address, or a `/path` under"
        " `base_url`; a private one as `${ACME_ALERT_FEED}`"
    )
    brand: str | None = Field(
        default=None,
        description="this feed is about this brand only (its `name` under `brands:`): its"
        " entries are matched against that brand's keywords only",
    )
    name: str | None = Field(
        default=None,
        description="a label for this feed in logs, errors and `check`; unset: its address"
        " without the part after `?`",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"url": data} if isinstance(data, str) else data

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if _is_web_url(value) or (value.startswith("/") and not value.startswith("//")):
            return value
        raise ValueError("must be an http:// or https:// address (or a /path under base_url)")

    @property
    def label(self) -> str:
        """How logs and errors name the feed: its name, or its address without the query."""
        if self.name:
            return self.name
        parts = urlsplit(self.url)
        return f"{parts.netloc}{parts.path}" if parts.netloc else parts.path


class RSSConfig(SourceConfig):
    #: Feeds have no single API: base_url is only prepended to feed URLs written as /paths.
    base_url: str = Field(
        default="",
        description="put before feed addresses written as `/path` (for a local mirror or"
        " tests); feeds have no single address",
    )
    every: Duration = timedelta(minutes=15)
    feeds: list[Feed] = Field(
        min_length=1,
        description="the feeds to read: a list of addresses, or of settings (below)",
    )
    lookback: Duration = Field(
        default=timedelta(hours=24),
        description="on a feed's first read, keep only entries newer than this, so a blog's"
        " old posts send no alerts",
    )

    @model_validator(mode="after")
    def _check_feeds(self) -> RSSConfig:
        if self.base_url and not _is_web_url(self.base_url):
            raise ValueError("base_url must be an http:// or https:// address (or left out)")
        urls: set[str] = set()
        for feed in self.feeds:
            if feed.url.startswith("/") and not self.base_url:
                raise ValueError(f"feed {feed.url} is a path: give its full https:// address")
            if feed.url in urls:
                raise ValueError(f"feed {feed.url} is listed twice")
            urls.add(feed.url)
        return self


def unwrap_google_link(link: str) -> str:
    """``https://www.google.com/url?...&url=<target>`` -> target (http/https only)."""
    parts = urlsplit(link)
    if _GOOGLE_HOST.fullmatch(parts.hostname or "") and parts.path == "/url":
        params = parse_qs(parts.query)
        for target in (*params.get("url", []), *params.get("q", [])):
            if _is_web_url(target.strip()):
                return target.strip()
    return link


_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)""")


_CHAR_REF = re.compile(rb"&#([xX][0-9a-fA-F]{1,8}|[0-9]{1,10});")


def _no_bad_reference(match: re.Match[bytes]) -> bytes:
    digits = match.group(1)
    point = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
    return b"&#xFFFD;" if point == 0 or 0xD800 <= point <= 0xDFFF else match.group(0)


def repair_feed(body: bytes, content_type: str) -> bytes:
    """A feed feedparser can read whatever a stranger put in it.

    Character references to a surrogate or NUL (``&#xD83D;``) become U+FFFD's: feedparser
    crashes on them, which would lose the whole feed. In a feed in UTF-8 (said or presumed),
    bytes that are not UTF-8 are replaced: otherwise feedparser decodes the whole feed as
    windows-1252. A feed that declares another encoding (XML declaration or byte order
    mark) is decoded by feedparser as it says.
    """
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body
    if b"&#" in body:
        body = _CHAR_REF.sub(_no_bad_reference, body)
    declared = _XML_ENCODING.match(body[:500])
    if declared and declared.group(1).decode().lower().replace("_", "-") not in ("utf-8", "utf8"):
        return body
    return repair_utf8(body, content_type)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


@dataclass
class FeedState:
    etag: str | None = None
    modified: str | None = None
    seen: list[str] = field(default_factory=list)


@dataclass
class _Read:
    """One feed's answer: its metadata and entries (plain dicts), or None for 304."""

    entries: list[dict[str, Any]] | None
    etag: str | None
    modified: str | None
    meta: dict[str, Any] = field(default_factory=dict)


class RSSConnector(Connector):
    """Entries of the owner's RSS/Atom feeds, matched against every brand's keywords."""

    name = "rss"
    Config = RSSConfig
    config: RSSConfig
    per_brand = False

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        states = self._read_cursor(cursor)
        failing = self._failing()
        needles = keyword_needles(queries)
        seen = {key for state in states.values() for key in state.seen}
        now = datetime.now(UTC)
        kept: dict[str, FeedState] = {}
        found: dict[str, Mention] = {}
        errors: list[ConnectorError] = []
        read = 0
        for feed in self.config.feeds:
            key = _digest(self._url(feed))
            previous = states.get(key)
            note = failing.get(key)
            if note and note.get("retry_at") and float(note["retry_at"]) > now.timestamp():
                log.info("rss: feed %s asked us to wait; skipped this poll", feed.label)
                if previous:
                    kept[key] = previous
                continue
            try:
                answer = self._get(feed, previous)
            except ConnectorError as exc:
                errors.append(exc)
                failing[key] = self._note(feed, exc, note, now)
                if previous:
                    kept[key] = previous
                continue
            read += 1
            failing.pop(key, None)
            if answer.entries is None:
                kept[key] = previous or FeedState()
                continue
            doc_keys: list[str] = []
            cutoff = now - self.config.lookback if previous is None else None
            for entry in answer.entries:
                converted = self._to_mention(feed, key, answer.meta, entry, now)
                if converted is None:
                    continue
                mention, keys = converted
                doc_keys.extend(keys)
                if seen.intersection(keys):
                    continue
                seen.update(keys)
                if cutoff is not None and mention.created_at < cutoff:
                    continue
                if needles and not any(n in normalise(mention.full_text) for n in needles):
                    continue
                found.setdefault(mention.external_id, mention)
            remembered = list(dict.fromkeys([*doc_keys, *(previous.seen if previous else [])]))
            kept[key] = FeedState(
                answer.etag, answer.modified, remembered[: max(len(doc_keys), REMEMBER)]
            )
        self._save_failing(failing)
        if read == 0:
            raise errors[0] if errors else self._all_deferred(failing)
        for error in errors:
            log.warning("%s; the other feeds were read, this one is tried again later", error)
        mentions = sorted(found.values(), key=lambda m: m.created_at)
        return mentions, json.dumps({"v": 1, "feeds": {k: vars(s) for k, s in kept.items()}})

    def check(self, online: bool = False) -> list[str]:
        brands = sum(1 for feed in self.config.feeds if feed.brand)
        feeds = count(len(self.config.feeds), "feed")
        lines = [f"no credentials needed; {feeds} ({brands} brand-specific)"]
        if not online:
            for note in self._failing().values():
                lines.append(
                    f"feed {note['feed']} failing since {note['since']} "
                    f"({note['polls']} polls): {note['error']}"
                )
            return lines
        refused: AuthError | None = None
        for feed in self.config.feeds:
            try:
                answer = self._get(feed, None)
            except AuthError as exc:
                refused = refused or exc
                lines.append(f"feed {feed.label}: REFUSED: {exc.message}")
            except ConnectorError as exc:
                lines.append(f"feed {feed.label}: FAILED: {exc.message}")
            else:
                lines.append(f"feed {feed.label}: OK, {len(answer.entries or [])} entries")
        if refused is not None:
            raise refused
        return lines

    # ------------------------------------------------------------------ wire

    def _url(self, feed: Feed) -> str:
        return self.base_url + feed.url if feed.url.startswith("/") else feed.url

    def _get(self, feed: Feed, previous: FeedState | None) -> _Read:
        """GET and parse one feed; every failure becomes our error, naming the feed."""
        url = self._url(feed)
        headers = {"Accept": ACCEPT}
        if previous and previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous and previous.modified:
            headers["If-Modified-Since"] = previous.modified
        where = f"feed {feed.label}"
        try:
            response = send(
                self.http,
                self.name,
                "GET",
                url,
                headers=headers,
                timeout=self.config.timeout.total_seconds(),
                max_response=self.config.max_response,
            )
            raise_for_status(self.name, response, auth_hint=AUTH_HINT)
        except RateLimited as exc:
            raise RateLimited(
                self.name, f"{where}: {exc.message}", retry_after=exc.retry_after
            ) from exc
        except ConnectorError as exc:
            raise type(exc)(self.name, f"{where}: {exc.message}", hint=exc.hint) from exc
        etag = response.headers.get("ETag")
        modified = response.headers.get("Last-Modified")
        if response.status_code == 304:
            old = previous or FeedState()
            return _Read(None, etag or old.etag, modified or old.modified)
        try:
            content_type = response.headers.get("Content-Type", "")
            parsed = feedparser.parse(
                # Bytes (a str could be taken for a path or URL), repaired (see repair_feed).
                io.BytesIO(repair_feed(response.content, content_type)),
                response_headers={
                    "content-type": content_type,
                    "content-location": str(response.url),
                },
            )
        except Exception as exc:  # feedparser reports problems in `bozo`; this is its bug
            raise ParseError(self.name, f"{where}: could not be parsed ({exc!r})") from exc
        # Plain dicts: FeedParserDict.get("updated") falls back to `published`, with a warning.
        entries = [dict(e) for e in parsed.entries if any(e.get(k) for k in USABLE)]
        problem = parsed.get("bozo_exception") if parsed.bozo else None
        broken = problem is not None and not isinstance(problem, THINGS_NOBODY_CARES_ABOUT)
        if not entries and (broken or not parsed.get("version")):
            kind = response.headers.get("Content-Type", "unknown type").split(";")[0]
            raise ParseError(self.name, f"{where}: the answer is not an RSS or Atom feed ({kind})")
        if broken:
            log.info("rss: %s is not well-formed XML (%s); read what could be read", where, problem)
        return _Read(entries, etag, modified, dict(parsed.feed))

    # ------------------------------------------------------------------ entries

    @one_item
    def _to_mention(
        self,
        feed: Feed,
        feed_key: str,
        meta: Mapping[str, Any],
        entry: Mapping[str, Any],
        now: datetime,
    ) -> tuple[Mention, list[str]]:
        """The entry as a Mention, and the keys that say it was seen (link and guid)."""
        raw_link = str(entry.get("link") or "").strip()
        link = unwrap_google_link(raw_link) if _is_web_url(raw_link) else None
        guid = str(entry.get("id") or "").strip()
        title = html_to_text(str(entry.get("title") or "")) or None
        if link:
            long = len(link) > MAX_ID
            external_id = "sha256:" + hashlib.sha256(link.encode()).hexdigest() if long else link
        elif guid:
            external_id = f"guid:{feed_key}:{_digest(guid)}"
        else:
            stamp = str(entry.get("published") or entry.get("updated") or "")
            external_id = f"entry:{feed_key}:{_digest(f'{title}|{stamp}')}"
        keys = [_digest(external_id)] + ([_digest(f"{feed_key}|{guid}")] if guid else [])
        stamps = ("published_parsed", "updated_parsed", "created_parsed")
        when = next((entry[k] for k in stamps if entry.get(k)), None)
        contents = entry.get("content") or []
        body = "\n".join(str(c.get("value") or "") for c in contents)
        site = str(meta.get("link") or "")
        here = urlsplit(self._url(feed))
        author = (
            html_to_text(str(entry.get("author") or ""))
            # Google Alerts entries have no author and the feed's title is the alert's name.
            or (urlsplit(link).netloc if link and link != raw_link else "")
            or html_to_text(str(meta.get("title") or ""))
            or here.netloc
        )
        fields = ("id", "link", "title", "author", "published", "updated", "summary")
        mention = Mention(
            source=self.name,
            external_id=external_id,
            url=link
            or (site if _is_web_url(site) else f"{here.scheme}://{here.netloc}{here.path}"),
            author=author,
            title=title,
            text=html_to_text(body or str(entry.get("summary") or "")),
            created_at=datetime.fromtimestamp(calendar.timegm(when), UTC) if when else now,
            raw={
                "feed": feed.label,
                **{k: str(entry[k]) for k in fields if entry.get(k)},
                "tags": [str(t["term"]) for t in entry.get("tags") or [] if t.get("term")],
            },
            brand_hint=feed.brand,
        )
        return mention, keys

    # ------------------------------------------------------------------ state

    def _read_cursor(self, cursor: str | None) -> dict[str, FeedState]:
        if not cursor:
            return {}
        try:
            feeds = json.loads(cursor)["feeds"]
            return {
                str(key): FeedState(
                    s.get("etag"), s.get("modified"), [str(k) for k in s.get("seen", [])]
                )
                for key, s in feeds.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("rss: ignoring an unreadable cursor; every feed is read as new")
            return {}

    def _failing(self) -> dict[str, dict[str, Any]]:
        try:
            notes = json.loads(self.state.get("failing") or "{}")
        except ValueError:
            return {}
        return notes if isinstance(notes, dict) else {}

    def _save_failing(self, notes: dict[str, dict[str, Any]]) -> None:
        keys = {_digest(self._url(feed)) for feed in self.config.feeds}
        value = json.dumps({k: v for k, v in notes.items() if k in keys}, sort_keys=True)
        if value != (self.state.get("failing") or "{}"):
            self.state.set("failing", value)

    @staticmethod
    def _note(
        feed: Feed, exc: ConnectorError, note: dict[str, Any] | None, now: datetime
    ) -> dict[str, Any]:
        retry = getattr(exc, "retry_after", None)
        return {
            "feed": feed.label,
            "error": exc.message,
            "since": (note or {}).get("since") or now.isoformat(timespec="seconds"),
            "polls": int((note or {}).get("polls", 0)) + 1,
            "retry_at": now.timestamp() + retry if retry else None,
        }

    def _all_deferred(self, notes: dict[str, dict[str, Any]]) -> RateLimited:
        now = datetime.now(UTC).timestamp()
        waits = [float(n["retry_at"]) - now for n in notes.values() if n.get("retry_at")]
        wait = max(0.0, min(waits)) if waits else None
        return RateLimited(self.name, "every feed asked us to wait", retry_after=wait)
