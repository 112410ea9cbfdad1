"""HTML and Markdown reports of a run: what QA reads, and what a pull request comment shows.

This module owns the Jinja2 environment (built per call, never kept at module level), the view of a
run that the templates in `evalkit/templates/` render, and `neutralize_markdown`, which makes text
that came from the target inert in Markdown.

Both renderings are pure functions of a run directory's contents (`RunInfo` and the results): they
never read the clock or the environment, and results are put in a stable order, so rendering the
same run twice gives the same bytes. Everything the target said is untrusted: the HTML template is
autoescaped and carries a Content-Security-Policy that forbids scripts and remote resources; the
Markdown template passes every value through `neutralize_markdown`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import ValidationError

from evalkit.protocol import ChunkType, NumberInputDetails, ResponseChunk
from evalkit.results import (
    CheckResult,
    ConversationResult,
    FieldResult,
    RunInfo,
    TurnTranscript,
    sorted_results,
)

__all__ = [
    "HTML_FILE",
    "MARKDOWN_FILE",
    "make_environment",
    "neutralize_markdown",
    "render_html",
    "render_markdown",
    "write_reports",
]

HTML_FILE = "report.html"
"""Name of the HTML report in a run directory."""
MARKDOWN_FILE = "report.md"
"""Name of the Markdown report in a run directory."""

_HTML_TEMPLATE = "report.html.j2"
_MARKDOWN_TEMPLATE = "report.md.j2"
_NONE = "—"
_LATENCY_ROWS = ("first_chunk", "first_data", "turn")
_LATENCY_COLUMNS = ("p50", "p95", "max")

# Markdown metacharacters that can start emphasis, code, links, images, tables or HTML. The
# backslash is escaped too, or a backslash written by the model would undo the escape after it.
_MARKDOWN_ESCAPES = {
    "\\": "\\\\",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "\\|",
    "`": "\\`",
    "*": "\\*",
    "_": "\\_",
    "[": "\\[",
    "]": "\\]",
    "!": "\\!",
    "~": "\\~",
}
_MARKDOWN_SPECIAL = re.compile("|".join(re.escape(c) for c in _MARKDOWN_ESCAPES))
# Line breaks (and the other characters that end a line) would end a table row or start a new
# block. Other control characters have no business in a report, and bidirectional overrides could
# make a reason or value read differently from what it is.
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def neutralize_markdown(text: object) -> str:
    """Make text inert in GitHub-flavoured Markdown, so it reads as itself wherever it is placed.

    Every character that could start emphasis, code, a link, an image, a table cell or raw HTML is
    escaped (`<`, `>` and `&` as HTML entities, the rest with a backslash), line breaks and tabs
    become single spaces so that a table row stays one row, and other control characters
    (bidirectional overrides included) are dropped.

    Args:
        text: The untrusted text; anything else is converted with `str()` first.

    Returns:
        The neutralised text, on one line.
    """
    flat = _CONTROL.sub("", _LINE_BREAKS.sub(" ", str(text).replace("\t", " ")))
    return _MARKDOWN_SPECIAL.sub(lambda m: _MARKDOWN_ESCAPES[m.group(0)], flat)


def compact_json(value: Any) -> str:
    """Render a value as one line of JSON, non-ASCII kept readable."""
    return json.dumps(value, ensure_ascii=False, default=str)


def percent(value: float | None) -> str:
    """Render a 0–1 rate as a percentage with one decimal, or a dash for None."""
    return _NONE if value is None else f"{value * 100:.1f}%"


def seconds(value: float | None) -> str:
    """Render a duration: milliseconds below a second, seconds above, a dash for None."""
    if value is None:
        return _NONE
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def turn_label(turn: int | None) -> str:
    """Name a verdict's turn: its number, or `final` for the accumulated state."""
    return "final" if turn is None else str(turn)


@dataclass(frozen=True)
class ChunkView:
    """One chunk as a transcript shows it."""

    kind: Literal["text", "data", "other"]
    """`text`: assistant text; `data`: an extracted value; `other`: any other chunk type."""
    label: str
    """The text style for `text`, the field target for `data`, the chunk type otherwise."""
    text: str
    """What to show: the text, the value as JSON, or a short description."""


