"""What commands print: the run summary, a comparison, a finished run."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape

from evalkit.cli.terminal import inert
from evalkit.configurations import MatrixOutcome
from evalkit.metrics.personas import persona_figures
from evalkit.pipeline import Change, Comparison, Finished, RunSide
from evalkit.results import ConversationResult, RunInfo, Summary

__all__ = ["print_comparison", "print_finished", "print_matrix", "print_summary"]


_ID = re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b")
"""A session or request id inside an error message: errors that differ only by one are alike."""
_EXAMPLES = 3
"""Conversations named as examples of a group of alike errors."""
_DIFFERENCES = 20
"""Changed conversations whose typed differences a comparison prints (the reports have all)."""


def _first_reason(result: ConversationResult) -> str:
    failed = [f"{f.field}: {f.reason}" for f in result.fields if not f.passed]
    failed += [f"{c.check}: {c.reason}" for c in result.checks if not c.passed]
    return failed[0] if failed else ""


@dataclass
class _Failing:
    """One conversation's failed repeats: where it is, how many of its repeats failed, why."""

    source: str
    reason: str
    failed: int = 0
    runs: int = 0


@dataclass
class _Errors:
    """Errors alike (one kind, one message but for ids): how many, and in which conversations."""

    count: int = 0
    names: dict[str, str] = field(default_factory=dict)
    """`suite/id` → its source, in the order met."""


def _rate_line(summary: Summary) -> str | None:
    """`pass@3 95.0% [86.1%, 98.6%], pass^3 71.4% [...]; 2 flaky` for a run with repeats."""
    if summary.k <= 1 or summary.pass_at_k is None or summary.pass_hat_k is None:
        return None

    def ci(interval: tuple[float, float] | None) -> str:
        return f" [{interval[0]:.1%}, {interval[1]:.1%}]" if interval else ""

    k = summary.k
    flaky = f"; {len(summary.flaky)} flaky" if summary.flaky else ""
    return (
        f"pass@{k} {summary.pass_at_k:.1%}{ci(summary.pass_at_k_ci)} (one of {k} repeats "
        f"passes), pass^{k} {summary.pass_hat_k:.1%}{ci(summary.pass_hat_k_ci)} (all {k} "
        f"pass){flaky}"
    )


def _slot_line(summary: Summary) -> str | None:
    """`slot filling: JGA 80.0%, AGA 90.0%, slot P 85.0% R 90.0% F1 87.4%`, when judged."""
    slots = summary.slot_filling
    if slots is None:
        return None

    def rate(value: float | None) -> str:
        return "—" if value is None else f"{value:.1%}"

    return (
        f"slot filling: JGA {rate(slots.joint_goal_accuracy)}, AGA "
        f"{rate(slots.average_goal_accuracy)}, slot P {rate(slots.precision)} R "
        f"{rate(slots.recall)} F1 {rate(slots.f1)} (over {slots.turns} judged turns)"
    )


def _persona_lines(summary: Summary) -> list[str]:
    """The persona figures (docs/metrics.md), a line each, in the reports' words; none without.

    `personas: completion rate 75.0% (6 of 8 submitted, 95% CI 40.9%–92.9%)`
    """
    figures = summary.personas
    if figures is None:
        return []
    return [f"personas: {name} {words}" for name, words in persona_figures(figures)]


