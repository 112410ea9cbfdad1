"""Async orchestration of a run: conversations in parallel, turns in order, results as they finish.

`run_async` drives every conversation of the given suites against one target with bounded,
adaptive concurrency and an optional request-rate limit, scores each as soon as it ends, appends it
to `results.jsonl` (flushed), and writes `run.json` at the start and again with the summary at the
end. A target that fails never stops the run: its error is stored on that conversation's result
(`status: error`) with whatever arrived. A run can be stopped gracefully and resumed.

`emulator_target` starts the built-in emulator on a free loopback port for the duration of a run.
"""

from __future__ import annotations

from evalkit.loader import Suites
from evalkit.runner.conversation import run_conversation
from evalkit.runner.plan import WorkItem, iter_plan, plan, planned_keys
from evalkit.runner.run import (
    CircuitBreaker,
    RunOutcome,
    deferred_signals,
    new_run_id,
    run_async,
    run_sync,
)
from evalkit.runner.settings import RunSettings, client_for, redactor_for
from evalkit.runner.simulators import SimulatorSettings
from evalkit.runner.target import Target, emulator_target, forms_dirs

__all__ = [
    "CircuitBreaker",
    "RunOutcome",
    "RunSettings",
    "SimulatorSettings",
    "Suites",
    "Target",
    "WorkItem",
    "client_for",
    "deferred_signals",
    "emulator_target",
    "forms_dirs",
    "iter_plan",
    "new_run_id",
    "plan",
    "planned_keys",
    "redactor_for",
    "run_async",
    "run_conversation",
    "run_sync",
]
