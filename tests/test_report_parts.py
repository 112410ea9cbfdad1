"""The pieces the reports are built from: marked user messages, chunk views, anchors, charts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalkit.report import anchor, wilson_interval
from evalkit.report.charts import field_bars, histogram, nice_step, trend
from evalkit.report.transcript import Segment, chunk_view, user_segments
from evalkit.report.views import TrendPoint
from evalkit.results import FieldStats


def data_chunk(field: str, start: int, length: int) -> dict[str, Any]:
    return {
        "chunkType": "TEXT_DATA",
        "textDataDetails": {"fieldTarget": field, "value": "v"},
        "meaningfulInput": {"startOffset": start, "length": length},
    }


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        pytest.param([], [Segment("Jane at 10am")], id="nothing-marked"),
        pytest.param(
            [data_chunk("name", 0, 4), data_chunk("time", 8, 4)],
            [Segment("Jane", ("name",)), Segment(" at "), Segment("10am", ("time",))],
            id="two-slices",
        ),
        pytest.param(
            [data_chunk("a", 0, 6), data_chunk("b", 5, 3)],
            [
                Segment("Jane ", ("a",)),
                Segment("a", ("a", "b")),
                Segment("t ", ("b",)),
                Segment("10am"),
            ],
            id="overlap-names-both",
        ),
        pytest.param(
            [data_chunk("x", 8, 500)],
            [Segment("Jane at "), Segment("10am", ("x",))],
            id="clipped-at-end",
        ),
        pytest.param([data_chunk("x", 99, 3)], [Segment("Jane at 10am")], id="beyond-the-message"),
        pytest.param([data_chunk("x", 2, 0)], [Segment("Jane at 10am")], id="empty-slice"),
        pytest.param(
            [{"chunkType": "TEXT_DATA", "meaningfulInput": "bad"}],
            [Segment("Jane at 10am")],
            id="malformed",
        ),
    ],
)
def test_user_segments_mark_meaningful_input(
    chunks: list[dict[str, Any]], expected: list[Segment]
) -> None:
    assert user_segments("Jane at 10am", chunks) == expected


@given(
    st.text(max_size=40),
    st.lists(st.tuples(st.integers(-5, 50), st.integers(-5, 50)), max_size=5),
)
def test_user_segments_always_join_back_to_the_message(
    message: str, spans: list[tuple[int, int]]
) -> None:
    chunks = [data_chunk(f"f{i}", start, length) for i, (start, length) in enumerate(spans)]

    segments = user_segments(message, chunks)

    assert "".join(s.text for s in segments) == message
    assert all(s.text for s in segments)


@pytest.mark.parametrize(
    ("raw", "kind", "label"),
    [
        pytest.param(
            {"chunkType": "TEXT", "textDetails": {"text": "hi"}}, "text", "TEXT", id="text"
        ),
        pytest.param(
            {"chunkType": "SUBMISSION", "submissionDetails": {"submissionId": "s"}},
            "submission",
            "SUBMISSION",
            id="submission",
        ),
        pytest.param(
            {"chunkType": "NUMBER_INPUT", "numberInputDetails": {"fieldTarget": "n"}},
            "number",
            "NUMBER_INPUT",
            id="number",
        ),
        pytest.param(
            {"chunkType": "HOLOGRAM", "hologramDetails": {"x": 1}},
            "other",
            "HOLOGRAM",
            id="unknown-type-kept",
        ),
        pytest.param(
            {"chunkType": "TEXT", "textDetails": "oops"}, "other", "TEXT", id="malformed-details"
        ),
        pytest.param({}, "other", "UNKNOWN_CHUNK_TYPE", id="empty"),
    ],
)
def test_chunk_view_never_fails(raw: dict[str, Any], kind: str, label: str) -> None:
    view = chunk_view(raw)

    assert (view.kind, view.label) == (kind, label)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        pytest.param(("contact", "name-and-email", 0), "contact/name-and-email/0", id="plain"),
        pytest.param(("my suite", "a.b_c", 2), "my%20suite/a.b_c/2", id="space"),
        pytest.param(("x/y", "id", 0), "x%2Fy/id/0", id="slash-in-suite"),
        pytest.param(('"><script>', "id", 0), "%22%3E%3Cscript%3E/id/0", id="markup"),
        pytest.param(("Žemaitė", "id", 0), "%C5%BDemait%C4%97/id/0", id="unicode"),
    ],
)
def test_anchor_is_url_safe_and_stable(parts: tuple[str, str, int], expected: str) -> None:
    assert anchor(*parts) == expected


@pytest.mark.parametrize(
    ("span", "step"),
    [
        pytest.param(1.0, 0.05, id="one-second"),
        pytest.param(0.08, 0.005, id="80ms"),
        pytest.param(4.5, 0.25, id="4.5s"),
        pytest.param(0.0, 0.001, id="zero"),
        pytest.param(5e-324, 0.001, id="tiny"),
        pytest.param(0.03, 0.002, id="30ms"),
    ],
)
def test_nice_step(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)


@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=200))
def test_histogram_counts_every_value_once(values: list[float]) -> None:
    chart = histogram("t", values)

    assert chart is not None
    counts = [int(bar.title.rsplit(": ", 1)[1]) for bar in chart.bars]
    assert sum(counts) == len(values) == chart.count
    assert max(counts) == chart.peak
    assert all(0 <= bar.x <= 640 and bar.height <= chart.height for bar in chart.bars)


def test_histogram_of_nothing_is_none() -> None:
    assert histogram("t", []) is None


def test_field_bars_put_the_least_accurate_first_and_never_checked_last() -> None:
    bars, height = field_bars(
        {
            "a": FieldStats(correct=3),
            "b": FieldStats(correct=1, wrong=1, missing=2),
            "c": FieldStats(unexpected=2),
        }
    )

    assert [b.name for b in bars] == ["b", "a", "c"]
    assert bars[0].correct + bars[0].wrong + bars[0].missing == pytest.approx(bars[1].correct)
    assert bars[2].label == "never checked, 2 unexpected"
    assert height == 3 * 22


def test_trend_needs_two_runs_with_a_pass_rate() -> None:
    now = TrendPoint("now", "t", 0.5)

    assert trend([TrendPoint("old", "t", None)], now) is None
    chart = trend([TrendPoint("old", "t", 1.0)], now)
    assert chart is not None
    assert chart.ys == [0.0, 60.0]
    assert chart.path.startswith("M10.0,0.0 L")


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        pytest.param(0, 10, 0.0, 0.2775, id="none"),
        pytest.param(10, 10, 0.7225, 1.0, id="all"),
        pytest.param(3, 4, 0.3006, 0.9544, id="three-of-four"),
    ],
)
def test_wilson_interval(successes: int, trials: int, low: float, high: float) -> None:
    interval = wilson_interval(successes, trials)

    assert interval == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_wilson_interval_without_trials_is_none() -> None:
    assert wilson_interval(0, 0) is None
