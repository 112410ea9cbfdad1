"""Nightly regression and configuration comparison, end to end against the emulator.

Two questions a team asks every morning: did a real change get worse (and which conversations),
and is a difference between two runs of the same thing just noise?
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.compare import compare_runs
from evalkit.emulator import Noise
from evalkit.loader import load_suites
from evalkit.runner import RunOutcome, RunSettings, emulator_target, run_sync

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "suites" / "contact.eval.yaml"

pytestmark = pytest.mark.slow


def run(tmp_path: Path, name: str, settings: RunSettings, **emulator: object) -> RunOutcome:
    suites = load_suites([SUITE])
    with emulator_target(suites, **emulator) as target:
        return run_sync(suites, target, out_root=tmp_path, run_id=name, settings=settings)


def test_a_configuration_that_misreads_number_words_is_a_significant_regression(
    tmp_path: Path,
) -> None:
    settings = RunSettings(concurrency=4)
    base = run(tmp_path, "contact", settings)
    cand = run(tmp_path, "contact-v2", settings, form_ids={"contact": "contact-v2"})
    comparison = compare_runs(base.info, base.results, cand.info, cand.results)
    number_words = {
        c.id for c in load_suites([SUITE])[0].suite.conversations if "number-words" in c.tags
    }
    assert {c.conversation_id for c in comparison.regressions} == number_words
    assert comparison.fixes == []
    assert comparison.regressed
    assert comparison.p_value < 0.05
    assert comparison.verdict.endswith(": regression")
    assert comparison.verdict.startswith("pass rate −")
    (age,) = [f for f in comparison.fields if f.field == "age"]
    assert age.accuracy_delta is not None
    assert age.accuracy_delta < 0
    for change in comparison.regressions:
        assert any(reason.startswith("age:") for reason in change.reasons)


def test_two_noisy_runs_of_the_same_configuration_are_within_noise_and_list_the_flaky(
    tmp_path: Path,
) -> None:
    # Seeded noise is keyed on each conversation's trace, so it repeats at any concurrency.
    settings = RunSettings(concurrency=1, repeat=5)
    first = run(tmp_path, "night-1", settings, noise=Noise(rate=0.05, seed=1))
    second = run(tmp_path, "night-2", settings, noise=Noise(rate=0.05, seed=2))
    assert first.info.summary.repeats == 5
    assert first.info.summary.flaky  # noise makes repeats disagree
    comparison = compare_runs(first.info, first.results, second.info, second.results)
    assert comparison.regressions  # the noise does move single outcomes ...
    assert not comparison.regressed  # ... but not beyond chance
    assert comparison.verdict.endswith(": within noise")
    assert set(first.info.summary.flaky) <= set(comparison.flaky)
    assert all(label.startswith("contact-form/") for label in comparison.flaky)
