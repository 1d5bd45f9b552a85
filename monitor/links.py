"""Where an alert leads in the owner's inbox, when ``web.public_url`` says where it is.

Every channel that can show a link gives the owner two ways on from an alert:

- **Open in inbox**: the mention's own page (its text, why it was flagged, its answers and
  its spread), or for a spike the brand's page, for a source's health the sources page, for a
  test alert the inbox itself;
- **Acknowledge**: for a mention nobody has answered yet, its confirm page
  (``/mentions/{id}/ack``). That page only shows the mention and one button: pressing it
  (a POST, with the owner logged in) is what acknowledges. Opening a link never changes
  anything, because mail scanners and chat link previews open every link in a message.

The addresses are absolute (``public_url`` + path), built here once, so every channel links
the same pages. Without ``public_url`` an alert carries no links, and the channels say how to
answer from the command line instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from monitor.models import HEALTH, SPIKE, Alert

UNANSWERED = (None, "new")  # statuses that an Acknowledge link still makes sense for


@dataclass(frozen=True, slots=True)
class InboxLinks:
    """Addresses of the inbox's pages under ``base`` (``web.public_url``, no trailing /)."""

    base: str

    @classmethod
    def of(cls, public_url: str | None) -> InboxLinks | None:
        return cls(public_url.rstrip("/")) if public_url else None

    def home(self) -> str:
        return f"{self.base}/"

    def mention(self, mention_id: int) -> str:
        return f"{self.base}/mentions/{mention_id}"

    def acknowledge(self, mention_id: int) -> str:
        return f"{self.base}/mentions/{mention_id}/ack"

    def brand(self, name: str) -> str:
        return f"{self.base}/brands/{quote(name, safe='')}"

    def sources(self) -> str:
        return f"{self.base}/sources"

    def attach(self, alert: Alert) -> Alert:
        """``alert`` with its inbox links set."""
        if alert.mention_id is not None:
            ack = self.acknowledge(alert.mention_id) if alert.status in UNANSWERED else None
            return replace(alert, inbox_url=self.mention(alert.mention_id), ack_url=ack)
        if alert.kind == SPIKE:
            return replace(alert, inbox_url=self.brand(alert.brand))
        if alert.kind == HEALTH:
            return replace(alert, inbox_url=self.sources())
        return replace(alert, inbox_url=self.home())


def command_config(path: Path | None) -> str | None:
    """What ``-c`` the commands an alert suggests need to reach this configuration: None
    for ./config.yaml (what a command reads by default), else the file's absolute path,
    since the owner types the command later and maybe elsewhere."""
    if path is None:
        return None
    absolute = Path(os.path.abspath(path))
    if absolute == Path(os.path.abspath("config.yaml")):
        return None
    return str(absolute)
