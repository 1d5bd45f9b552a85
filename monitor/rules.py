"""Deciding what a scored mention deserves: whether to alert, how loudly, and where.

Severity is ``high`` for a strongly negative mention (compound at or below
``sentiment.high_below``), ``negative`` for any other negative one, and
``info`` otherwise. Each channel takes the brands and the minimum severity it
was configured for (``min_severity: negative`` by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alerts.base import ChannelConfig
from monitor.config import SentimentConfig
from monitor.models import MENTION, Score, Severity


@dataclass(frozen=True, slots=True)
class Decision:
    severity: Severity
    channels: tuple[str, ...]
    kind: str = MENTION


def severity_of(score: Score, config: SentimentConfig) -> Severity:
    if score.negative and score.compound <= config.high_below:
        return "high"
    return "negative" if score.negative else "info"


def routes(brand: str, severity: Severity, channels: Sequence[ChannelConfig]) -> tuple[str, ...]:
    """The channels that want alerts about ``brand`` at ``severity``."""
    return tuple(c.name for c in channels if c.wants(brand, severity))


def decide(
    brands: Sequence[str], score: Score, channels: Sequence[ChannelConfig], config: SentimentConfig
) -> Decision:
    """Channels that want any of the brands a mention is about, at its severity."""
    severity = severity_of(score, config)
    return Decision(
        severity,
        tuple(c.name for c in channels if any(c.wants(b, severity) for b in brands)),
    )
