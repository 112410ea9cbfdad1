"""Safe YAML reading: one document → plain values, each remembering its file, line and source text.

pyyaml's safe parser is used as an event source only (`CSafeLoader` when libyaml is present), and
values are built here from the events (see design §7):

- aliases and anchors, tags other than YAML's plain types, duplicate keys, several documents and
  files over `MAX_FILE_BYTES` are errors;
- mapping keys are always read as text (a field target `no:` stays `"no"`); other values keep
  YAML's reading (an unquoted `1990-05-04` in `expect` or `prefill` is a `datetime.date`);
- every value's line and original text are kept in `Document.sources`, so that a later problem
  (a validation error, a string YAML read as a boolean) can point at `file:line`.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
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

from evalkit.errors import Problem

__all__ = ["MAX_FILE_BYTES", "MAX_NESTING", "Document", "Loc", "Source", "quote", "read_file"]

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
_SYNTAX_HINTS = {
    "mapping values are not allowed": "a value containing ': ' must be quoted",
    "cannot start any token": "indent with spaces, not tabs, and quote values starting with @ or `",
    "found undefined alias": "aliases are not allowed; write the value out",
}


@dataclass(frozen=True)
class Source:
    """What a file said at one location."""

    path: str
    """The file, as the user named it (an included file: joined to the including file's folder)."""
    line: int
    """Line of the value; for a mapping entry, the line of its key."""
    kind: str
    """What YAML made of it, for messages: "a mapping", "a list", "text", "a boolean", ..."""
    text: str | None = None
    """The original text of a scalar (`no`, not False)."""
    via: str | None = None
    """The `{{ variable }}` text this value was substituted from, if it was."""


@dataclass
class Document:
    """One YAML file, read: its value, where each part came from, and its problems."""

    path: str
    """The file, as named."""
    data: bytes = b""
    """Its bytes (hashed into run metadata)."""
    present: bool = False
    """False for an empty file."""
    value: Any = None
    """The document's value."""
    sources: dict[Loc, Source] = field(default_factory=dict)
    """Where each value came from, by loc."""
    problems: list[Problem] = field(default_factory=list)
    """Everything wrong with the file."""
    reported: set[Loc] = field(default_factory=set)
    """Values that already have a problem; validation errors at or under them are dropped."""

    def problem(self, line: int, message: str) -> None:
        """Record a problem at `line` of this file."""
        self.problems.append(Problem(self.path, line, message))

    def line(self, loc: Loc) -> int:
        """The line of the value at `loc`, or of its nearest ancestor that has one."""
        for end in range(len(loc), -1, -1):
            if (source := self.sources.get(loc[:end])) is not None:
                return source.line
        return 0


class _Fatal(Exception):
    """Stops reading a file: nothing after this point can be trusted."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _line(event: Event | None) -> int:
    return event.start_mark.line + 1 if event and event.start_mark is not None else 0


def quote(text: str) -> str:
    """Quote text the way a user would fix it in YAML: single quotes, doubled inside."""
    return "'" + text.replace("'", "''") + "'"


class _Reader:
    """Builds plain values from the YAML parser's events, remembering where each came from.

    pyyaml's composer expands aliases ("billion laughs") and, under libyaml, runs in C where it
    cannot be refined; reading the events here instead keeps every value's line and source text.
    """

    def __init__(self, doc: Document, text: str) -> None:
        # Chosen at call time, so a test can run the pure-Python fallback by patching the flag.
        self.parser = yaml.CSafeLoader(text) if yaml.__with_libyaml__ else yaml.SafeLoader(text)
        self.doc = doc
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
            self.doc.problem(
                _line(self.parser.get_event()),
                "a suite file holds one YAML document, but a second one starts here; "
                "remove the `---` line or move what follows into its own file",
            )
        return True, value

    def _source(self, loc: Loc, line: int, kind: str, text: str | None = None) -> None:
        self.doc.sources[loc] = Source(self.doc.path, line, kind, text)

    def _event(self) -> Event:
        event: Event | None = self.parser.get_event()
        if event is None:  # the parser raises before it runs out of events
            raise _Fatal(0, "the YAML ends unexpectedly")
        return event

    def _value(self, loc: Loc, depth: int, line: int | None) -> Any:
        event = self._event()
        line = line or _line(event)
        if isinstance(event, AliasEvent):
            self.doc.problem(
                _line(event),
                f"YAML aliases (*{event.anchor}) are not allowed; write the value out",
            )
            self._source(loc, line, "an alias")
            self.doc.reported.add(loc)
            return None
        if not isinstance(event, ScalarEvent | CollectionStartEvent):  # the grammar forbids it
            raise _Fatal(line, f"unexpected YAML {type(event).__name__}")
        if event.anchor is not None:
            self.doc.problem(
                _line(event),
                f"YAML anchors (&{event.anchor}) are not allowed; "
                "write the value out where it is used",
            )
        if isinstance(event, ScalarEvent):
            tag = self._tag(event, ScalarNode)
            self._source(loc, line, _KINDS.get(tag, "text"), event.value)
            return self._scalar(event, tag, loc)
        if depth > MAX_NESTING:
            raise _Fatal(line, f"the YAML nests deeper than {MAX_NESTING} levels; flatten it")
        value: Any
        if isinstance(event, SequenceStartEvent):
            self._source(loc, line, "a list")
            tag, value = self._tag(event, SequenceNode), self._sequence(loc, depth)
        else:
            self._source(loc, line, "a mapping")
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
                    self.doc.problem(line, "YAML aliases are not allowed; write the key out")
                else:
                    self.doc.problem(line, "a key must be a plain name, not a list or mapping")
                    self._skip(1)
                self._skip(0)
                continue
            tag, key = self._tag(event, ScalarNode), event.value
            if tag == f"{_YAML_TAG}merge":
                self.doc.problem(line, "YAML merge keys (<<) are not allowed; write the keys out")
            elif tag not in _KINDS:
                self._bad_tag(line, tag, None)
            elif key in first:
                self.doc.problem(
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
            self.doc.problem(
                _line(event),
                f"YAML reads unquoted {event.value} as {_KINDS[tag]}, but it is not a valid "
                f"one ({exc}); if it is text, quote it: {quote(event.value)}",
            )
            self.doc.reported.add(loc)
            return event.value

    def _bad_tag(self, line: int, tag: str, loc: Loc | None) -> None:
        shown = tag.replace(_YAML_TAG, "!!", 1)
        self.doc.problem(
            line,
            f"the YAML tag {shown} is not allowed; remove it (suites use plain mappings, "
            "lists, text, numbers and booleans)",
        )
        if loc is not None:
            self.doc.reported.add(loc)


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "invalid YAML"
    context = f" ({exc.context}, line {exc.context_mark.line + 1})" if exc.context_mark else ""
    hint = next(
        (h for k, h in _SYNTAX_HINTS.items() if k in problem), "check indentation and quoting"
    )
    return f"YAML syntax error: {problem}{context}; {hint}"


def parse_bytes(path: str, data: bytes) -> Document:
    """Read the bytes of one YAML file into a `Document` (problems recorded on it)."""
    doc = Document(path, data)
    try:
        text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = f"0x{data[exc.start]:02x}"
        doc.problem(line, f"the file is not UTF-8 (byte {byte}); save it as UTF-8")
        return doc
    if bad := _NON_PRINTABLE.search(text):
        line = len(_LINE_BREAK.findall(text, 0, bad.start())) + 1
        doc.problem(line, f"character U+{ord(bad.group()):04X} is not allowed in YAML; remove it")
        return doc
    reader = _Reader(doc, text)
    try:
        doc.present, doc.value = reader.document()
    except _Fatal as exc:
        doc.problem(exc.line, exc.message)
    except yaml.MarkedYAMLError as exc:
        doc.problem(exc.problem_mark.line + 1 if exc.problem_mark else 0, _syntax_message(exc))
    except yaml.YAMLError as exc:  # reader errors are pre-empted above; kept as a safety net
        doc.problem(0, f"YAML error: {exc}")
    finally:
        reader.parser.dispose()
    return doc


def read_file(path: str) -> Document:
    """Read one YAML file, refusing files over `MAX_FILE_BYTES` before parsing them."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # never more: the cap holds for any file
            size = max(os.fstat(file.fileno()).st_size, len(data))
    except OSError as exc:
        doc = Document(path)
        what = "is a directory" if isinstance(exc, IsADirectoryError) else exc.strerror
        doc.problem(0, f"cannot read the file ({what}); give a readable suite file")
        return doc
    if size > MAX_FILE_BYTES:
        doc = Document(path)
        cap = f"{MAX_FILE_BYTES // 2**20} MiB"
        doc.problem(
            0, f"the file is {size / 2**20:.1f} MiB; suite files may be at most {cap}, split it"
        )
        return doc
    return parse_bytes(path, data)
