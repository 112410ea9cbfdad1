"""Reports of a run for people: the interactive HTML page, Markdown, and the QA sign-off page.

Every report is a rendering of a run directory (`RunInfo` and the results), optionally with a
comparison against a baseline and the run history. The package is split by what each part owns:

- `format`: numbers, durations, JSON and Markdown neutralising (no templates);
- `transcript`: how chunks and the user's marked message read;
- `views`: conversations, anchors, headline, worst-first order, the run-history input;
- `comparison`: a comparison with a baseline as the reports show it, diffs of extracted values;
- `matrix`: several configurations side by side (the matrix report);
- `charts`: geometry of the inline SVG charts;
- `payload`: the JSON the page's script renders from;
- `criteria`: acceptance criteria of a sign-off;
- `render`: the Jinja2 environment and the three renderings (the only jinja2 user).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalkit.compare import Comparison
from evalkit.report.comparison import (
    ConversationDiff,
    FieldDeltaRow,
    Regression,
    RunComparison,
    ValueDiff,
    comparison_view,
)
from evalkit.report.criteria import (
    Criterion,
    CriterionResult,
    check_criteria,
    evaluate_criteria,
    parse_criterion,
    parse_rate,
)
from evalkit.report.format import neutralize_markdown, wilson_interval
from evalkit.report.matrix import (
    MATRIX_HTML_FILE,
    MATRIX_MARKDOWN_FILE,
    render_matrix_html,
    render_matrix_markdown,
    write_matrix_reports,
)
from evalkit.report.render import (
    GITHUB_STEP_SUMMARY_LIMIT,
    PR_COMMENT_LIMIT,
    csp_for,
    make_environment,
    render_html,
    render_markdown,
    render_signoff,
    report_script,
    write_html,
)
from evalkit.report.views import TrendPoint, anchor, digest
from evalkit.results import ConversationResult, RunInfo

__all__ = [
    "GITHUB_STEP_SUMMARY_LIMIT",
    "HTML_FILE",
    "MARKDOWN_FILE",
    "MATRIX_HTML_FILE",
    "MATRIX_MARKDOWN_FILE",
    "PR_COMMENT_LIMIT",
    "SIGNOFF_FILE",
    "ConversationDiff",
    "Criterion",
    "CriterionResult",
    "FieldDeltaRow",
    "Regression",
    "RunComparison",
    "TrendPoint",
    "ValueDiff",
    "anchor",
    "check_criteria",
    "comparison_view",
    "csp_for",
    "evaluate_criteria",
    "make_environment",
    "neutralize_markdown",
    "parse_criterion",
    "parse_rate",
    "render_html",
    "render_markdown",
    "render_matrix_html",
    "render_matrix_markdown",
    "render_signoff",
    "report_script",
    "wilson_interval",
    "write_html",
    "write_matrix_reports",
    "write_reports",
    "write_signoff",
]

HTML_FILE = "report.html"
"""Name of the HTML report in a run directory."""
MARKDOWN_FILE = "report.md"
"""Name of the Markdown report in a run directory."""
SIGNOFF_FILE = "sign-off.html"
"""Name of the sign-off page in a run directory."""


def write_reports(
    run_dir: Path,
    info: RunInfo,
    results: Sequence[ConversationResult],
    *,
    markdown_max_bytes: int | None = GITHUB_STEP_SUMMARY_LIMIT,
    comparison: Comparison | None = None,
    history: Sequence[TrendPoint] | None = None,
) -> dict[str, Path]:
    """Write `report.html` and `report.md` into a run directory.

    Both are written in memory that does not grow with the run: the results are read one at a
    time (from disk, for `StoredResults`), and the HTML page is written as it is rendered.

    Args:
        run_dir: The run directory (it must exist).
        info: The run's metadata and summary.
        results: Its conversation results.
        markdown_max_bytes: Budget of the Markdown report; by default it fits in
            `$GITHUB_STEP_SUMMARY`. None for no limit.
        comparison: A comparison with a baseline run: its verdict, the counts of typed
            differences and the regressions come first.
        history: Earlier runs, oldest first, for the pass-rate trend.

    Returns:
        The paths written, under the keys `html` and `markdown`.
    """
    view = None
    if comparison is not None:
        view = comparison_view(comparison)
    paths = {"html": run_dir / HTML_FILE, "markdown": run_dir / MARKDOWN_FILE}
    run = digest(results)  # one pass, shared by both reports
    write_html(paths["html"], info, results, comparison=view, history=history, run=run)
    markdown = render_markdown(
        info, results, max_bytes=markdown_max_bytes, comparison=view, run=run
    )
    paths["markdown"].write_text(markdown, encoding="utf-8")
    return paths


def write_signoff(
    run_dir: Path,
    info: RunInfo,
    results: Sequence[ConversationResult],
    criteria: Sequence[Criterion] = (),
) -> Path:
    """Write the sign-off page (`sign-off.html`) into a run directory and return its path."""
    path = run_dir / SIGNOFF_FILE
    path.write_text(render_signoff(info, results, criteria), encoding="utf-8")
    return path
