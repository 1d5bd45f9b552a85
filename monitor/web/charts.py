"""Charts as server-rendered SVG: no JavaScript, no inline style (the CSP forbids both).

Each chart is an accessible image (``role="img"``, an ``aria-label`` saying what it shows,
a ``<title>``), scales to the page's width (a ``viewBox`` and ``width="100%"``), and is
coloured by the classes of static/charts.css. Every data point is an element of class
``point`` with a ``<title>`` giving its day or time and value (a tooltip in the browser,
something a test can count). The markup is built only from numbers and escaped text:
brand names are the owner's text and a mention's the stranger's, so both are escaped.

- ``daily_chart``: mentions and negative mentions per day (a grey bar for all mentions,
  the negative part of it in front), spike days marked above their bar;
- ``spread_chart``: a tracked mention's engagement reading by reading, with the moments it
  was found spreading or viral marked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.routing import BaseRoute

from monitor.store import MentionRow, SnapshotRow
from monitor.store.stats import DayCount, engagement_total, escalations

WIDTH = 640
LEFT, RIGHT, TOP, BOTTOM = 46, 24, 24, 34
SVG_NS = "http://www.w3.org/2000/svg"
#: The counters of a reading, as an owner calls them (alerts/render.py's words).
WORDS = {"score": "points"}


@dataclass(frozen=True, slots=True)
class Reading:
    """One engagement reading of a mention: when, and its counters."""

    at: datetime
    engagement: Mapping[str, int]

    @property
    def total(self) -> int:
        return engagement_total(dict(self.engagement))


def _n(value: float) -> str:
    """A coordinate: short and locale-free."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _ticks(top: int) -> list[int]:
    """0 and up to four round steps (1, 2 or 5 times a power of ten) reaching ``top``."""
    if top <= 0:
        return [0]
    base = 1
    while True:
        for m in (1, 2, 5):
            step = m * base
            if top <= 4 * step:
                return list(range(0, -(-top // step) * step + 1, step))
        base *= 10


def _short(n: int) -> str:
    """A tick's number in few characters: 950, 1.5k, 20k, 1.2M."""
    for size, unit in ((1_000_000, "M"), (1000, "k")):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + unit
    return str(n)


def _svg_open(label: str, height: int, css: str) -> list[str]:
    text = escape(label)
    return [
        f'<svg xmlns="{SVG_NS}" class="chart {css}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="{text}">',
        f"<title>{text}</title>",
    ]


def _y_axis(ticks: list[int], y: Callable[[float], float], unit: str) -> list[str]:
    parts = ['<g class="axis axis-y">']
    for t in ticks:
        ty = _n(y(t))
        css = "zero" if t == 0 else "grid"
        parts.append(f'<line class="{css}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty}" y2="{ty}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{ty}" dy="0.35em">{_short(t)}</text>')
    parts.append(f'<text class="axis-title" x="{LEFT}" y="{TOP - 8}">{escape(unit)}</text>')
    parts.append("</g>")
    return parts


def _day(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b}"


def daily_chart(
    brand: str,
    days: Sequence[DayCount],
    spikes: AbstractSet[date] = frozenset(),
    *,
    compact: bool = False,
) -> Markup:
    """Mentions and negative mentions of ``brand`` per day; spike days marked.

    ``compact``: a small chart for a list of brands (no axis titles, fewer labels).
    With no mention in any day, a plain sentence says so instead of an empty chart.
    """
    n = len(days)
    label = f"{brand}: mentions and negative mentions per day, last {n} days"
    if spikes:
        label += f"; spike on {', '.join(_day(d) for d in sorted(spikes))}"
    if not any(d.mentions for d in days):
        return Markup('<p class="chart-empty">{}</p>').format(
            f"No mentions of {brand} in the last {n} days yet."
        )
    height = 90 if compact else 240
    top_pad = 14 if compact else TOP
    left = 30 if compact else LEFT
    bottom = height - (16 if compact else BOTTOM)
    ticks = _ticks(max(d.mentions for d in days))
    scale = (bottom - top_pad) / ticks[-1]

    def y(v: float) -> float:
        return bottom - v * scale

    slot = (WIDTH - RIGHT - left) / n
    bar = max(1.0, slot * 0.72)
    parts = _svg_open(label, height, "chart-daily" + (" chart-compact" if compact else ""))
    if compact:
        parts += [
            f'<line class="zero" x1="{left}" x2="{WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}"/>',
            f'<text class="tick" x="{left - 4}" y="{_n(y(ticks[-1]))}" dy="0.35em">'
            f"{_short(ticks[-1])}</text>",
            f'<text class="tick" x="{left - 4}" y="{bottom}" dy="0.35em">0</text>',
        ]
    else:
        parts += _y_axis(ticks, y, "mentions per day")
    parts.append('<g class="axis axis-x">')
    every = 7 if not compact else 10
    for i, d in enumerate(days):
        if (n - 1 - i) % every == 0:
            lx = _n(left + slot * (i + 0.5))
            parts.append(
                f'<text class="tick tick-x" x="{lx}" y="{bottom + 14}">'
                f"{d.day.day} {d.day:%b}</text>"
            )
    parts.append("</g>")
    for series, css in (("mentions", "point mentions"), ("negatives", "point negatives")):
        parts.append(f'<g class="series series-{series}">')
        for i, d in enumerate(days):
            value = d.mentions if series == "mentions" else d.negatives
            x = left + slot * i + (slot - bar) / 2
            word = "mention" if series == "mentions" else "negative mention"
            tip = f"{_day(d.day)}: {value} {word}{'' if value == 1 else 's'}"
            parts.append(
                f'<rect class="{css}" x="{_n(x)}" y="{_n(y(value))}" width="{_n(bar)}" '
                f'height="{_n(value * scale)}"><title>{escape(tip)}</title></rect>'
            )
        parts.append("</g>")
    if spikes:
        parts.append('<g class="spikes">')
        for i, d in enumerate(days):
            if d.day in spikes:
                cx = left + slot * (i + 0.5)
                ty = y(d.mentions) - 4
                tip = f"{_day(d.day)}: spike of negative mentions"
                parts.append(
                    f'<path class="spike" d="M{_n(cx - 5)} {_n(ty - 8)}h10l-5 8z">'
                    f"<title>{escape(tip)}</title></path>"
                )
        parts.append("</g>")
    parts.append("</svg>")
    legend = (
        '<p class="chart-legend"><span class="key key-mentions">mentions</span> '
        '<span class="key key-negatives">negative</span>'
        + (' <span class="key key-spike">spike</span>' if spikes else "")
        + "</p>"
    )
    # Built only from numbers, fixed words and escape()d text (see the module docstring).
    return Markup("".join(parts) + ("" if compact else legend))  # noqa: S704


def _time(at: datetime) -> str:
    at = at.astimezone(UTC)
    return f"{at.day} {at:%b %H:%M} UTC"


def _breakdown(engagement: Mapping[str, int]) -> str:
    kinds = [f"{v} {WORDS.get(k, k)}" for k, v in sorted(engagement.items()) if k != "upvote_ratio"]
    return f" ({', '.join(kinds)})" if kinds else ""


def spread_chart(
    name: str, readings: Sequence[Reading], escalations: Sequence[tuple[str, datetime]]
) -> Markup:
    """Engagement of one mention, reading by reading, with its escalations marked.

    ``name`` says whose mention it is in the label ("Acme Coffee mention #12").
    ``escalations``: (level, when), as monitor.store.stats.escalations gives them.
    """
    label = f"{name}: engagement over time, {len(readings)} readings"
    if escalations:
        label += "; " + ", ".join(f"{level} at {_time(at)}" for level, at in escalations)
    if not readings:
        return Markup('<p class="chart-empty">{}</p>').format(
            "No engagement readings of this mention yet."
        )
    height = 220
    bottom = height - BOTTOM
    t0, t1 = readings[0].at, readings[-1].at
    span = max((t1 - t0).total_seconds(), 1.0)
    ticks = _ticks(max(r.total for r in readings))
    scale = (bottom - TOP) / max(ticks[-1], 1)

    def x(at: datetime) -> float:
        if len(readings) == 1:
            return (LEFT + WIDTH - RIGHT) / 2
        return LEFT + (at - t0).total_seconds() / span * (WIDTH - RIGHT - LEFT)

    def y(v: float) -> float:
        return bottom - v * scale

    parts = _svg_open(label, height, "chart-spread")
    parts += _y_axis(ticks, y, "engagement")
    parts.append('<g class="axis axis-x">')
    shown = [readings[0]] if len(readings) == 1 else [readings[0], readings[-1]]
    for r, anchor in zip(shown, ("start", "end"), strict=False):
        css = "tick tick-x" if len(shown) == 1 else f"tick tick-x tick-{anchor}"
        tx = _n(x(r.at))
        parts.append(f'<text class="{css}" x="{tx}" y="{bottom + 16}">{_time(r.at)}</text>')
    parts.append("</g>")
    for level, at in escalations:
        if not t0 <= at <= t1:
            at = min(max(at, t0), t1)
        ex = _n(x(at))
        tip = f"{_time(at)}: {level}"
        parts.append(
            f'<g class="escalation escalation-{escape(level)}"><title>{escape(tip)}</title>'
            f'<line x1="{ex}" x2="{ex}" y1="{TOP}" y2="{bottom}"/>'
            f'<text x="{ex}" y="{TOP - 8}">{escape(level)}</text></g>'
        )
    path = " ".join(
        f"{'M' if i == 0 else 'L'}{_n(x(r.at))} {_n(y(r.total))}" for i, r in enumerate(readings)
    )
    parts.append(f'<path class="line" d="{path}"/>')
    parts.append('<g class="series series-engagement">')
    for r in readings:
        tip = f"{_time(r.at)}: {r.total} engagement{_breakdown(r.engagement)}"
        parts.append(
            f'<circle class="point" cx="{_n(x(r.at))}" cy="{_n(y(r.total))}" r="4">'
            f"<title>{escape(tip)}</title></circle>"
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704  (numbers, fixed words, escape()d text)


# ---------------------------------------------------------------- in the inbox's pages


def mention_spread(
    request: Request, mention: MentionRow, snapshots: Sequence[SnapshotRow]
) -> Markup:
    """The spread chart of ``mention`` from its ``snapshots`` (Store.snapshots) and the
    escalations recorded for it; the template global ``spread_chart``."""
    readings = [Reading(s.taken_at, dict(s.engagement)) for s in snapshots]
    marks = escalations(request.app.state.store, mention.id)
    return spread_chart(f"{mention.brand} mention #{mention.id}", readings, marks)


#: Jinja globals for the inbox's templates (app.py registers them with words.py's).
TEMPLATE_HELPERS: dict[str, Any] = {"spread_chart": mention_spread}


def routes() -> list[BaseRoute]:
    """None of its own: the charts are drawn inside the brand and mention pages."""
    return []
