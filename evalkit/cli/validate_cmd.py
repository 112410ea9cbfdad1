"""`evalkit validate`: check suites without running them."""

from __future__ import annotations

import click

from evalkit.loader import index_suites

__all__ = ["validate"]


@click.command()
@click.argument("paths", nargs=-1, required=True)
def validate(paths: tuple[str, ...]) -> None:
    """Check the suites in PATHS without running them (exit 2 and every problem if broken)."""
    suites = index_suites(list(paths))
    total = sum(len(s.conversations) for s in suites)
    for loaded in suites:
        count = len(loaded.conversations)
        noun = "conversation" if count == 1 else "conversations"
        click.echo(f"ok  {loaded.path}: {loaded.name}, {count} {noun}")
    click.echo(f"{len(suites)} suite(s), {total} conversations: valid")
