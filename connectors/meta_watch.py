"""What the ``facebook`` and ``instagram`` sources remember of a Page or an account between
polls, and the cursor that carries it.

Neither API lists comments by update time: each poll re-reads the recent posts and their
comments, and this memory says which items are new or changed. Per account it keeps
``last`` (when it was last read) and ``seen``: ``{item id: [created epoch, fingerprint]}``
for items created within ``recheck`` (plus a day), at most ``REMEMBER`` of them. The
fingerprint covers the item's words, its rating and the owner's latest reply, so an edited
comment, a changed recommendation or a new reply by the business comes again, with the same
id, for the core to re-score or mark answered.

An item is returned when:

- first poll of the account: it was created within ``lookback``;
- later: it is known and its fingerprint changed; or it is unknown and was created after
  the older of the last poll and ``recheck`` ago (an item older than that was seen before and
  forgotten, or is older than anything watched: it is remembered, not reported).

Cursor: ``{"v": 1, "accounts": {<id>: {"last": <epoch>, "seen": {<item>: [<epoch>, <fp>]}}}}``.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

REMEMBER = 3000


def fingerprint(words: tuple[object, ...], reply: object) -> str:
    """The item's words (and rating) and its owner reply, as ``<words>:<reply>``."""
    said = "|".join("" if p is None else str(p) for p in words)
    return f"{zlib.crc32(said.encode()):08x}:{zlib.crc32(str(reply or '').encode()):08x}"


def parse_time(value: object) -> datetime:
    """Graph's times: ``2026-12-01T10:00:00+0000`` (Facebook) or ``...Z`` (Instagram)."""
    text = str(value).strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 -> +00:00 (Python 3.11 reads only that)
    when = datetime.fromisoformat(text)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """How far back a first poll reaches, and how long items are re-read for changes."""

    lookback: timedelta
    recheck: timedelta


@dataclass
class Account:
    """What is remembered of one Page or Instagram account."""

    first: bool
    last: float
    seen: dict[str, list[Any]] = field(default_factory=dict)
    #: Known items whose words (or rating) changed since last seen: edited.
    edited: set[str] = field(default_factory=set)

    def wanted(self, item: str, created: datetime, fp: str, now: datetime, window: Window) -> bool:
        """Whether to return this item now; remembers it either way. ``fp`` is
        ``fingerprint(words...) + ":" + fingerprint(reply...)``."""
        stamp = created.timestamp()
        known = self.seen.get(item)
        self.seen[item] = [stamp, fp]
        if self.first:
            return created >= now - window.lookback
        if known is not None:
            if known[1] == fp:
                return False
            if str(known[1]).split(":")[0] != fp.split(":")[0]:
                self.edited.add(item)
            return True
        return stamp >= min(self.last, (now - window.recheck).timestamp())

    def kept(self, now: datetime, recheck: timedelta) -> dict[str, Any]:
        keep_from = (now - recheck - timedelta(days=1)).timestamp()
        newest = sorted(
            ((k, v) for k, v in self.seen.items() if float(v[0]) >= keep_from),
            key=lambda kv: -float(kv[1][0]),
        )[:REMEMBER]
        return {"last": now.timestamp(), "seen": dict(newest)}


class Memory:
    """The cursor of a Meta source, read and written whole."""

    def __init__(self, source: str, cursor: str | None) -> None:
        self.source = source
        self.accounts: dict[str, Any] = {}
        if cursor:
            try:
                data = json.loads(cursor)
                if isinstance(data, dict) and isinstance(data.get("accounts"), dict):
                    self.accounts = data["accounts"]
                else:
                    raise ValueError
            except ValueError:
                log.warning("%s: ignoring an unreadable cursor; reading from lookback", source)

    def account(self, key: str, now: datetime) -> Account:
        held = self.accounts.get(key)
        if not isinstance(held, dict) or not isinstance(held.get("seen"), dict):
            return Account(first=True, last=now.timestamp())
        try:
            last = float(held.get("last") or 0)
        except (TypeError, ValueError):
            last = 0.0
        seen = {str(k): v for k, v in held["seen"].items() if isinstance(v, list) and len(v) == 2}
        return Account(first=False, last=last, seen=seen)

    def keep(self, key: str, account: Account, now: datetime, recheck: timedelta) -> str:
        self.accounts[key] = account.kept(now, recheck)
        return json.dumps({"v": 1, "accounts": self.accounts}, separators=(",", ":"))
