"""The view's pages, rendered to HTML strings: runs, a run, a suite's trend, reports, errors.

No web framework here (`evalkit.view.app` routes requests to these functions). Every page is a
Jinja2 template with autoescaping on; there is no script at all in the view's own pages, and
their one style sheet is allowed by its hash (`VIEW_CSP`). A run's report and a comparison are
the report module's own pages, with the report's own policy (`REPORT_CSP`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from evalkit.compare import compare_runs
from evalkit.errors import EvalkitError
from evalkit.history import (
    RUN_STATUSES,
    HistoryLocation,
    RunRow,
    RunStatus,
    facets,
    get_run,
    list_runs,
    run_outcomes,
    suite_trend,
)
from evalkit.report import (
    TrendPoint,
    anchor,
    comparison_view,
    csp_for,
    render_html,
    report_script,
)
from evalkit.results import RUN_FILE, read_run
from evalkit.view.charts import line_chart

__all__ = [
    "CONVERSATIONS_SHOWN",
    "REPORT_CSP",
    "NotFound",
    "ViewSettings",
    "compare_page",
    "css",
    "error_page",
    "reachable",
    "report_page",
    "run_page",
    "runs_page",
    "trend_page",
    "view_csp",
]

CONVERSATIONS_SHOWN = 500
"""Conversations a run's page lists (problems first); the full report has every one."""
TREND_RUNS = 60
"""Runs a trend shows at most."""
_STATUS_ORDER = {"error": 0, "fail": 1, "skipped": 2, "pass": 3}


class NotFound(EvalkitError):
    """What a page asked for is not in the history, or its run directory is not reachable."""


@dataclass(frozen=True)
class ViewSettings:
    """What the view shows."""

    history: HistoryLocation
    """The history it reads."""
    runs_roots: tuple[Path, ...] = ()
    """Folders to look in for a run directory that is not where the history recorded it (e.g.
    downloaded CI artifacts), found by the run id in its `run.json`."""


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evalkit.view", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["rate"] = lambda value: "—" if value is None else f"{value:.1%}"
    env.filters["points"] = _points
    return env


def _points(value: float | None) -> str:
    if value is None:
        return ""
    points = value * 100
    return "±0.0" if abs(points) < 0.05 else f"{points:+.1f}"


@cache
def css() -> str:
    """The view's style sheet, exactly as embedded (its hash is in the policy)."""
    return (Path(__file__).parent / "templates" / "view.css").read_text(encoding="utf-8")


def view_csp() -> str:
    """The Content-Security-Policy of the view's own pages: no script, one style sheet."""
    digest = base64.b64encode(hashlib.sha256(css().encode("utf-8")).digest()).decode("ascii")
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; script-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


REPORT_CSP = csp_for(report_script())
"""The policy of a report page: the one it carries in its `<meta>` tag, sent as a header too."""


def _render(template: str, settings: ViewSettings, **context: Any) -> str:
    page = _environment().get_template(template)
    return page.render(css=Markup(css()), history=settings.history.shown, **context)


def _short(form_id: str) -> str:
    # Form ids are UUIDs: their first 8 characters tell configurations apart in a list.
    return form_id if len(form_id) <= 12 else form_id[:8] + "…"


def _label(row: RunRow, *, short: bool = False) -> str:
    """The target in words: name, base URL (not the emulator's), form ids (`short`: cut)."""
    cut = _short if short else str
    forms = ", ".join(f"{key}={cut(value)}" for key, value in sorted(row.form_ids.items()))
    place = "" if row.target_name == "emulator" else f" {row.base_url}"
    return f"{row.target_name}{place}" + (f" [{forms}]" if forms else "")


def _run_id(run_file: Path) -> str | None:
    try:
        data = json.loads(run_file.read_bytes())
    except (OSError, ValueError):
        return None
    return data.get("run_id") if isinstance(data, dict) else None


def reachable(settings: ViewSettings, row: RunRow) -> Path | None:
    """A run's directory: where the history recorded it, or under one of `runs_roots`.

    Under a root, the run is found by its id in `run.json` (up to two folders down, as
    downloaded CI artifacts lie), whatever the folders are called.
    """
    if (row.run_dir / RUN_FILE).is_file():
        return row.run_dir
    for root in settings.runs_roots:
        for pattern in (RUN_FILE, f"*/{RUN_FILE}", f"*/*/{RUN_FILE}"):
            for run_file in sorted(root.glob(pattern)):
                if _run_id(run_file) == row.run_id:
                    return run_file.parent
    return None


def _choice(value: str | None, allowed: Sequence[str]) -> str | None:
    return value if value in allowed else None


def runs_page(settings: ViewSettings, query: Mapping[str, str]) -> str:
    """The runs, latest first, with filters (suite, target, branch, status, days) and compare."""
    found = facets(settings.history)
    filters = {name: query.get(name) or None for name in ("suite", "target", "branch")}
    status: RunStatus | None = None
    for choice in RUN_STATUSES:
        if query.get("status") == choice:
            status = choice
    since, until = query.get("since") or None, query.get("until") or None
    try:
        limit = min(max(int(query.get("limit") or 100), 1), 1000)
    except ValueError:
        limit = 100
    rows = list_runs(
        settings.history,
        suite=filters["suite"],
        target=filters["target"],
        branch=filters["branch"],
        status=status,
        since=since,
        until=until,
        limit=limit,
    )
    chart = None
    if filters["suite"]:
        points = suite_trend(
            settings.history,
            filters["suite"],
            target=filters["target"],
            branch=filters["branch"],
            limit=TREND_RUNS,
        )
        chart = _pass_chart(points)
    return _render(
        "runs.html.j2",
        settings,
        title="Runs",
        facets=found,
        statuses=RUN_STATUSES,
        filters={**filters, "status": status, "since": since, "until": until},
        rows=list(reversed(rows)),
        labels={row.run_id: (_label(row, short=True), _label(row)) for row in rows},
        chart=chart,
        limit=limit,
    )


