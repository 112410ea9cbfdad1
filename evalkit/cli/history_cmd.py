"""`evalkit history`: the indexed runs over time; `export`, `import` and `prune` manage the index.

The listing groups runs by what they ran against what (the suites' names and the target), one
section per group with its own trend, so a run of other suites never moves a trend by a hundred
points; the target and suites head their section instead of widening every line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import click

from evalkit.cli.options import history_option
from evalkit.history import (
    HISTORY_FILE,
    RUN_STATUSES,
    HistoryLocation,
    RunRow,
    RunStatus,
    export_history,
    history_location,
    import_history,
    list_runs,
    prune,
)

__all__ = ["FIELD_COLUMNS", "history", "render_history"]

FIELD_COLUMNS = 8
"""The field-accuracy table shows the latest this many runs, so it stays readable in a log."""
_BRANCH_WIDTH = 16
_SLOT_ROWS = (
    ("JGA", "joint_goal_accuracy"),
    ("AGA", "average_goal_accuracy"),
    ("slot precision", "slot_precision"),
    ("slot recall", "slot_recall"),
    ("slot F1", "slot_f1"),
)
"""The slot-filling figures of the history's runs, as the trend names them."""


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _delta(current: float | None, previous: float | None) -> str:
    if current is None or previous is None:
        return ""
    points = (current - previous) * 100
    return "±0.0" if abs(points) < 0.05 else f"{points:+.1f}"


def _short(form_id: str) -> str:
    # Form ids are UUIDs: their first 8 characters tell configurations apart in a narrow column.
    return form_id if len(form_id) <= 12 else form_id[:8] + "…"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _target(row: RunRow) -> str:
    forms = ", ".join(f"{key}={_short(value)}" for key, value in sorted(row.form_ids.items()))
    place = "" if row.target_name == "emulator" else f" {row.base_url}"
    return f"{row.target_name}{place}" + (f" [{forms}]" if forms else "")


