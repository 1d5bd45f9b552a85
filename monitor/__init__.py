"""mention-monitor: watch public social media for mentions of your brands."""

from __future__ import annotations

__version__ = "0.1.0"
