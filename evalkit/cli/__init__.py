"""The `evalkit` command: thin adapters that parse options, call the library and print.

One module per family of commands; this package is the only place that prints, and the only user
of click and rich. Exit codes: 0 all gates met; 1 failures; 2 bad input or usage (every problem
printed with `path:line`); 3 the run could not be completed (error rate above `--max-error-rate`).
Every option can also be set through an `EVALKIT_<COMMAND>_<OPTION>` environment variable (e.g.
`EVALKIT_RUN_CONCURRENCY=8`); a flag on the command line wins.
"""

from __future__ import annotations

import click

from evalkit.cli.authoring_cmd import expand, init, record_command, schema
from evalkit.cli.common import EvalkitGroup
from evalkit.cli.compare_cmd import compare
from evalkit.cli.emulator_cmd import emulator
from evalkit.cli.history_cmd import history
from evalkit.cli.merge_cmd import merge
from evalkit.cli.report_cmd import report
from evalkit.cli.run_cmd import run
from evalkit.cli.validate_cmd import validate
from evalkit.version import __version__

__all__ = ["main"]


@click.group(cls=EvalkitGroup, context_settings={"auto_envvar_prefix": "EVALKIT"})
@click.version_option(__version__, prog_name="evalkit")
def main() -> None:
    """Evaluate AI conversational forms: run YAML suites against a target and report."""


for _command in (run, validate, report, compare, emulator, schema, expand, record_command, init):
    main.add_command(_command)
main.add_command(history)
main.add_command(merge)
