"""evalkit: evaluation and regression harness for AI conversational forms.

The Python API, for notebooks and scripts (the CLI and the pytest plugin are built on the same
library)::

    import evalkit

    suites = evalkit.load_suites("suites/")
    outcome = evalkit.run(suites)                    # the built-in emulator by default
    print(outcome.info.summary.pass_rate)
    html = evalkit.render_report(outcome.run_dir)
"""

from evalkit.api import (
    Comparison,
    LoadedSuite,
    MatchResult,
    RunOutcome,
    Target,
    compare,
    custom_check,
    load_suites,
    render_report,
    run,
    run_async,
)
from evalkit.version import __version__

__all__ = [
    "Comparison",
    "LoadedSuite",
    "MatchResult",
    "RunOutcome",
    "Target",
    "__version__",
    "compare",
    "custom_check",
    "load_suites",
    "render_report",
    "run",
    "run_async",
]
