"""The data the HTML report's script renders from: a compact index of rows, and the details.

The page embeds both as `<script type="application/json">` blocks, written a row at a time as the
page is rendered (each row escaped as Jinja's `tojson` does: `<`, `>`, `&` and `'`, so no value can
close the block). They are separate so that a 10,000-row report becomes interactive after parsing
the small index; the details (transcripts, verdicts) are parsed only when a conversation is first
opened or the free-text filter is used. Keys are short because they are repeated 10,000 times;
`report.js` is their only reader.
"""

from __future__ import annotations

from typing import Any

from evalkit.report.format import seconds
from evalkit.report.personas import PersonaView
from evalkit.report.transcript import ChunkView, TurnView
from evalkit.report.views import ConversationView

__all__ = ["details_entry", "index_row"]


def index_row(view: ConversationView, suites: dict[str, int], tags: dict[str, int]) -> list[Any]:
    """One row of the index: a short array for one conversation.

    The row is `[anchor, suite, id, repeat, status, tags, source, duration_s, user_turns,
    failing_fields, checked_fields, flaky, first_problem]`, where `suite` and `tags` are
    indices into the index's `suites` and `tags` lists (given here name → index).
    """
    r = view.result
    problem = ""
    if r.error:
        problem = f"{r.error.kind}: {r.error.message}"
    elif view.failing_fields:
        f = view.failing_fields[0]
        problem = f"{f.field} ({f.turn}): {f.outcome}, {f.reason}"
    elif view.failing_checks:
        problem = f"{view.failing_checks[0].check}: {view.failing_checks[0].reason}"
    return [
        view.anchor,
        suites[r.suite],
        r.conversation_id,
        r.repeat,
        r.status,
        [tags[t] for t in r.tags],
        r.source,
        round(r.duration_s, 3),
        view.user_turns,
        sorted({f.field for f in view.failing_fields}),
        sorted({f.field for f in view.fields}),
        1 if view.flaky else 0,
        problem[:200],
    ]


def _chunk(chunk: ChunkView) -> list[Any]:
    """`[kind, label, text, field, options, note]`, trailing empties dropped."""
    out: list[Any] = [
        chunk.kind,
        chunk.label,
        chunk.text,
        chunk.field,
        list(chunk.options),
        chunk.note,
    ]
    while out and out[-1] in ("", []):
        out.pop()
    return out


def _turn(view: TurnView) -> dict[str, Any]:
    t = view.turn
    out: dict[str, Any] = {
        "l": view.label,
        "e": t.endpoint,
        "h": t.status_code,
        "fr": t.framing,
        "f": seconds(t.first_chunk_s),
        "t": seconds(t.total_s),
        "k": [_chunk(c) for c in view.chunks],
    }
    if not t.complete:
        out["x"] = 1
    if t.user is not None:
        out["u"] = [[s.text, list(s.fields)] if s.fields else [s.text] for s in view.user]
    if t.current_values:
        out["cv"] = t.current_values
    if view.retries:
        out["r"] = view.retries
    return out


def _persona(view: PersonaView) -> dict[str, Any]:
    """The persona view, in short keys.

    `n` name, `s` seed, `v` values, `tr` traits, `o` the order asked, `q` one `[turn, question,
    asked, answer, gave, extracted]` per exchange, `st` stop, `na` never asked, `no` the
    simulator's notes.
    """
    return {
        "n": view.name,
        "s": view.seed,
        "v": [list(pair) for pair in view.values],
        "tr": view.traits,
        "o": list(view.order),
        "q": [
            [e.turn, e.question, e.asked, e.answer, list(e.gave), [list(x) for x in e.extracted]]
            for e in view.exchanges
        ],
        "st": view.stop,
        "na": list(view.never_asked),
        "no": list(view.notes),
    }


def details_entry(view: ConversationView) -> dict[str, Any]:
    """What opening a conversation shows: verdicts, checks, transcript, final state, error."""
    r = view.result
    entry: dict[str, Any] = {
        "v": [
            [
                f.turn,
                f.field,
                f.outcome,
                f.matcher,
                f.expected,
                f.actual,
                f.reason,
                int(f.passed),
            ]
            for f in view.fields
        ],
        "c": [[c.turn, c.check, int(c.passed), c.reason] for c in r.checks],
        "t": [_turn(turn) for turn in view.turns],
        "fs": r.final_state,
        "sb": int(r.submitted),
        "sid": r.session_id,
    }
    if r.error:
        entry["e"] = r.error.model_dump(mode="json")
    if r.warnings:
        entry["w"] = r.warnings
    if view.restarts:
        entry["rs"] = view.restarts
    if view.persona is not None:
        entry["p"] = _persona(view.persona)
    return entry
