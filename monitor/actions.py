"""The owner's answer from inside an alert: a button pressed in Slack or Telegram.

An interactive channel (``Channel.listen``) turns a press into a ``Press`` and hands it to
``answer``, which does what the inbox's buttons do, through the same store calls
(``Store.set_status``, ``monitor.feedback.give_verdict``), records who pressed in the
mention's history ("@maria on Slack"), and returns an ``Answered``: the mention's state
now, a line saying who did what and when, the buttons that still apply, and every
message that channel posted about the mention, each with the alerts it carried re-read,
so the channel can update them in place.

Actions (the ``value`` a button carries, with the mention's id):

- ``acknowledge``, ``resolve``, ``ignore``: the mention's status;
- ``not_negative``, ``negative``: the owner's verdict (the scorer learns from it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.config import Config
from monitor.errors import StatusError
from monitor.feedback import give_verdict
from monitor.links import InboxLinks
from monitor.models import Alert
from monitor.store import Store
from monitor.store.messages import alerts_of_message, messages_about
from monitor.store.tables import (
    ACKNOWLEDGED,
    IGNORED,
    NEGATIVE,
    NEW,
    NOT_NEGATIVE,
    RESOLVED,
)

ACKNOWLEDGE, RESOLVE, IGNORE = "acknowledge", "resolve", "ignore"
#: action -> the status it sets, or the verdict it gives.
STATUS_OF = {ACKNOWLEDGE: ACKNOWLEDGED, RESOLVE: RESOLVED, IGNORE: IGNORED}
VERDICT_OF = {"not_negative": NOT_NEGATIVE, "negative": NEGATIVE}
ACTIONS = (*STATUS_OF, *VERDICT_OF)
#: The words on each button.
LABELS = {
    ACKNOWLEDGE: "Acknowledge",
    RESOLVE: "Resolve",
    IGNORE: "Ignore",
    "not_negative": "Not negative",
    "negative": "Negative after all",
}
#: What the line under an answered alert says was done.
DONE = {
    ACKNOWLEDGE: "Acknowledged",
    RESOLVE: "Resolved",
    IGNORE: "Ignored",
    "not_negative": "Marked not negative",
    "negative": "Marked negative",
}


def buttons_for(status: str, verdict: str | None) -> tuple[str, ...]:
    """The actions that still make sense for a mention in this state, in button order."""
    if verdict == NOT_NEGATIVE:
        return ("negative",)  # not a complaint: only the way back
    if status == NEW:
        return (ACKNOWLEDGE, RESOLVE, IGNORE, "not_negative")
    if status == ACKNOWLEDGED:
        return (RESOLVE, IGNORE, "not_negative")
    return ()  # resolved or ignored: answered


@dataclass(frozen=True)
class Press:
    """A button pressed in a channel: on which message, about which mention, by whom.

    ``actor`` is who pressed, in words for the history ("@maria on Slack"); ``ref`` the
    message pressed (``Posted.ref``), None when the channel cannot say.
    """

    channel: str
    mention_id: int
    action: str
    actor: str
    ref: str | None = None


@dataclass(frozen=True)
class Update:
    """A message the channel posted about the mention, with the alerts it carried as they
    read now (one, or several for a digest), to re-render in place."""

    ref: str
    alerts: tuple[Alert, ...]


@dataclass(frozen=True)
class Answered:
    """What a press did. ``changed`` is False when the mention was already so (pressed
    twice, or answered elsewhere first); ``summary`` says so either way."""

    mention_id: int
    action: str
    changed: bool
    status: str
    verdict: str | None
    actor: str
    at: datetime
    buttons: tuple[str, ...]
    updates: tuple[Update, ...] = field(default=())

    def summary(self, tz: ZoneInfo | None = None) -> str:
        """ "Acknowledged by @maria on Slack at 10:42" (in ``tz``, default UTC)."""
        when = self.at.astimezone(tz) if tz is not None else self.at
        zone = "" if tz is not None else " UTC"
        said = f"{DONE[self.action]} by {self.actor} at {when:%H:%M}{zone}"
        return said if self.changed else f"{said} (it was already so)"


def answer(config: Config, store: Store, press: Press, now: datetime) -> Answered:
    """Do what ``press`` asks, as the inbox would, and say what the channel should show.

    Raises StatusError for an action that is not one of ACTIONS or a mention that is no
    longer in the database (the channel tells the presser).
    """
    if press.action in STATUS_OF:
        old, new = store.set_status(
            press.mention_id, STATUS_OF[press.action], None, now, actor=press.actor
        )
        changed = old != new
    elif press.action in VERDICT_OF:
        result = give_verdict(
            config, store, press.mention_id, VERDICT_OF[press.action], now, actor=press.actor
        )
        changed = result.changed
    else:
        raise StatusError(f"'{press.action}' is not a button mention-monitor makes")
    row = store.mention(press.mention_id)
    if row is None:  # deleted in between
        raise StatusError(f"mention #{press.mention_id} is no longer in the database")
    return Answered(
        mention_id=row.id,
        action=press.action,
        changed=changed,
        status=row.status,
        verdict=row.verdict,
        actor=press.actor,
        at=now,
        buttons=buttons_for(row.status, row.verdict),
        updates=updates(store, press.channel, row.id, InboxLinks.of(config.web.public_url)),
    )


def updates(
    store: Store, channel: str, mention_id: int, links: InboxLinks | None = None
) -> tuple[Update, ...]:
    """Every message ``channel`` posted about the mention, with what each carried now (and,
    with ``links``, their inbox links, as the dispatcher attached them when it sent them)."""
    found: list[Update] = []
    seen: set[str] = set()
    for posted in messages_about(store, mention_id, channel):
        if posted.ref in seen:
            continue
        seen.add(posted.ref)
        carried = alerts_of_message(store, channel, posted.ref)
        alerts = [a if links is None else links.attach(a) for a in carried]
        found.append(Update(posted.ref, tuple(alerts)))
    return tuple(found)
