"""The overview's bar chart, laid out on the server as SVG (no script, no chart library).

``bar_chart`` turns monthly counts into rectangles and labels in a fixed coordinate space; the
template draws them, and the stylesheet colours them by class (no inline styles, so a strict
Content-Security-Policy holds). A table beside it carries the same numbers for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...core.browse import MonthCount

WIDTH, HEIGHT = 480, 220
LEFT, BOTTOM, TOP = 40, 28, 12
MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # "uploaded" or "cached": the CSS class
    label: str  # what the bar's <title> says


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    labels: tuple[tuple[float, str], ...]  # (x, text) under each month
    ticks: tuple[tuple[float, int], ...]  # (y, value) on the left axis
    baseline: float
    peak: int


def _scale_top(peak: int) -> int:
    """A round top for the axis (1, 2 or 5 times a power of ten) at or above ``peak``.

    >>> _scale_top(0), _scale_top(7), _scale_top(180)
    (1, 10, 200)
    """
    power = 1
    while True:
        for step in (1, 2, 5):
            if power * step >= peak:
                return power * step
        power *= 10


def bar_chart(months: Sequence[MonthCount]) -> Chart:
    """Stacked bars (uploaded below, cached above) for each month, oldest on the left."""
    peak = max((m.uploaded + m.cached for m in months), default=0)
    top = _scale_top(peak)
    plot = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(1, len(months))
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for index, month in enumerate(months):
        x = LEFT + index * slot + slot * 0.15
        base = float(HEIGHT - BOTTOM)
        for kind, count, what in (
            ("uploaded", month.uploaded, "uploaded"),
            ("cached", month.cached, "cached from the upstream"),
        ):
            height = plot * count / top
            if count:
                label = f"{month.month}: {count} {what}"
                bars.append(
                    Bar(
                        round(x, 1),
                        round(base - height, 1),
                        round(slot * 0.7, 1),
                        round(height, 1),
                        kind,
                        label,
                    )
                )
            base -= height
        labels.append((round(x + slot * 0.35, 1), MONTH_NAMES[int(month.month[5:7]) - 1]))
    ticks = tuple(
        (round(HEIGHT - BOTTOM - plot * value / top, 1), value) for value in sorted({0, top // 2, top})
    )
    return Chart(WIDTH, HEIGHT, tuple(bars), tuple(labels), ticks, HEIGHT - BOTTOM, peak)
