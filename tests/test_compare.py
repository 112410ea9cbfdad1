"""Comparing runs: pairing, the buckets, field deltas, the verdict and the gates."""

from __future__ import annotations

import pytest

from evalkit.compare import compare_runs
from evalkit.gates import Gates, evaluate_gates
from evalkit.metrics import summarize
from evalkit.results import ConversationResult, ErrorInfo, FieldResult, RunInfo, TargetInfo


def result(
    cid: str, status: str, repeat: int = 0, field_ok: bool | None = None
) -> ConversationResult:
    fields = []
    if field_ok is not None:
        fields = [
            FieldResult(
                field="age",
                turn=1,
                matcher="equals",
                expected=25,
                actual=25 if field_ok else 52,
                outcome="correct" if field_ok else "wrong",
                passed=field_ok,
                score=1.0 if field_ok else 0.0,
                reason="equals 25" if field_ok else "expected 25, got 52",
            )
        ]
    error = ErrorInfo(kind="http", message="HTTP 503") if status == "error" else None
    return ConversationResult(
        suite="s", conversation_id=cid, repeat=repeat, status=status, fields=fields, error=error
    )


def run(run_id: str, results: list[ConversationResult]) -> tuple[RunInfo, list[ConversationResult]]:
    info = RunInfo(
        run_id=run_id,
        evalkit_version="0",
        started_at="2026-11-25T00:00:00Z",
        target=TargetInfo(name="emulator", base_url="http://127.0.0.1:1", framing="sse"),
        summary=summarize(results),
    )
    return info, results


def test_pairs_are_sorted_into_buckets() -> None:
    base = run(
        "a",
        [
            result("keep", "pass"),
            result("worse", "pass"),
            result("better", "fail"),
            result("bad", "fail"),
            result("flaky-err", "pass"),
            result("gone", "pass"),
        ],
    )
    cand = run(
        "b",
        [
            result("keep", "pass"),
            result("worse", "fail"),
            result("better", "pass"),
            result("bad", "fail"),
            result("flaky-err", "error"),
            result("added", "pass"),
        ],
    )
    comparison = compare_runs(*base, *cand)
    labels = {
        name: [c.label for c in getattr(comparison, name)]
        for name in ("regressions", "fixes", "still_failing", "errors", "new", "removed")
    }
    assert labels == {
        "regressions": ["s/worse"],
        "fixes": ["s/better"],
        "still_failing": ["s/bad"],
        "errors": ["s/flaky-err"],
        "new": ["s/added"],
        "removed": ["s/gone"],
    }
    # Errors and unpaired conversations are excluded from both sides' rates.
    assert (comparison.base.decided, comparison.candidate.decided) == (4, 4)
    assert comparison.p_value == 1.0
    assert comparison.verdict == "1 regression, 1 fix, p = 1: within noise"


def test_a_consistent_drop_is_a_significant_regression() -> None:
    ids = [f"c{i}" for i in range(20)]
    base = run("a", [result(c, "pass") for c in ids])
    cand = run("b", [result(c, "fail" if i < 7 else "pass") for i, c in enumerate(ids)])
    comparison = compare_runs(*base, *cand)
    assert comparison.regressed
    assert comparison.p_value == pytest.approx(0.015625)
    assert comparison.verdict == "pass rate −35.0 points, p = 0.016: regression"


def test_a_few_regressions_are_within_noise() -> None:
    ids = [f"c{i}" for i in range(20)]
    base = run("a", [result(c, "pass") for c in ids])
    cand = run("b", [result(c, "fail" if i < 2 else "pass") for i, c in enumerate(ids)])
    comparison = compare_runs(*base, *cand)
    assert not comparison.regressed
    assert comparison.verdict == "2 regressions, 0 fixes, p = 0.5: within noise"


def test_repeats_are_paired_by_repeat_and_flaky_conversations_listed() -> None:
    base = run("a", [result("c", "pass", r) for r in range(3)])
    cand = run("b", [result("c", s, r) for r, s in enumerate(["pass", "fail", "pass"])])
    comparison = compare_runs(*base, *cand)
    assert [c.label for c in comparison.regressions] == ["s/c#1"]
    assert comparison.flaky == ["s/c"]


def test_field_deltas() -> None:
    base = run("a", [result("x", "pass", field_ok=True), result("y", "pass", field_ok=True)])
    cand = run("b", [result("x", "pass", field_ok=True), result("y", "fail", field_ok=False)])
    (age,) = compare_runs(*base, *cand).fields
    assert (age.base_accuracy, age.candidate_accuracy, age.accuracy_delta) == (1.0, 0.5, -0.5)


def test_no_change_is_said_plainly() -> None:
    base = run("a", [result("x", "pass")])
    assert compare_runs(*base, *base).verdict == "no conversation changed outcome"


@pytest.mark.parametrize(
    ("statuses", "gates", "baseline", "code", "phrase"),
    [
        pytest.param(["pass"] * 10, Gates(), None, 0, "all gates met", id="all-pass"),
        pytest.param(
            ["pass"] * 9 + ["fail"], Gates(), None, 1, "1 conversation(s) failed", id="any-fail"
        ),
        pytest.param(
            ["pass"] * 9 + ["fail"],
            Gates(fail_under=0.9),
            None,
            0,
            "all gates met",
            id="fail-under-met",
        ),
        pytest.param(
            ["pass"] * 8 + ["fail"] * 2,
            Gates(fail_under=0.9),
            None,
            1,
            "under --fail-under",
            id="fail-under-missed",
        ),
        pytest.param(
            ["pass"] * 9 + ["error"],
            Gates(max_error_rate=0.05),
            None,
            3,
            "error rate 10.0%",
            id="too-many-errors",
        ),
        pytest.param(
            ["pass"] * 8 + ["fail"] * 2,
            Gates(fail_under=0.5, max_regressions=1),
            ["pass"] * 10,
            1,
            "more than --max-regressions 1",
            id="max-regressions",
        ),
    ],
)
def test_gates(statuses, gates, baseline, code, phrase) -> None:
    cand = run("b", [result(f"c{i}", s) for i, s in enumerate(statuses)])
    comparison = None
    if baseline is not None:
        comparison = compare_runs(
            *run("a", [result(f"c{i}", s) for i, s in enumerate(baseline)]), *cand
        )
    got, reasons = evaluate_gates(cand[0], gates, comparison)
    assert got == code
    assert any(phrase in r for r in reasons), reasons
