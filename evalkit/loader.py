"""Suite files (`*.eval.yaml`) → validated `LoadedSuite`s, with `file:line` on every problem.

This module owns discovery of suite files, safe YAML reading and the mapping of validation errors
back to source lines. Reading is deliberately narrow (see design §7):

- pyyaml's safe parser only (`CSafeLoader` when libyaml is present), used as an event source:
  values are built here from the events, so every value keeps its line and its source text;
- aliases and anchors, tags other than YAML's plain types, duplicate keys, several documents and
  files over `MAX_FILE_BYTES` are errors;
- mapping keys are always read as text (a field target `no:` stays `"no"`); other values keep
  YAML's reading (an unquoted `1990-05-04` in `expect` or `prefill` is a `datetime.date`);
- a string field whose value YAML read as something else (`user: no` is false, `12:30` is 750)
  is reported with the original text and the advice to quote it.

Every problem of every file is collected before one `SuiteError` is raised, so nothing is ever
half-loaded.
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from evalkit.errors import Problem, SuiteError
from evalkit.suite import MAX_INPUT_CHARS, LoadedSuite, Suite

__all__ = ["MAX_FILE_BYTES", "MAX_NESTING", "SUITE_SUFFIX", "discover", "load_suite", "load_suites"]

SUITE_SUFFIX = ".eval.yaml"
"""Directories are searched recursively for files whose name ends with this."""
MAX_FILE_BYTES = 2 * 1024 * 1024
"""Suite files larger than this are refused (a suite this big is better split)."""
MAX_NESTING = 64
"""Deepest nesting of YAML collections accepted; a suite needs about eight."""

Loc = tuple[str | int, ...]
"""Where a value sits in the document, as pydantic's `loc`: keys and list indices from the top."""

_YAML_TAG = "tag:yaml.org,2002:"
# The only tags a suite may use (implicit ones included), and how messages name what YAML made.
_KINDS = {
    f"{_YAML_TAG}{name}": kind
    for name, kind in [
        *(("str", "text"), ("value", "text"), ("merge", "text")),
        *(("int", "a number"), ("float", "a number"), ("bool", "a boolean")),
        *(("null", "null"), ("timestamp", "a date")),
    ]
}
# A value `=` or `<<` resolves to these; as values they mean nothing special, so they stay text.
_TEXT_TAGS = frozenset({f"{_YAML_TAG}str", f"{_YAML_TAG}value", f"{_YAML_TAG}merge"})
# What the YAML 1.1 reader accepts; anything else is reported here with its line (libyaml would
# report a byte offset instead).
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_SHAPES = {  # pydantic error types about the shape of a value, and the shape wanted
    "dict_type": "a mapping (`key: value` lines)",
    "model_type": "a mapping (`key: value` lines)",
    "model_attributes_type": "a mapping (`key: value` lines)",
    "list_type": "a list (`- item` lines)",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}
_SYNTAX_HINTS = {
    "mapping values are not allowed": "a value containing ': ' must be quoted",
    "cannot start any token": "indent with spaces, not tabs, and quote values starting with @ or `",
    "found undefined alias": "aliases are not allowed; write the value out",
}


# ---------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Source:
    """What the YAML said at one location."""

    line: int
    """Line of the value; for a mapping entry, the line of its key."""
    kind: str
    """What YAML made of it, for messages: "a mapping", "a list", "text", "a boolean", ..."""
    text: str | None = None
    """The original text of a scalar (`no`, not False)."""


