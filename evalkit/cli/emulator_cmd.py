"""`evalkit emulator`: serve the built-in stand-in for the Interactive Form Sessions API."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from evalkit.emulator import serve

__all__ = ["emulator"]

StreamFraming = Literal["sse", "ndjson", "json-array"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option(
    "--forms",
    "forms_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("suites/forms"),
    show_default=True,
    help="Directory of *.form.yaml.",
)
@click.option(
    "--framing",
    type=click.Choice(["sse", "ndjson", "json-array"]),
    default="sse",
    show_default=True,
    help="Framing of streamed responses when the client's Accept header does not choose one.",
)
@click.option(
    "--chunk-delay",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds between streamed chunks.",
)
def emulator(
    host: str, port: int, forms_dir: Path, framing: StreamFraming, chunk_delay: float
) -> None:
    """Serve the built-in emulator of the Interactive Form Sessions API."""

    def ready(base_url: str, form_ids: dict[str, str]) -> None:
        click.echo(f"emulator listening on {base_url} (forms from {forms_dir}); Ctrl-C stops it")
        for key, form_id in sorted(form_ids.items()):
            click.echo(f"  form {key}: formId {form_id}")

    serve(forms_dir, host=host, port=port, framing=framing, chunk_delay=chunk_delay, on_ready=ready)
