"""A new user's first day: the project configuration, forms found, selection, knobs, progress.

Each test reproduces what issue 14's "First day" saw go wrong (forms found only beside a suite,
pytest missing, checks beside a suite, a recording lost on Ctrl-D, no selection in `run`, the
emulator's knobs out of reach, silent runs, pass@k only in run.json, ...).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from evalkit.cli import main
from evalkit.cli.printing import print_summary
from evalkit.cli.progress import ProgressLines, progress
from evalkit.errors import UsageError
from evalkit.loader.scope import CONFIG_KEYS, FRAMINGS, TARGETS, form_folders, project_settings
from evalkit.results import ConversationResult, ErrorInfo, RunInfo, Selection, read_run
from evalkit.runner.description import FRAMINGS as RUNNER_FRAMINGS
from evalkit.runner.description import TARGET_KINDS

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "suites" / "forms"
BIN = Path(sys.executable).parent

SUITE = """\
suite: adoption
form: contact
tags: [example]
conversations:
  - id: name-and-email
    tags: [smoke]
    turns:
      - user: "Hi, I'm Jane Doe, jane@example.com"
        expect: {first_name: Jane, email: jane@example.com}
  - id: age-in-words
    turns:
      - user: "I'm Omar, omar@example.org, thirty-two years old"
        expect: {first_name: Omar}
"""

CHECKED = """\
suite: checked
form: contact
conversations:
  - id: checked-by-python
    turns:
      - user: "Hi, I'm Jane Doe, jane@example.com"
        expect: {first_name: {python: "checks:is_jane"}}
"""

CHECKS = """\
import evalkit


@evalkit.custom_check
def is_jane(actual):
    return actual == "Jane", f"{actual!r} is not Jane"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project as a new user makes it: forms in suites/forms, a suite in suites/sub/."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mine"\n', encoding="utf-8")
    shutil.copytree(FORMS, tmp_path / "suites" / "forms")
    (tmp_path / "suites" / "sub").mkdir()
    (tmp_path / "suites" / "sub" / "adoption.eval.yaml").write_text(SUITE, encoding="utf-8")
    (tmp_path / "suites" / "checked").mkdir()
    (tmp_path / "suites" / "checked" / "checked.eval.yaml").write_text(CHECKED, encoding="utf-8")
    (tmp_path / "suites" / "checked" / "checks.py").write_text(CHECKS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def runs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "run.json").is_file())


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALKIT_", "WIX_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


# ----------------------------------------------------------------------------- 1. forms, config


def test_run_and_validate_find_forms_in_a_parent_folder(project: Path) -> None:
    # It was: form 'contact' is not defined (searched: nowhere), exit 2.
    assert invoke("validate", "suites/sub").exit_code == 0
    result = invoke("run", "suites/sub", "--out", "out")
    assert result.exit_code == 0, result.output


def test_the_pytest_plugin_finds_forms_in_a_parent_folder_and_imports_checks_beside(
    project: Path,
) -> None:
    completed = pytest_in(project, "suites/sub", "suites/checked", "-q")
    assert "3 passed" in completed.stdout, completed.stdout + completed.stderr


def test_a_missing_form_says_where_it_looked(project: Path) -> None:
    (project / "suites" / "sub" / "adoption.eval.yaml").write_text(
        SUITE.replace("form: contact", "form: adoption"), encoding="utf-8"
    )
    result = invoke("run", "suites/sub", "--out", "out")
    assert result.exit_code == 2
    assert "form 'adoption' is not defined: no adoption.form.yaml or adoption.form.json in" in (
        result.output
    )
    assert "suites/sub/forms (no such folder)" in result.output
    assert "suites/forms" in result.output
    assert not (project / "out").exists()


def test_record_as_the_readme_writes_it_finds_the_projects_forms(project: Path) -> None:
    # It was: the emulator has no form 'contact'; its forms: none.
    result = invoke("record", "--form", "contact", "-o", "new.eval.yaml", input="Hi, I'm Ann\n")
    assert result.exit_code == 0, result.output
    assert (project / "new.eval.yaml").is_file()


