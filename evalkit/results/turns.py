"""What a stored turn says: the assistant's words, and the options its select prompts offered.

The one reader of both, below scoring (checks, `record`) and the LLM simulator's prompt, which
sit side by side in the layers. A stored chunk is kept as the target sent it, so each reader
takes any JSON: what is not the documented shape is skipped, never an exception.
"""

from __future__ import annotations

from typing import Any

from evalkit.results.models import TurnTranscript

__all__ = ["assistant_text", "offered_options"]

_TEXTS = {"TEXT": "textDetails", "IMPORTANT_TEXT": "importantTextDetails"}
_SELECTS = ("singleSelectInputDetails", "multiSelectInputDetails")


def _details(chunk: dict[str, Any], key: str) -> dict[str, Any]:
    details = chunk.get(key)
    return details if isinstance(details, dict) else {}


def assistant_text(turn: TurnTranscript) -> str:
    """The assistant's words in one turn: TEXT and IMPORTANT_TEXT chunks joined by spaces."""
    parts: list[str] = []
    for timed in turn.chunks:
        key = _TEXTS.get(str(timed.chunk.get("chunkType")))
        if key is not None:
            parts.append(str(_details(timed.chunk, key).get("text", "")))
    return " ".join(p for p in parts if p)


def offered_options(turn: TurnTranscript) -> list[tuple[str, str]]:
    """The (value, label) of every option the turn's select prompts show."""
    options: list[tuple[str, str]] = []
    for timed in turn.chunks:
        for key in _SELECTS:
            offered = _details(timed.chunk, key).get("options")
            for option in offered if isinstance(offered, list) else []:
                if isinstance(option, dict):
                    options.append((str(option.get("value", "")), str(option.get("label", ""))))
    return options