def _groups(rows: Sequence[RunRow]) -> list[list[RunRow]]:
    """Rows by (suite names, target), each oldest first; the group run latest comes last."""
    groups: dict[tuple[tuple[str, ...], str], list[RunRow]] = {}
    for row in rows:
        groups.setdefault((row.suite_names, row.target_key), []).append(row)
    return sorted(groups.values(), key=lambda group: (group[-1].started_at, group[-1].run_id))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: int) -> str:
    """Plain columns two spaces apart, headers underlined; columns from `right` on align right."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if number >= right else cell.ljust(width)
            for number, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


_FigureLine = tuple[str, list[str], str]
"""A line of a figures table: its name, one cell per shown run, the first-to-last change."""


def _rates(name: str, values: Sequence[float | None]) -> _FigureLine:
    """A line of rates, with the change in points from the first known one to the last."""
    known = [v for v in values if v is not None]
    trend = _delta(known[-1], known[0]) if len(known) > 1 else ""
    return name, [_rate(v) for v in values], trend


def _figures(title: str, shown: Sequence[tuple[int, RunRow]], lines: Sequence[_FigureLine]) -> str:
    """A table of figures (one line each) over the shown runs, with the first-to-last change."""
    headers = [title, *(f"#{n}" for n, _ in shown), "Δ pts"]
    return _table(headers, [[name, *cells, trend] for name, cells, trend in lines], right=1)


def _covered(row: RunRow) -> str:
    """The items of its forms a run observed, of how many (`13/19`), or `—` when not recorded."""
    covered, total = row.coverage.get("coverage_covered"), row.coverage.get("coverage_total")
    return "—" if covered is None or total is None else f"{covered:.0f}/{total:.0f}"


def _run_figures(shown: Sequence[tuple[int, RunRow]]) -> list[str]:
    """The tables of the figures the shown runs recorded: slot filling, coverage, personas."""
    tables = []
    runs = [row for _, row in shown]
    if any(v is not None for row in runs for v in row.slot_filling.values()):
        slots = [_rates(label, [r.slot_filling.get(c) for r in runs]) for label, c in _SLOT_ROWS]
        tables.append(_figures("slot filling", shown, slots))
    if any(row.coverage.get("coverage_total") is not None for row in runs):
        items = [_covered(r) for r in runs]
        observed = _rates("observed", [r.coverage.get("coverage_rate") for r in runs])
        tables.append(_figures("coverage", shown, [observed, ("items covered", items, "")]))
    if any(v is not None for row in runs for v in row.personas.values()):
        completion = _rates("completion", [r.personas.get("persona_completion_rate") for r in runs])
        re_asks = [r.personas.get("persona_re_ask_rate") for r in runs]
        cells = ["—" if v is None else f"{v:.2f}" for v in re_asks]
        tables.append(_figures("personas", shown, [completion, ("re-asks per conv.", cells, "")]))
    return tables


def _section(rows: Sequence[RunRow]) -> str:
    runs = []
    previous: float | None = None
    for number, row in enumerate(rows, start=1):
        runs.append(
            [
                f"#{number}",
                row.started_at[:16].replace("T", " "),
                row.run_id,
                _clip(row.branch or "", _BRANCH_WIDTH),
                (row.commit or "")[:7],
                str(row.total),
                _rate(row.pass_rate),
                _delta(row.pass_rate, previous),
                _rate(row.error_rate),
                "met" if row.gates_met else "UNMET",
            ]
        )
        previous = row.pass_rate if row.pass_rate is not None else previous
    headers = ["#", "started (UTC)", "run", "branch", "commit", "convs", "pass", "Δ pts"]
    text = _table([*headers, "errors", "gates"], runs, right=5)
    shown = list(enumerate(rows, start=1))[-FIELD_COLUMNS:]
    for table in _run_figures(shown):
        text += "\n\n" + table
    names = sorted({name for _, row in shown for name in row.fields})
    if names:
        accuracies = [
            _rates(
                name,
                [row.fields[name].accuracy if name in row.fields else None for _, row in shown],
            )
            for name in names
        ]
        text += "\n\n" + _figures("field accuracy", shown, accuracies)
    return text


def render_history(rows: Sequence[RunRow]) -> str:
    """The runs as plain-text tables, one section per suites and target.

    Each section is headed by its suites and target, then one line per run (with the change in
    pass rate since the section's previous run), then over its latest runs the figures they
    recorded: slot filling (JGA, AGA, slot precision, recall and F1), observed coverage (rate,
    items covered of how many), personas (completion rate, re-asks per conversation), and
    field accuracy.
    """
    sections = []
    for group in _groups(rows):
        first = group[-1]
        title = f"{', '.join(first.suite_names) or '(no suites)'} · {_target(first)}"
        sections.append(f"== {title}\n\n{_section(group)}")
    return "\n\n".join(sections)


def _location(history: HistoryLocation | None, out_root: Path) -> HistoryLocation:
    return history if history is not None else history_location(out_root / HISTORY_FILE)


def _missing(location: HistoryLocation) -> str:
    if location.path is not None and not location.path.is_file():
        return f" ({location} does not exist yet)"
    return f" (in {location})"


_out_option = click.option(
    "--out",
    "out_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help=f"Output root holding {HISTORY_FILE} (when no --history is given).",
)


@click.group(invoke_without_command=True)
@_out_option
@history_option
@click.option("--suite", default=None, help="Only runs that ran this suite (by name).")
@click.option(
    "--target", default=None, help="Only runs against this target (name, base URL or key)."
)
@click.option("--branch", default=None, help="Only runs of this git branch.")
@click.option(
    "--status", type=click.Choice(RUN_STATUSES), default=None, help="Only runs in this state."
)
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only runs from this day on.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="The latest N runs."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Tables for people, or JSON (one object per run, oldest first).",
)
@click.option("--shards", is_flag=True, help="Also list the runs that are one shard of a run.")
@click.pass_context
def history(
    ctx: click.Context,
    out_root: Path,
    history: HistoryLocation | None,
    suite: str | None,
    target: str | None,
    branch: str | None,
    status: RunStatus | None,
    since: str | None,
    limit: int,
    output_format: str,
    shards: bool,
) -> None:
    """Print pass rate, error rate, recorded figures and field accuracy of the runs, oldest first.

    The figures are slot filling, observed coverage and persona completion and re-asks, where
    the runs recorded them.

    Runs are grouped by suites and target, each group a trend of its own. `evalkit history
    export`, `import` and `prune` move a history between backends and trim it.
    """
    location = _location(history, out_root)
    ctx.obj = location
    if ctx.invoked_subcommand is not None:
        return
    rows = list_runs(
        location,
        suite=suite,
        target=target,
        branch=branch,
        status=status,
        since=since,
        limit=limit,
        include_shards=shards,
    )
    if output_format == "json":
        click.echo(json.dumps([row.to_json() for row in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(
            f"no runs in the history match{_missing(location)}; `evalkit run` indexes every "
            "run there"
        )
        return
    click.echo(render_history(rows))


def _given(ctx: click.Context, history: HistoryLocation | None) -> HistoryLocation:
    """A subcommand's own `--history`, else the one given to `evalkit history`."""
    if history is not None:
        return history
    location: HistoryLocation = ctx.obj
    return location


@history.command("export")
@click.argument("output", type=click.File("w", encoding="utf-8"), default="-")
@history_option
@click.pass_context
def export_command(ctx: click.Context, output: IO[str], history: HistoryLocation | None) -> None:
    """Write the history as JSON lines to OUTPUT (default: standard output)."""
    location = _given(ctx, history)
    count = export_history(location, output)
    click.echo(f"exported {count} run(s) from {location}", err=True)


@history.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@history_option
@click.pass_context
def import_command(ctx: click.Context, source: IO[str], history: HistoryLocation | None) -> None:
    """Read an export (JSON lines) into the history; runs already there are replaced."""
    location = _given(ctx, history)
    count = import_history(location, source, name=getattr(source, "name", "<input>"))
    click.echo(f"imported {count} run(s) into {location}")


@history.command("prune")
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=None,
    help="Keep the latest N runs of each suites and target.",
)
@click.option(
    "--before", default=None, metavar="YYYY-MM-DD", help="Forget runs started before this day."
)
@click.option("--dry-run", is_flag=True, help="Say what would be forgotten; change nothing.")
@history_option
@click.pass_context
def prune_command(
    ctx: click.Context,
    keep: int | None,
    before: str | None,
    dry_run: bool,
    history: HistoryLocation | None,
) -> None:
    """Forget old runs (their directories are not touched).

    The latest run of each suites and target that met its gates is always kept: it is what
    `--baseline last` compares with.
    """
    location = _given(ctx, history)
    pruned = prune(location, keep=keep, before=before, dry_run=dry_run)
    verb = "would forget" if dry_run else "forgot"
    for run_id in pruned.removed:
        click.echo(f"  {run_id}")
    click.echo(f"{verb} {len(pruned.removed)} run(s) of {location}; {pruned.kept} kept")
