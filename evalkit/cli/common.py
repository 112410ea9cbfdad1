"""What every command shares: the console, and the mapping of errors to exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from evalkit.errors import EvalkitError, RunFileError, SuiteError, UsageError
from evalkit.gates import EXIT_INCOMPLETE, EXIT_USAGE

if TYPE_CHECKING:
    from evalkit.loader.scope import ProjectSettings

__all__ = [
    "EvalkitGroup",
    "console",
    "fail",
    "project",
]


def console(*, stderr: bool = False) -> Console:
    """A console that never wraps lines, so paths and reasons stay whole in CI logs."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def project(folder: Path | None = None) -> ProjectSettings | None:
    """The project configuration every command defaults to, found walking up from `folder`.

    `[tool.evalkit]` in a `pyproject.toml`, or an `evalkit.toml`, the first found from the
    working folder up (see `evalkit.loader.scope`); None without one.

    Raises:
        SuiteError: The configuration is broken (each problem names the file).
    """
    from evalkit.loader.scope import project_settings  # loads the loader: only when used

    settings, problems = project_settings(folder or Path.cwd())
    if problems:
        raise SuiteError(problems)
    return settings


def fail(out: Console, message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print an error and exit with `code`."""
    out.print(f"[bold red]error:[/] {escape(message)}")
    sys.exit(code)


class EvalkitGroup(click.Group):
    """Maps evalkit's exceptions to exit codes and readable messages (no tracebacks)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        settings = dict(kwargs.pop("context_settings", None) or {})
        settings.setdefault("help_option_names", ["-h", "--help"])  # every command takes -h
        super().__init__(*args, context_settings=settings, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a `SuiteError` or usage problem exits 2, another evalkit error 3."""
        err = console(stderr=True)
        try:
            return super().invoke(ctx)
        except SuiteError as exc:
            count = len(exc.problems)
            err.print(f"[bold red]{count} problem{'s' if count != 1 else ''} in the suites:[/]")
            for problem in exc.problems:
                err.print(escape(str(problem)))
            err.print("Nothing was run. Fix the problems above and try again.")
            sys.exit(EXIT_USAGE)
        except (UsageError, RunFileError) as exc:
            fail(err, str(exc))
        except EvalkitError as exc:
            fail(err, str(exc), EXIT_INCOMPLETE)
