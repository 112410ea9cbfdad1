"""Geometry of the report's charts: per-field accuracy bars, latency histograms, pass-rate trend.

This module computes where every bar, tick and label goes, in the units of an SVG `viewBox`; the
templates draw them (autoescaped, so a field name cannot become markup). No chart library, no
script: the charts are there even where scripts are blocked and when the page is printed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from evalkit.report.format import percent, seconds
from evalkit.report.views import TrendPoint
from evalkit.results import FieldStats

__all__ = [
    "FIELD_LABEL_X",
    "FIELD_PLOT_X",
    "Bar",
    "FieldBar",
    "Histogram",
    "Tick",
    "Trend",
    "field_bars",
    "histogram",
    "latency_histograms",
    "nice_step",
    "trend",
]

CHART_WIDTH = 640.0
"""Width of every chart's viewBox; the page scales it to the column."""
_LABEL_WIDTH = 150.0
_FIELD_PLOT = 280.0
FIELD_PLOT_X = _LABEL_WIDTH
"""Where the field chart's bars start."""
FIELD_LABEL_X = _LABEL_WIDTH + _FIELD_PLOT + 6
"""Where the field chart's accuracy labels start."""
_ROW_HEIGHT = 22.0
_PLOT_HEIGHT = 120.0
_BINS = 20


@dataclass(frozen=True)
class FieldBar:
    """One field's row of the accuracy chart: stacked correct / wrong / missing."""

    name: str
    """The field."""
    y: float
    """Top of the row."""
    correct: float
    """Width of the correct segment."""
    wrong: float
    """Width of the wrong segment (starts where correct ends)."""
    missing: float
    """Width of the missing segment (starts where wrong ends)."""
    label: str
    """Accuracy and counts, e.g. `66.7% (2/3), 1 unexpected`."""
    x: float = FIELD_PLOT_X
    """Where the bar starts."""
    label_x: float = FIELD_LABEL_X
    """Where the label starts."""


def field_bars(fields: dict[str, FieldStats]) -> tuple[list[FieldBar], float]:
    """Rows of the per-field accuracy chart, least accurate first, and the chart's height.

    Fields that were never checked (only extracted unexpectedly) come last with empty bars.
    """
    plot = _FIELD_PLOT

    def order(item: tuple[str, FieldStats]) -> tuple[bool, float, str]:
        accuracy = item[1].accuracy
        return (accuracy is None, accuracy if accuracy is not None else 0.0, item[0])

    bars = []
    for index, (name, stats) in enumerate(sorted(fields.items(), key=order)):
        checked = stats.checked
        scale = plot / checked if checked else 0.0
        label = (
            f"{percent(stats.accuracy)} ({stats.correct}/{checked})" if checked else "never checked"
        )
        if stats.unexpected:
            label += f", {stats.unexpected} unexpected"
        bars.append(
            FieldBar(
                name=name,
                y=index * _ROW_HEIGHT,
                correct=round(stats.correct * scale, 1),
                wrong=round(stats.wrong * scale, 1),
                missing=round(stats.missing * scale, 1),
                label=label,
            )
        )
    return bars, len(bars) * _ROW_HEIGHT


@dataclass(frozen=True)
class Bar:
    """One bin of a histogram."""

    x: float
    """Left edge."""
    y: float
    """Top edge (the plot's baseline is at `Histogram.height`)."""
    width: float
    """Width."""
    height: float
    """Height."""
    title: str
    """The bin's range and count, shown on hover."""


@dataclass(frozen=True)
class Tick:
    """A labelled position on an axis."""

    x: float
    """Position along the axis."""
    label: str
    """Text."""


@dataclass(frozen=True)
class Histogram:
    """A latency histogram, with its p50 and p95 marked."""

    title: str
    """What it counts."""
    count: int
    """Values counted."""
    bars: list[Bar]
    """The non-empty bins."""
    ticks: list[Tick]
    """Labels along the x axis."""
    markers: list[Tick]
    """Vertical markers (p50, p95)."""
    height: float
    """Height of the plot area."""
    peak: int
    """The largest bin count (the top of the y axis)."""