class _Fatal(Exception):
    """Stops reading a file: nothing after this point can be trusted."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _line(event: Event | None) -> int:
    return event.start_mark.line + 1 if event and event.start_mark is not None else 0


class _Reader:
    """Builds plain values from the YAML parser's events, remembering where each came from.

    pyyaml's composer expands aliases ("billion laughs") and, under libyaml, runs in C where it
    cannot be refined; reading the events here instead keeps every value's line and source text.
    """

    def __init__(self, text: str) -> None:
        # Chosen at call time, so a test can run the pure-Python fallback by patching the flag.
        self.parser = yaml.CSafeLoader(text) if yaml.__with_libyaml__ else yaml.SafeLoader(text)
        self.problems: list[tuple[int, str]] = []
        self.sources: dict[Loc, _Source] = {}
        self.reported: set[Loc] = set()
        """Values that already have a problem; validation errors at or under them are dropped."""
        self.constructor = SafeConstructor()

    def document(self) -> tuple[bool, Any]:
        """Read the one document of the stream; (False, None) for an empty file."""
        self.parser.get_event()  # StreamStartEvent
        if self.parser.check_event(StreamEndEvent):
            return False, None
        self.parser.get_event()  # DocumentStartEvent
        value = self._value((), 1, None)
        self.parser.get_event()  # DocumentEndEvent
        if not self.parser.check_event(StreamEndEvent):
            self.problem(
                _line(self.parser.get_event()),
                "a suite file holds one YAML document, but a second one starts here; "
                "remove the `---` line or move what follows into its own file",
            )
        return True, value

    def problem(self, line: int, message: str) -> None:
        """Record a problem at `line`."""
        self.problems.append((line, message))

    def _event(self) -> Event:
        event: Event | None = self.parser.get_event()
        if event is None:  # the parser raises before it runs out of events
            raise _Fatal(0, "the YAML ends unexpectedly")
        return event

    def _value(self, loc: Loc, depth: int, line: int | None) -> Any:
        event = self._event()
        line = line or _line(event)
        if isinstance(event, AliasEvent):
            self.problem(
                _line(event),
                f"YAML aliases (*{event.anchor}) are not allowed; write the value out",
            )
            self.sources[loc] = _Source(line, "an alias")
            self.reported.add(loc)
            return None
        if not isinstance(event, ScalarEvent | CollectionStartEvent):  # the grammar forbids it
            raise _Fatal(line, f"unexpected YAML {type(event).__name__}")
        if event.anchor is not None:
            self.problem(
                _line(event),
                f"YAML anchors (&{event.anchor}) are not allowed; "
                "write the value out where it is used",
            )
        if isinstance(event, ScalarEvent):
            tag = self._tag(event, ScalarNode)
            self.sources[loc] = _Source(line, _KINDS.get(tag, "text"), event.value)
            return self._scalar(event, tag, loc)
        if depth > MAX_NESTING:
            raise _Fatal(line, f"the YAML nests deeper than {MAX_NESTING} levels; flatten it")
        value: Any
        if isinstance(event, SequenceStartEvent):
            self.sources[loc] = _Source(line, "a list")
            tag, value = self._tag(event, SequenceNode), self._sequence(loc, depth)
        else:
            self.sources[loc] = _Source(line, "a mapping")
            tag, value = self._tag(event, MappingNode), self._mapping(loc, depth)
        if tag not in (f"{_YAML_TAG}seq", f"{_YAML_TAG}map"):
            return self._bad_tag(_line(event), tag, loc)
        return value

    def _sequence(self, loc: Loc, depth: int) -> list[Any]:
        items: list[Any] = []
        while not self.parser.check_event(SequenceEndEvent):
            items.append(self._value((*loc, len(items)), depth + 1, None))
        self.parser.get_event()
        return items

    def _mapping(self, loc: Loc, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first: dict[str, int] = {}
        while not self.parser.check_event(MappingEndEvent):
            event = self._event()
            line = _line(event)
            if not isinstance(event, ScalarEvent):
                if isinstance(event, AliasEvent):
                    self.problem(line, "YAML aliases are not allowed; write the key out")
                else:
                    self.problem(line, "a key must be a plain name, not a list or mapping")
                    self._skip(1)
                self._skip(0)
                continue
            tag, key = self._tag(event, ScalarNode), event.value
            if tag == f"{_YAML_TAG}merge":
                self.problem(line, "YAML merge keys (<<) are not allowed; write the keys out")
            elif tag not in _KINDS:
                self._bad_tag(line, tag, None)
            elif key in first:
                self.problem(
                    line, f"duplicate key `{key}` (first at line {first[key]}); keep only one"
                )
            else:
                # Keys are names, always text: a field target `no:` must not become False.
                first[key] = line
                result[key] = self._value((*loc, key), depth + 1, line)
                continue
            self._skip(0)
        self.parser.get_event()
        return result

    def _skip(self, level: int) -> None:
        """Consume the events of one node (or the rest of a collection already `level` deep)."""
        while True:
            # libyaml's check_event matches exact classes only, hence both start events.
            if level == 0 and not self.parser.check_event(SequenceStartEvent, MappingStartEvent):
                self.parser.get_event()
                return
            event = self._event()
            level += isinstance(event, CollectionStartEvent) - isinstance(event, CollectionEndEvent)
            if level == 0:
                return

    def _tag(self, event: ScalarEvent | CollectionStartEvent, kind: type[yaml.Node]) -> str:
        if event.tag is not None and event.tag != "!":
            return event.tag
        resolve: Callable[..., str] = self.parser.resolve  # untyped in the stubs
        return resolve(
            kind, event.value if isinstance(event, ScalarEvent) else None, event.implicit
        )

    def _scalar(self, event: ScalarEvent, tag: str, loc: Loc) -> Any:
        if tag in _TEXT_TAGS:
            return event.value
        if tag not in _KINDS:
            return self._bad_tag(_line(event), tag, loc)
        try:
            return self.constructor.construct_object(ScalarNode(tag, event.value))
        except (ValueError, OverflowError) as exc:
            # e.g. `2026-13-45` matches YAML's date pattern but is no date.
            self.problem(
                _line(event),
                f"YAML reads unquoted {event.value} as {_KINDS[tag]}, but it is not a valid "
                f"one ({exc}); if it is text, quote it: {_quote(event.value)}",
            )
            self.reported.add(loc)
            return event.value

    def _bad_tag(self, line: int, tag: str, loc: Loc | None) -> None:
        shown = tag.replace(_YAML_TAG, "!!", 1)
        self.problem(
            line,
            f"the YAML tag {shown} is not allowed; remove it (suites use plain mappings, "
            "lists, text, numbers and booleans)",
        )
        if loc is not None:
            self.reported.add(loc)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------------------------- validating


def _where(loc: Loc) -> str:
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


def _found(source: _Source | None) -> str:
    if source is None:
        return "a value of another kind"
    if source.kind == "text" and source.text is not None:
        shown = source.text if len(source.text) <= 40 else source.text[:37] + "..."
        return f"text {_quote(shown)}"
    return source.kind


def _message(error: ErrorDetails, source: _Source | None) -> str:
    """Turn one pydantic error into a message that says what is wrong and what to do."""
    loc: Loc = tuple(error["loc"])
    where, kind, value = _where(loc), error["type"], error["input"]
    if kind == "missing":
        return f"{_where(loc[:-1])}: missing required key `{loc[-1]}`; add it"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        valid = [f.alias or name for name, f in model.model_fields.items()] if model else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        return f"{_where(loc[:-1])}: unknown key `{loc[-1]}`{hint}; valid keys: {', '.join(valid)}"
    if kind == "string_type" and source is not None and source.text is not None:
        if source.text == "" and value is None:
            return f"{where} is empty; write the text"
        return (
            f"{where} is {source.kind} (YAML reads unquoted {source.text} as "
            f"{_reading(value, source)}); quote it: {_quote(source.text)}"
        )
    if kind == "string_type":
        return (
            f"{where} must be text, found {_found(source)}; if the text contains ': ' or starts "
            "with '[' or '{', quote it"
        )
    if kind == "string_too_long" and loc[-1] == "user":
        return (
            f"{where} is {len(value):,} characters long; the service accepts at most "
            f"{MAX_INPUT_CHARS:,} characters per message; shorten it"
        )
    if kind == "string_pattern_mismatch" and loc[-1] == "id":
        return (
            f"{where} {value!r} is not a valid id; use letters, digits, `_`, `.` and `-`, "
            "starting with a letter or digit"
        )
    if kind == "too_short":
        item = {"conversations": "conversation", "turns": "turn"}.get(str(loc[-1]), "item")
        return f"{where} is empty; add at least one {item}"
    if kind == "literal_error":
        shown = source.text if source and source.text is not None else repr(value)
        return f"{where} is `{shown}`; use one of {error.get('ctx', {}).get('expected', '')}"
    if kind in _SHAPES:
        return f"{where} must be {_SHAPES[kind]}, found {_found(source)}"
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"


def _reading(value: Any, source: _Source) -> str:
    """What YAML turned a scalar into, in words: `false`, `the number 750`, `a date`."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float) and str(value) != source.text:
        return f"the number {value}"
    return source.kind


