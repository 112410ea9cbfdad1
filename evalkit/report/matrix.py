"""The matrix report: the same suites against several configurations, side by side.

`evalkit.compare.compare_matrix` lines the runs up; this module renders that `Matrix` for people:
one HTML page (no script; each status links to the conversation in its configuration's own
report, `<label>/report.html#suite/id/repeat`) and Markdown for a terminal, a PR comment or
`$GITHUB_STEP_SUMMARY`. Both put first what a reader came for: the pass rate of each
configuration, per-field accuracy, and the conversations where the configurations disagree,
with the values each one extracted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from evalkit.compare import Matrix, MatrixRow
from evalkit.report.comparison import expected_value, field_outcome
from evalkit.report.format import NONE, compact_json, percent
from evalkit.report.render import make_environment
from evalkit.report.views import anchor, pass_rate_interval
from evalkit.results import ConversationResult, RunInfo

__all__ = [
    "MATRIX_HTML_FILE",
    "MATRIX_MARKDOWN_FILE",
    "ConfigurationView",
    "MatrixRowView",
    "MatrixValue",
    "render_matrix_html",
    "render_matrix_markdown",
    "write_matrix_reports",
]

MATRIX_HTML_FILE = "matrix.html"
"""Name of the matrix's HTML report in the matrix directory."""
MATRIX_MARKDOWN_FILE = "matrix.md"
"""Name of the matrix's Markdown report in the matrix directory."""

MatrixRun = tuple[str, RunInfo, Sequence[ConversationResult]]
"""(label, metadata, results) of one configuration, as `compare_matrix` takes them."""

_HTML_ROWS = 2000
"""Rows of the every-conversation table in the page (each configuration's report has them all)."""
_AGREEING_DIFFERENCES = 200
"""Conversations listed whose verdicts agree but whose values differ."""


@dataclass(frozen=True)
class ConfigurationView:
    """One configuration (one column)."""

    label: str
    """Its name, as given to `--config`."""
    href: str
    """Its own report, relative to the matrix directory."""
    info: RunInfo
    """Its run."""
    pass_rate: str
    """Pass rate, as text."""
    interval: str
    """Wilson 95% interval, as text (empty when there is none)."""


@dataclass(frozen=True)
class MatrixValue:
    """A field's final value in each configuration."""

    field: str
    """The field target."""
    expected: str
    """The expected value (compact JSON), or a dash."""
    values: list[tuple[str, str]]
    """(value, verdict) per configuration, in column order; dashes when absent."""


@dataclass(frozen=True)
class MatrixRowView:
    """One conversation (and repeat) across the configurations."""

    label: str
    """`suite / id`, with the repeat when there is one."""
    cells: list[tuple[str, str]]
    """(status, link to it in that configuration's report) per column; a dash and no link
    when it did not run there."""
    disagree: bool
    """The configurations gave different verdicts."""
    values: list[MatrixValue]
    """The fields whose final value differs between configurations."""


def _href(label: str, target: str = "") -> str:
    path = f"{quote(label, safe='-._~')}/report.html"
    return f"{path}#{target}" if target else path


def _row(
    row: MatrixRow,
    labels: Sequence[str],
    by_key: Sequence[dict[tuple[str, str, int], ConversationResult]],
) -> MatrixRowView:
    key = (row.suite, row.conversation_id, row.repeat)
    target = anchor(*key)
    results: list[ConversationResult | None] = [column.get(key) for column in by_key]
    values = [
        MatrixValue(
            field=name,
            expected=expected_value(results, name),
            values=[
                (
                    compact_json(state[name]) if name in state else NONE,
                    field_outcome(result, name),
                )
                for state, result in zip(row.values, results, strict=True)
            ],
        )
        for name in row.differing_fields
    ]
    tail = f" (repeat {row.repeat})" if row.repeat else ""
    return MatrixRowView(
        label=f"{row.suite} / {row.conversation_id}{tail}",
        cells=[
            (status, _href(label, target)) if status is not None else (NONE, "")
            for status, label in zip(row.statuses, labels, strict=True)
        ],
        disagree=row.disagree,
        values=values,
    )


