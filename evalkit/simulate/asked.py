"""What an assistant turn asks for: a prompt's `fieldTarget`, else its question's words.

A turn is one response: many chunks (acknowledgement, separator, question, prompt). The
simulator answers the turn, not each chunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.results import TurnTranscript

__all__ = [
    "Asked",
    "FieldHint",
    "asks_to_confirm",
    "extracted",
    "find_asked",
    "question_text",
    "submitted",
]

_PROMPTS = {
    "SINGLE_SELECT_INPUT": "singleSelectInputDetails",
    "MULTI_SELECT_INPUT": "multiSelectInputDetails",
    "NUMBER_INPUT": "numberInputDetails",
}
_WORD = re.compile(r"[^\w@.+-]+")
_CONFIRM = re.compile(
    r"\b(?:(?:shall|should|can|may)\s+I\s+(?:send|submit)|"
    r"(?:is|are)\s+(?:that|this|these|everything|all\s+(?:of\s+)?(?:that|this))\s+"
    r"(?:all\s+)?(?:right|correct)|ready\s+to\s+(?:send|submit)|please\s+confirm)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FieldHint:
    """What the simulator may know of a form field, to tell a question about it."""

    target: str
    """The field key."""
    label: str = ""
    """Its human name, as questions use it."""
    phrases: tuple[str, ...] = ()
    """Further words that, in a question, name it."""
    options: tuple[tuple[str, str], ...] = ()
    """(value, label) of each option of a select."""


@dataclass(frozen=True)
class Asked:
    """The field a turn asks for, and how it was told."""

    field: str | None
    """The field key, or None when the turn asks for nothing the simulator can name."""
    how: str
    """`prompt` (a fieldTarget), `question` (the words), or `none`."""
    options: tuple[tuple[str, str], ...] = ()
    """(value, label) of the prompt's options, when it is a select."""


def _chunks(turn: TurnTranscript) -> Iterable[dict[str, Any]]:
    return (c.chunk for c in turn.chunks)


def submitted(turn: TurnTranscript) -> bool:
    """Whether the turn carried a SUBMISSION chunk."""
    return any(c.get("chunkType") == "SUBMISSION" for c in _chunks(turn))


def extracted(turn: TurnTranscript) -> dict[str, Any]:
    """The TEXT_DATA values of a turn, by field target."""
    values: dict[str, Any] = {}
    for chunk in _chunks(turn):
        if chunk.get("chunkType") == "TEXT_DATA":
            details = chunk.get("textDataDetails") or {}
            target = details.get("fieldTarget")
            if isinstance(target, str) and target:
                values[target] = details.get("value")
    return values


def question_text(turn: TurnTranscript) -> str:
    """The assistant's words after the last SEPARATOR (the question), else all of them."""
    parts: list[str] = []
    for chunk in _chunks(turn):
        kind = chunk.get("chunkType")
        if kind == "SEPARATOR":
            parts = []
        elif kind in ("TEXT", "IMPORTANT_TEXT"):
            details = chunk.get("textDetails" if kind == "TEXT" else "importantTextDetails")
            if isinstance(details, dict):  # a stored chunk is as it came: maybe malformed
                parts.append(str(details.get("text", "")))
    return " ".join(p for p in parts if p)


def asks_to_confirm(turn: TurnTranscript) -> bool:
    """Whether the turn's question asks to confirm before submitting ("Shall I send it?")."""
    return _CONFIRM.search(question_text(turn)) is not None


def _normal(text: str) -> str:
    words = (w.strip(".-+") for w in _WORD.sub(" ", text.lower()).split())
    return " " + " ".join(w for w in words if w) + " "


def _prompt(turn: TurnTranscript) -> Asked | None:
    found: Asked | None = None
    for chunk in _chunks(turn):
        key = _PROMPTS.get(str(chunk.get("chunkType")))
        details = (chunk.get(key) or {}) if key else {}
        target = details.get("fieldTarget")
        if isinstance(target, str) and target:
            options = tuple(
                (str(o.get("value", "")), str(o.get("label", "")))
                for o in details.get("options") or []
                if isinstance(o, dict)
            )
            found = Asked(target, "prompt", options)
    return found


def find_asked(
    turn: TurnTranscript, hints: Sequence[FieldHint], extra: Mapping[str, Sequence[str]]
) -> Asked:
    """The field a turn asks for.

    Args:
        turn: The assistant's response.
        hints: The fields the simulator knows of (the persona's, and the form's where known).
        extra: Phrases per field target the suite gives.

    Returns:
        The select, multi-select or number prompt's `fieldTarget` first; else the field whose
        label, key or phrase the question names (the longest such name wins, then the latest in
        the text); else no field.
    """
    prompt = _prompt(turn)
    if prompt is not None:
        return prompt
    text = _normal(question_text(turn))
    best: tuple[int, int, str] | None = None
    for hint in hints:
        names = {hint.label, hint.target.replace("_", " "), *hint.phrases}
        names.update(extra.get(hint.target, ()))
        for name in names:
            words = _normal(name)
            if len(words) <= 2:
                continue
            at = text.rfind(words)
            if at >= 0:
                rank = (len(words), at, hint.target)
                best = rank if best is None or rank > best else best
    return Asked(best[2], "question") if best else Asked(None, "none")
