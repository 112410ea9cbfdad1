"""Merging shard run directories into one run, and what makes two runs "the same run".

`evalkit run --shard i/n` writes one run directory per shard; `merge_runs` builds the run they are
parts of, which every report and comparison then reads like any other::

    reports/shard-1/ reports/shard-2/ ...  ──merge_runs──▶  reports/nightly/
      results.jsonl (disjoint keys)                            results.jsonl (all, sorted by key)
      run.json (shard: "1/4")                                  run.json (summary recomputed)

Only parts of one run are merged: the same suites at the same versions (sha256), the same target
(name, base URL and form ids; the emulator's base URL is a random loopback port, so it is not
compared), the same evalkit version, repeat setting and commit, the same `--variants` kinds, the
same persona simulator and the same recorded forms (where each form file was read from aside).
Anything else is refused with a `UsageError` saying what differs.

A key (suite, conversation id, repeat) found in two directories is refused too, not resolved
"last wins": shards are disjoint by construction, so a duplicate means a directory was given
twice, or two attempts of one shard were, and silently keeping one could hide a flaky result.

The summary is recomputed from the merged results (`evalkit.metrics.summarize`), never averaged
from the shards' summaries.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from pathlib import Path

from evalkit.errors import UsageError
from evalkit.metrics import summarize
from evalkit.results import (
    RESULTS_FILE,
    RUN_FILE,
    ConversationResult,
    RunInfo,
    SimulatorInfo,
    StoredResults,
    conversation_label,
    parse_shard,
    read_run,
    target_identity,
    target_key,
    write_atomically,
    write_run_info,
)

__all__ = ["merge_runs", "parse_shard"]

_SHOWN = 5
"""How many duplicate keys or missing shards an error message names before "and N more"."""


def _differences(first: RunInfo, other: RunInfo) -> list[str]:
    """What makes `other` a part of a different run than `first`, in words."""
    problems: list[str] = []
    mine = {s.name: s.sha256 for s in first.suites}
    theirs = {s.name: s.sha256 for s in other.suites}
    for name in sorted(mine.keys() | theirs.keys()):
        if name not in theirs:
            problems.append(f"it did not run suite {name!r}")
        elif name not in mine:
            problems.append(f"it ran suite {name!r}, which the first did not")
        elif mine[name] != theirs[name]:
            problems.append(
                f"suite {name!r} is a different version "
                f"(sha256 {theirs[name][:12]}…, the first has {mine[name][:12]}…)"
            )
    if target_key(first.target) != target_key(other.target):
        problems.append(
            f"it ran against another target ({target_identity(other.target)}, "
            f"the first {target_identity(first.target)})"
        )
    for attribute in ("evalkit_version", "repeat", "git_commit", "git_branch"):
        a, b = getattr(first, attribute, None), getattr(other, attribute, None)
        if a != b and a is not None and b is not None:
            problems.append(f"its {attribute} is {b!r}, the first's {a!r}")
    if _variants(first) != _variants(other):
        problems.append(
            f"it ran {_variants_shown(other)}, the first's {_variants_shown(first)} "
            "(its copies would be mixed with the first's)"
        )
    if _simulator(first) != _simulator(other):
        problems.append(
            f"it ran its personas with another simulator ({_simulator(other)}, "
            f"the first {_simulator(first)})"
        )
    if _forms(first) != _forms(other):
        problems.append("it recorded other forms (fields, types or options differ)")
    return problems


def _variants(info: RunInfo) -> frozenset[str]:
    """The `--variants` kinds a run added (order aside: it makes no other copies)."""
    return frozenset(kind for suite in info.suites for kind in suite.variants)


def _variants_shown(info: RunInfo) -> str:
    kinds = next((s.variants for s in info.suites if s.variants), [])
    return f"--variants {','.join(kinds)}" if kinds else "no --variants"


def _simulator(info: RunInfo) -> str:
    """The simulator in words (a run from before it was recorded used the rule-based one)."""
    return (info.simulator or SimulatorInfo()).describe()


def _forms(info: RunInfo) -> list[dict[str, object]]:
    """The recorded forms, by key; where each was read from is the machine's, so left out."""
    return sorted(
        (form.model_dump(exclude={"source"}) for form in info.forms), key=lambda f: str(f["key"])
    )


def _check_same_run(runs: Sequence[tuple[Path, RunInfo]]) -> None:
    first_dir, first = runs[0]
    seen: dict[str, Path] = {}
    for run_dir, info in runs:
        if info.run_id in seen:
            raise UsageError(
                f"{run_dir} and {seen[info.run_id]} are the same run ({info.run_id}): "
                "give each shard once"
            )
        seen[info.run_id] = run_dir
        problems = _differences(first, info)
        if problems:
            raise UsageError(
                f"{run_dir} is not a part of the same run as {first_dir}: "
                + "; ".join(problems)
                + ". Merge only the shards of one run."
            )


