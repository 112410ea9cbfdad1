"""The `evalkit` command through click's CliRunner and as a real process."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.emulator import EmulatorServer


def run_dirs(root: Path) -> list[Path]:
    """The run directories under an output root (beside them lies `history.db`)."""
    return sorted(p for p in root.iterdir() if (p / "run.json").is_file())


ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "suites" / "contact.eval.yaml"
BROKEN = Path(__file__).parent / "data" / "suites" / "broken"

FAILING = """\
suite: failing
form: contact
conversations:
  - id: wrong-name
    turns:
      - user: "Hi, I'm Jane Doe, jane@example.com"
        expect: {first_name: Janet}
"""


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_validate_accepts_the_example_suite() -> None:
    result = invoke("validate", str(EXAMPLE))
    assert result.exit_code == 0
    assert "valid" in result.output


def test_a_broken_suite_makes_validate_exit_2_with_every_problem_located() -> None:
    result = invoke(
        "validate", str(BROKEN / "strings.eval.yaml"), str(BROKEN / "structure.eval.yaml")
    )
    assert result.exit_code == 2
    located = [line for line in result.output.splitlines() if ".eval.yaml:" in line]
    assert any(line.startswith(f"{BROKEN / 'strings.eval.yaml'}:") for line in located)
    assert any(line.startswith(f"{BROKEN / 'structure.eval.yaml'}:") for line in located)
    assert len(located) >= 6
    assert "quote it" in result.output
    assert "Nothing was run" in result.output


def test_a_broken_suite_makes_run_exit_2_and_nothing_is_run(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = invoke("run", str(EXAMPLE), str(BROKEN / "strings.eval.yaml"), "--out", str(out))
    assert result.exit_code == 2
    assert f"{BROKEN / 'strings.eval.yaml'}:" in result.output
    assert not out.exists()


def test_a_resumed_run_cannot_be_its_own_baseline(tmp_path: Path) -> None:
    assert invoke("run", str(EXAMPLE), "--out", str(tmp_path)).exit_code == 0
    (run_dir,) = run_dirs(tmp_path)
    before = (run_dir / "results.jsonl").read_bytes()

    result = invoke("run", "--resume", str(run_dir), "--retry-errors", "--baseline", str(run_dir))

    assert result.exit_code == 2
    assert "is the run being resumed" in result.output
    assert (run_dir / "results.jsonl").read_bytes() == before  # nothing ran


def test_run_against_the_emulator_writes_reports_and_prints_the_html_path(tmp_path: Path) -> None:
    result = invoke("run", str(EXAMPLE), "--out", str(tmp_path), "--framing", "ndjson")
    assert result.exit_code == 0, result.output
    (run_dir,) = run_dirs(tmp_path)
    assert f"HTML report: {run_dir / 'report.html'}" in result.output
    for name in ("results.jsonl", "run.json", "report.html", "report.md"):
        assert (run_dir / name).is_file()
    assert json.loads((run_dir / "run.json").read_text())["target"]["framing"] == "ndjson"
    assert result.output.rstrip().endswith("exit 0: all gates met")


def test_a_failing_conversation_exits_1_and_is_listed_with_its_reason(tmp_path: Path) -> None:
    suite = tmp_path / "suites" / "failing.eval.yaml"
    suite.parent.mkdir()
    suite.write_text(FAILING)
    forms = ROOT / "suites" / "forms"
    result = invoke("run", str(suite), "--forms", str(forms), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    assert "failing/wrong-name" in result.output
    assert 'expected text "Janet", got "Jane"' in result.output
    assert f"{suite}:4" in result.output


def test_a_form_no_directory_defines_is_a_located_problem(tmp_path: Path) -> None:
    suite = tmp_path / "x.eval.yaml"
    suite.write_text(FAILING.replace("form: contact", "form: nowhere"))
    result = invoke("run", str(suite), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "form 'nowhere' is not defined" in result.output


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        pytest.param(["--target", "wix"], "WIX_API_KEY", id="wix-without-key"),
        pytest.param(["--target", "custom"], "--base-url", id="custom-without-url"),
        pytest.param(["--form-id", "contact"], "KEY=FORM_ID", id="bad-form-id"),
        pytest.param(["--concurrency", "0"], "0", id="zero-concurrency"),
    ],
)
def test_usage_errors_exit_2(args: list[str], phrase: str, tmp_path: Path) -> None:
    result = invoke("run", str(EXAMPLE), "--out", str(tmp_path), *args)
    assert result.exit_code == 2
    assert phrase in result.output


def test_no_secret_from_the_environment_reaches_the_reports(tmp_path: Path) -> None:
    canary = "IST.canary-d41d8cd98f00b204-secret"
    with EmulatorServer(ROOT / "suites" / "forms") as server:
        result = invoke(
            "run",
            str(EXAMPLE),
            "--target",
            "custom",
            "--base-url",
            server.base_url,
            "--form-id",
            f"contact={server.form_ids['contact']}",
            "--out",
            str(tmp_path),
            env={"WIX_API_KEY": canary, "WIX_SITE_ID": "site-canary-0001"},
        )
    assert result.exit_code == 0, result.output
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"results.jsonl", "run.json", "report.html", "report.md", "junit.xml"} <= names
    assert "history.db" in names
    for path in files:
        data = path.read_bytes()
        for secret in (canary, "site-canary-0001"):
            assert secret.encode() not in data, path
    assert canary not in result.output
    assert "site-canary-0001" not in result.output


def test_report_renders_a_stored_run_again(tmp_path: Path) -> None:
    assert invoke("run", str(EXAMPLE), "--out", str(tmp_path)).exit_code == 0
    (run_dir,) = run_dirs(tmp_path)
    (run_dir / "report.html").unlink()
    result = invoke("report", str(run_dir))
    assert result.exit_code == 0
    assert (run_dir / "report.html").is_file()


def test_report_of_something_that_is_not_a_run_exits_2(tmp_path: Path) -> None:
    result = invoke("report", str(tmp_path))
    assert result.exit_code == 2
    assert "not a run directory" in result.output


def test_python_dash_m_evalkit_is_the_same_command() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "evalkit", "--version"], capture_output=True, text=True, check=True
    )
    assert completed.stdout.startswith("evalkit, version ")


def test_every_command_has_help() -> None:
    for name, command in main.commands.items():
        assert command.help, name
        assert invoke(name, "--help").exit_code == 0


def test_baseline_last_compares_with_the_last_run_that_met_its_gates(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    summary = tmp_path / "step-summary.md"
    first = invoke("run", str(EXAMPLE), "--out", str(out))
    assert first.exit_code == 0
    (good,) = run_dirs(out)
    # A run against another configuration fails its gates: it must never become the baseline.
    bad = invoke("run", str(EXAMPLE), "--out", str(out), "--form-id", "contact=contact-v2")
    assert bad.exit_code == 1
    third = invoke(
        "run",
        str(EXAMPLE),
        "--out",
        str(out),
        "--baseline",
        "last",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert third.exit_code == 0, third.output
    assert f"baseline: {good}" in third.output
    assert "verdict: no conversation changed outcome" in third.output
    assert summary.read_text(encoding="utf-8").startswith("# ")  # the Markdown report went to CI
    history = invoke("history", "--out", str(out))
    assert history.exit_code == 0
    assert history.output.count("UNMET") == 1


def test_compare_reports_a_significant_regression_and_exits_1(tmp_path: Path) -> None:
    assert invoke("run", str(EXAMPLE), "--out", str(tmp_path / "a")).exit_code == 0
    candidate = invoke(
        "run", str(EXAMPLE), "--out", str(tmp_path / "b"), "--form-id", "contact=contact-v2"
    )
    assert candidate.exit_code == 1
    (base,) = run_dirs(tmp_path / "a")
    (cand,) = run_dirs(tmp_path / "b")
    result = invoke("compare", str(base), str(cand), "--fail-under", "0.5")
    assert result.exit_code == 1
    assert "contact-form/age-in-words" in result.output
    lines = result.output.strip().splitlines()
    assert lines[-2].startswith("verdict: pass rate −")
    assert lines[-1].startswith("exit 1: significant regression")


def test_the_readme_shows_every_command() -> None:
    """A command nobody can find in the README does not exist for its users."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in main.commands if f"evalkit {name}" not in readme]
    assert missing == []


