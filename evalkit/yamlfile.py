"""The one safe YAML reader: one document → plain values, each remembering its file, line and text.

Suites (`evalkit.loader`), the emulator's form files and its knob profiles are all read here, and
pyyaml is imported nowhere else that reads. Its safe parser is used as an event source only
(`CSafeLoader` when libyaml is present), and values are built here from the events, in one parse
(see design §7):

- aliases (and, for suites, anchors), tags other than YAML's plain types, duplicate keys, several
  documents, nesting deeper than `MAX_NESTING` and files over `MAX_FILE_BYTES` are errors;
- mapping keys are always read as text (a field target `no:` stays `"no"`); other values keep
  YAML's reading (an unquoted `1990-05-04` in `expect` or `prefill` is a `datetime.date`);
- every value's line and original text are kept in `Document.sources`, so that a later problem
  (a validation error, a string YAML read as a boolean) can point at `file:line`.

`validation_problems` is the one translation of a pydantic `ValidationError` into located
`Problem`s; `Document.validate` reads a whole file into a model with it.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

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

from evalkit.errors import Problem

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "YAML_FILE",
    "Describe",
    "Document",
    "FileKind",
    "Loc",
    "Source",
    "locate",
    "parse_bytes",
    "quote",
    "read_file",
    "validation_problems",
]

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Files larger than this are refused (a suite or a form this big is better split)."""
MAX_NESTING = 64
"""Deepest nesting of YAML collections accepted; a suite needs about eight."""

Loc = tuple[str | int, ...]
"""Where a value sits in the document, as pydantic's `loc`: keys and list indices from the top."""

_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True)
class FileKind:
    """A kind of YAML file: what messages call it, and the little that differs between kinds."""

    name: str = "YAML file"
    """What one file is called: "a suite file holds one YAML document"."""
    plural: str = "YAML files"
    """What such files are called in advice: "(suites use plain mappings, ...)"."""
    keys: str = "`key: value` lines"
    """What its top level holds: "a form file must be a mapping (key, id, name, ...)"."""
    syntax: str = "YAML syntax error"
    """How a syntax error's message starts."""
    refuse_anchors: bool = False
    """Refuse anchors (`&name`) too, even when no alias uses them (aliases are always refused)."""


YAML_FILE = FileKind()
"""A YAML file of no particular kind."""

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
    kind: FileKind = field(default=YAML_FILE, repr=False)
    """What kind of file it is (for messages)."""
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
        source = locate(self.sources, loc)
        return source.line if source is not None else 0

    def validate(self, model: type[_Model], describe: Describe | None = None) -> _Model | None:
        """Validate the document's value as `model`, recording every problem on the document.

        A document that already has problems is not validated (what it holds may be partial).

        Args:
            model: The pydantic model the top-level mapping must satisfy.
            describe: Words for one validation error (see `validation_problems`); by default,
                the error's location and pydantic's message: `fields.0.label: Field required`.

        Returns:
            The model, or None when the document has any problem.
        """
        if self.problems:
            return None
        if not isinstance(self.value, dict):
            what = f"a {self.kind.name} must be a mapping ({self.kind.keys})"
            self.problem(self.line(()) or 1, what)
            return None
        try:
            return model.model_validate(self.value)
        except ValidationError as exc:
            self.problems += validation_problems(
                exc,
                self.sources,
                describe or self._describe,
                reported=self.reported,
                path=self.path,
            )
            return None

    def _describe(self, error: ErrorDetails, source: Source | None) -> str:
        label = ".".join(str(part) for part in error["loc"]) or self.kind.name
        return f"{label}: {error['msg']}"


Describe = Callable[[ErrorDetails, Source | None], str | None]
"""Words for one pydantic error, given the source of its value (None: nothing there); None drops
the error (it is already reported another way)."""


def locate(sources: Mapping[Loc, Source], loc: Loc) -> Source | None:
    """The source of the value at `loc`, or of its nearest ancestor that has one."""
    for end in range(len(loc), -1, -1):
        if (source := sources.get(loc[:end])) is not None:
            return source
    return None


