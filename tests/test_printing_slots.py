"""The terminal summary prints the slot-filling figures next to the pass rate."""

from __future__ import annotations

import io

from rich.console import Console

from evalkit.cli.printing import print_summary
from evalkit.results import RunInfo, Summary, TargetInfo
from evalkit.results.figures import SlotCounts, SlotMetrics


def printed(summary: Summary) -> list[str]:
    info = RunInfo(
        run_id="r",
        evalkit_version="0",
        started_at="2026-11-25T00:00:00Z",
        target=TargetInfo(name="emulator", base_url="http://127.0.0.1:1", framing="sse"),
        summary=summary,
    )
    buffer = io.StringIO()
    print_summary(Console(file=buffer, width=300, color_system=None), info, [])
    return buffer.getvalue().splitlines()


def test_the_slot_figures_follow_the_pass_rate() -> None:
    # 4 judged turns, 3 jointly right; slots: 6 correct, 1 wrong, 1 missing, 2 unexpected.
    # AGA = R = 6/8; P = 6/9; F1 = 12/(12 + 3 + 2) = 12/17.
    slots = SlotMetrics(
        turns=4,
        joint_correct=3,
        slots=SlotCounts(correct=6, wrong=1, missing=1, unexpected=2),
    )
    summary = Summary(total=4, passed=3, failed=1, pass_rate=0.75, slot_filling=slots)

    lines = printed(summary)

    assert lines[0].endswith("pass rate 75.0%")
    assert lines[1] == (
        "slot filling: JGA 75.0%, AGA 75.0%, slot P 66.7% R 75.0% F1 70.6% (over 4 judged turns)"
    )


def test_a_run_with_no_judged_turn_prints_no_slot_line() -> None:
    lines = printed(Summary(total=1, passed=1, pass_rate=1.0))

    assert not [line for line in lines if line.startswith("slot filling")]