def print_summary(out: Console, info: RunInfo, results: Iterable[ConversationResult]) -> None:
    """The terminal summary: counts, pass rate, slot figures, pass@k, then what went wrong.

    The slot-filling figures (joint and average goal accuracy, slot precision, recall and F1)
    follow the pass rate when any turn was judged. The repeats of a conversation are one line
    (`failed 3 of 3`); errors alike (one kind, one message but for ids) are one line with their
    count and a few of their conversations; the retries and restarts of the run are counted.
    """
    summary = info.summary
    rate = "—" if summary.pass_rate is None else f"{summary.pass_rate:.1%}"
    out.print(
        f"[bold]{summary.total}[/] conversations: [green]{summary.passed} passed[/], "
        f"[red]{summary.failed} failed[/], [yellow]{summary.errors} errors[/]"
        f"{f', {summary.skipped} skipped' if summary.skipped else ''}; pass rate {rate}"
    )
    if (line := _slot_line(summary)) is not None:
        out.print(inert(line))
    if (line := _rate_line(summary)) is not None:
        out.print(inert(line))
    for persona_line in _persona_lines(summary):
        out.print(inert(persona_line))
    if summary.coverage is not None and (whole := summary.coverage.overall).total:
        shown = f"{whole.rate or 0.0:.1%} ({whole.covered} of {whole.total})"
        out.print(f"coverage observed: {shown} of the forms' fields, options and submissions")
    runs: dict[tuple[str, str], int] = {}
    failing: dict[tuple[str, str], _Failing] = {}
    errors: dict[tuple[str, str], _Errors] = {}
    retries = retried = restarts = restarted = 0
    for result in results:  # streamed: counters and one entry per failing conversation
        key = (result.suite, result.conversation_id)
        runs[key] = runs.get(key, 0) + 1
        count = len(result.all_retries())
        retries, retried = retries + count, retried + bool(count)
        restarts, restarted = restarts + len(result.restarts), restarted + bool(result.restarts)
        if result.status == "fail":
            entry = failing.setdefault(key, _Failing(result.source, _first_reason(result)))
            entry.failed += 1
        elif result.error is not None:
            message = _ID.sub("<id>", result.error.message)
            group = errors.setdefault((result.error.kind, message), _Errors())
            group.count += 1
            group.names.setdefault(f"{result.suite}/{result.conversation_id}", result.source)
    if retries or restarts:
        out.print(
            f"retries: {retries} request(s) in {retried} conversation(s); restarts: {restarts} "
            f"in {restarted} conversation(s)"
        )
    if failing:
        out.print("[bold]Failures[/] (conversation, where, first reason):")
    for key, entry in failing.items():
        times = runs[key]
        share = f"failed {entry.failed} of {times}: " if times > 1 else ""
        out.print(
            f"  [red]fail [/] {inert(key[0])}/{inert(key[1])}  {inert(entry.source)}  "
            f"{inert(share + entry.reason)}"
        )
    if errors:
        out.print("[bold]Errors[/] (grouped by kind and cause):")
    for (kind, message), group in sorted(errors.items(), key=lambda item: -item[1].count):
        if group.count == 1:
            ((name, source),) = group.names.items()
            out.print(
                f"  [yellow]error[/] {inert(name)}  {inert(source)}  {inert(kind)}: "
                f"{inert(message)}"
            )
            continue
        examples = list(group.names)[:_EXAMPLES]
        more = len(group.names) - len(examples)
        listed = ", ".join(examples) + (f" and {more} more" if more else "")
        out.print(
            f"  [yellow]error[/] {inert(kind)}: {inert(message)}  [bold]×{group.count}[/] "
            f"(e.g. {inert(listed)})"
        )


def print_matrix(out: Console, outcome: MatrixOutcome) -> None:
    """A configuration matrix for a terminal: one line per configuration, the reports, the exit.

    The matrix report itself (Markdown and HTML) is for reading in a browser or a PR, not in a
    terminal: its path is printed.
    """
    for label, info, _ in outcome.runs:
        s = info.summary
        rate = "—" if s.pass_rate is None else f"{s.pass_rate:.1%}"
        forms = ", ".join(f"{k}={v}" for k, v in sorted(info.target.form_ids.items()))
        out.print(
            f"configuration {escape(label)} ({escape(forms)}): {s.total} conversations, "
            f"{s.passed} passed, {s.failed} failed, {s.errors} errors; pass rate {rate}"
        )
    statuses: dict[tuple[str, str, int], set[str]] = {}
    for _, _, results in outcome.runs:
        for result in results:
            statuses.setdefault(result.key, set()).add(result.status)
    differ = [f"{suite}/{cid}" for (suite, cid, _), seen in statuses.items() if len(seen) > 1]
    if differ:
        labels = ", ".join(label for label, _, _ in outcome.runs)
        shown = ", ".join(dict.fromkeys(differ[:_EXAMPLES]))
        out.print(
            f"{len(differ)} conversation(s) have different verdicts across {escape(labels)}, "
            f"e.g. {inert(shown)}"
        )
    if outcome.reports:
        out.print(f"matrix: {escape(str(outcome.reports['markdown']))}")
        out.print(f"matrix report: {escape(str(outcome.reports['html']))}")
    out.print(f"exit {outcome.verdict.code}: {escape('; '.join(outcome.verdict.reasons))}")


def _changes(out: Console, title: str, changes: list[Change], style: str) -> None:
    if not changes:
        return
    out.print(f"[bold]{title}[/] ({len(changes)}):")
    for change in changes:
        reason = f"  {inert(change.reasons[0])}" if change.reasons else ""
        out.print(f"  [{style}]{inert(change.label)}[/]{reason}")