def _check(reader: _Reader, data: dict[str, Any]) -> Suite | None:
    """Validate `data` as a `Suite` and cross-check it; problems go to `reader`."""
    suite = None
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc: Loc = tuple(error["loc"])
            if any(loc[:i] in reader.reported for i in range(len(loc) + 1)):
                continue
            # A missing key, or a loc inside a parsed expectation, has no line of its own.
            at = next(loc[:i] for i in range(len(loc), -1, -1) if loc[:i] in reader.sources)
            reader.problem(reader.sources[at].line, _message(error, reader.sources.get(loc)))
    conversations = data.get("conversations")
    first: dict[str, int] = {}
    for index, conversation in enumerate(conversations if isinstance(conversations, list) else []):
        ident = conversation.get("id") if isinstance(conversation, dict) else None
        if not isinstance(ident, str):
            continue
        line = reader.sources[("conversations", index, "id")].line
        if ident in first:
            reader.problem(
                line,
                f"duplicate conversation id '{ident}' (first at line {first[ident]}); ids must "
                "be unique within a suite, rename one",
            )
        first.setdefault(ident, line)
    return suite


# ---------------------------------------------------------------------------------- files


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "invalid YAML"
    context = f" ({exc.context}, line {exc.context_mark.line + 1})" if exc.context_mark else ""
    hint = next(
        (h for k, h in _SYNTAX_HINTS.items() if k in problem), "check indentation and quoting"
    )
    return f"YAML syntax error: {problem}{context}; {hint}"