@dataclass(frozen=True)
class TurnView:
    """One request/response exchange of a transcript."""

    label: str
    """`Session` for session creation, `Turn n` for the n-th user turn."""
    turn: TurnTranscript
    """The exchange as recorded."""
    chunks: list[ChunkView]
    """Its chunks, in order of arrival."""


@dataclass(frozen=True)
class FieldRow:
    """A field verdict, with its values already rendered as compact JSON."""

    turn: str
    """The turn number, or `final`."""
    field: str
    """The field target."""
    outcome: str
    """correct, wrong, missing or unexpected."""
    expected: str
    """The expected value, or a dash for an unexpected field."""
    actual: str
    """The extracted value, or a dash for a missing one."""
    reason: str
    """Why it failed."""


@dataclass(frozen=True)
class ConversationView:
    """A conversation as the reports show it."""

    anchor: str
    """HTML id of its section, derived from its position, never from its (untrusted) name."""
    result: ConversationResult
    """The result as stored."""
    failing_fields: list[FieldRow]
    """Field verdicts that did not hold."""
    failing_checks: list[CheckResult]
    """Other checks that did not hold."""
    turns: list[TurnView]
    """The transcript."""
    user_turns: int
    """How many user turns were sent."""


def _describe_number(number: NumberInputDetails) -> str:
    """Name a number prompt's field and its accepted range, e.g. `age [18, 120]`."""
    limit = number.range_limit
    if limit is None:
        return number.field_target
    low = _NONE if limit.min_inclusive_value is None else f"{limit.min_inclusive_value:g}"
    if limit.max_exclusive_value is not None:
        high = f"{limit.max_exclusive_value:g})"
    elif limit.max_inclusive_value is not None:
        high = f"{limit.max_inclusive_value:g}]"
    else:
        high = f"{_NONE}]"
    return f"{number.field_target} [{low}, {high}"


def _describe(chunk: ResponseChunk) -> str:
    """Summarise a non-text chunk in a few words."""
    select = chunk.single_select_input_details or chunk.multi_select_input_details
    if select:
        labels = " / ".join(option.label or option.value for option in select.options)
        return f"{select.field_target}: {labels}"
    if chunk.number_input_details:
        return _describe_number(chunk.number_input_details)
    if chunk.important_text_details:
        note = chunk.important_text_details
        return f"{note.field_target}: {note.text}" if note.field_target else note.text
    if chunk.error_details:
        return chunk.error_details.message_text
    if chunk.submission_details:
        return chunk.submission_details.submission_id
    if chunk.end_of_response_details:
        return "success" if chunk.end_of_response_details.success else "not successful"
    for details in (chunk.file_upload_details, chunk.signature_details):
        if details:
            return details.field_target
    return ""


def chunk_view(raw: dict[str, Any]) -> ChunkView:
    """Turn a chunk as received into what the transcript shows; never fails on odd input."""
    try:
        chunk = ResponseChunk.model_validate(raw)
    except ValidationError:
        kind = raw.get("chunkType")
        return ChunkView("other", str(kind) if kind else "malformed chunk", compact_json(raw))
    if chunk.chunk_type == ChunkType.TEXT and chunk.text_details:
        return ChunkView("text", chunk.text_details.style, chunk.text_details.text)
    if chunk.chunk_type == ChunkType.TEXT_DATA and chunk.text_data_details:
        data = chunk.text_data_details
        return ChunkView("data", data.field_target, compact_json(data.value))
    return ChunkView("other", chunk.chunk_type, _describe(chunk))


def _turn_views(transcript: list[TurnTranscript]) -> list[TurnView]:
    views = []
    number = 0
    for turn in transcript:
        if turn.user is None and turn.endpoint.startswith("create"):
            label = "Session"
        else:
            number += 1
            label = f"Turn {number}"
        views.append(TurnView(label, turn, [chunk_view(c.chunk) for c in turn.chunks]))
    return views


def _field_row(result: FieldResult) -> FieldRow:
    return FieldRow(
        turn=turn_label(result.turn),
        field=result.field,
        outcome=result.outcome,
        expected=_NONE if result.outcome == "unexpected" else compact_json(result.expected),
        actual=_NONE if result.outcome == "missing" else compact_json(result.actual),
        reason=result.reason or _NONE,
    )


