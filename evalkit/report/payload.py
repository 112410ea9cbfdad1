"""The data the HTML report's script renders from: a compact index of rows, and the details.

The page embeds both as `<script type="application/json">` blocks (Jinja's `tojson` escapes `<`,
`>`, `&` and `'`, so no value can close the block). They are separate so that a 10,000-row report
becomes interactive after parsing the small index; the details (transcripts, verdicts) are parsed
only when a conversation is first opened or the free-text filter is used. Keys are short because
they are repeated 10,000 times; `report.js` is their only reader.
"""

from __future__ import annotations

from typing import Any

from evalkit.report.format import seconds
from evalkit.report.transcript import ChunkView, TurnView
from evalkit.report.views import ConversationView

__all__ = ["details_payload", "index_payload"]


def index_payload(views: list[ConversationView]) -> dict[str, Any]:
    """The row index: one short array per conversation, plus the lists the filters offer.

    Each row is `[anchor, suite, id, repeat, status, tags, source, duration_s, user_turns,
    failing_fields, checked_fields, flaky, first_problem]`, where `suite` and `tags` are indices
    into `suites` and `tags`.
    """
    suites = sorted({v.result.suite for v in views})
    tags = sorted({t for v in views for t in v.result.tags})
    suite_index = {name: i for i, name in enumerate(suites)}
    tag_index = {name: i for i, name in enumerate(tags)}
    rows: list[list[Any]] = []
    for v in views:
        r = v.result
        problem = ""
        if r.error:
            problem = f"{r.error.kind}: {r.error.message}"
        elif v.failing_fields:
            f = v.failing_fields[0]
            problem = f"{f.field} ({f.turn}): {f.outcome}, {f.reason}"
        elif v.failing_checks:
            problem = f"{v.failing_checks[0].check}: {v.failing_checks[0].reason}"
        rows.append(
            [
                v.anchor,
                suite_index[r.suite],
                r.conversation_id,
                r.repeat,
                r.status,
                [tag_index[t] for t in r.tags],
                r.source,
                round(r.duration_s, 3),
                v.user_turns,
                sorted({f.field for f in v.failing_fields}),
                sorted({f.field for f in v.fields}),
                1 if v.flaky else 0,
                problem[:200],
            ]
        )
    fields = sorted({f.field for v in views for f in v.fields})
    return {"suites": suites, "tags": tags, "fields": fields, "rows": rows}


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


def details_payload(views: list[ConversationView]) -> list[dict[str, Any]]:
    """What opening a conversation shows, in the order of the index rows."""
    details = []
    for v in views:
        r = v.result
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
                for f in v.fields
            ],
            "c": [[c.turn, c.check, int(c.passed), c.reason] for c in r.checks],
            "t": [_turn(turn) for turn in v.turns],
            "fs": r.final_state,
            "sb": int(r.submitted),
            "sid": r.session_id,
        }
        if r.error:
            entry["e"] = r.error.model_dump(mode="json")
        if r.warnings:
            entry["w"] = r.warnings
        if v.restarts:
            entry["rs"] = v.restarts
        details.append(entry)
    return details
