"""The owner's verdicts: "negative" or "not negative" on a mention, and what follows.

``give_verdict`` is the one core operation behind every door (the CLI's
``mentions verdict``, the inbox's buttons, the JSON API). It is one store write with
one history record (``Store.set_verdict``):

- the mention's ``negative`` flag becomes the owner's word, and its reasons lead with
  it ("you marked this not negative"); the scorer's own figure (``compound``) stays,
  for the scorer to learn against;
- "not negative" on a negative mention also means it is no complaint: its spread
  tracking stops, and its alerts, reminders and escalations not sent yet are dropped;
- the same verdict twice records nothing new;
- the brand's scorer learns from it (monitor/sentiment/learned.py): every process
  that scores (``run``, ``poll``) sees the verdict at its next poll, whichever process
  took it.

The verdict is recorded in ``status_changes`` with the verdict word as its status
(``negative`` / ``not_negative``, words no status uses) rather than in a table of its
own: the history of a mention is then one timeline of everything the owner said about
it, which ``mentions show`` and the mention's page list as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from monitor.config import Config
from monitor.errors import StatusError
from monitor.store import Store
from monitor.store.tables import NEGATIVE, NOT_NEGATIVE

log = logging.getLogger(__name__)

#: What the owner may type or send for each verdict.
SPELLINGS = {
    "negative": NEGATIVE,
    "not_negative": NOT_NEGATIVE,
    "not-negative": NOT_NEGATIVE,
    "not negative": NOT_NEGATIVE,
}


@dataclass(frozen=True)
class VerdictResult:
    """What a verdict did. ``changed`` is False when the mention had that verdict already."""

    mention_id: int
    brand: str
    verdict: str
    previous: str | None
    changed: bool
    was_negative: bool
    negative: bool
    reasons: tuple[str, ...]

    @property
    def words(self) -> str:
        """The verdict in the owner's words: "negative" or "not negative"."""
        return words(self.verdict)


def words(verdict: str) -> str:
    return verdict.replace("_", " ")


def parse_verdict(value: str) -> str:
    """``negative`` or ``not_negative`` from what an owner typed; StatusError otherwise."""
    verdict = SPELLINGS.get(value.strip().lower())
    if verdict is None:
        raise StatusError(f"'{value}' is not a verdict: say negative or not_negative")
    return verdict


def give_verdict(
    config: Config,
    store: Store,
    mention_id: int,
    verdict: str,
    now: datetime,
    *,
    actor: str | None = None,
) -> VerdictResult:
    """Keep the owner's verdict on a mention, re-judge it by that word, teach its brand.

    Raises StatusError for an unknown mention or a word that is no verdict.
    """
    verdict = parse_verdict(verdict)
    change = store.set_verdict(
        mention_id,
        verdict,
        now,
        reason=f"you marked this {words(verdict)}",
        note=None,
        actor=actor,
    )
    if change.changed:
        log.info(
            "mention #%d (%s): the owner marked it %s", mention_id, change.brand, words(verdict)
        )
    return VerdictResult(
        mention_id=change.mention_id,
        brand=change.brand,
        verdict=change.verdict,
        previous=change.previous,
        changed=change.changed,
        was_negative=change.was_negative,
        negative=change.negative,
        reasons=change.reasons,
    )
