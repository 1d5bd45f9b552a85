"""Why a mention was flagged, in owner words, on the command line: `mentions` and the
console alerts say it plainly; `mentions show` adds the scorer's numbers for the curious."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.standins.hackernews import HackerNewsAPI
from tests.test_cli import NEGATIVE, alerts_in, hn_items, invoke

__all__ = ["hn_items"]  # the fixture, shared with tests/test_cli.py

NUMBER = re.compile(r"[+-]\d\.\d\d")


def test_the_listing_and_the_alert_say_why_in_owner_words(
    hn_items: HackerNewsAPI, hn_config_path: Path
) -> None:
    config = str(hn_config_path)
    polled = invoke("poll", "-c", config)
    assert len(alerts_in(polled.stdout)) == 1
    alert = polled.stdout.split("\n\n")[0]
    why = next(line for line in alert.splitlines() if line.startswith("  why: "))
    assert 'money: "charged me twice"' in why and "angry words: terrible" in why
    assert "vader" not in alert and not NUMBER.search(alert)

    listed = invoke("mentions", "-c", config, "--negative").stdout
    assert NEGATIVE[:40] in listed
    assert listed.count("    why: ") == 1 and why.strip() in listed
    assert "vader" not in listed and not NUMBER.search(listed)
    everything = invoke("mentions", "-c", config).stdout
    assert everything.count("    why: ") == 1  # only the negative one needs explaining

    row = json.loads(invoke("mentions", "-c", config, "--negative", "--json").stdout)
    assert row["reasons"][0].startswith("vader -0.")  # the machine format keeps the scorer's
    shown = invoke("mentions", "-c", config, "show", str(row["id"])).stdout
    assert why.strip() in shown
    assert re.search(r"sentiment: negative -0\.\d\d \(vader -0\.\d\d; ", shown)
