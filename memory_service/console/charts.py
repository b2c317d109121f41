"""Charts drawn on the server as SVG shapes (no script, no inline style: the CSP allows
neither), with the numbers also given as a table for screen readers and keyboards."""

from __future__ import annotations

from dataclasses import dataclass

from memory_service.insights.schemas import Weekly

# One colour per kind, distinguishable side by side (SVG presentation attributes).
KIND_COLOURS = {
    "mistake": "#c0392b",
    "decision": "#2456c7",
    "pattern": "#1f7a3a",
    "assumption": "#7b3fa0",
    "discovery": "#d68910",
    "next_step": "#138d90",
    "status": "#7f8c8d",
    "note": "#a0785a",
}

WIDTH = 1100
HEIGHT = 250
_LEFT = 40  # room for the axis labels
_BOTTOM = 24
_TOP = 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class StackedBars:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]  # (x of the bar's centre, week)
    ticks: list[Tick]
    baseline: float
    left: int


def _ticks(peak: int) -> list[int]:
    if peak <= 0:
        return [0]
    step = 1
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        step = candidate
        if peak / candidate <= 5:
            break
    else:
        step = max(1, peak // 5)
    return list(range(0, peak + step, step))


def stacked_weeks(weekly: Weekly) -> StackedBars:
    """The weekly chart: one bar per week, a segment per kind, on a scale with round ticks."""
    ticks = _ticks(weekly.peak)
    top = max(ticks[-1], 1)
    plot_h = HEIGHT - _BOTTOM - _TOP
    slot = (WIDTH - _LEFT) / max(len(weekly.weeks), 1)
    bar_w = slot * 0.7
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    baseline = float(HEIGHT - _BOTTOM)
    for i, week in enumerate(weekly.weeks):
        x = _LEFT + i * slot + (slot - bar_w) / 2
        y = baseline
        for kind in weekly.kinds:
            n = week.by_kind.get(kind, 0)
            if n == 0:
                continue
            h = plot_h * n / top
            y -= h
            label = f"week of {week.start.isoformat()}: {n} {kind}"
            colour = KIND_COLOURS[kind]
            bars.append(Bar(round(x, 1), round(y, 1), round(bar_w, 1), round(h, 1), colour, label))
        labels.append((round(x + bar_w / 2, 1), week.start.strftime("%b %d")))
    return StackedBars(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        labels=labels,
        ticks=[Tick(round(baseline - plot_h * v / top, 1), v) for v in ticks],
        baseline=baseline,
        left=_LEFT,
    )
