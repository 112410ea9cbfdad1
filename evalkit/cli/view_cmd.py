"""`evalkit view`: serve the read-only history browser until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import click

from evalkit.cli.options import history_option
from evalkit.history import HISTORY_FILE, HistoryLocation, history_location

__all__ = ["view"]


@click.command()
@history_option
@click.option(
    "--out",
    "out_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help=f"Output root holding {HISTORY_FILE} (when no --history is given).",
)
@click.option(
    "--runs",
    "runs_roots",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A folder of run directories (e.g. downloaded CI artifacts) to look in when a run's "
    "directory is not where the history recorded it. Repeatable.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on. Anything but loopback lets others read the history.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8400,
    show_default=True,
    help="The port to listen on; 0 picks a free one.",
)
def view(
    history: HistoryLocation | None,
    out_root: Path,
    runs_roots: tuple[Path, ...],
    host: str,
    port: int,
) -> None:
    """Browse a run history in a web browser: runs, trends, comparisons, transcripts.

    Read-only. It serves on loopback unless --host says otherwise; press Ctrl-C to stop.
    """
    from evalkit.view import ViewSettings, is_loopback, serve

    location = history if history is not None else history_location(out_root / HISTORY_FILE)
    settings = ViewSettings(location, tuple(runs_roots))
    if not is_loopback(host):
        click.echo(f"warning: listening on {host}: anyone who can reach it can read the history")

    def ready(url: str) -> None:
        click.echo(f"evalkit view of {location}: {url} (Ctrl-C to stop)")

    serve(settings, host=host, port=port, on_ready=ready)
