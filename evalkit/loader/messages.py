"""Validation errors in words: a pydantic error → a message saying what is wrong and what to do."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from evalkit.loader.reader import Loc, Source, quote
from evalkit.suite import MATCHER_NAMES, MAX_INPUT_CHARS, Conversation, Suite

__all__ = ["AUTHORING_KEYS", "did_you_mean", "found", "message", "where"]

AUTHORING_KEYS: dict[type[BaseModel], tuple[str, ...]] = {
    Suite: ("vars",),
    Conversation: ("vars", "matrix"),
}
"""Keys the loader expands away before validation, listed with a model's own keys in messages."""

_NO_MATCHER = "names exactly one matcher (found none)"
"""The loader's words for an expectation mapping whose keys name no matcher."""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_SHAPES = {  # pydantic error types about the shape of a value, and the shape wanted
    "dict_type": "a mapping (`key: value` lines)",
    "model_type": "a mapping (`key: value` lines)",
    "model_attributes_type": "a mapping (`key: value` lines)",
    "list_type": "a list (`- item` lines)",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint naming the closest of `choices` to a misspelt `word`, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def where(loc: Loc) -> str:
    """Render a loc readably: `conversations[2].turns[0].expect.age`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "top level"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model that validates the value at `loc`, found by following the suite models' fields."""
    annotation: Any = Suite
    for part in (*loc, None):
        while get_origin(annotation) not in (None, list, dict):
            # Annotated[X, ...] and X | None: X.
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        if part is None:
            break
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {f.alias or name: f.annotation for name, f in annotation.model_fields.items()}
            annotation = fields.get(str(part))
        else:  # list[X] or dict[str, X]: X
            annotation = (get_args(annotation) or (None,))[-1]
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def found(source: Source | None) -> str:
    """What a value is, for a message: `text 'abc'`, `a list`, `a number (from {{ age }})`."""
    if source is None:
        return "a value of another kind"
    if source.via is not None:
        return f"{source.kind} (substituted for {source.via})"
    if source.kind == "text" and source.text is not None:
        shown = source.text if len(source.text) <= 40 else source.text[:37] + "..."
        return f"text {quote(shown)}"
    return source.kind


def _reading(value: Any, source: Source) -> str:
    """What YAML turned a scalar into, in words: `false`, `the number 750`, `a date`."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float) and str(value) != source.text:
        return f"the number {value}"
    return source.kind


def message(error: ErrorDetails, source: Source | None) -> str:
    """Turn one pydantic error into a message that says what is wrong and what to do."""
    loc: Loc = tuple(error["loc"])
    at, kind, value = where(loc), error["type"], error["input"]
    if kind == "missing":
        return f"{where(loc[:-1])}: missing required key `{loc[-1]}`; add it"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        valid = [f.alias or name for name, f in model.model_fields.items()] if model else []
        valid += AUTHORING_KEYS.get(model, ()) if model else ()
        hint = did_you_mean(str(loc[-1]), valid)
        return f"{where(loc[:-1])}: unknown key `{loc[-1]}`{hint}; valid keys: {', '.join(valid)}"
    if kind == "string_type" and source is not None and source.text is not None:
        if source.text == "" and value is None:
            return f"{at} is empty; write the text"
        return (
            f"{at} is {source.kind} (YAML reads unquoted {source.text} as "
            f"{_reading(value, source)}); quote it: {quote(source.text)}"
        )
    if kind == "string_type":
        return (
            f"{at} must be text, found {found(source)}; if the text contains ': ' or starts "
            "with '[' or '{', quote it"
        )
    if kind == "string_too_long" and loc[-1] == "user":
        return (
            f"{at} is {len(value):,} characters long; the service accepts at most "
            f"{MAX_INPUT_CHARS:,} characters per message; shorten it"
        )
    if kind == "string_pattern_mismatch" and loc[-1] == "id":
        return (
            f"{at} {value!r} is not a valid id; use letters, digits, `_`, `.` and `-`, "
            "starting with a letter or digit"
        )
    if kind == "too_short":
        item = {"conversations": "conversation", "turns": "turn"}.get(str(loc[-1]), "item")
        return f"{at} is empty; add at least one {item}"
    if kind == "literal_error":
        shown = source.text if source and source.text is not None else repr(value)
        return f"{at} is `{shown}`; use one of {error.get('ctx', {}).get('expected', '')}"
    if kind in _SHAPES:
        return f"{at} must be {_SHAPES[kind]}, found {found(source)}"
    text = error["msg"].removeprefix("Value error, ")
    if kind == "value_error" and _NO_MATCHER in text:
        text = text.replace(_NO_MATCHER, _NO_MATCHER + _matcher_hint(value), 1)
    return f"{at}: {text}"


def _matcher_hint(value: Any) -> str:
    """`; unknown matcher `emial` (did you mean `email`?)` for the first misspelt matcher name.

    The mapping that names no matcher may be nested in a composite (`not`, `all_of`, `any_of`);
    each mapping that names none offers its keys.
    """
    for key in _unmatched_keys(value):
        hint = did_you_mean(key, MATCHER_NAMES)
        if hint:
            return f"; unknown matcher `{key}`{hint}"
    return ""


def _unmatched_keys(value: Any) -> Iterable[str]:
    """The keys of the mappings in `value` that name no matcher, outermost first."""
    if isinstance(value, list):
        for item in value:
            yield from _unmatched_keys(item)
    elif isinstance(value, dict):
        named = [key for key in value if key in MATCHER_NAMES]
        if not named:
            yield from (str(key) for key in value)
        for key in named:
            yield from _unmatched_keys(value[key])