def _conversation_view(index: int, result: ConversationResult) -> ConversationView:
    # Final-state verdicts after the per-turn ones, then by field name: stable and readable.
    failing = sorted(
        (f for f in result.fields if not f.passed),
        key=lambda f: (f.turn is None, f.turn or 0, f.field),
    )
    return ConversationView(
        anchor=f"conv-{index}",
        result=result,
        failing_fields=[_field_row(f) for f in failing],
        failing_checks=[c for c in result.checks if not c.passed],
        turns=_turn_views(result.transcript),
        user_turns=sum(1 for turn in result.transcript if turn.user is not None),
    )


def _latency_rows(latency: dict[str, float]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Group `<measure>_<statistic>` keys into a table: columns, then (label, cells) rows."""
    grouped: dict[str, dict[str, float]] = {}
    for key, value in latency.items():
        measure, _, statistic = key.rpartition("_")
        grouped.setdefault(measure or key, {})[statistic] = value
    statistics = {s for stats in grouped.values() for s in stats}
    columns = [c for c in _LATENCY_COLUMNS if c in statistics]
    columns += sorted(statistics - set(_LATENCY_COLUMNS))
    known = [m for m in _LATENCY_ROWS if m in grouped]
    measures = known + sorted(set(grouped) - set(known))
    rows = [
        (
            measure.replace("_", " ").capitalize(),
            [seconds(grouped[measure].get(column)) for column in columns],
        )
        for measure in measures
    ]
    return columns, rows


def _verdict(info: RunInfo) -> tuple[str, str]:
    """The run's one-word status (for styling) and its headline."""
    s = info.summary
    unevaluated = f"{s.errors} could not be evaluated"
    if s.failed:
        headline = f"{s.failed} of {s.total} conversations failed"
        return "fail", headline + (f"; {unevaluated}" if s.errors else "")
    if s.errors:
        return "error", f"{unevaluated} of {s.total} conversations; none failed"
    if s.passed:
        return "pass", f"all {s.passed} evaluated conversations passed"
    return "skipped", "no conversation was evaluated"


def _context(info: RunInfo, results: list[ConversationResult]) -> dict[str, Any]:
    conversations = [
        _conversation_view(i, r) for i, r in enumerate(sorted_results(results), start=1)
    ]
    verdict, headline = _verdict(info)
    columns, rows = _latency_rows(info.summary.latency)
    return {
        "info": info,
        "summary": info.summary,
        "verdict": verdict,
        "headline": headline,
        "conversations": conversations,
        "errors": [c for c in conversations if c.result.status == "error"],
        "failures": [c for c in conversations if c.result.status == "fail"],
        "fields": sorted(info.summary.fields.items()),
        "latency_columns": columns,
        "latency_rows": rows,
        "warnings": [(c, w) for c in conversations for w in c.result.warnings],
    }


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
    env.filters["json"] = compact_json
    env.filters["percent"] = percent
    env.filters["seconds"] = seconds
    env.filters["turn"] = turn_label
    env.filters["md"] = neutralize_markdown
    return env


def render_html(info: RunInfo, results: list[ConversationResult]) -> str:
    """Render the HTML report: a self-contained page with no scripts and no external assets.

    Args:
        info: The run's metadata and summary (`run.json`).
        results: Its conversation results, in any order.

    Returns:
        The page.
    """
    return make_environment().get_template(_HTML_TEMPLATE).render(_context(info, results))


def render_markdown(info: RunInfo, results: list[ConversationResult]) -> str:
    """Render the Markdown report: GitHub-flavoured, worst first, fit for a pull request comment.

    Args:
        info: The run's metadata and summary (`run.json`).
        results: Its conversation results, in any order.

    Returns:
        The document.
    """
    return make_environment().get_template(_MARKDOWN_TEMPLATE).render(_context(info, results))


def write_reports(
    run_dir: Path, info: RunInfo, results: list[ConversationResult]
) -> dict[str, Path]:
    """Write `report.html` and `report.md` into a run directory.

    Args:
        run_dir: The run directory (it must exist).
        info: The run's metadata and summary.
        results: Its conversation results.

    Returns:
        The paths written, under the keys `html` and `markdown`.
    """
    paths = {"html": run_dir / HTML_FILE, "markdown": run_dir / MARKDOWN_FILE}
    paths["html"].write_text(render_html(info, results), encoding="utf-8")
    paths["markdown"].write_text(render_markdown(info, results), encoding="utf-8")
    return paths
