"""Rendering with Jinja2: the interactive HTML report, the Markdown report and the sign-off page.

This module owns the Jinja2 environment (built per call, never kept at module level) and the
context each template gets. Every rendering is a pure function of the run (and of the optional
comparison, history and criteria): same input, same bytes.

Everything the target said is untrusted. HTML templates are autoescaped; the data the report's
script renders from is embedded with `tojson`, and the script builds the page with `textContent`
only. The page's Content-Security-Policy allows exactly one script: the one whose SHA-256 it names,
computed here over the exact text embedded. The Markdown template passes every value through
`neutralize_markdown`, and the document is cut to a byte budget, worst problems first.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from evalkit.metrics.slots import confusion_axes
from evalkit.report.charts import field_bars, latency_histograms, trend
from evalkit.report.comparison import RunComparison
from evalkit.report.criteria import Criterion, evaluate_criteria
from evalkit.report.format import compact_json, neutralize_markdown, percent, seconds, turn_label
from evalkit.report.payload import details_entry, index_row
from evalkit.report.personas import persona_figures
from evalkit.report.views import (
    ConversationView,
    RunDigest,
    TrendPoint,
    conversation_view,
    digest,
    latency_table,
    pass_rate_interval,
    verdict,
)
from evalkit.results import ConversationResult, RunInfo, write_atomically
from evalkit.results.figures import SlotMetrics

__all__ = [
    "GITHUB_STEP_SUMMARY_LIMIT",
    "PR_COMMENT_LIMIT",
    "csp_for",
    "make_environment",
    "render_html",
    "render_markdown",
    "render_signoff",
    "report_script",
    "write_html",
]

GITHUB_STEP_SUMMARY_LIMIT = 1_000_000
"""Bytes a step summary (`$GITHUB_STEP_SUMMARY`) may hold: GitHub refuses one over 1 MiB, so stay
a little under. The one constant for it: `report.md`'s default budget and the CI append cap."""
PR_COMMENT_LIMIT = 65_536
"""GitHub's limit on a pull-request comment, in characters (bytes never undercount it)."""

_COMPARED_DIFFS = (20, 10, 5, 1, 0)
"""How many changed conversations' typed differences the Markdown lists, tried in turn while
the document is over its budget (after the problems are cut)."""

_SCRIPT = "report.js"
_SERVER_RENDERED_FAILURES = 200
"""Failures rendered into the page itself (beyond them, the script's table lists the rest)."""


def used_forms(info: RunInfo) -> list[tuple[str, str]]:
    """(form key, form id) of the forms the run's suites used, sorted by key.

    An emulator serves every form it found; the run used only some: "What ran" names those.
    Without suites recorded, every form id of the target.
    """
    used = {suite.form for suite in info.suites}
    ids = info.target.form_ids
    return sorted((k, v) for k, v in ids.items() if not used or k in used)


def make_environment() -> jinja2.Environment:
    """Build the Jinja2 environment for the report templates.

    HTML templates are autoescaped, the Markdown one is not (it uses the `md` filter instead);
    an undefined name is an error rather than an empty string.

    Returns:
        A new environment with the `json`, `percent`, `seconds`, `turn` and `md` filters.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evalkit", "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=True, default=False
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Compact, ordered and readable: the embedded data is most of a large report's bytes.
    env.policies["json.dumps_kwargs"] = {
        "sort_keys": True,
        "separators": (",", ":"),
        "ensure_ascii": False,
    }
    env.filters["json"] = compact_json
    env.filters["percent"] = percent
    env.filters["seconds"] = seconds
    env.filters["turn"] = turn_label
    env.filters["md"] = neutralize_markdown
    env.filters["used_forms"] = used_forms
    return env


def report_script(env: jinja2.Environment | None = None) -> str:
    """The report's script, exactly as it is embedded.

    Raises:
        ValueError: The script contains `</script` or `<!--`, which would end or confuse the
            element it is embedded in.
    """
    env = env or make_environment()
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, _SCRIPT)
    if "</script" in source.lower() or "<!--" in source:
        raise ValueError(f"{_SCRIPT} must not contain '</script' or '<!--'")
    return source


def csp_for(script: str) -> str:
    """The Content-Security-Policy of a page whose only script is `script`."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


ConfusionTable = tuple[str, list[str], list[str], dict[str, dict[str, int]]]
"""A choice field's confusion: (field, rows, columns, expected → extracted → count)."""


