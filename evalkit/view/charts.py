"""Geometry of the view's inline SVG line charts: rates (0–100%) over runs, gaps where unknown.

Pure: numbers in, coordinates and labels out; the templates draw them. Nothing here is text the
target said (run ids and field names are escaped by the templates like everything else).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["PALETTE", "LineChart", "Point", "Series", "line_chart"]

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bc4c00", "#0a7e8c", "#57606a")
"""Series colours, in order (distinct in print and for common colour blindness, mostly)."""


@dataclass(frozen=True)
class Point:
    """One known value of a series."""

    x: float
    """Horizontal position."""
    y: float
    """Vertical position (0 is the top: 100%)."""
    label: str
    """What a tooltip says: run and value."""


@dataclass(frozen=True)
class Series:
    """One line of a chart."""

    name: str
    """What it measures (shown in the legend)."""
    color: str
    """Its colour."""
    points: list[Point]
    """Its known values, left to right."""
    path: str
    """The SVG path through them, broken where a value is unknown."""


@dataclass(frozen=True)
class LineChart:
    """A chart of rates over runs."""

    width: int
    """Width of the SVG."""
    height: int
    """Height of the SVG."""
    left: int
    """Width of the y-axis label column."""
    top: int
    """Top margin."""
    plot_width: float
    """Width of the plot area."""
    plot_height: float
    """Height of the plot area."""
    series: list[Series]
    """The lines."""
    y_ticks: list[tuple[float, str]]
    """(y, label) of the horizontal grid lines."""
    x_labels: list[tuple[float, str, str]]
    """(x, label, text-anchor) under the plot: a few of the runs' days."""


def _x(index: int, count: int, left: int, width: float) -> float:
    return round(left + (width / 2 if count == 1 else index * width / (count - 1)), 1)


def line_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    days: Sequence[str] = (),
    width: int = 960,
    height: int = 220,
    ticks: bool = True,
) -> LineChart | None:
    """Lay out rates (fractions 0–1, None unknown) over runs, one x per run.

    Args:
        labels: One label per run (its id), for the points' tooltips.
        series: Name → one value per run.
        days: One day per run (`YYYY-MM-DD`), for the x-axis (at most six are shown).
        width: SVG width.
        height: SVG height.
        ticks: Draw the axes' labels (False for a sparkline).

    Returns:
        None when no series has a value.
    """
    if not labels or not any(v is not None for values in series.values() for v in values):
        return None
    left, top = (44, 10) if ticks else (2, 3)
    bottom = 24 if ticks else 3
    plot_width = width - left - (12 if ticks else 2)
    plot_height = height - top - bottom
    lines = []
    for number, (name, values) in enumerate(series.items()):
        points, path, pen_up = [], [], True
        for index, value in enumerate(values):
            if value is None:
                pen_up = True
                continue
            x = _x(index, len(labels), left, plot_width)
            y = round(top + plot_height * (1 - value), 1)
            path.append(f"{'M' if pen_up else 'L'}{x},{y}")
            pen_up = False
            points.append(Point(x, y, f"{labels[index]}: {value:.1%}"))
        lines.append(Series(name, PALETTE[number % len(PALETTE)], points, " ".join(path)))
    y_ticks = [(round(top + plot_height * (1 - f), 1), f"{f:.0%}") for f in (0, 0.25, 0.5, 0.75, 1)]
    x_labels: list[tuple[float, str, str]] = []
    if ticks and days:
        step = max(1, (len(days) + 5) // 6)
        shown = sorted({*range(0, len(days), step), len(days) - 1})
        if len(shown) > 2 and shown[-1] - shown[-2] < step:
            del shown[-2]  # the last day's label would overlap its neighbour's
        last = len(days) - 1
        x_labels = [
            (
                _x(i, len(days), left, plot_width),
                days[i],
                "end" if i == last and last else "start" if i == 0 and last else "middle",
            )
            for i in shown
        ]
    return LineChart(
        width, height, left, top, plot_width, plot_height, lines, y_ticks if ticks else [], x_labels
    )