def validation_problems(
    error: ValidationError,
    sources: Mapping[Loc, Source],
    describe: Describe,
    *,
    reported: Collection[Loc] = (),
    path: str = "",
) -> list[Problem]:
    """Translate a pydantic `ValidationError` into located problems, one per error.

    Args:
        error: What `model_validate` raised for a value read by this module.
        sources: Where each value came from, by loc (`Document.sources`, or the sources of a value
            assembled from several documents); an error is placed at its value's line, or at
            the nearest ancestor's (a missing key: at its mapping).
        describe: The words of each problem; returning None drops the error.
        reported: Values that already have a problem: errors at or under them are dropped.
        path: The file named by an error no source locates (then at line 0).

    Returns:
        The problems, in pydantic's order.
    """
    problems: list[Problem] = []
    for details in error.errors(include_url=False):
        loc: Loc = tuple(details["loc"])
        if any(loc[:end] in reported for end in range(len(loc) + 1)):
            continue
        if (text := describe(details, sources.get(loc))) is None:
            continue
        at = locate(sources, loc)
        problems.append(Problem(at.path if at else path, at.line if at else 0, text))
    return problems


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
                f"a {self.doc.kind.name} holds one YAML document, but a second one starts here; "
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
        if event.anchor is not None and self.doc.kind.refuse_anchors:
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
            f"the YAML tag {shown} is not allowed; remove it ({self.doc.kind.plural} use plain "
            "mappings, lists, text, numbers and booleans)",
        )
        if loc is not None:
            self.doc.reported.add(loc)


def _syntax_message(exc: yaml.MarkedYAMLError, kind: FileKind) -> str:
    problem = exc.problem or "invalid YAML"
    context = f" ({exc.context}, line {exc.context_mark.line + 1})" if exc.context_mark else ""
    hint = next(
        (h for k, h in _SYNTAX_HINTS.items() if k in problem), "check indentation and quoting"
    )
    return f"{kind.syntax}: {problem}{context}; {hint}"


def parse_bytes(path: str, data: bytes, kind: FileKind = YAML_FILE) -> Document:
    """Read the bytes of one YAML file into a `Document` (problems recorded on it).

    Args:
        path: The file, as named (kept in the document and in its problems).
        data: Its bytes.
        kind: What kind of file it is, for messages.

    Returns:
        The document; `present` is False for an empty file.
    """
    doc = Document(path, data, kind)
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
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        doc.problem(line, _syntax_message(exc, kind))
    except yaml.YAMLError as exc:  # reader errors are pre-empted above; kept as a safety net
        doc.problem(0, f"YAML error: {exc}")
    finally:
        reader.parser.dispose()
    return doc


_NOT_REGULAR = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file"),
    (stat.S_ISCHR, "is a character device, not a regular file"),
    (stat.S_ISBLK, "is a block device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)


def _not_regular(mode: int) -> str | None:
    """Why a file of this mode is not read: only regular files are (a FIFO would block)."""
    if stat.S_ISREG(mode):
        return None
    return next((why for test, why in _NOT_REGULAR if test(mode)), "is not a regular file")


def read_file(path: str, kind: FileKind = YAML_FILE) -> Document:
    """Read one YAML file, refusing files over `MAX_FILE_BYTES` before parsing them.

    Only regular files are read: a directory, a FIFO, a device (`/dev/stdin`) or a socket is a
    problem, found with `os.stat` before the file is opened, so reading never blocks.

    Args:
        path: The file, as named (kept in the document and in its problems).
        kind: What kind of file it is, for messages.

    Returns:
        The document, with every problem found (an unreadable or oversized file: one problem).
    """
    doc = Document(path, kind=kind)
    data, size = b"", 0
    try:
        why = _not_regular(os.stat(path).st_mode)
        if why is None:
            flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
            with os.fdopen(os.open(path, flags), "rb") as file:
                status = os.fstat(file.fileno())
                why = _not_regular(status.st_mode)  # swapped since the first look
                if why is None:
                    data = file.read(MAX_FILE_BYTES + 1)  # never more: the cap holds for any file
                    size = max(status.st_size, len(data))
    except OSError as exc:
        why = "is a directory" if isinstance(exc, IsADirectoryError) else exc.strerror
    if why is not None:
        doc.problem(0, f"cannot read the file ({why}); give a readable {kind.name}")
        return doc
    if size > MAX_FILE_BYTES:
        cap = f"{MAX_FILE_BYTES // 2**20} MiB"
        doc.problem(
            0, f"the file is {size / 2**20:.1f} MiB; {kind.name}s may be at most {cap}, split it"
        )
        return doc
    return parse_bytes(path, data, kind)
