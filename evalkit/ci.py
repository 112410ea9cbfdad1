"""What a CI job needs besides the reports: the step summary, and the git branch and commit.

Nothing here reads the environment: the CLI passes `os.environ` in, so the library stays
testable and a test never sees the developer's CI variables.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from evalkit.report import GITHUB_STEP_SUMMARY_LIMIT

__all__ = ["GitContext", "append_step_summary", "git_context"]

_GIT_TIMEOUT_S = 2.0
"""`git rev-parse` is local and instant; anything slower is a broken checkout, not worth waiting."""


def _closing(text: str) -> str:
    """Close a code fence or `<details>` block the cut left open, so the note still renders."""
    closing = ""
    fences = sum(line.lstrip().startswith("```") for line in text.splitlines())
    if fences % 2:
        closing += "\n```"
    closing += "\n</details>" * max(0, text.count("<details") - text.count("</details>"))
    return closing


def _truncated(text: str, budget: int) -> str:
    """The longest whole-line prefix of `text` that fits `budget` bytes with a note saying so."""
    total = len(text.encode("utf-8"))

    def note(shown: int) -> str:
        return (
            f"\n\n> **Truncated:** {shown:,} of {total:,} bytes shown (the step summary's limit). "
            "The whole report is `report.md` in the run directory.\n"
        )

    # Reserve room for the longest note and closings, then cut at a line end.
    reserve = len(note(total).encode("utf-8")) + len("\n```") + 16 * text.count("<details")
    room = budget - reserve
    if room <= 0:
        return ""
    head = text.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    if "\n" in head:
        head = head[: head.rindex("\n")]
    head += _closing(head)
    return head + note(len(head.encode("utf-8")))


def append_step_summary(
    markdown: str, path: Path, *, limit: int = GITHUB_STEP_SUMMARY_LIMIT
) -> int:
    """Append Markdown to a step summary file (`$GITHUB_STEP_SUMMARY`) within a size cap.

    What the file already holds counts against the cap. A document that does not fit is cut at
    a line end, any code fence or `<details>` it leaves open is closed, and a note says how much
    was shown and where the rest is.

    Args:
        markdown: The document to append.
        path: The step summary file (created when missing).
        limit: The cap, in bytes, for the whole file.

    Returns:
        The bytes appended: 0 when not even the truncation note fits.
    """
    existing = path.stat().st_size if path.exists() else 0
    separator = ""
    if existing:
        with path.open("rb") as handle:
            handle.seek(-1, 2)
            separator = "" if handle.read(1) == b"\n" else "\n"
        separator += "\n"  # a blank line, so the document does not join a previous paragraph
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    budget = limit - existing - len(separator)
    if len(text.encode("utf-8")) > budget:
        text = _truncated(text, budget)
    if not text:
        return 0
    data = (separator + text).encode("utf-8")
    with path.open("ab") as handle:
        handle.write(data)
    return len(data)


@dataclass(frozen=True)
class GitContext:
    """Where the suites' code came from, when it is known."""

    branch: str | None
    """The branch (for a pull request, its source branch)."""
    commit: str | None
    """The full commit hash."""


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no git, or not a usable checkout: the history simply has no branch
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


def git_context(environ: Mapping[str, str], cwd: Path) -> GitContext:
    """The branch and commit: from GitHub Actions' variables, else from `git rev-parse` in `cwd`.

    Args:
        environ: The environment (`os.environ` from the CLI). `GITHUB_HEAD_REF` (a pull
            request's branch) wins over `GITHUB_REF_NAME`; `GITHUB_SHA` gives the commit.
        cwd: Where to ask git when the variables are absent (the suites' directory).
    """
    branch = environ.get("GITHUB_HEAD_REF") or environ.get("GITHUB_REF_NAME") or None
    commit = environ.get("GITHUB_SHA") or None
    if branch is None:
        branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
        if branch == "HEAD":  # a detached checkout names no branch
            branch = None
    if commit is None:
        commit = _git(cwd, "rev-parse", "HEAD")
    return GitContext(branch=branch, commit=commit)