def _parse(path: str, data: bytes) -> LoadedSuite | list[Problem]:
    """Load the bytes of one suite file: the suite, or every problem found in it."""
    try:
        text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = f"0x{data[exc.start]:02x}"
        return [Problem(path, line, f"the file is not UTF-8 (byte {byte}); save it as UTF-8")]
    if bad := _NON_PRINTABLE.search(text):
        line = len(_LINE_BREAK.findall(text, 0, bad.start())) + 1
        char = f"U+{ord(bad.group()):04X}"
        return [Problem(path, line, f"character {char} is not allowed in YAML; remove it")]
    reader = _Reader(text)
    present, value, suite = False, None, None
    try:
        present, value = reader.document()
    except _Fatal as exc:
        reader.problem(exc.line, exc.message)
    except yaml.MarkedYAMLError as exc:
        reader.problem(exc.problem_mark.line + 1 if exc.problem_mark else 0, _syntax_message(exc))
    except yaml.YAMLError as exc:  # reader errors are pre-empted above; kept as a safety net
        reader.problem(0, f"YAML error: {exc}")
    finally:
        reader.parser.dispose()
    if not present and not reader.problems:
        reader.problem(0, "the file is empty; a suite needs `suite`, `form` and `conversations`")
    elif present and isinstance(value, dict):
        suite = _check(reader, value)
    elif present and () not in reader.reported:
        reader.problem(
            reader.sources[()].line,
            "a suite must be a mapping with `suite`, `form` and `conversations`, found "
            + _found(reader.sources[()]),
        )
    if suite is None or reader.problems:
        return [Problem(path, line, message) for line, message in reader.problems]
    return LoadedSuite(
        suite=suite,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        conversation_lines=[
            reader.sources[("conversations", i)].line for i in range(len(suite.conversations))
        ],
    )