def nice_step(span: float, bins: int = _BINS) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that covers `span` in `bins` steps.

    Never below a millisecond.
    """
    if span <= bins * 0.001:
        return 0.001  # a millisecond is the finest step worth drawing
    raw = span / bins
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= raw:
            return float(factor * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _quantile(ordered: Sequence[float], q: float) -> float:
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return float(ordered[low]) + (ordered[high] - ordered[low]) * (position - low)


def histogram(title: str, values: Iterable[float]) -> Histogram | None:
    """Bin durations (seconds) into at most 20 equal bins from 0; None when there are none.

    The range ends at the 99th percentile, so one stalled turn does not squash every other bar
    into the first bin: values beyond it are counted in the last bin, titled `≥ …`.
    """
    ordered = sorted(v for v in values if v >= 0)
    if not ordered:
        return None
    step = nice_step(_quantile(ordered, 0.99) or ordered[-1])
    counts = [0] * _BINS
    for value in ordered:
        counts[min(int(value / step), _BINS - 1)] += 1
    peak = max(counts)
    width = CHART_WIDTH / _BINS
    bars = []
    for index, count in enumerate(counts):
        if not count:
            continue
        low = seconds(index * step)
        last = index == _BINS - 1 and ordered[-1] >= _BINS * step
        span = f"≥ {low}" if last else f"{low} – {seconds((index + 1) * step)}"
        height = round(_PLOT_HEIGHT * count / peak, 1)
        bars.append(
            Bar(
                x=round(index * width, 1),
                y=round(_PLOT_HEIGHT - height, 1),
                width=round(width - 2, 1),
                height=height,
                title=f"{span}: {count}",
            )
        )
    ticks = [Tick(round(i * width, 1), seconds(i * step)) for i in range(0, _BINS + 1, 5)]
    scale = width / step
    markers = [
        Tick(round(min(_quantile(ordered, q) * scale, CHART_WIDTH), 1), name)
        for name, q in (("p50", 0.5), ("p95", 0.95))
    ]
    return Histogram(title, len(ordered), bars, ticks, markers, _PLOT_HEIGHT, peak)


def latency_histograms(first: Sequence[float], total: Sequence[float]) -> list[Histogram]:
    """Histograms of time to first chunk and of turn time, over every exchange of the run.

    Args:
        first: Seconds to the first chunk of each exchange that had one.
        total: Seconds of each exchange.
    """
    charts = (histogram("Time to first chunk", first), histogram("Turn time", total))
    return [chart for chart in charts if chart is not None]


@dataclass(frozen=True)
class Trend:
    """The pass-rate trend over earlier runs and this one."""

    points: list[Tick]
    """One point per run with a pass rate: x, and its label (run id, rate)."""
    ys: list[float]
    """The y of each point (0 is 100%, `height` is 0%)."""
    height: float
    """Height of the plot area."""

    @property
    def path(self) -> str:
        """The SVG path through the points."""
        return " ".join(
            f"{'M' if i == 0 else 'L'}{p.x},{y}"
            for i, (p, y) in enumerate(zip(self.points, self.ys, strict=True))
        )


def trend(history: Sequence[TrendPoint], current: TrendPoint) -> Trend | None:
    """The trend of pass rates over `history` (oldest first) then the current run.

    Returns:
        None when fewer than two runs have a pass rate: one point is not a trend.
    """
    runs = [p for p in [*history, current] if p.pass_rate is not None]
    if len(runs) < 2:
        return None
    step = (CHART_WIDTH - 20) / (len(runs) - 1)
    points = [
        Tick(round(10 + i * step, 1), f"{p.run_id}: {percent(p.pass_rate)}")
        for i, p in enumerate(runs)
    ]
    ys = [round(_PLOT_HEIGHT * (1 - (p.pass_rate or 0.0)), 1) for p in runs]
    return Trend(points, ys, _PLOT_HEIGHT)