def confusion_tables(slots: SlotMetrics | None) -> list[ConfusionTable]:
    """The confusion tables of the choice fields, each with its rows and columns in order."""
    if slots is None:
        return []
    return [(name, *confusion_axes(table), table) for name, table in slots.confusion.items()]


def _context(
    info: RunInfo,
    run: RunDigest,
    *,
    comparison: RunComparison | None = None,
    history: Sequence[TrendPoint] | None = None,
) -> dict[str, Any]:
    status, headline = verdict(info)
    columns, rows = latency_table(info.summary.latency)
    current = TrendPoint(info.run_id, info.started_at, info.summary.pass_rate)
    return {
        "info": info,
        "summary": info.summary,
        "interval": pass_rate_interval(info),
        "verdict": status,
        "headline": headline,
        "conversations": run.results,
        "problems": run.problems,
        "errors": run.errors,
        "failures": run.failures,
        "by_conversation": run.by_conversation,  # problems → one group per conversation
        "flaky": sorted(run.flaky),
        "fields": sorted(info.summary.fields.items()),
        "slots": info.summary.slot_filling,
        "confusion": confusion_tables(info.summary.slot_filling),
        "personas": info.summary.personas,
        "persona_figures": persona_figures(info.summary.personas) if info.summary.personas else [],
        "latency_columns": columns,
        "latency_rows": rows,
        "warnings": run.warnings,
        "comparison": comparison,
        "trend": trend(history, current) if history else None,
    }


def _json_rows(env: jinja2.Environment, rows: Iterable[Any]) -> Iterator[Markup]:
    """A JSON array written a row at a time, each escaped for HTML exactly as `tojson` does."""
    dumps = env.policies["json.dumps_function"]
    options = env.policies["json.dumps_kwargs"]
    yield Markup("[")
    for number, row in enumerate(rows):
        text = htmlsafe_json_dumps(row, dumps=dumps, **options)
        yield Markup(",") + text if number else text
    yield Markup("]")


def _index(env: jinja2.Environment, run: RunDigest) -> Iterator[Markup]:
    """The index block's JSON: `{"fields":…,"rows":[…],"suites":…,"tags":…}` (keys sorted)."""
    suites = {name: i for i, name in enumerate(run.suites)}
    tags = {name: i for i, name in enumerate(run.tags)}
    rows = (index_row(_view(run, result), suites, tags) for result in run.results)
    parts = (("fields", run.fields), ("rows", rows), ("suites", run.suites), ("tags", run.tags))
    for number, (name, values) in enumerate(parts):
        yield Markup(f'{"," if number else "{"}"{name}":')
        yield from _json_rows(env, values)
    yield Markup("}")


def _details(env: jinja2.Environment, run: RunDigest) -> Iterator[Markup]:
    """The details block's JSON: one entry per conversation, in the order of the index rows."""
    return _json_rows(env, (details_entry(_view(run, result)) for result in run.results))


def _view(run: RunDigest, result: ConversationResult) -> ConversationView:
    return conversation_view(result, flaky=(result.suite, result.conversation_id) in run.flaky)


def _html_parts(
    info: RunInfo,
    results: Sequence[ConversationResult],
    *,
    comparison: RunComparison | None,
    history: Sequence[TrendPoint] | None,
    run: RunDigest | None = None,
) -> Iterator[str]:
    env = make_environment()
    script = report_script(env)
    run = run or digest(results)
    context = _context(info, run, comparison=comparison, history=history)
    context.update(
        csp=csp_for(script),
        script=Markup(script),  # our own file, checked above: embedded verbatim for the hash
        charts={
            "fields": field_bars(info.summary.fields),
            "latency": latency_histograms(run.first_chunk_s, run.turn_s),
        },
        shown_problems=list(run.problems[:_SERVER_RENDERED_FAILURES]),
        limit_changes=_SERVER_RENDERED_FAILURES,
        index=_index(env, run),
        details=_details(env, run),
    )
    return env.get_template("report.html.j2").generate(context)


def render_html(
    info: RunInfo,
    results: Sequence[ConversationResult],
    *,
    comparison: RunComparison | None = None,
    history: Sequence[TrendPoint] | None = None,
) -> str:
    """Render the HTML report: one self-contained file, readable with or without its script.

    The summary, the charts and the failures (worst first) are in the page itself; the table of
    every conversation, its filters and the transcripts are drawn by the embedded script from
    embedded JSON, a page of rows at a time. `write_html` writes the same page to a file
    without holding it.

    Args:
        info: The run's metadata and summary (`run.json`).
        results: Its conversation results, in any order.
        comparison: A comparison with a baseline run; its regressions are shown first.
        history: Earlier runs, oldest first, for the pass-rate trend.

    Returns:
        The page.
    """
    return "".join(_html_parts(info, results, comparison=comparison, history=history))