FIRST_DAY = [
    ".venv/bin/evalkit validate suites/",
    ".venv/bin/evalkit run suites/",
    ".venv/bin/evalkit run suites/ --framing unary",
    ".venv/bin/pytest suites/",
    "evalkit record --form contact -o new.eval.yaml",
    "evalkit init --form suites/forms/contact.form.yaml",
    "evalkit schema -o suites/evalkit.schema.json",
    "evalkit expand suites/x.eval.yaml",
    ".venv/bin/evalkit report reports/<run-id> --markdown-limit pr-comment",
    ".venv/bin/evalkit run suites/ --baseline last --fail-under 0.95 --max-regressions 0",
    ".venv/bin/evalkit run suites/contact.eval.yaml --config v1=contact --config v2=contact-v2",
    ".venv/bin/evalkit history --out reports --branch main --limit 10",
]
"""The README's first-day commands, as written there (`<run-id>` and `x` are filled in)."""


def _fresh_copy(tmp_path: Path) -> Path:
    """The repository as a new user clones it: its files (tracked and new), nothing built."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    copy = tmp_path / "clone"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not name.startswith(("tests/", "bench/", "docs/img/")):
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / ".venv").symlink_to(Path(sys.executable).parent.parent)  # what `make demo` makes
    return copy


@pytest.mark.slow
def test_the_readme_first_day_commands_run_as_written_on_a_fresh_copy(tmp_path: Path) -> None:
    """Each first-day command of the README, run in a fresh copy, against the emulator."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [command for command in FIRST_DAY if command not in readme]
    assert missing == []  # the list above is the README's, word for word
    copy = _fresh_copy(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALKIT_", "WIX_"))}
    env.pop("PYTHONPATH", None)
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    stdin = {"evalkit record": "Hi, I'm Ann, ann@example.com"}  # ended by Ctrl-D (end of input)
    for written in FIRST_DAY:
        command = written.replace("suites/x.eval.yaml", "suites/contact.eval.yaml")
        if "<run-id>" in command:
            (run_dir,) = run_dirs(copy / "reports")[:1]
            command = command.replace("reports/<run-id>", str(run_dir.relative_to(copy)))
        argv = shlex.split(command)
        completed = subprocess.run(
            argv,
            cwd=copy,
            env=env,
            input=next((text for start, text in stdin.items() if command.startswith(start)), ""),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        allowed = {1} if "--config" in command else set()  # contact-v2 fails on purpose
        assert completed.returncode in {0, *allowed}, (
            f"{written}\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
    assert (copy / "new.eval.yaml").is_file()