def test_the_project_configuration_gives_every_command_its_defaults(project: Path) -> None:
    shutil.move(project / "suites" / "forms", project / "form-files")
    (project / "evalkit.toml").write_text(
        'suites = "suites"\nforms = "form-files"\nout = "runs"\nframing = "ndjson"\n',
        encoding="utf-8",
    )
    assert invoke("validate").exit_code == 0  # the configured suites folder
    result = invoke("run", "--tag", "smoke")
    assert result.exit_code == 0, result.output
    (run_dir,) = runs(project / "runs")  # the configured output root
    target = json.loads((run_dir / "run.json").read_text())["target"]
    assert target["framing"] == "ndjson"
    assert any(Path(f).name == "form-files" for f in target["forms"])
    flagged = invoke("run", "--tag", "smoke", "--framing", "sse", "--out", "elsewhere")
    assert flagged.exit_code == 0  # a flag wins over the file
    (other,) = runs(project / "elsewhere")
    assert json.loads((other / "run.json").read_text())["target"]["framing"] == "sse"
    record = invoke("record", "--form", "contact", "-o", "-", input="Hi, I'm Ann\n")
    assert record.exit_code == 0, record.output
    assert pytest_in(project, "suites/sub", "-q", "-k", "smoke").returncode == 0


def test_a_misspelt_configuration_key_is_an_error_with_a_did_you_mean(project: Path) -> None:
    (project / "evalkit.toml").write_text('suites = "suites"\nfroms = "x"\n', encoding="utf-8")
    _, problems = project_settings(project)
    assert "unknown key `froms` (did you mean `forms`?)" in problems[0].message
    result = invoke("validate", "suites/sub")
    assert result.exit_code == 2
    assert "did you mean `forms`" in result.output


def test_the_configurations_choices_are_the_runners() -> None:
    assert set(TARGETS) == set(TARGET_KINDS)
    assert set(FRAMINGS) == set(RUNNER_FRAMINGS)
    assert "history" in CONFIG_KEYS


def test_forms_are_looked_for_nearest_first_up_to_the_project_root(project: Path) -> None:
    folders = form_folders(["suites/sub/adoption.eval.yaml"], None)
    shown = [os.path.relpath(f, project) for f in folders]
    assert shown[:3] == ["suites/sub/forms", "suites/forms", "forms"]
    assert not any(s.startswith("..") for s in shown)  # never above the project root


def test_the_emulator_command_serves_the_projects_forms_by_default(project: Path) -> None:
    from evalkit.cli.common import project as project_config

    folders = form_folders([], project_config())
    assert next(f for f in folders if f.is_dir()) == project / "suites" / "forms"


# ----------------------------------------------------------------------------- 2. pytest


def test_pytest_is_installed_with_evalkit() -> None:
    # `pytest suites/` is advertised; `make demo` installs evalkit without extras.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(d.split(">")[0].strip() == "pytest" for d in project["dependencies"])


# ----------------------------------------------------------------------------- 3. checks


def test_run_imports_checks_beside_the_suite_without_pythonpath(project: Path) -> None:
    # A process of its own: Python holds one module named `checks` per process.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run(
        [str(BIN / "evalkit"), "run", "suites/checked", "--out", "out"],
        cwd=project, capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr


# ----------------------------------------------------------------------------- 4. record


def test_recording_ended_with_ctrl_d_writes_what_was_said(project: Path) -> None:
    # No newline after the last message and no empty line: the end of input ends the chat.
    result = invoke(
        "record", "--form", "contact", "-o", "rec.eval.yaml", input="Hi, I'm Ann, a@example.com"
    )
    assert result.exit_code == 0, result.output
    assert "Aborted" not in result.output
    text = (project / "rec.eval.yaml").read_text(encoding="utf-8")
    assert "Hi, I'm Ann, a@example.com" in text


# ----------------------------------------------------------------------------- 5. selection


def test_run_selects_by_tag_id_and_exclusion_and_a_resume_keeps_it(project: Path) -> None:
    result = invoke("run", "suites/sub", "--tag", "example", "--exclude", "age-*", "--out", "o")
    assert result.exit_code == 0, result.output
    (run_dir,) = runs(project / "o")
    info = read_run(run_dir)[0]
    assert info.selection == Selection(tags=["example"], exclude=["age-*"])
    keys = sorted(r.conversation_id for r in read_run(run_dir)[1])
    assert keys == ["name-and-email"]
    # A resume keeps the selection: the excluded conversation is not run.
    resumed = invoke("run", "--resume", str(run_dir), "--retry-errors")
    assert resumed.exit_code == 0, resumed.output
    assert len(read_run(run_dir)[1]) == 1
    changed = invoke("run", "--resume", str(run_dir), "--retry-errors", "--tag", "smoke")
    assert changed.exit_code == 2
    assert "keeps its selection" in changed.output
    by_id = invoke("run", "suites/sub", "--id", "adoption/name-*", "--out", "p")
    assert by_id.exit_code == 0
    (only,) = runs(project / "p")
    assert [r.conversation_id for r in read_run(only)[1]] == ["name-and-email"]
    nothing = invoke("run", "suites/sub", "--tag", "nope", "--out", "q")
    assert nothing.exit_code == 2
    assert "takes no conversation" in nothing.output


