"""evalkit: evaluation and regression harness for AI conversational forms.

The Python API, for notebooks and scripts (the CLI and the pytest plugin are built on the same
library)::

    import evalkit

    suites = evalkit.load_suites("suites/")
    outcome = evalkit.run(suites)                    # the built-in emulator by default
    print(outcome.info.summary.pass_rate)
    finished = evalkit.finish_run(outcome.run_dir, evalkit.FinishOptions(baseline="last"))
    print(finished.verdict.code, finished.verdict.reasons)

Importing evalkit is cheap: the names below are loaded on first use (the exceptions at once),
so a tool that only imports evalkit, or pytest with the plugin installed, does not pay for the
HTTP client, the templates or the emulator.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from evalkit.errors import (
    EvalkitError,
    Problem,
    RunFileError,
    StreamError,
    SuiteError,
    TargetError,
    UsageError,
    WixApiError,
)
from evalkit.version import __version__

if TYPE_CHECKING:
    from evalkit.api import (
        Comparison,
        Finished,
        FinishOptions,
        Gates,
        LoadedSuite,
        MatchResult,
        RunOutcome,
        Target,
        Verdict,
        compare,
        custom_check,
        finish_run,
        load_suites,
        render_report,
        run,
        run_async,
    )

__all__ = [
    "Comparison",
    "EvalkitError",
    "FinishOptions",
    "Finished",
    "Gates",
    "LoadedSuite",
    "MatchResult",
    "Problem",
    "RunFileError",
    "RunOutcome",
    "StreamError",
    "SuiteError",
    "Target",
    "TargetError",
    "UsageError",
    "Verdict",
    "WixApiError",
    "__version__",
    "compare",
    "custom_check",
    "finish_run",
    "load_suites",
    "render_report",
    "run",
    "run_async",
]


_LAZY = frozenset(__all__) - set(globals())
"""The names loaded from `evalkit.api` on first use."""


def __getattr__(name: str) -> Any:
    """Load the public names of `evalkit.api` on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
    api = importlib.import_module("evalkit.api")
    globals().update({lazy: getattr(api, lazy) for lazy in _LAZY if lazy != "compare"})
    return getattr(api, name)


def __dir__() -> list[str]:
    return sorted(__all__)


class _Evalkit(types.ModuleType):
    """The `evalkit` module, whose `compare` is always the function.

    The module `evalkit.compare` shares the name: importing it binds the submodule on the
    package, which would hide the function for a caller that had not used another name first.
    """

    @property
    def compare(self) -> Any:
        """`evalkit.api.compare`."""
        return importlib.import_module("evalkit.api").compare

    @compare.setter
    def compare(self, value: object) -> None:
        """The import system binding the submodule: `sys.modules` keeps it, the name does not."""


sys.modules[__name__].__class__ = _Evalkit
