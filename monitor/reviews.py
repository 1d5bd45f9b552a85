"""Reviews in the pipeline (issue 14): stars as evidence, edits, deletions, owner replies.

The pipeline hands every fetched batch through here (``Reviews``), for what is
different about a review or a comment on the owner's own page:

- **Stars are evidence.** ``score`` is the scorer's verdict on the words, then the
  rating's (monitor/sentiment/ratings.py): "Nice staff. 1 star." is a complaint.
- **A review can change.** A known review (same source and id) seen again with other
  stars or other words is re-scored and revised in place; its history keeps what it
  was ("edited: changed from 4 to 1 stars", by "the reviewer"). One that turned
  negative, or worse by stars while negative, queues a ``changed`` alert to the
  brand's channels ("changed from 4 to 1 stars"), once per edit; one that got better
  is shown as ``improved`` in the history and alerts nobody. One that alerts after it
  was acknowledged or answered is reopened (``new`` again, until a new answer). Only
  items that carry a rating, an edit time or a reply time are compared: an edited
  Hacker News comment is not a review.
- **Deleted reviews** (``Mention.deleted``, set by a source that can tell) are marked
  ``deleted_at`` and kept; ``Store.mark_deleted`` is the call for a source that learns
  of ids gone some other way.
- **The business's own reply** (``Mention.owner_replied_at``) marks the review
  ``resolved`` at the reply's time, by "the business's reply on Google", note
  "answered on Google", so ``stats`` counts it as answered. A review that is answered
  already when first seen (the first poll reads older reviews) is filed resolved and
  alerts nobody; an unanswered negative one is reminded of like any mention.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from alerts.render import source_name
from monitor.config import Config
from monitor.models import Mention, Score
from monitor.rules import decide, severity_of
from monitor.sentiment import Scorer
from monitor.sentiment.ratings import rated
from monitor.store import ChangeAlert, Store, StoredReview
from monitor.store.reviews import EDITED, IMPROVED
from monitor.store.tables import NEW
from monitor.wording import count

log = logging.getLogger(__name__)


def is_review(mention: Mention) -> bool:
    """Whether a second sighting of this item is compared with the stored copy."""
    return (
        mention.rating is not None
        or mention.edited_at is not None
        or mention.owner_replied_at is not None
    )


def change_note(old: StoredReview, new: Mention) -> str:
    """What the reviewer changed, in the history's words: "changed from 4 to 1 stars"."""
    parts = []
    if old.rating is not None and new.rating is not None and old.rating != new.rating:
        parts.append(f"changed from {old.rating:g} to {new.rating:g} stars")
    elif old.rating != new.rating:
        parts.append("removed its stars" if new.rating is None else f"rated {new.rating:g} stars")
    if old.text != new.text or old.title != new.title:
        parts.append("new words" if parts else "changed its words")
    return ", ".join(parts)


def answered_by(source: str) -> tuple[str, str]:
    """(actor, note) of the business's reply on ``source``: ("the business's reply on
    Google", "answered on Google")."""
    where = source_name(source)
    return f"the business's reply on {where}", f"answered on {where}"


class Reviews:
    """The review rules of one pipeline. ``scorer`` is the pipeline's (learning) scorer."""

    def __init__(self, config: Config, store: Store, scorer: Scorer) -> None:
        self.config = config
        self.store = store
        self.scorer = scorer

    def score(self, mention: Mention, brand: str) -> Score:
        """The words' score, with the stars as evidence where the mention has them."""
        words = self.scorer.score(mention.full_text, brand=brand)
        return rated(
            words, mention.rating, self.config.sentiment, followers=mention.author_followers
        )

    def deleted(self, source: str, mentions: Sequence[Mention], now: datetime) -> None:
        gone = [m.external_id for m in mentions if m.deleted]
        if gone:
            marked = self.store.mark_deleted(source, gone, now)
            if marked:
                log.info("%s: %s deleted at the source", source, count(len(marked), "review"))

    def revisit(self, source: str, mentions: Sequence[Mention], now: datetime) -> int:
        """Compare known reviews with their stored copies; returns how many changed."""
        items = [m for m in mentions if is_review(m) and not m.deleted]
        if not items:
            return 0
        stored = self.store.stored_reviews(source, [m.external_id for m in items])
        changed = 0
        for mention in items:
            old = stored.get(mention.external_id)
            if old is None:
                continue
            if (
                old.rating != mention.rating
                or old.text != mention.text
                or old.title != mention.title
            ):
                self._revise(old, mention, now)
                changed += 1
            elif mention.edited_at and (old.edited_at is None or mention.edited_at > old.edited_at):
                self.store.note_edit_time(old.id, mention.edited_at)
            # Newly answered, or answered when first seen but not yet marked (a crash); not
            # a review reopened by an edit after that answer (it waits for a new one).
            replied = mention.owner_replied_at
            reopened = old.edited_at is not None and replied is not None and old.edited_at > replied
            if replied and (
                old.owner_replied_at != replied or (old.status == NEW and not reopened)
            ):
                self.answered(old.id, source, replied)
        return changed

    def answered(self, mention_id: int, source: str, replied_at: datetime) -> None:
        actor, note = answered_by(source)
        if self.store.mark_answered(mention_id, replied_at, actor, note):
            log.info("%s: mention #%d %s", source, mention_id, note)

    def _revise(self, old: StoredReview, mention: Mention, now: datetime) -> None:
        score = self.score(mention, old.brand)
        note = change_note(old, mention)
        worse_stars = (
            old.rating is not None and mention.rating is not None and mention.rating < old.rating
        )
        better = (
            old.rating is not None and mention.rating is not None and mention.rating > old.rating
        ) or (old.negative and not score.negative)
        alert = None
        if score.negative and (not old.negative or worse_stars):
            decision = decide([old.brand], score, self.config.channels, self.config.sentiment)
            edit = (mention.edited_at or now).strftime("%Y%m%dT%H%M%S")
            alert = ChangeAlert(
                key=f"{mention.source}:{mention.external_id}:{edit}:{mention.rating}",
                details=(f"This review {note}.",),
                channels=decision.channels,
            )
        self.store.revise(
            old.id,
            mention,
            score,
            severity_of(score, self.config.sentiment),
            now,
            word=IMPROVED if better and not worse_stars else EDITED,
            note=note,
            alert=alert,
        )
        log.info("%s: review #%d %s", mention.source, old.id, note)
