"""What only the pages say: safe links, ages and reach (reasons: tests/monitor/test_reasons.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.web.words import age, link_url, reach


def test_only_http_and_https_addresses_become_links() -> None:
    assert link_url("https://x.example/a?b=1") == "https://x.example/a?b=1"
    assert link_url(" http://x.example/ ") == "http://x.example/"
    for bad in (
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>",
        "vbscript:x",
        "//x.example/a",
        "https://",
        "https://x.example/\nx",
        "",
        None,
    ):
        assert link_url(bad) is None, bad


def test_ages_and_reach() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert age(now - timedelta(seconds=20), now) == "just now"
    assert age(now - timedelta(minutes=5), now) == "5 min ago"
    assert age(now - timedelta(hours=3), now) == "3 h ago"
    assert age(now - timedelta(days=3), now) == "3 days ago"
    assert age(None, now) == "never"
    assert reach(None) == "" and reach(1) == "1 follower" and reach(999) == "999 followers"
    assert reach(1234) == "1.2k followers" and reach(45_000) == "45k followers"
    assert reach(2_500_000) == "2.5M followers"