def test_a_selection_matches_ids_suite_ids_and_tags() -> None:
    selection = Selection(tags=["smoke"], exclude=["*-slow"], exclude_tags=["wip"])
    assert selection.matches("s", "fast", ["smoke"])
    assert not selection.matches("s", "fast", ["other"])
    assert not selection.matches("s", "x-slow", ["smoke"])
    assert not selection.matches("s", "fast", ["smoke", "wip"])
    assert Selection(ids=["s/f*"]).matches("s", "fast", [])


# ----------------------------------------------------------------------------- 6. knobs


def test_run_takes_the_emulators_knobs_and_a_profile(project: Path) -> None:
    calm = invoke("run", "suites/sub", "--tag", "smoke", "--out", "a")
    assert calm.exit_code == 0
    noisy = invoke(
        "run", "suites/sub", "--tag", "smoke", "--out", "b",
        "--emulator-fault-rate", "1", "--emulator-fault-kinds", "500", "--retries", "0",
    )  # fmt: skip
    assert noisy.exit_code == 3, noisy.output  # every conversation met a 500: errors
    (project / "faults.yaml").write_text("faults: {rate: 1, kinds: ['500']}\n", encoding="utf-8")
    profiled = invoke(
        "run", "suites/sub", "--tag", "smoke", "--out", "c", "--retries", "0",
        "--emulator-profile", "faults.yaml",
    )  # fmt: skip
    assert profiled.exit_code == 3, profiled.output
    overridden = invoke(
        "run", "suites/sub", "--tag", "smoke", "--out", "d",
        "--emulator-profile", "faults.yaml", "--emulator-fault-rate", "0",
    )  # fmt: skip
    assert overridden.exit_code == 0, overridden.output  # a flag wins over the profile
    wix = invoke(
        "run", "suites/sub", "--target", "custom", "--base-url", "http://127.0.0.1:9",
        "--emulator-seed", "3", "--out", "e",
    )  # fmt: skip
    assert wix.exit_code == 2
    assert "emulator target only" in wix.output


def test_the_knob_flags_of_run_are_the_emulators_under_one_prefix() -> None:
    run_help = invoke("run", "--help").output
    emulator_help = invoke("emulator", "--help").output
    for flag in ("--fault-rate", "--noise-rate", "--seed", "--latency"):
        if flag in emulator_help:
            assert f"--emulator-{flag[2:]}" in run_help, flag


# ----------------------------------------------------------------------------- 7. progress


def _result(cid: str, status: str, *, message: str = "", repeat: int = 0) -> ConversationResult:
    error = ErrorInfo(kind="http", message=message) if status == "error" else None
    return ConversationResult(
        suite="s", conversation_id=cid, repeat=repeat, status=status, source="s.eval.yaml:1",
        error=error,
    )  # fmt: skip


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_without_a_terminal_a_progress_line_comes_at_a_steady_interval() -> None:
    clock, lines = FakeClock(), []
    reporter = ProgressLines(lines.append, total=10, interval=10, clock=clock)
    reporter.add(_result("a", "pass"))
    assert lines == []  # not yet 10 s
    clock.now += 10
    reporter.tick()  # nothing finished meanwhile: a line all the same
    assert lines == [
        "progress: 1/10 (10%): 1 passed, 0 failed, 0 errors; 0.1/s; elapsed 10s; ETA 1m30s"
    ]
    reporter.add(_result("b", "fail"))
    reporter.add(_result("c", "error"))
    clock.now += 5
    reporter.tick()
    assert len(lines) == 1  # 5 s since the last line
    clock.now += 5
    reporter.tick()
    assert lines[-1] == (
        "progress: 3/10 (30%): 1 passed, 1 failed, 1 errors; 0.1/s; elapsed 20s; ETA 47s"
    )


def test_on_a_terminal_the_bar_shows_counts_and_an_eta() -> None:
    # It showed `496/500 0:02:30`: no pass, fail or error counts, no ETA.
    buffer = io.StringIO()
    out = Console(file=buffer, force_terminal=True, width=200, color_system=None)
    clock = FakeClock()
    with progress(out, 4, clock=clock) as advance:
        advance(_result("a", "pass"))
        clock.now += 2
        advance(_result("b", "fail"))
    assert "2/4 1 passed 1 failed 0 errors 0:00:02 ETA 0:00:04" in buffer.getvalue()