def _shown(value: object) -> str:
    return "—" if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _differences(out: Console, comparison: Comparison) -> None:
    """Each changed conversation's typed differences, old → new (the first `_DIFFERENCES`).

    Still-passing conversations whose only change is a question's wording are one line, so
    that real changes lead.
    """
    with_changes = [c for c in comparison.differences if c.differences]
    changed = [c for c in with_changes if not c.reworded_only]
    reworded = [c.label for c in with_changes if c.reworded_only]
    if not with_changes:
        return
    out.print("[bold]Typed differences[/] (conversation, then each change: old → new):")
    for conversation in changed[:_DIFFERENCES]:
        out.print(f"  {inert(conversation.label)} ({conversation.base} → {conversation.candidate})")
        for d in conversation.differences:
            field = f" {d.field}" if d.field else ""
            question = d.category == "question changed"
            old, new = (d.before, d.after) if question else (_shown(d.before), _shown(d.after))
            if d.category == "expectation changed":
                old = f"{old} ({d.before_outcome or 'no verdict'})"
                new = f"{new} ({d.after_outcome or 'no verdict'})"
            out.print(f"    {d.category}{inert(field)} ({d.where}): {inert(f'{old} → {new}')}")
    if len(changed) > _DIFFERENCES:
        out.print(f"  and {len(changed) - _DIFFERENCES} more conversations: see the reports")
    if reworded:
        more = len(reworded) - _EXAMPLES
        examples = ", ".join(reworded[:_EXAMPLES]) + (f" and {more} more" if more > 0 else "")
        out.print(
            f"  {len(reworded)} still-passing conversation{'s' if len(reworded) != 1 else ''} "
            f"changed only a question's wording (e.g. {inert(examples)})"
        )


def print_comparison(out: Console, comparison: Comparison) -> None:
    """The comparison for a terminal or a CI log, typed differences first, the verdict last.

    The counts per category of typed difference lead; then rates, lists of changes, field
    deltas, each changed conversation's typed differences (old → new), and the verdict.
    """
    counts = ", ".join(f"{name} {n}" for name, n in comparison.difference_counts.items())
    out.print(f"[bold]typed differences:[/] {counts}")

    def rate(side: RunSide) -> str:
        if side.pass_rate is None:
            return "—"
        interval = side.pass_rate_ci
        ci = f" [{interval[0]:.1%}, {interval[1]:.1%}]" if interval else ""
        repeated = ""
        if side.pass_at_k is not None and side.pass_hat_k is not None:
            repeated = f"; pass@{side.k} {side.pass_at_k:.1%}, pass^{side.k} {side.pass_hat_k:.1%}"
        return f"{side.pass_rate:.1%}{ci}{repeated}"

    out.print(f"baseline  {escape(comparison.base.run_id)}: pass rate {rate(comparison.base)}")
    out.print(
        f"candidate {escape(comparison.candidate.run_id)}: pass rate {rate(comparison.candidate)}"
    )
    _changes(out, "Regressions", comparison.regressions, "red")
    _changes(out, "Fixes", comparison.fixes, "green")
    _changes(out, "Still failing", comparison.still_failing, "yellow")
    _changes(out, "Set aside (error in either run)", comparison.errors, "yellow")
    _changes(out, "New", comparison.new, "cyan")
    _changes(out, "Removed", comparison.removed, "cyan")
    if comparison.flaky:
        out.print(
            f"[bold]Flaky[/] ({len(comparison.flaky)}): {escape(', '.join(comparison.flaky))}"
        )
    moved = [f for f in comparison.fields if f.accuracy_delta]
    if moved:
        out.print("[bold]Field accuracy[/] (baseline → candidate):")
        for delta in moved:
            points = 100 * (delta.accuracy_delta or 0)
            out.print(
                f"  {escape(delta.field)}: {delta.base_accuracy or 0:.1%} → "
                f"{delta.candidate_accuracy or 0:.1%} ({points:+.1f} points)"
            )
    _differences(out, comparison)
    out.print(f"[bold]verdict:[/] {escape(comparison.verdict)}")


def print_finished(out: Console, finished: Finished) -> None:
    """What a finished run prints: baseline, summary, comparison, the files, the exit line."""
    if finished.baseline_note is not None:
        out.print(escape(finished.baseline_note))
    print_summary(out, finished.info, finished.results)
    if finished.comparison is not None:
        print_comparison(out, finished.comparison)
    out.print(f"results: {escape(str(finished.run_dir / 'results.jsonl'))}")
    if finished.junit is not None:
        out.print(f"JUnit XML: {escape(str(finished.junit))}")
    out.print(f"markdown report: {escape(str(finished.reports['markdown']))}")
    out.print(f"HTML report: {escape(str(finished.reports['html']))}")
    out.print(f"exit {finished.verdict.code}: {escape('; '.join(finished.verdict.reasons))}")
