"""The `evalkit` command: thin adapters that parse options, call the library and print.

One module per family of commands; this package is the only place that prints, and the only user
of click and rich. Exit codes: 0 all gates met; 1 failures; 2 bad input or usage (every problem
printed with `path:line`); 3 the run could not be completed (error rate above `--max-error-rate`).
Every option can also be set through an `EVALKIT_<COMMAND>_<OPTION>` environment variable (e.g.
`EVALKIT_RUN_CONCURRENCY=8`); a flag on the command line wins.

A command's module is imported only when that command runs (or its help is shown), so
`evalkit --help` does not load the runner, the reports or the emulator.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import click

from evalkit.cli.common import EvalkitGroup
from evalkit.version import __version__

__all__ = ["COMMANDS", "main"]

COMMANDS: Mapping[str, tuple[str, str, str]] = {
    "run": (
        "run_cmd",
        "run",
        "Run the suites in PATHS (files or directories of *.eval.yaml) and write reports.",
    ),
    "validate": ("validate_cmd", "validate", "Check the suites in PATHS without running them."),
    "coverage": (
        "coverage_cmd",
        "coverage",
        "Print what the suites in PATHS exercise of their forms (offline).",
    ),
    "report": ("report_cmd", "report", "Render the HTML and Markdown reports of RUN_DIR again."),
    "compare": ("compare_cmd", "compare", "Compare CAND_RUN with BASE_RUN (two run directories)."),
    "emulator": (
        "emulator_cmd",
        "emulator",
        "Serve the built-in emulator of the Interactive Form Sessions API.",
    ),
    "schema": ("authoring_cmd", "schema", "Write the JSON Schema of suite files."),
    "expand": ("authoring_cmd", "expand", "Print the suites in PATHS with everything expanded."),
    "record": ("authoring_cmd", "record_command", "Chat with a target and write it as a suite."),
    "init": ("authoring_cmd", "init", "Scaffold a starter suite from a form."),
    "history": ("history_cmd", "history", "Print the indexed runs over time and their figures."),
    "merge": ("merge_cmd", "merge", "Merge the shards' RUN_DIRS into one run in OUT."),
    "rescore": (
        "rescore_cmd",
        "rescore",
        "Score the transcripts of RUN_DIR again against the suites as they are now (offline).",
    ),
    "view": ("view_cmd", "view", "Browse a run history in a web browser (read-only)."),
    "probe": ("probe_cmd", "probe", "Show what a target really answers for each stream framing."),
}
"""Command name → (module in `evalkit.cli`, attribute, the line `evalkit --help` shows)."""


class LazyGroup(EvalkitGroup):
    """A group whose commands are imported when used; its help lists them without importing."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The commands in the order of `COMMANDS`."""
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module and return the command; None for an unknown name."""
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        command: click.Command = getattr(
            importlib.import_module(f"evalkit.cli.{module}"), attribute
        )
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `evalkit --help`, from `COMMANDS` (nothing is imported)."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, line) for name, (_, _, line) in COMMANDS.items()])

    @property
    def commands(self) -> dict[str, click.Command]:
        """Every command, imported (for tools that walk the tree)."""
        ctx = click.Context(self)
        return {name: command for name in COMMANDS if (command := self.get_command(ctx, name))}

    @commands.setter
    def commands(self, value: object) -> None:
        """Commands come from `COMMANDS`; click's own assignment is ignored."""


@click.group(cls=LazyGroup, context_settings={"auto_envvar_prefix": "EVALKIT"})
@click.version_option(__version__, prog_name="evalkit")
def main() -> None:
    """Evaluate AI conversational forms: run YAML suites against a target and report."""
