"""The QA sign-off page and its acceptance criteria, and `evalkit report --sign-off`."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import UsageError
from evalkit.report import evaluate_criteria, parse_criterion, render_signoff
from evalkit.results import ConversationResult, RunInfo, read_run

DATA = Path(__file__).resolve().parent / "data"
RICH = DATA / "run_fixture_rich"

Run = tuple[RunInfo, list[ConversationResult]]


@pytest.fixture
def rich() -> Run:
    return read_run(RICH)


CRITERIA = ["pass_rate>=0.5", "failed==0", "accuracy.email>=90%", "turn_p95<=5", "flaky<=0"]


def test_signoff_matches_golden(rich: Run, golden: Callable[[str, str], None]) -> None:
    criteria = [parse_criterion(text) for text in CRITERIA]

    golden("sign-off.html", render_signoff(*rich, criteria))


@pytest.mark.parametrize(
    ("text", "measured", "met"),
    [
        pytest.param("pass_rate>=0.5", "60.0%", True, id="rate-met"),
        pytest.param("pass_rate>=95%", "60.0%", False, id="rate-as-percent-unmet"),
        pytest.param("pass_rate_low>=0.5", "23.1%", False, id="wilson-lower-bound"),
        pytest.param("error_rate<=0.2", "16.7%", True, id="error-rate"),
        pytest.param("failed==0", "2", False, id="count-unmet"),
        pytest.param("errors<2", "1", True, id="count-met"),
        pytest.param("flaky==1", "1", True, id="flaky-count"),
        pytest.param("accuracy.time>=0.5", "50.0%", True, id="field-accuracy"),
        pytest.param("turn_p95<=1", "3.56 s", False, id="latency"),
        pytest.param("first_data_p95<=1", "—", False, id="unmeasured-latency-is-unmet"),
    ],
)
def test_criteria_are_measured_on_the_run(rich: Run, text: str, measured: str, met: bool) -> None:
    [result] = evaluate_criteria([parse_criterion(text)], *rich)

    assert (result.actual, result.met) == (measured, met)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("pass_rate", id="no-operator"),
        pytest.param("pass_rate=>0.9", id="bad-operator"),
        pytest.param("speed>=3", id="unknown-measure"),
        pytest.param("pass_rate>=high", id="not-a-number"),
        pytest.param("pass_rate>=1.2.3", id="malformed-number"),
    ],
)
def test_bad_criteria_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="criterion"):
        parse_criterion(text)


def test_signoff_states_what_against_what_when_and_open_failures(rich: Run) -> None:
    page = render_signoff(*rich, [parse_criterion("failed==0")])

    for expected in (
        "9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab",  # full hash
        "a1b2c3d4-0000-4000-8000-000000000001",  # form id
        "2026-03-02T02:00:00.000000Z",
        "not recorded in run.json",  # git commit: run.json has none yet
        "1 of 1 acceptance criteria are not met",
        "Open failures and errors (3)",
        "6 (2 repeats of each)",
        "@media print",
    ):
        assert expected in page, expected
    assert "<script" not in page.lower()


def test_signoff_without_criteria_says_so(rich: Run) -> None:
    assert "No acceptance criteria were given" in render_signoff(*rich)


def test_signoff_reads_the_git_commit_when_run_json_has_one(rich: Run) -> None:
    info, results = rich
    info_with_commit = info.model_copy()
    object.__setattr__(info_with_commit, "git_commit", "0123abcd")  # a field run.json may gain

    assert "0123abcd" in render_signoff(info_with_commit, results)


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(RICH, target)
    return target


@pytest.mark.parametrize(
    ("criteria", "code"),
    [
        pytest.param(["pass_rate>=0.5", "errors<=1"], 0, id="all-met-exits-0"),
        pytest.param(["pass_rate>=0.5", "failed==0"], 1, id="one-unmet-exits-1"),
        pytest.param([], 0, id="no-criteria-exits-0"),
    ],
)
def test_report_sign_off_writes_the_page_and_exits_by_the_criteria(
    run_dir: Path, criteria: list[str], code: int
) -> None:
    args = ["report", str(run_dir), "--sign-off"]
    for text in criteria:
        args += ["--criterion", text]

    result = CliRunner().invoke(main, args)

    assert result.exit_code == code, result.output
    assert (run_dir / "sign-off.html").is_file()
    assert f"sign-off report: {run_dir / 'sign-off.html'}" in result.output
    assert len(re.findall(r"^\s+(met  |UNMET) ", result.output, flags=re.MULTILINE)) == len(
        criteria
    )


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--criterion", "pass_rate>=0.9"], id="criterion-without-sign-off"),
        pytest.param(["--sign-off", "--criterion", "speed>=1"], id="unknown-measure"),
    ],
)
def test_report_rejects_bad_criteria_with_exit_2(run_dir: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, ["report", str(run_dir), *args])

    assert result.exit_code == 2, result.output
    assert not (run_dir / "sign-off.html").exists()


def test_report_markdown_limit_pr_comment_caps_report_md(run_dir: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(run_dir), "--markdown-limit", "pr-comment"])

    assert result.exit_code == 0, result.output
    assert len((run_dir / "report.md").read_bytes()) <= 65_536
