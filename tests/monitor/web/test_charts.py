"""The SVG charts: well-formed, accessible, one point per day or reading, spikes and
escalations marked, everything written by an owner or a stranger escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

from monitor.store.stats import DayCount
from monitor.web.charts import Reading, daily_chart, spread_chart

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script> & "Co" <img src=x onerror=alert(2)>'
START = date(2026, 11, 1)


def month(counts: dict[int, tuple[int, int]], days: int = 30) -> list[DayCount]:
    return [DayCount(START + timedelta(days=i), *counts.get(i, (0, 0))) for i in range(days)]


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup[: markup.index("</svg>") + 6])


def points(svg: ET.Element, css: str) -> list[ET.Element]:
    return [e for e in svg.iter() if css in (e.get("class") or "").split()]


def tips(elements: list[ET.Element]) -> list[str]:
    return [e.findtext(f"{SVG}title") or "" for e in elements]


def test_the_daily_chart_has_a_point_per_day_and_series() -> None:
    days = month({0: (3, 1), 4: (10, 6), 29: (2, 0)})
    svg = parse(daily_chart("Acme Coffee", days, {START + timedelta(days=4)}))
    assert svg.get("role") == "img"
    label = svg.get("aria-label")
    assert label == (
        "Acme Coffee: mentions and negative mentions per day, last 30 days; spike on Thu 5 Nov"
    )
    assert svg.findtext(f"{SVG}title") == label
    assert len(points(svg, "point")) == 60
    assert len(points(svg, "mentions")) == len(points(svg, "negatives")) == 30
    assert tips(points(svg, "mentions"))[4] == "Thu 5 Nov: 10 mentions"
    assert tips(points(svg, "negatives"))[0] == "Sun 1 Nov: 1 negative mention"
    # The bars stand on the zero line, the tallest reaches the top tick.
    [zero] = points(svg, "zero")
    bars = points(svg, "mentions")
    assert all(
        float(b.get("y", 0)) + float(b.get("height", 0)) == float(zero.get("y1", -1)) for b in bars
    )
    assert [t.text for t in points(svg, "tick") if t.text and t.text.isdigit()][:3] == [
        "0", "5", "10"
    ]  # fmt: skip


def test_a_spike_day_is_marked_on_its_bar() -> None:
    days = month({4: (10, 6), 5: (1, 0)})
    svg = parse(daily_chart("Acme Coffee", days, {START + timedelta(days=4)}))
    [spike] = points(svg, "spike")
    assert tips([spike]) == ["Thu 5 Nov: spike of negative mentions"]
    no_spike = parse(daily_chart("Acme Coffee", days))
    assert points(no_spike, "spike") == []


def test_no_inline_style_anywhere() -> None:
    markup = daily_chart("Acme", month({1: (1, 1)}), {START + timedelta(days=1)})
    markup += spread_chart("Acme", [Reading(datetime(2026, 11, 1, tzinfo=UTC), {"likes": 1})], [])
    assert "style" not in markup.lower()
    assert "<script" not in markup.lower()


def test_owner_and_stranger_text_is_escaped_inside_the_svg() -> None:
    markup = str(daily_chart(HOSTILE, month({2: (4, 2)}), {START + timedelta(days=2)}))
    assert "<script" not in markup and "<img" not in markup
    svg = parse(markup)  # still well-formed: nothing broke out of an attribute
    assert svg.get("aria-label", "").startswith(HOSTILE + ": mentions")
    assert svg.findtext(f"{SVG}title", "").startswith(HOSTILE)
    at = datetime(2026, 11, 1, 9, tzinfo=UTC)
    readings = [Reading(at, {HOSTILE: 3, "likes": 2})]
    spread = str(spread_chart(HOSTILE, readings, [(HOSTILE, at)]))
    assert "<script" not in spread and "<img" not in spread
    svg = parse(spread)
    assert HOSTILE in tips(points(svg, "point"))[0]
    assert svg.get("aria-label", "").startswith(HOSTILE)


def test_no_mentions_yet_is_said_plainly() -> None:
    markup = str(daily_chart("Acme <Coffee>", month({})))
    assert (
        markup
        == '<p class="chart-empty">No mentions of Acme &lt;Coffee&gt; in the last 30 days yet.</p>'
    )
    assert "<svg" not in markup
    assert "No engagement readings" in spread_chart("Acme", [], [])


def test_the_compact_chart_keeps_the_points_and_the_label() -> None:
    svg = parse(daily_chart("Acme", month({3: (2, 1)}), compact=True))
    assert len(points(svg, "mentions")) == 30
    assert svg.get("aria-label", "").startswith("Acme: mentions and negative mentions per day")


def test_the_spread_chart_has_a_point_per_reading_and_marks_escalations() -> None:
    t0 = datetime(2026, 11, 25, 21, 15, tzinfo=UTC)
    readings = [
        Reading(t0, {"score": 45, "comments": 12}),
        Reading(t0 + timedelta(minutes=15), {"score": 90, "comments": 30, "upvote_ratio": 97}),
        Reading(t0 + timedelta(minutes=30), {"score": 300, "comments": 80}),
    ]
    escalated = [("spreading", readings[1].at), ("viral", readings[2].at)]
    svg = parse(spread_chart("Acme Coffee mention #10", readings, escalated))
    assert svg.get("aria-label") == (
        "Acme Coffee mention #10: engagement over time, 3 readings; "
        "spreading at 25 Nov 21:30 UTC, viral at 25 Nov 21:45 UTC"
    )
    assert tips(points(svg, "point")) == [
        "25 Nov 21:15 UTC: 57 engagement (12 comments, 45 points)",
        "25 Nov 21:30 UTC: 120 engagement (30 comments, 90 points)",
        "25 Nov 21:45 UTC: 380 engagement (80 comments, 300 points)",
    ]
    marks = points(svg, "escalation")
    assert [m.get("class") for m in marks] == [
        "escalation escalation-spreading",
        "escalation escalation-viral",
    ]
    # Each mark stands at its reading's point.
    xs = [p.get("cx") for p in points(svg, "point")]
    assert [m.find(f"{SVG}line").get("x1") for m in marks] == xs[1:]  # type: ignore[union-attr]
    # The line goes through every point, rising.
    [line] = points(svg, "line")
    assert line.get("d", "").count("L") == 2
    ys = [float(p.get("cy", 0)) for p in points(svg, "point")]
    assert ys == sorted(ys, reverse=True)


def test_a_single_reading_is_one_point() -> None:
    at = datetime(2026, 11, 25, 21, 15, tzinfo=UTC)
    svg = parse(spread_chart("Acme", [Reading(at, {"likes": 0})], []))
    assert len(points(svg, "point")) == 1
    assert points(svg, "zero")


def test_big_numbers_make_short_round_ticks() -> None:
    at = datetime(2026, 11, 25, 21, 15, tzinfo=UTC)
    readings = [
        Reading(at, {"likes": 12_000}),
        Reading(at + timedelta(hours=1), {"likes": 123_456}),
    ]
    svg = parse(spread_chart("Acme", readings, []))
    ticks = [t.text for t in points(svg, "tick") if "tick-x" not in (t.get("class") or "")]
    assert ticks == ["0", "50k", "100k", "150k"]