def test_the_cli_prints_progress_lines_in_ci(project: Path) -> None:
    result = invoke("run", "suites/sub", "--out", "o", "--progress-interval", "0")
    lines = [line for line in result.output.splitlines() if line.startswith("progress: ")]
    assert len(lines) == 1  # a line per conversation but the last (the summary follows)
    assert lines[0].startswith("progress: 1/2 (50%): ")
    assert "ETA" in lines[0]


def test_the_summary_groups_repeats_and_errors_and_counts_retries() -> None:
    results = [_result("age", "fail", repeat=r) for r in range(3)]
    results += [
        _result(f"c{i}", "error", message=f"HTTP 404 session {i:08x}-0000-4000-8000-{i:012x}")
        for i in range(500)
    ]
    info = RunInfo.model_validate(
        {
            "run_id": "r", "evalkit_version": "0", "started_at": "t",
            "target": {"name": "emulator", "base_url": "", "framing": "sse"},
            "summary": {"total": 503, "failed": 3, "errors": 500},
        }
    )  # fmt: skip
    buffer = io.StringIO()
    print_summary(Console(file=buffer, width=300, color_system=None), info, results)
    text = buffer.getvalue()
    assert "s/age  s.eval.yaml:1  failed 3 of 3" in text
    assert text.count("HTTP 404") == 1  # 500 alike errors, one line
    assert "×500 (e.g. s/c0, s/c1, s/c2 and 497 more)" in text


# ----------------------------------------------------------------------------- 8. pass@k


def test_pass_at_k_and_pass_hat_k_are_in_the_terminal_reports_and_junit(project: Path) -> None:
    result = invoke("run", "suites/sub", "--tag", "smoke", "--repeat", "3", "--out", "o")
    assert result.exit_code == 0, result.output
    assert "pass@3 100.0%" in result.output
    assert "pass^3 100.0%" in result.output
    (run_dir,) = runs(project / "o")
    assert "pass@3" in (run_dir / "report.md").read_text(encoding="utf-8")
    assert "pass@3" in (run_dir / "report.html").read_text(encoding="utf-8")
    assert 'name="pass_at_k" value="1.0000"' in (run_dir / "junit.xml").read_text()
    compared = invoke("compare", str(run_dir), str(run_dir))
    assert "pass@3 100.0%, pass^3 100.0%" in compared.output


# ----------------------------------------------------------------------------- 10. smaller things


def test_every_command_takes_dash_h() -> None:
    assert invoke("-h").exit_code == 0
    for name in ("run", "record", "merge"):
        assert invoke(name, "-h").exit_code == 0, name


def test_a_partial_merge_names_its_flag(tmp_path: Path) -> None:
    suite = ROOT / "suites" / "contact.eval.yaml"
    assert invoke("run", str(suite), "--shard", "1/2", "--out", str(tmp_path)).exit_code in (0, 1)
    (shard,) = runs(tmp_path)
    result = invoke("merge", str(shard), "-o", str(tmp_path / "merged"))
    assert result.exit_code == 2
    assert "--allow-partial" in result.output


def test_what_ran_names_only_the_forms_the_suites_used(project: Path) -> None:
    assert invoke("run", "suites/sub", "--tag", "smoke", "--out", "o").exit_code == 0
    (run_dir,) = runs(project / "o")
    markdown = (run_dir / "report.md").read_text(encoding="utf-8")
    what_ran = markdown.split("## What ran", 1)[1]
    assert "| Form contact |" in what_ran
    assert "booking" not in what_ran
    assert "event" not in what_ran


def test_contact_v2_fails_exactly_the_conversations_with_an_age_in_words(tmp_path: Path) -> None:
    suite = ROOT / "suites" / "contact.eval.yaml"
    invoke("run", str(suite), "--form-id", "contact=contact-v2", "--out", str(tmp_path))
    (run_dir,) = runs(tmp_path)
    failed = sorted(r.conversation_id for r in read_run(run_dir)[1] if r.status != "pass")
    assert failed == sorted(
        ["age-in-words", "age-named-in-words", *(f"age-words-{n}" for n in (19, 41, 55, 60, 87))]
    )
    docs = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
    assert "Exactly the conversations that give an age in words fail" in docs
    assert "seven of `suites/contact.eval.yaml`" in docs
    assert len(failed) == 7


def test_a_usage_error_is_an_evalkit_error() -> None:
    assert issubclass(UsageError, Exception)
