"""Rescoring a stored run: its transcripts scored again against the suites as they are now.

Scoring is pure (`evalkit.scoring.score_conversation`), so a stored run's transcripts can be
judged again with edited expectations and no request to the target::

    reports/<run>/results.jsonl ──score again, suites as they are now──▶ reports/<new-run>/
      transcripts (kept as they are)                                   results.jsonl, run.json
                                                                       (rescored_from: <run>)

Only the verdicts can change. A conversation whose inputs changed since the run (an utterance,
the number of turns, the prefill or a turn's `set`: what the target was sent) cannot be judged
from the old transcript: it is kept as `skipped`, with a warning saying what changed, and listed
in `Rescored.refused`; so is a conversation the suites no longer hold. `error` and `skipped`
rows are copied as they are (there is nothing to judge). Conversations the suites gained since
the run are not run (`Rescored.not_run`).

A persona conversation has no script: its utterances came from the simulator. The rule-based
simulator is deterministic, so the persona as the suite holds it now is replayed over the stored
assistant turns (`evalkit.simulate.replay_session`: the seed the result records, the form's
hints as the runner reads them, `evalkit.personas.hints_for`, from the form files beside the
suite and the target's form directories in `run.json`; a form file edited since the run may
change what the persona says). When every message it would send, and where it would stop, is
the stored one, the transcript is what this persona produces, and it is scored with the persona
scoring as it is now (values, matchers, re-asks, submission), with the simulator's record
rebuilt from the replay. Otherwise (a value or trait edited so that it says something else) it
is refused, naming the first turn that differs. A run whose personas a language model worded
(`run.json` `simulator.kind: llm`) cannot be replayed offline: its persona conversations are
refused.

The new run directory names the one it came from (`RunInfo.rescored_from`); the caller then
finishes it like any run (`evalkit.pipeline.finish_run`: every report, JUnit, the comparison).

This module sits in the runner's layer: it reads and writes run directories and calls scoring.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalkit.errors import UsageError
from evalkit.loader import LoadOptions, load_suites
from evalkit.metrics import summarize
from evalkit.personas import hints_for, simulation_info
from evalkit.results import (
    RESULTS_FILE,
    RUN_FILE,
    ConversationResult,
    RunInfo,
    StoredResults,
    SuiteInfo,
    conversation_label,
    read_run,
    write_atomically,
    write_run_info,
)
from evalkit.results.models import SimulationInfo
from evalkit.scoring import score_conversation
from evalkit.simulate import FieldHint, Replay, Simulator, replay_session, seed_for
from evalkit.suite import Conversation, LoadedSuite, Persona
from evalkit.version import __version__

__all__ = ["Rescored", "changed_inputs", "rescore_run"]

_SHOWN = 60
"""Characters of an utterance a refusal quotes."""

_WORDED = (
    "a persona conversation the LLM simulator worded: its utterances cannot be replayed offline"
)


@dataclass(frozen=True)
class Rescored:
    """What rescoring a run did."""

    run_dir: Path
    """The new run directory."""
    info: RunInfo
    """Its `run.json`, as written."""
    changed: list[str] = field(default_factory=list)
    """`suite/id#repeat: old → new` of every conversation whose status changed (the label is
    `evalkit.results.conversation_label`'s)."""
    refused: list[str] = field(default_factory=list)
    """`suite/id#repeat: why` of every conversation that could not be rescored."""
    not_run: list[str] = field(default_factory=list)
    """`suite/id` of conversations the suites hold that the stored run did not."""


def _quote(text: str | None) -> str:
    if text is None:
        return "nothing"
    shown = text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
    return repr(shown)


def changed_inputs(conversation: Conversation, result: ConversationResult) -> str | None:
    """What the target was sent in the stored run that the conversation would not send now.

    A persona conversation's utterances are not checked here (they are the simulator's: see
    `_replayed`), only its prefill.

    Args:
        conversation: The conversation as the suite holds it now.
        result: The stored result (its transcript: session creation, then one exchange a turn).

    Returns:
        The first difference in words, or None when the stored transcript answers exactly the
        conversation's inputs (utterances, number of turns, prefill and each turn's `set`).
    """
    transcript = result.transcript
    if not transcript:
        return "the stored run has no transcript"
    if (transcript[0].current_values or {}) != dict(conversation.prefill):
        return "its prefill changed since the run"
    if conversation.persona is not None:
        return None
    run_turns = len(transcript) - 1
    if run_turns != len(conversation.turns):
        return f"it has {len(conversation.turns)} turn(s) now; the run sent {run_turns}"
    for number, (turn, exchange) in enumerate(
        zip(conversation.turns, transcript[1:], strict=True), start=1
    ):
        if exchange.user != turn.user:
            return (
                f"turn {number}'s utterance changed since the run "
                f"(sent {_quote(exchange.user)}, now {_quote(turn.user)})"
            )
        if (exchange.current_values or {}) != dict(turn.set_values):
            return f"turn {number}'s `set` changed since the run"
    return None


def _differs(replayed: Replay) -> str:
    """Where a persona's replay differs from the stored session, in words."""
    turn = replayed.turn
    if replayed.would is None:
        return (
            f"the persona as it is now would stop before turn {turn} ({replayed.stop}); "
            f"the run sent {_quote(replayed.sent)}"
        )
    if replayed.sent is None:
        return (
            f"the persona as it is now would go on at turn {turn} with "
            f"{_quote(replayed.would)}; the run stopped there"
        )
    return (
        f"turn {turn}'s utterance would differ now (sent {_quote(replayed.sent)}, "
        f"the persona as it is now says {_quote(replayed.would)})"
    )


def _replayed(
    persona: Persona, result: ConversationResult, hints: tuple[FieldHint, ...]
) -> tuple[SimulationInfo | None, str | None]:
    """A persona conversation's simulator record, replayed; or why the replay differs."""
    stored = result.simulation
    seed = (
        stored.seed
        if stored is not None
        else seed_for(result.suite, result.conversation_id, result.repeat)
    )
    simulator = Simulator(persona, seed, hints)
    replayed = replay_session(simulator, result.transcript)
    if not replayed.matches:
        return None, _differs(replayed)
    return simulation_info(persona, seed, simulator, replayed.answers), None


def _refuse(result: ConversationResult, why: str) -> ConversationResult:
    note = f"not rescored: {why}"
    return result.model_copy(
        update={"status": "skipped", "fields": [], "checks": [], "warnings": [note]}
    )


def _rescore_one(
    result: ConversationResult, found: _Found | None, info: RunInfo
) -> tuple[ConversationResult, str | None]:
    """The result judged again, and why it could not be (None when it was)."""
    if result.status in ("error", "skipped"):
        return result, None
    if found is None:
        gone = "the suites no longer hold this conversation"
        return _refuse(result, gone), gone
    conversation, loaded = found
    why = changed_inputs(conversation, result)
    simulation = None
    persona = conversation.persona
    if why is None and persona is not None:
        if info.simulator is not None and info.simulator.kind == "llm":
            why = _WORDED
        else:
            target = info.target
            hints = hints_for(loaded.path, loaded.suite.form, target.forms, target.form_ids)
            simulation, why = _replayed(persona, result, hints)
    if why is not None:
        return _refuse(result, why), why
    score = score_conversation(conversation, loaded.suite.defaults, result.transcript, simulation)
    update: dict[str, Any] = {
        "status": score.status,
        "fields": score.fields,
        "checks": score.checks,
        "warnings": score.warnings,
        "final_state": score.final_state,
        "submitted": score.submitted,
    }
    if simulation is not None:
        update["simulation"] = simulation
    return result.model_copy(update=update), None


def _new_run_id(now: datetime) -> str:
    """A sortable, unique run id, as `evalkit run` makes them: `20261125-101500-3fa9c1`."""
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rescore_run(
    run_dir: Path,
    suite_paths: Sequence[str | Path] = (),
    out_dir: Path | None = None,
    *,
    options: LoadOptions | None = None,
) -> Rescored:
    """Score a stored run's transcripts again against the suites as they are now.

    Sends nothing to any target: the transcripts are the run's. Rows are written in the stored
    order (by key), one at a time.

    Args:
        run_dir: The stored run.
        suite_paths: The suites (files or directories); by default the files the run recorded
            in its `run.json`.
        out_dir: The new run directory (must not hold a run); by default a new run id beside
            `run_dir`.
        options: Where includes and `python:` checks may come from, as for `evalkit run`.

    Returns:
        The new run directory, its metadata, and what changed or could not be rescored.

    Raises:
        RunFileError: `run_dir` is not a readable run directory.
        SuiteError: A suite does not load.
        UsageError: `out_dir` is the run itself or already holds a run; no suite is named.
    """
    info, results = read_run(run_dir)
    paths = list(suite_paths) or [s.path for s in info.suites]
    if not paths:
        raise UsageError(f"{run_dir} records no suite files: name the suites to score against")
    suites = load_suites(paths, options=options)
    now = datetime.now(UTC)
    out_dir = out_dir or run_dir.parent / _new_run_id(now)
    if out_dir.resolve() == run_dir.resolve():
        raise UsageError(f"{out_dir} is the stored run: write the rescored run elsewhere")
    if (out_dir / RUN_FILE).exists() or (out_dir / RESULTS_FILE).exists():
        raise UsageError(f"{out_dir} already holds a run: choose a new directory")
    index = _index(suites)
    changed: list[str] = []
    refused: list[str] = []
    seen: set[tuple[str, str]] = set()

    def rows() -> Iterator[str]:
        for result in results:
            seen.add((result.suite, result.conversation_id))
            found = index.get((result.suite, result.conversation_id))
            new, why = _rescore_one(result, found, info)
            label = conversation_label(result.suite, result.conversation_id, result.repeat)
            if why is not None:
                refused.append(f"{label}: {why}")
            elif new.status != result.status:
                changed.append(f"{label}: {result.status} → {new.status}")
            yield new.model_dump_json() + "\n"

    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(out_dir / RESULTS_FILE, rows())
    new_info = info.model_copy(
        update={
            "run_id": out_dir.name,
            "evalkit_version": __version__,
            "started_at": _iso(now),
            "finished_at": _iso(datetime.now(UTC)),
            "suites": _suite_infos(suites, {s.name for s in info.suites}),
            "rescored_from": info.run_id,
            "summary": summarize(StoredResults(out_dir / RESULTS_FILE), info),
        }
    )
    write_run_info(out_dir, new_info)
    ran = {s.name for s in info.suites}
    not_run = [
        f"{loaded.name}/{c.id}"
        for loaded in suites
        for c in loaded.suite.conversations
        if loaded.name in ran
        and (loaded.name, c.id) not in seen
        and (
            info.selection is None
            or info.selection.matches(loaded.name, c.id, [*loaded.suite.tags, *c.tags])
        )
    ]
    return Rescored(out_dir, new_info, changed, refused, not_run)


_Found = tuple[Conversation, LoadedSuite]
"""A conversation as the suites hold it now, and its suite."""


def _index(suites: Sequence[LoadedSuite]) -> Mapping[tuple[str, str], _Found]:
    return {
        (loaded.name, conversation.id): (conversation, loaded)
        for loaded in suites
        for conversation in loaded.suite.conversations
    }


def _suite_infos(suites: Sequence[LoadedSuite], ran: set[str]) -> list[SuiteInfo]:
    """The suites scored against, as `run.json` lists them (those the stored run ran)."""
    return [
        SuiteInfo(
            name=s.name,
            path=s.path,
            sha256=s.sha256,
            form=s.form,
            conversations=len(s.outline),
        )
        for s in suites
        if s.name in ran
    ]
