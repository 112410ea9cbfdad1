"""The Python API: exactly these names, typed and documented, and they work end to end."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import evalkit

ROOT = Path(__file__).resolve().parent.parent


def test_the_public_names_are_pinned() -> None:
    assert sorted(evalkit.__all__) == [
        "Comparison",
        "EvalkitError",
        "FinishOptions",
        "Finished",
        "Gates",
        "LoadedSuite",
        "MatchResult",
        "Problem",
        "RunFileError",
        "RunOutcome",
        "StreamError",
        "SuiteError",
        "Target",
        "TargetError",
        "UsageError",
        "Verdict",
        "WixApiError",
        "__version__",
        "compare",
        "custom_check",
        "finish_run",
        "load_suites",
        "render_report",
        "run",
        "run_async",
    ]
    assert all(hasattr(evalkit, name) for name in evalkit.__all__)


def test_importing_evalkit_loads_no_server_template_or_http_library() -> None:
    code = (
        "import sys, evalkit; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2', 'httpx2', 'evalkit.emulator') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_exceptions_are_one_tree_under_evalkit_error() -> None:
    for name in ("SuiteError", "TargetError", "WixApiError", "StreamError", "RunFileError"):
        assert issubclass(getattr(evalkit, name), evalkit.EvalkitError), name
    assert issubclass(evalkit.UsageError, evalkit.EvalkitError)


def test_every_public_function_is_documented_and_annotated() -> None:
    for name in evalkit.__all__:
        item = getattr(evalkit, name)
        if inspect.isfunction(item):
            assert inspect.getdoc(item), name
            assert "return" in item.__annotations__, name


def test_load_run_and_render_against_the_emulator(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "suites", tmp_path / "suites")
    suites = evalkit.load_suites(tmp_path / "suites" / "contact.eval.yaml")

    outcome = evalkit.run(suites, out_root=tmp_path / "runs")

    assert outcome.info.summary.passed == len(suites[0].suite.conversations)
    html = evalkit.render_report(outcome.run_dir)
    markdown = evalkit.render_report(outcome, format="markdown")
    assert "<html" in html
    assert "contact-form" in markdown
    again = evalkit.run(suites, out_root=tmp_path / "runs")
    comparison = evalkit.compare(outcome.run_dir, again)
    assert comparison.verdict == "no conversation changed outcome"
    assert comparison.base.decided == len(suites[0].suite.conversations)


def test_evalkit_help_lists_every_command_without_importing_them() -> None:
    code = (
        "import sys; from evalkit.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith('evalkit.cli.')"
        " and m.endswith('_cmd')), 'jinja2' in sys.modules, 'evalkit.runner' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "LOADED [] False False"
    from evalkit.cli import COMMANDS, main

    for name in COMMANDS:
        assert f"  {name} " in done.stdout, name
        assert main.commands[name].name == name
