"""One parser for every rate: the gates' options, the sign-off's criteria, the Python API."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import UsageError
from evalkit.gates import Gates
from evalkit.metrics import summarize
from evalkit.report import evaluate_criteria, parse_criterion, parse_rate
from evalkit.results import read_run

DATA = Path(__file__).resolve().parent / "data"
RICH = DATA / "run_fixture_rich"
EXAMPLE = Path(__file__).resolve().parent.parent / "suites" / "contact.eval.yaml"


@pytest.mark.parametrize(
    ("text", "rate"),
    [("0.95", 0.95), ("95%", 0.95), ("1", 1.0), ("0", 0.0), ("100%", 1.0), ("0.5 %", 0.005)],
)
def test_a_rate_is_a_fraction_or_a_percentage(text: str, rate: float) -> None:
    assert parse_rate(text, what="--fail-under") == pytest.approx(rate)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("95", "did you mean 95%?"),
        ("1.5", "did you mean 1.5%?"),
        ("-0.1", "between 0 and 1"),
        ("120%", "between 0% and 100%"),
        ("high", "not a rate"),
    ],
)
def test_a_bare_number_above_1_is_an_error_with_a_hint(text: str, phrase: str) -> None:
    with pytest.raises(UsageError, match="--fail-under") as caught:
        parse_rate(text, what="--fail-under")
    assert phrase in str(caught.value)


def test_a_criterion_written_as_a_whole_number_is_refused_with_the_hint() -> None:
    # It was read as the fraction 95 and reported UNMET, without a word.
    with pytest.raises(UsageError, match=r"did you mean 95%\?"):
        parse_criterion("pass_rate>=95")
    assert parse_criterion("pass_rate>=95%").threshold == pytest.approx(0.95)
    assert parse_criterion("accuracy.email>=0.9").threshold == pytest.approx(0.9)
    assert parse_criterion("failed<=3").threshold == 3  # counts are numbers, not rates
    with pytest.raises(UsageError, match="not a rate"):
        parse_criterion("failed<=3%")


def test_a_misspelt_measure_gets_a_did_you_mean() -> None:
    with pytest.raises(UsageError, match="did you mean `pass_rate`"):
        parse_criterion("pass_rat>=0.9")


def test_a_misspelt_field_is_an_error_naming_the_close_one() -> None:
    info, results = read_run(RICH)
    with pytest.raises(UsageError, match=r"no field 'emial'.*did you mean `email`"):
        evaluate_criteria([parse_criterion("accuracy.emial>=0.9")], info, results)


def test_pass_at_k_and_pass_hat_k_are_criteria() -> None:
    info, results = read_run(RICH)
    info = info.model_copy(update={"summary": summarize(results)})  # the fixture predates them
    at_k, hat_k = evaluate_criteria(
        [parse_criterion("pass_at_k>=50%"), parse_criterion("pass_hat_k>=0.99")], info, results
    )
    assert at_k.met
    assert at_k.actual.endswith(f"(k={info.summary.k})")
    assert not hat_k.met


def test_the_python_api_refuses_a_percentage_written_as_a_fraction() -> None:
    with pytest.raises(UsageError, match=r"did you mean 0\.95"):
        Gates(fail_under=95)


def test_run_takes_percentages_and_refuses_95_with_the_hint(tmp_path: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(
        main, ["run", str(EXAMPLE), "--out", str(tmp_path), "--fail-under", "95"]
    )
    assert refused.exit_code == 2
    assert "did you mean 95%?" in refused.output
    taken = runner.invoke(
        main,
        [
            "run",
            str(EXAMPLE),
            "--out",
            str(tmp_path),
            "--fail-under",
            "95%",
            "--max-error-rate",
            "10%",
        ],
    )
    assert taken.exit_code == 0, taken.output


def test_sign_off_refuses_a_misspelt_field_and_writes_no_page(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(RICH, run_dir)
    result = CliRunner().invoke(
        main, ["report", str(run_dir), "--sign-off", "--criterion", "accuracy.emial>=0.9"]
    )
    assert result.exit_code == 2
    assert "did you mean `email`" in result.output
    assert not (run_dir / "sign-off.html").exists()


def test_sign_off_refuses_95_as_a_rate(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(RICH, run_dir)
    result = CliRunner().invoke(
        main, ["report", str(run_dir), "--sign-off", "--criterion", "pass_rate>=95"]
    )
    assert result.exit_code == 2
    assert "did you mean 95%?" in result.output
