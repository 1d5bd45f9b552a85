"""Why a mention was flagged, in an owner's words rather than the scorer's.

The scorers (monitor/sentiment/complaint.py, vader.py and learned.py) explain a score
with reasons such as ``vader -0.44``, ``complaint: waiting ("still waiting")`` and
``negative words: worst, never``. Everything an owner reads (the alerts on every
channel, the ``mentions`` listing, the inbox) shows them as ``waiting: "still waiting"``
and ``angry words: worst, never``, and leaves the numbers out; ``mentions show`` keeps
the scorer's own lines (with the numbers) for the curious. A reason this module does
not know is shown as written: the owner's own verdicts ("you marked this negative")
and the learned ones ("you marked similar posts negative (...)") are owner words already.

The words quoted after a category are a stranger's: each place that shows them escapes
them for its medium (Jinja autoescape, Slack mrkdwn, HTML mail, the terminal).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: A complaint cue's category (monitor/sentiment/cues.py) as an owner would say it.
CATEGORY_WORDS = {
    "waiting": "waiting",
    "failure": "something failed",
    "money": "money",
    "no help": "no help",
    "repeated": "happened before",
    "sarcasm": "sarcasm",
    "tone": "angry tone",
    "dislike": "dislike",
    "expectation": "let down",
    "fed up": "fed up",
    "harsh words": "harsh words",
    "help request": "asks for help",
    "lost customer": "leaving you",
    "negated positive": "not good",
    "not delivered": "not delivered",
    "poor quality": "poor quality",
    "resolved": "sorted out (counts against)",
    "trouble": "your trouble word",
}

_CUE = re.compile(r'^(?:complaint: )?(?P<category>[a-z][a-z ]*) \("(?P<text>.*)"\)$', re.S)
_NUMBER_ONLY = re.compile(r"^(?:vader|score|compound) [+-]?\d+(?:\.\d+)?$")


def reason_words(reason: str) -> str | None:
    """One scorer reason in owner words; None for one that is only a number."""
    reason = reason.strip()
    if not reason or _NUMBER_ONLY.match(reason):
        return None
    if reason.startswith("negative words: "):
        return "angry words: " + reason.removeprefix("negative words: ")
    if reason.startswith("positive words discounted"):
        return "kind words next to a complaint count for less"
    cue = _CUE.match(reason)
    if cue and cue["category"] in CATEGORY_WORDS:
        return f'{CATEGORY_WORDS[cue["category"]]}: "{cue["text"]}"'
    return reason


def why(reasons: Iterable[object] | None) -> list[str]:
    """The reasons a mention was (or was not) flagged, in owner words, each once."""
    out: list[str] = []
    for reason in reasons or ():
        said = reason_words(str(reason))
        if said and said not in out:
            out.append(said)
    return out


def why_text(reasons: Iterable[object] | None) -> str:
    """The owner-word reasons on one line (``money: "refund"; angry words: rude``);
    empty when there is nothing but a number to say."""
    return "; ".join(why(reasons))
