"""CI helpers: the size-capped step summary, and the git branch and commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.ci import append_step_summary, git_context
from evalkit.report import GITHUB_STEP_SUMMARY_LIMIT as STEP_SUMMARY_LIMIT

REPORT = "# evalkit\n\n| field | accuracy |\n|---|---|\n| email | 90% |\n"


def test_a_report_that_fits_is_appended_whole(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    written = append_step_summary(REPORT, path)
    assert path.read_text(encoding="utf-8") == REPORT
    assert written == len(REPORT.encode())


def test_appending_keeps_what_the_step_wrote_before(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("## earlier step output", encoding="utf-8")
    append_step_summary(REPORT, path)
    assert path.read_text(encoding="utf-8") == "## earlier step output\n\n" + REPORT


def test_a_report_too_big_is_cut_at_a_line_end_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("x" * 300 + "\n", encoding="utf-8")
    lines = "".join(f"| conversation-{i} | failed: é 日本 |\n" for i in range(200))
    append_step_summary(lines, path, limit=2_000)
    text = path.read_text(encoding="utf-8")
    assert len(text.encode()) <= 2_000
    body, note = text.split("\n\n> **Truncated:** ")
    assert body.startswith("x" * 300 + "\n\n| conversation-0 |")
    assert body.endswith(" |")  # whole lines only
    assert note.startswith(f"{len(body.encode()) - 302:,} of {len(lines.encode()):,} bytes")
    assert "report.md" in note


def test_a_cut_inside_a_code_fence_closes_it(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    document = "intro\n```\n" + "chunk line\n" * 500 + "```\nafter\n"
    append_step_summary(document, path, limit=1_000)
    text = path.read_text(encoding="utf-8")
    assert sum(line.startswith("```") for line in text.splitlines()) == 2
    assert text.index("```\n\n> **Truncated:**") > 0


def test_nothing_is_written_when_not_even_the_note_fits(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("y" * 990, encoding="utf-8")
    assert append_step_summary(REPORT * 10, path, limit=1_000) == 0
    assert path.read_text(encoding="utf-8") == "y" * 990


@settings(max_examples=50, deadline=None)
@given(
    st.text(max_size=3_000),
    st.integers(min_value=0, max_value=1_500),
    st.integers(min_value=200, max_value=3_000),
)
def test_the_file_never_exceeds_the_limit(document: str, before: int, limit: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "summary.md"
        path.write_bytes(b"z" * before)
        written = append_step_summary(document, path, limit=limit)
        size = path.stat().st_size
        assert size == before + written
        assert size <= max(limit, before)
        path.read_text(encoding="utf-8")  # never a cut inside a character


def test_the_default_limit_stays_under_githubs_mebibyte() -> None:
    assert STEP_SUMMARY_LIMIT < 1024 * 1024


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param(
            {"GITHUB_REF_NAME": "main", "GITHUB_SHA": "a" * 40}, ("main", "a" * 40), id="push"
        ),
        pytest.param(
            {"GITHUB_REF_NAME": "12/merge", "GITHUB_HEAD_REF": "fix-dates", "GITHUB_SHA": "b" * 40},
            ("fix-dates", "b" * 40),
            id="pull-request",
        ),
        pytest.param(
            {"GITHUB_HEAD_REF": "", "GITHUB_REF_NAME": "nightly"},
            ("nightly", None),
            id="empty-head-ref",
        ),
    ],
)
def test_git_context_from_github_variables(
    tmp_path: Path, environ: dict[str, str], expected: tuple[str | None, str | None]
) -> None:
    context = git_context(environ, tmp_path)  # tmp_path is no repository: git adds nothing
    assert (context.branch, context.commit) == expected


def test_git_context_asks_git_without_ci_variables(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    git("init", "-q", "-b", "nightly-branch")
    git("commit", "-q", "--allow-empty", "-m", "one")
    context = git_context({}, tmp_path)
    assert context.branch == "nightly-branch"
    assert context.commit == git("rev-parse", "HEAD")
    git("checkout", "-q", "--detach")
    assert git_context({}, tmp_path).branch is None


def test_git_context_outside_a_repository_knows_nothing(tmp_path: Path) -> None:
    context = git_context({}, tmp_path)
    assert (context.branch, context.commit) == (None, None)