def _read(path: str) -> LoadedSuite | list[Problem]:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # never more: the cap holds for any file
            size = max(os.fstat(file.fileno()).st_size, len(data))
    except OSError as exc:
        what = "is a directory" if isinstance(exc, IsADirectoryError) else exc.strerror
        return [Problem(path, 0, f"cannot read the file ({what}); give a readable suite file")]
    if size > MAX_FILE_BYTES:
        cap = f"{MAX_FILE_BYTES // 2**20} MiB"
        message = f"the file is {size / 2**20:.1f} MiB; suite files may be at most {cap}, split it"
        return [Problem(path, 0, message)]
    return _parse(path, data)


def _walk(directory: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        # Hidden directories (.git, .venv) never hold suites, and can be large.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / name for name in files if name.endswith(SUITE_SUFFIX))
    return sorted(found, key=lambda p: p.relative_to(directory).parts)


def _discover(paths: Sequence[str | Path]) -> tuple[list[Path], list[Problem]]:
    found: list[Path] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    empty_dirs: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = _walk(path)
            if not files:
                empty_dirs.append(os.fspath(given))
        elif path.is_file():
            files = [path]
        else:
            what = "is not a file or directory" if path.exists() else "does not exist"
            problems.append(
                Problem(os.fspath(given), 0, f"{what}; give a suite file or a directory")
            )
            continue
        for file in files:
            key = os.path.realpath(file)
            if key not in seen:  # the same file named twice (or via its directory) loads once
                seen.add(key)
                found.append(file)
    if not found and not problems:
        message = (
            f"no suite files (*{SUITE_SUFFIX}) found; give a suite file or a directory holding some"
        )
        problems.extend(Problem(d, 0, message) for d in empty_dirs or ["<no paths>"])
    return found, problems


def discover(paths: Sequence[str | Path]) -> list[Path]:
    """Find the suite files named by `paths`.

    Args:
        paths: Files (taken as given, whatever their name) and directories (searched recursively
            for `*.eval.yaml`, hidden directories skipped, in sorted order).

    Returns:
        The files, in the order given, each once.

    Raises:
        SuiteError: A path does not exist, or no suite file was found at all.
    """
    found, problems = _discover(paths)
    if problems:
        raise SuiteError(problems)
    return found


def load_suite(path: str | Path) -> LoadedSuite:
    """Read and validate one suite file.

    Args:
        path: The file; kept as given in `LoadedSuite.path` and in problems.

    Returns:
        The validated suite, its hash and the line of each conversation.

    Raises:
        SuiteError: Every problem found in the file.
    """
    result = _read(os.fspath(path))
    if isinstance(result, list):
        raise SuiteError(result)
    return result


def load_suites(paths: Sequence[str | Path]) -> list[LoadedSuite]:
    """Discover and load every suite under `paths`, all or nothing.

    Args:
        paths: Files and directories, as for `discover`.

    Returns:
        The loaded suites, in discovery order.

    Raises:
        SuiteError: Every problem of every file (and of discovery) at once.
    """
    files, problems = _discover(paths)
    suites: list[LoadedSuite] = []
    for file in files:
        result = _read(os.fspath(file))
        if isinstance(result, list):
            problems.extend(result)
        else:
            suites.append(result)
    if problems:
        raise SuiteError(problems)
    return suites
