"""Counts and config values as the owner reads them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ByteSize, SecretStr

from monitor.config import parse_duration
from monitor.wording import as_written, count, default, duration, size


@pytest.mark.parametrize(
    ("n", "word", "expected"),
    [
        (1, "message", "1 message"),
        (0, "message", "0 messages"),
        (2, "reply", "2 replies"),
        (1, "reply", "1 reply"),
        (3, "match", "3 matches"),
        (2, "day", "2 days"),
        (10000, "post", "10,000 posts"),
        (2, "due post", "2 due posts"),
    ],
)
def test_count(n: int, word: str, expected: str) -> None:
    assert count(n, word) == expected


@pytest.mark.parametrize("text", ["30s", "90s", "5m", "1h30m", "24h", "36h", "48h", "7d"])
def test_durations_read_back_as_an_owner_writes_them(text: str) -> None:
    assert duration(parse_duration(text)) == text


def test_defaults_are_written_as_yaml_and_secrets_never() -> None:
    assert default(True) == "true" and default(False) == "false"
    assert default(None) == "(not set)"
    assert default(timedelta(hours=24)) == "24h"
    assert default(ByteSize(20_000_000)) == "20MB" and size(500_000) == "500kB"
    assert default(["story", "comment"]) == "[story, comment]"
    assert default(0.8) == "0.8" and default(3.0) == "3"
    assert default(SecretStr("hunter2")) == "****"
    assert as_written("${TOKEN}", SecretStr("hunter2")) == "**** (${TOKEN})"
    assert as_written("hunter2", SecretStr("hunter2")) == "****"
    assert as_written(["a, b", "#tag", "plain"]) == '["a, b", "#tag", plain]'