def _interval(info: RunInfo) -> str:
    interval = pass_rate_interval(info)
    return f"{percent(interval[0])}–{percent(interval[1])}" if interval else ""


def _context(matrix: Matrix, runs: Sequence[MatrixRun], title: str) -> dict[str, object]:
    by_key = [{r.key: r for r in results} for _, _, results in runs]
    configs = [
        ConfigurationView(
            label=label,
            href=_href(label),
            info=info,
            pass_rate=percent(info.summary.pass_rate),
            interval=_interval(info),
        )
        for label, info, _ in runs
    ]
    rows = [_row(row, matrix.labels, by_key) for row in matrix.rows]
    fields = []
    for name, accuracies in sorted(matrix.field_accuracy.items()):
        known = [a for a in accuracies if a is not None]
        # The least accurate configuration is marked only when the configurations differ.
        low = min(known) if known and max(known) - min(known) >= 0.0005 else None
        fields.append((name, [(percent(a), a is not None and a == low) for a in accuracies]))
    disagreements = [r for r in rows if r.disagree]
    # A conversation missing from a configuration differs in every value: that says nothing.
    differing = [
        r for r in rows if not r.disagree and r.values and all(href for _, href in r.cells)
    ]
    count = len(disagreements)
    labels = ", ".join(matrix.labels)
    headline = (
        f"{count} of {len(rows)} conversations have different verdicts across {labels}"
        if count
        else f"every conversation has the same verdict in {labels}"
    )
    return {
        "title": title or " vs ".join(matrix.labels),
        "labels": matrix.labels,
        "configs": configs,
        "fields": fields,
        "headline": headline,
        "tone": "fail" if count else "pass",
        "rows": rows,
        "shown_rows": rows[:_HTML_ROWS],
        "disagreements": disagreements,
        "differing": differing,
        "shown_differing": differing[:_AGREEING_DIFFERENCES],
    }


def render_matrix_html(matrix: Matrix, runs: Sequence[MatrixRun], *, title: str = "") -> str:
    """Render the matrix as one self-contained HTML page, with no script.

    Args:
        matrix: The runs lined up by `evalkit.compare.compare_matrix`.
        runs: The same (label, info, results) it was computed from, in column order.
        title: What the page is called (e.g. the matrix id); by default the labels.

    Returns:
        The page. Links to conversations are relative (`<label>/report.html#suite/id/repeat`),
        so the page belongs in the directory that holds one run directory per label.
    """
    template = make_environment().get_template("matrix.html.j2")
    return template.render(_context(matrix, runs, title))


def render_matrix_markdown(matrix: Matrix, runs: Sequence[MatrixRun], *, title: str = "") -> str:
    """Render the matrix as Markdown: pass rates, field accuracy, disagreements with values.

    Args:
        matrix: The runs lined up by `evalkit.compare.compare_matrix`.
        runs: The same (label, info, results) it was computed from, in column order.
        title: What the document is called; by default the labels.

    Returns:
        The document (every value from the runs neutralised).
    """
    template = make_environment().get_template("matrix.md.j2")
    return template.render(_context(matrix, runs, title))


def write_matrix_reports(
    matrix_dir: Path, matrix: Matrix, runs: Sequence[MatrixRun]
) -> dict[str, Path]:
    """Write `matrix.html` and `matrix.md` into the matrix directory (named after it).

    Returns:
        The paths written, under the keys `html` and `markdown`.
    """
    paths = {"html": matrix_dir / MATRIX_HTML_FILE, "markdown": matrix_dir / MATRIX_MARKDOWN_FILE}
    title = matrix_dir.name
    paths["html"].write_text(render_matrix_html(matrix, runs, title=title), encoding="utf-8")
    markdown = render_matrix_markdown(matrix, runs, title=title)
    paths["markdown"].write_text(markdown, encoding="utf-8")
    return paths