def write_html(
    path: Path,
    info: RunInfo,
    results: Sequence[ConversationResult],
    *,
    comparison: RunComparison | None = None,
    history: Sequence[TrendPoint] | None = None,
    run: RunDigest | None = None,
) -> None:
    """Write the HTML report of `render_html` to `path`, rendered and written a row at a time.

    Memory stays flat whatever the number of conversations: each is read, rendered into the
    page's JSON and written before the next one is read.

    Args:
        path: The file to write (replaced atomically).
        info: The run's metadata and summary.
        results: Its conversation results, in any order.
        comparison: A comparison with a baseline run.
        history: Earlier runs, oldest first, for the pass-rate trend.
        run: The digest of `results`, when the caller already has it.
    """
    parts = _html_parts(info, results, comparison=comparison, history=history, run=run)
    write_atomically(path, parts)


def render_markdown(
    info: RunInfo,
    results: Sequence[ConversationResult],
    *,
    max_bytes: int | None = None,
    comparison: RunComparison | None = None,
    run: RunDigest | None = None,
) -> str:
    """Render the Markdown report: GitHub-flavoured, worst first, within a size budget.

    When the whole document does not fit in `max_bytes` (UTF-8), the per-conversation warnings
    are summarised by their count, then the least bad problems are left out, with a line saying
    how many and where to find them; with a baseline, then fewer changed conversations' typed
    differences are listed (each lists at most 10 changes, each side cut to 200 characters). The
    summary, the field table and what ran always stay.

    Args:
        info: The run's metadata and summary (`run.json`).
        results: Its conversation results, in any order.
        max_bytes: The budget, e.g. `GITHUB_STEP_SUMMARY_LIMIT` or `PR_COMMENT_LIMIT`; None
            for no limit.
        comparison: A comparison with a baseline run; its regressions are listed first.
        run: The digest of `results`, when the caller already has it.

    Returns:
        The document.
    """
    template = make_environment().get_template("report.md.j2")
    run = run or digest(results)
    context = _context(info, run, comparison=comparison)
    problems = run.problems

    def render(shown: int, warnings: bool, diffs: int = _COMPARED_DIFFS[0]) -> str:
        return template.render(
            context,
            shown_problems=problems[:shown],
            hidden=len(problems) - shown,
            show_warnings=warnings,
            diff_cap=diffs,
        )

    def fits(text: str) -> bool:
        return max_bytes is None or len(text.encode("utf-8")) <= max_bytes

    document = render(len(problems), True)
    if fits(document):
        return document
    document = render(len(problems), False)
    if fits(document):
        return document
    low, high = 0, len(problems)  # invariant: `low` problems fit (or nothing does)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(render(middle, False)):
            low = middle
        else:
            high = middle - 1
    document = render(low, False)
    for diffs in _COMPARED_DIFFS[1:]:  # still over: fewer conversations' typed differences
        if fits(document):
            break
        document = render(low, False, diffs)
    return document


def render_signoff(
    info: RunInfo,
    results: Sequence[ConversationResult],
    criteria: Sequence[Criterion] = (),
) -> str:
    """Render the QA sign-off page: printable, one click to PDF from the browser.

    It states what was tested (suites, hashes, conversations, repeats), against what (target,
    form ids, framing, dry run), when and by which evalkit and commit, each acceptance criterion
    with its measured value and whether it was met, the open failures, and a block to sign.

    Args:
        info: The run's metadata and summary.
        results: Its conversation results.
        criteria: The acceptance criteria, in the order to list them.

    Returns:
        The page (no script).
    """
    run = digest(results)
    context = _context(info, run)
    checked = evaluate_criteria(criteria, info, run.results)
    context.update(
        criteria=checked,
        criteria_met=all(c.met for c in checked),
        repeats=run.repeats,
        # Fields a later run.json may carry; read defensively so older runs still render.
        git_commit=info.git_commit or "",
        dry_run={s.name: getattr(s, "dry_run", None) for s in info.suites},
    )
    return make_environment().get_template("signoff.html.j2").render(context)
