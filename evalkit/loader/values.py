"""What the expander knows of values: their kind and spelling in words, their size, a file's shape.

Pure functions over the plain values the reader builds (`evalkit.loader.reader`); the expander
(`evalkit.loader.expand`) uses them to write messages, ids and its size budget.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

__all__ = [
    "MAX_EXPANDED_SIZE",
    "NODE_SIZE",
    "as_text",
    "is_fragment",
    "kind_of",
    "measure",
    "shape_of",
    "slug",
]

MAX_EXPANDED_SIZE = 48_000_000
"""A suite may expand to at most this much (see `NODE_SIZE`): about 10,000 conversations of a
few turns each, or a 2 MiB file with no variables at all, fit well within it."""
NODE_SIZE = 200
"""What one value built counts besides the characters of its text: about the memory of a value
and of the record of where it came from."""

_NOT_IN_IDS = re.compile(r"[^A-Za-z0-9_.]+")

_FRAGMENT_KEYS = frozenset({"vars", "conversations", "turns"})
"""A mapping with none of these keys is not a suite fragment."""


def kind_of(value: Any) -> str:
    """What a value is, in words: `a number`, `text`, `a mapping`..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "null"


def as_text(value: Any) -> str | None:
    """A value written inside longer text; None for what has no obvious spelling."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return None


def slug(row: dict[str, Any]) -> str:
    """The values of a matrix row as an id suffix: `thirty-two-32`."""
    parts = [
        text if (text := as_text(v)) is not None else json.dumps(v, default=str)
        for v in row.values()
    ]
    return _NOT_IN_IDS.sub("-", "-".join(parts)).strip("-.")[:100]


def measure(value: Any, limit: int) -> int:
    """The size of a value (see `Expansion.size`); counting stops once past `limit`."""
    size, stack = 0, [value]
    while stack and size <= limit:
        item = stack.pop()
        size += NODE_SIZE + (len(item) if isinstance(item, str) else 0)
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return size


def shape_of(value: Any) -> str:
    """What a file holds, in words that never quote it."""
    if isinstance(value, dict):
        return f"a mapping without {', '.join(f'`{k}`' for k in sorted(_FRAGMENT_KEYS))}"
    if isinstance(value, list):
        return "a list, but not of mappings"
    return "no list or mapping" if value is None else "a single value"


def is_fragment(value: Any) -> bool:
    """Whether an included file's value looks like a suite fragment (of conversations or turns).

    A list of which at least one item is a mapping (or an empty list), or a mapping with
    `vars`, `conversations` or `turns`. Anything else is some other file, never quoted.
    """
    if isinstance(value, list):
        return not value or any(isinstance(item, dict) for item in value)
    return isinstance(value, dict) and bool(_FRAGMENT_KEYS & set(value))
