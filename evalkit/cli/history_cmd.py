"""`evalkit history`: pass rate, error rate and field accuracy of the indexed runs over time."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click
from tabulate import tabulate

from evalkit.history import HISTORY_FILE, RunRow, list_runs

__all__ = ["FIELD_COLUMNS", "history", "render_history"]

FIELD_COLUMNS = 8
"""The field-accuracy table shows the latest this many runs, so it stays readable in a log."""


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


def _target(row: RunRow) -> str:
    forms = ",".join(f"{key}={_short(value)}" for key, value in sorted(row.form_ids.items()))
    place = "" if row.target_name == "emulator" else f" {row.base_url}"
    return f"{row.target_name}{place}" + (f" [{forms}]" if forms else "")


def render_history(rows: Sequence[RunRow]) -> str:
    """The runs as two plain-text tables: one line per run, then field accuracy per run."""
    runs = []
    previous: float | None = None
    for number, row in enumerate(rows, start=1):
        runs.append(
            [
                f"#{number}",
                row.started_at[:16].replace("T", " "),
                row.run_id,
                row.branch or "",
                (row.commit or "")[:8],
                _target(row),
                ",".join(name for name, _ in row.suites),
                row.total,
                _rate(row.pass_rate),
                _delta(row.pass_rate, previous),
                _rate(row.error_rate),
                "met" if row.gates_met else "UNMET",
            ]
        )
        previous = row.pass_rate if row.pass_rate is not None else previous
    headers = ["#", "started (UTC)", "run", "branch", "commit", "target", "suites"]
    headers += ["convs", "pass rate", "Δ pts", "error rate", "gates"]
    text = tabulate(runs, headers=headers, tablefmt="simple", disable_numparse=True)
    shown = list(enumerate(rows, start=1))[-FIELD_COLUMNS:]
    names = sorted({name for _, row in shown for name in row.fields})
    if names:
        table = []
        for name in names:
            accuracies = [
                row.fields[name].accuracy if name in row.fields else None for _, row in shown
            ]
            known = [a for a in accuracies if a is not None]
            trend = _delta(known[-1], known[0]) if len(known) > 1 else ""
            table.append([name, *(_rate(a) for a in accuracies), trend])
        field_headers = ["field accuracy", *(f"#{n}" for n, _ in shown), "Δ pts"]
        text += "\n\n" + tabulate(
            table, headers=field_headers, tablefmt="simple", disable_numparse=True
        )
    return text


@click.command()
@click.option(
    "--out",
    "out_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help=f"Output root holding {HISTORY_FILE}.",
)
@click.option("--suite", default=None, help="Only runs that ran this suite (by name).")
@click.option(
    "--target", default=None, help="Only runs against this target (name, base URL or key)."
)
@click.option("--branch", default=None, help="Only runs of this git branch.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="The latest N runs."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table for people, or JSON (one object per run, oldest first).",
)
@click.option("--shards", is_flag=True, help="Also list the runs that are one shard of a run.")
def history(
    out_root: Path,
    suite: str | None,
    target: str | None,
    branch: str | None,
    limit: int,
    output_format: str,
    shards: bool,
) -> None:
    """Print pass rate, error rate and field accuracy of the indexed runs, oldest first."""
    db_path = out_root / HISTORY_FILE
    rows = list_runs(
        db_path, suite=suite, target=target, branch=branch, limit=limit, include_shards=shards
    )
    if output_format == "json":
        click.echo(json.dumps([row.to_json() for row in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        where = "" if db_path.is_file() else f" ({db_path} does not exist yet)"
        click.echo(f"no runs in the history match{where}; `evalkit run` indexes every run there")
        return
    click.echo(render_history(rows))