def _pass_chart(points: Sequence[Any]) -> Any:
    return line_chart(
        [p.run.run_id for p in points],
        {"pass rate": [p.pass_rate for p in points]},
        days=[p.run.started_at[:10] for p in points],
    )


def _row(settings: ViewSettings, run_id: str) -> RunRow:
    row = get_run(settings.history, run_id)
    if row is None:
        raise NotFound(f"no run {run_id!r} in the history")
    return row


def _previous(settings: ViewSettings, row: RunRow) -> RunRow | None:
    """The run before this one of the same suites (by name) against the same target."""
    earlier = [
        other
        for other in list_runs(settings.history, target=row.target_key, limit=200)
        if other.suite_names == row.suite_names
        and (other.started_at, other.run_id) < (row.started_at, row.run_id)
    ]
    return earlier[-1] if earlier else None


def run_page(settings: ViewSettings, run_id: str) -> str:
    """One run: its numbers, fields, conversations (to their transcripts), what to compare."""
    row = _row(settings, run_id)
    outcomes = sorted(
        run_outcomes(settings.history, run_id).items(),
        key=lambda item: (_STATUS_ORDER.get(item[1], 9), item[0]),
    )
    return _render(
        "run.html.j2",
        settings,
        title=f"Run {row.run_id}",
        row=row,
        label=_label(row),
        directory=reachable(settings, row),
        outcomes=[(key, status, anchor(*key)) for key, status in outcomes[:CONVERSATIONS_SHOWN]],
        hidden=max(len(outcomes) - CONVERSATIONS_SHOWN, 0),
        fields=sorted(row.fields.items()),
        previous=_previous(settings, row),
    )


def trend_page(settings: ViewSettings, query: Mapping[str, str]) -> str:
    """A suite's pass rate and per-field accuracy over its runs against one target."""
    suite = query.get("suite") or ""
    found = facets(settings.history)
    if suite not in found.suites:
        raise NotFound(f"no suite {suite!r} in the history")
    every = suite_trend(settings.history, suite, limit=TREND_RUNS)
    targets = {p.run.target_key: _label(p.run) for p in every}
    runs_of = Counter(p.run.target_key for p in every)
    # By default the target it ran against most (the latest such, on a tie).
    usual = max(reversed(list(targets)), key=lambda key: runs_of[key], default=None)
    target = _choice(query.get("target"), list(targets)) or usual
    branch = _choice(query.get("branch"), found.branches)
    points = suite_trend(settings.history, suite, target=target, branch=branch, limit=TREND_RUNS)
    names = sorted({name for p in points for name in p.fields})
    days = [p.run.started_at[:10] for p in points]
    fields = []
    for name in names:
        values = [p.fields[name].accuracy if name in p.fields else None for p in points]
        known = [v for v in values if v is not None]
        spark = line_chart(
            [p.run.run_id for p in points], {name: values}, width=240, height=40, ticks=False
        )
        delta = known[-1] - known[0] if len(known) > 1 else None
        fields.append((name, spark, known[-1] if known else None, delta))
    return _render(
        "trend.html.j2",
        settings,
        title=f"Trend of {suite}",
        suite=suite,
        targets=sorted(targets.items(), key=lambda kv: kv[1]),
        target=target,
        branch=branch,
        branches=found.branches,
        chart=_pass_chart(points),
        fields=fields,
        points=list(reversed(points)),
        days=days,
    )


def _directory(settings: ViewSettings, run_id: str) -> tuple[RunRow, Path]:
    row = _row(settings, run_id)
    directory = reachable(settings, row)
    if directory is None:
        raise NotFound(
            f"the directory of run {run_id!r} is not reachable from here (recorded at "
            f"{row.run_dir}); copy it there, or start the view with --runs FOLDER"
        )
    return row, directory


def report_page(settings: ViewSettings, run_id: str) -> str:
    """A run's HTML report (every conversation and transcript), with its pass-rate trend."""
    row, directory = _directory(settings, run_id)
    info, results = read_run(directory)
    earlier = [
        TrendPoint(other.run_id, other.started_at, other.pass_rate)
        for other in list_runs(settings.history, target=row.target_key, limit=200)
        if other.suite_names == row.suite_names and other.started_at < row.started_at
    ]
    return render_html(info, results, history=earlier[-19:])


def compare_page(settings: ViewSettings, base_id: str, candidate_id: str) -> str:
    """Two runs compared, rendered as `evalkit compare --html` renders it."""
    if not base_id or not candidate_id:
        raise NotFound("pick two runs: a baseline and a candidate")
    _, base_dir = _directory(settings, base_id)
    _, cand_dir = _directory(settings, candidate_id)
    base_info, base_results = read_run(base_dir)
    cand_info, cand_results = read_run(cand_dir)
    comparison = compare_runs(base_info, base_results, cand_info, cand_results)
    view = comparison_view(comparison)
    return render_html(cand_info, cand_results, comparison=view)


def error_page(settings: ViewSettings, status: int, message: str) -> str:
    """A page saying what went wrong (the message is escaped like everything else)."""
    return _render("error.html.j2", settings, title=f"{status}", status=status, message=message)
