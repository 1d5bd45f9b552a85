from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.console import ConsoleChannel, ConsoleConfig
from alerts.render import ago
from monitor.errors import AlertError
from monitor.models import Alert
from tests.alerts.factories import make_alert


def alert(text: str, **extra: Any) -> Alert:
    return make_alert(text, **{"channel": "console", **extra})


def send(a: Alert) -> str:
    out = io.StringIO()
    ConsoleChannel(ConsoleConfig(), stream=out).send(a)
    return out.getvalue()


def test_readable_block() -> None:
    when = datetime.now(UTC) - timedelta(minutes=5, seconds=10)
    text = send(alert("Cold coffee, rude staff.", created_at=when))
    assert text.splitlines() == [
        "[HIGH] Acme Coffee on hackernews",
        f"  by grumpy, 5 min ago ({when:%Y-%m-%d %H:%M} UTC)",
        "  why: angry words: rude",
        "  engagement: 3 comments, 12 points",
        "  text: Cold coffee, rude staff.",
        "  link: https://news.ycombinator.com/item?id=1",
        "  follow-up: mention #7 · when handled: `mention-monitor mentions ack 7`"
        " (or resolve / ignore)",
        "",
    ]


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b[2J\x1b[31mred\x1b[0m",  # clear screen, colours
        "\x1b]0;pwned title\x07",  # OSC: set the terminal title
        "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 hyperlink
        "\u202egnp.exe",  # right-to-left override
        "bell\x07 backspace\x08 nul\x00 c1\x9b31m",
    ],
)
def test_terminal_control_sequences_are_inert(hostile: str) -> None:
    out = send(alert(hostile, author=hostile, title=hostile, url="https://x/" + hostile))
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert not any(ord(c) < 32 and c != "\n" for c in out)
    assert not any(0x7F <= ord(c) <= 0x9F for c in out)


def test_long_text_is_trimmed_and_emoji_survive() -> None:
    out = send(alert("☕" * 10_000))
    line = next(x for x in out.splitlines() if x.startswith("  text: "))
    assert line.endswith("…") and len(line) < 700 and "☕" in line


def test_a_closed_stream_is_an_alert_error() -> None:
    stream = io.StringIO()
    stream.close()
    with pytest.raises(AlertError, match="console"):
        ConsoleChannel(ConsoleConfig(), stream=stream).send(alert("x"))


def test_ago() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert ago(now - timedelta(seconds=10), now) == "just now"
    assert ago(now - timedelta(minutes=3), now) == "3 min ago"
    assert ago(now - timedelta(hours=5), now) == "5 h ago"
    assert ago(now - timedelta(days=2), now) == "2 d ago"