def _check_shards(runs: Sequence[tuple[Path, RunInfo]], allow_partial: bool) -> None:
    shards = [(run_dir, parse_shard(info.shard)) for run_dir, info in runs]
    if all(shard is None for _, shard in shards):
        return
    plain = [str(run_dir) for run_dir, shard in shards if shard is None]
    if plain:
        raise UsageError(f"not a shard (no i/n in its run.json): {', '.join(plain)}")
    counts = {shard[1] for _, shard in shards if shard is not None}
    if len(counts) > 1:
        raise UsageError(f"the shards split the run differently: into {sorted(counts)} parts")
    (count,) = counts
    taken: dict[int, Path] = {}
    for run_dir, shard in shards:
        assert shard is not None  # checked above: every run is a shard
        if shard[0] in taken:
            raise UsageError(
                f"shard {shard[0]}/{count} is given twice: {taken[shard[0]]} and {run_dir}"
            )
        taken[shard[0]] = run_dir
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in taken]
    if missing and not allow_partial:
        more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        raise UsageError(
            f"missing shard{'s' if len(missing) > 1 else ''} {', '.join(missing[:_SHOWN])}{more}; "
            "merge them all, or allow a partial merge (--allow-partial)"
        )


def _check_disjoint(runs: Sequence[tuple[Path, StoredResults]]) -> None:
    """Refuse a key found in two runs (read from the keys alone, no row is parsed)."""
    owner: dict[tuple[str, str, int], Path] = {}
    duplicates: list[str] = []
    for run_dir, results in runs:
        for key in results.result_keys():
            if key in owner:
                duplicates.append(f"{conversation_label(*key)} in {owner[key]} and {run_dir}")
                continue
            owner[key] = run_dir
    if duplicates:
        more = f" and {len(duplicates) - _SHOWN} more" if len(duplicates) > _SHOWN else ""
        raise UsageError(
            f"{len(duplicates)} conversation{'s are' if len(duplicates) > 1 else ' is'} in more "
            f"than one run: {'; '.join(duplicates[:_SHOWN])}{more}. Shards never overlap: was a "
            "directory given twice, or two attempts of one shard?"
        )


def _merged_info(
    out_dir: Path, infos: Sequence[RunInfo], results: Iterable[ConversationResult]
) -> RunInfo:
    finished = [info.finished_at for info in infos]
    update: dict[str, object] = {
        "run_id": out_dir.name,
        "started_at": min(info.started_at for info in infos),
        # A shard without a finish time died; the merged run is then incomplete too.
        "finished_at": max(finished) if all(finished) else "",
        "concurrency": sum(info.concurrency for info in infos),
        "interrupted": any(info.interrupted for info in infos) or not all(finished),
        "resumed": sum(info.resumed for info in infos),
        "summary": summarize(results, infos[0]),
    }
    if "shard" in RunInfo.model_fields:
        update["shard"] = None
    return infos[0].model_copy(update=update)


def merge_runs(run_dirs: Sequence[Path], out_dir: Path, *, allow_partial: bool = False) -> RunInfo:
    """Combine the run directories of the shards of one run into one run directory.

    Args:
        run_dirs: The shards' run directories, in any order.
        out_dir: Where the merged run goes (created; it must not hold a run already). Its name
            is the merged run's id.
        allow_partial: Merge even when some shards of `i/n` are missing (the merged run then
            covers only the shards given).

    Returns:
        The merged run's metadata, as written to `out_dir/run.json`.

    Raises:
        UsageError: No directories, `out_dir` is one of them or already holds a run, the runs
            are not parts of one run (suites, versions, target), a shard is missing or given
            twice, or a conversation is in two directories.
        RunFileError: A directory is not a readable run directory.
    """
    if not run_dirs:
        raise UsageError("nothing to merge: give the shards' run directories")
    target = out_dir.resolve()
    if any(run_dir.resolve() == target for run_dir in run_dirs):
        raise UsageError(f"{out_dir} is one of the runs to merge: write the merge elsewhere")
    if (out_dir / RUN_FILE).exists() or (out_dir / RESULTS_FILE).exists():
        raise UsageError(f"{out_dir} already holds a run: choose a new directory")
    runs = [(run_dir, *read_run(run_dir)) for run_dir in run_dirs]
    _check_same_run([(run_dir, info) for run_dir, info, _ in runs])
    _check_shards([(run_dir, info) for run_dir, info, _ in runs], allow_partial)
    _check_disjoint([(run_dir, results) for run_dir, _, results in runs])
    out_dir.mkdir(parents=True, exist_ok=True)
    # The shards' rows, each file already in key order, merged into one sorted file a row at
    # a time: merging a large run holds no more than one row per shard.
    rows = heapq.merge(*(results for _, _, results in runs), key=lambda r: r.key)
    write_atomically(out_dir / RESULTS_FILE, (r.model_dump_json() + "\n" for r in rows))
    info = _merged_info(
        out_dir, [info for _, info, _ in runs], StoredResults(out_dir / RESULTS_FILE)
    )
    write_run_info(out_dir, info)
    return info
