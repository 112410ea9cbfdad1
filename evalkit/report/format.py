"""Plain-text formatting shared by every report: numbers, durations, JSON, Markdown neutralising.

Nothing here knows about templates; the Jinja2 environment registers these as filters, and the
browser payload and the charts use them directly, so a number reads the same everywhere.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evalkit.metrics import wilson

__all__ = [
    "NONE",
    "compact_json",
    "neutralize_markdown",
    "percent",
    "seconds",
    "turn_label",
    "wilson_interval",
]

NONE = "—"
"""What a report shows for a value that does not exist (no rate without data, no time)."""

# Markdown metacharacters that can start emphasis, code, links, images, tables or HTML. The
# backslash is escaped too, or a backslash written by the model would undo the escape after it.
_MARKDOWN_ESCAPES = {
    "\\": "\\\\",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "\\|",
    "`": "\\`",
    "*": "\\*",
    "_": "\\_",
    "[": "\\[",
    "]": "\\]",
    "!": "\\!",
    "~": "\\~",
}
_MARKDOWN_SPECIAL = re.compile("|".join(re.escape(c) for c in _MARKDOWN_ESCAPES))
# Line breaks (and the other characters that end a line) would end a table row or start a new
# block. Other control characters have no business in a report, and bidirectional overrides could
# make a reason or value read differently from what it is.
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def neutralize_markdown(text: object) -> str:
    """Make text inert in GitHub-flavoured Markdown, so it reads as itself wherever it is placed.

    Every character that could start emphasis, code, a link, an image, a table cell or raw HTML is
    escaped (`<`, `>` and `&` as HTML entities, the rest with a backslash), line breaks and tabs
    become single spaces so that a table row stays one row, and other control characters
    (bidirectional overrides included) are dropped.

    Args:
        text: The untrusted text; anything else is converted with `str()` first.

    Returns:
        The neutralised text, on one line.
    """
    flat = _CONTROL.sub("", _LINE_BREAKS.sub(" ", str(text).replace("\t", " ")))
    return _MARKDOWN_SPECIAL.sub(lambda m: _MARKDOWN_ESCAPES[m.group(0)], flat)


def compact_json(value: Any) -> str:
    """Render a value as one line of JSON, non-ASCII kept readable."""
    return json.dumps(value, ensure_ascii=False, default=str)


def percent(value: float | None) -> str:
    """Render a 0–1 rate as a percentage with one decimal, or a dash for None."""
    return NONE if value is None else f"{value * 100:.1f}%"


def seconds(value: float | None) -> str:
    """Render a duration: milliseconds below a second, seconds above, a dash for None."""
    if value is None:
        return NONE
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def turn_label(turn: int | None) -> str:
    """Name a verdict's turn: its number, or `final` for the accumulated state."""
    return "final" if turn is None else str(turn)


wilson_interval = wilson
"""The Wilson score interval of a pass rate (`evalkit.metrics.wilson`)."""
