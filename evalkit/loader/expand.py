r"""The authoring syntax, expanded: `vars`, `include` and `matrix` → plain conversations.

Runs on the values the reader built, before validation, and keeps for every value of the result
the file and line it came from, so that a validation error inside an included file or a matrix
row still points at the right `file:line`.

- `vars:` (at the top of a suite, of an included fragment file, on an include item, on a
  conversation) define names; `{{ name }}` in any text of a conversation is replaced by the value
  (`{{ name.key }}` reaches into a mapping). A text that is only `"{{ name }}"` takes the value
  with its type (a number stays a number); inside longer text, the value is written as text.
  Nothing is ever evaluated: anything between `{{ }}` other than a name is an error. A backslash
  makes it literal: `'\{{7*7}}'` (in YAML double quotes, `"\\{{7*7}}"`) sends `{{7*7}}`, e.g. to
  test template injection; two backslashes before `{{` write one, then the value. Inner scopes
  win: matrix row > conversation > include item > fragment file > suite.
- `- include: path` in `conversations:` or in a conversation's `turns:` inserts the
  conversations (or turns) of another file: a YAML list, or a mapping with `vars` and
  `conversations` (or `turns`). Paths are relative to the including file; cycles are errors. An
  included file must be under the suites root (`evalkit.loader.scope`): anything else is refused
  before it is read. A file that is not a suite fragment is refused without showing what it
  holds (it may be any file of the machine: its content stays out of every message).
- `matrix:` on a conversation repeats it for each row of a table (a list of mappings), or for
  each combination of a mapping of lists. Each copy's id is the template id with its `{{ }}`
  filled in, or, without any, the id followed by the row's values: `age-thirty-two-32`.

Nothing here grows without bound: everything built is counted as it is built (`Expansion.size`:
a unit per character of text, and `NODE_SIZE` per value), and the expansion stops at the first
value that would take it over `MAX_EXPANDED_SIZE`, with that value's `file:line`. Text is counted
before it is made, and a value substituted whole before it is copied; text shared by many
copies counts once per copy, as it will be written once per copy (results, reports, `evalkit
expand`). A mapping matrix's combinations are counted before any is built.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from evalkit.errors import Problem
from evalkit.loader.reader import Document, Loc, Source, quote
from evalkit.loader.scope import SuiteScope
from evalkit.loader.values import (
    MAX_EXPANDED_SIZE,
    NODE_SIZE,
    as_text,
    is_fragment,
    kind_of,
    measure,
    shape_of,
    slug,
)

__all__ = ["MAX_CONVERSATIONS", "Expansion", "expand"]

MAX_CONVERSATIONS = 10_000
"""A suite may expand to at most this many conversations (a matrix multiplies quickly)."""
MAX_INCLUDE_DEPTH = 16
"""Includes nest at most this deep."""
_REFERENCE = re.compile(r"(\\*)\{\{(.*?)\}\}", re.DOTALL)
"""`{{ name }}`, with the backslashes just before it in group 1: an odd number makes the braces
literal; each pair before `{{` stands for one backslash (`\\\\{{ name }}` is a backslash, then the
value)."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+))*")


class _Literal(str):
    """Braces written with a backslash: text as it is, never a variable's value."""


Scope = dict[str, Any]
Kind = Literal["conversations", "turns"]


@dataclass
class Expansion:
    """A suite document with its authoring syntax expanded."""

    value: dict[str, Any]
    """The suite as the models read it."""
    sources: dict[Loc, Source] = field(default_factory=dict)
    """Where each value of `value` came from, by its loc in `value`."""
    reported: set[Loc] = field(default_factory=set)
    """Locs in `value` that already have a problem."""
    problems: list[Problem] = field(default_factory=list)
    """Problems of the expansion and of included files."""
    conversations: list[Source] = field(default_factory=list)
    """Where each conversation came from: its item, or its matrix row."""
    included: list[Document] = field(default_factory=list)
    """Every file included, once each, in the order first read."""
    size: int = 0
    """How much was built (see `MAX_EXPANDED_SIZE`)."""
    stopped: bool = False
    """True when the expansion stopped half-way (it grew too large): `value` is partial."""


class _TooLarge(Exception):
    """The expansion would exceed `MAX_EXPANDED_SIZE`; the problem is recorded already."""


class _Expander:
    def __init__(
        self,
        root: Document,
        read: Callable[[str], Document],
        scope: SuiteScope | None,
        budget: int = MAX_EXPANDED_SIZE,
    ) -> None:
        self.read = read
        self.scope = scope
        self.budget = budget
        self.out = Expansion(value={})
        self.cache: dict[str, Document] = {}
        self.row: tuple[Scope, Source] | None = None
        """The matrix row being expanded, so messages can name it."""
        self.copies = 1
        """How many copies of the conversation being expanded its matrix makes."""

    def problem(self, doc: Document, loc: Loc, message: str) -> None:
        self.out.problems.append(Problem(doc.path, doc.line(loc), message))

    def charge(
        self, units: int, doc: Document, loc: Loc, what: Callable[[], str] | None = None
    ) -> None:
        """Count what is about to be built; stop the expansion at the first excess.

        Args:
            units: Its size (see `Expansion.size`).
            doc: The file it comes from.
            loc: Where in that file.
            what: Says why it is large, for the message (called only on an excess).
        """
        if self.out.size + units > self.budget:
            cap = self.budget / 1e6
            shown = f"{cap:.0f}" if cap >= 10 else f"{cap:.1f}"
            because = f" ({what()}; variables and matrix rows multiply)" if what else ""
            if not what and self.row is not None:
                because = f" (its matrix makes {self.copies:,} copies of this conversation)"
            self.problem(
                doc,
                loc,
                f"the suite would expand to more than {shown} MB here{because}; use smaller "
                "values or fewer references",
            )
            self.out.stopped = True
            raise _TooLarge
        self.out.size += units

    # ------------------------------------------------------------------ values

    def build(
        self, doc: Document, src: Loc, dst: Loc | None, value: Any, scope: Scope | None
    ) -> Any:
        """Copy `value` to `dst`, with its sources, filling in `{{ }}` when `scope` is given."""
        templated = isinstance(value, str) and scope is not None and "{{" in value
        text = len(value) if isinstance(value, str) and not templated else 0
        self.charge(NODE_SIZE + text, doc, src)  # a templated text is counted once it is made
        source = doc.sources.get(src)
        if dst is not None:
            if source is not None:
                self.out.sources[dst] = source
            if src in doc.reported:
                self.out.reported.add(dst)
        if isinstance(value, dict):
            return {
                k: self.build(doc, (*src, k), None if dst is None else (*dst, k), v, scope)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [
                self.build(doc, (*src, i), None if dst is None else (*dst, i), v, scope)
                for i, v in enumerate(value)
            ]
        if templated:
            return self.substitute(doc, src, dst, value, scope or {})
        return value

    def lookup(self, path: str, scope: Scope) -> tuple[bool, Any]:
        name, *rest = path.split(".")
        if name not in scope:
            return False, None
        value = scope[name]
        for part in rest:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return False, None
        return True, value

    def substitute(self, doc: Document, src: Loc, dst: Loc | None, text: str, scope: Scope) -> Any:
        refs = list(_REFERENCE.finditer(text))
        values: list[Any] = []
        for ref in refs:
            slashes, braces = ref.group(1), ref.group()[len(ref.group(1)) :]
            if len(slashes) % 2:  # `\{{ ... }}`: the braces as they are
                values.append(_Literal(slashes[: len(slashes) // 2] + braces))
                continue
            inner = ref.group(2).strip()
            if not _PATH.fullmatch(inner):
                self.problem(
                    doc,
                    src,
                    f"{quote(braces)} is not a variable reference: between {{{{ and }}}} "
                    "write only a variable name (evalkit never evaluates expressions); to send "
                    f"it as it is, write a backslash before it: {quote(chr(92) + braces)}",
                )
                return self.bad(dst, text)
            known, value = self.lookup(inner, scope)
            if not known:
                defined = ", ".join(sorted(scope)) or "none"
                self.problem(
                    doc, src, f"unknown variable `{inner}` in {quote(text)}; defined: {defined}"
                )
                return self.bad(dst, text)
            values.append(value)
        if len(refs) == 1 and refs[0].group() == text and not refs[0].group(1):
            size = measure(values[0], self.budget - self.out.size)
            self.charge(size, doc, src, lambda: f"`{text}` is {size / 1e6:.1f} MB or more")
            if dst is not None and (source := doc.sources.get(src)) is not None:
                via = text
                if self.row is not None and refs[0].group(2).strip().split(".")[0] in self.row[0]:
                    row = self.row[1]
                    where = (
                        f"line {row.line}" if row.path == source.path else f"{row.path}:{row.line}"
                    )
                    via += f", matrix row at {where}"
                self.out.sources[dst] = Source(
                    source.path, source.line, kind_of(values[0]), via=via
                )
            return copy.deepcopy(values[0])
        pieces: list[str] = []
        last = 0
        for ref, value in zip(refs, values, strict=True):
            if isinstance(value, _Literal):
                shown: str | None = str(value)
            else:  # an even run of backslashes before it: half of them, then the value
                shown = as_text(value)
                if shown is not None:
                    shown = ref.group(1)[: len(ref.group(1)) // 2] + shown
            if shown is None:
                self.problem(
                    doc,
                    src,
                    f"{quote(ref.group())} is {kind_of(value)}; only text, numbers, booleans and "
                    "dates can be written inside text (use the reference alone as the value)",
                )
                return self.bad(dst, text)
            pieces += [text[last : ref.start()], shown]
            last = ref.end()
        pieces.append(text[last:])

        def longest() -> str:
            length, ref = max((len(p), r.group()) for p, r in zip(pieces[1::2], refs, strict=True))
            return f"`{ref}` is {length:,} characters long"

        self.charge(sum(map(len, pieces)), doc, src, longest)  # before the text is made
        return "".join(pieces)

    def bad(self, dst: Loc | None, text: str) -> str:
        if dst is not None:
            self.out.reported.add(dst)
        return text

    def variables(self, doc: Document, loc: Loc, value: Any, outer: Scope) -> Scope:
        """Read a `vars:` mapping; its values may use the variables of the enclosing scope."""
        if not isinstance(value, dict):
            self.problem(doc, loc, "`vars` must be a mapping of names to values")
            return {}
        for name in value:
            if not _NAME.fullmatch(name):
                self.problem(
                    doc,
                    (*loc, name),
                    f"variable name `{name}` is not valid; use letters, digits and `_`, "
                    "not starting with a digit",
                )
        built: Scope = self.build(doc, loc, None, value, outer)
        return built

    # ------------------------------------------------------------------ includes

    def include(
        self,
        doc: Document,
        loc: Loc,
        item: dict[str, Any],
        kind: Kind,
        scope: Scope,
        stack: tuple[str, ...],
    ) -> tuple[Document, Loc, list[Any], Scope, tuple[str, ...]] | None:
        """Read the fragment an include item names: its document, items and scope."""
        extra = sorted(set(item) - {"include", "vars"})
        if extra:
            self.problem(
                doc,
                (*loc, extra[0]),
                f"an include item takes only `include` and `vars`, not `{extra[0]}`; "
                "put other keys in the included file",
            )
        target = item["include"]
        if not isinstance(target, str) or not target.strip() or os.path.isabs(target):
            self.problem(
                doc,
                (*loc, "include"),
                "`include` takes a file path relative to this file, e.g. fragments/intro.yaml",
            )
            return None
        path = os.path.normpath(os.path.join(os.path.dirname(doc.path), target))
        real = os.path.realpath(path)
        if self.scope is not None and not self.scope.contains(path):
            self.problem(
                doc,
                (*loc, "include"),
                f"include {target} leaves the suites root ({self.scope.describe()}); keep "
                "included files under it, or widen it with --includes-root DIR (or `suites` in "
                "[tool.evalkit])",
            )
            return None
        if real in stack or len(stack) > MAX_INCLUDE_DEPTH:
            chain = " → ".join([*(os.path.basename(p) for p in stack), os.path.basename(real)])
            what = "an include cycle" if real in stack else "includes nested too deep"
            self.problem(doc, (*loc, "include"), f"{what}: {chain}; remove one of the includes")
            return None
        fragment = self.cache.get(real)
        if fragment is None:
            fragment = self.cache[real] = self.read(path)
            self.out.included.append(fragment)
            if fragment.present and not is_fragment(fragment.value):
                # Some other file: its own problems (duplicate keys, ...) would show its content.
                fragment.problems = [
                    Problem(
                        doc.path,
                        doc.line((*loc, "include")),
                        f"{target} is not a suite fragment (it holds {shape_of(fragment.value)}); "
                        f"an included file holds a list of {kind}, or a mapping with `{kind}:` "
                        "(and optionally `vars:`)",
                    )
                ]
            self.out.problems += fragment.problems
        if fragment.problems:
            return None
        value, items = fragment.value, None
        where: Loc = ()
        own: Scope = {}
        if isinstance(value, list):
            items = value
        elif isinstance(value, dict):
            other: Kind = "turns" if kind == "conversations" else "conversations"
            if other in value and kind not in value:
                self.problem(
                    doc,
                    (*loc, "include"),
                    f"{target} holds {other}, not {kind}; include it under `{other}:`",
                )
                return None
            for key in sorted(set(value) - {"vars", kind}):
                self.problem(
                    fragment,
                    (key,),
                    f"unknown key `{key}` in an included file; valid keys: vars, {kind}",
                )
            if "vars" in value:
                own = self.variables(fragment, ("vars",), value["vars"], scope)
            items, where = value.get(kind), (kind,)
        if not isinstance(items, list):
            self.problem(
                fragment,
                where,
                f"an included file holds a list of {kind}, or a mapping with `{kind}:` "
                "(and optionally `vars:`)",
            )
            return None
        site = self.variables(doc, (*loc, "vars"), item["vars"], scope) if "vars" in item else {}
        return fragment, where, items, {**scope, **own, **site}, (*stack, real)

    # ------------------------------------------------------------------ conversations

    def conversations(
        self, doc: Document, loc: Loc, items: list[Any], scope: Scope, stack: tuple[str, ...]
    ) -> None:
        out: list[Any] = self.out.value["conversations"]
        for index, item in enumerate(items):
            here = (*loc, index)
            if isinstance(item, dict) and "include" in item:
                found = self.include(doc, here, item, "conversations", scope, stack)
                if found is not None:
                    self.conversations(*found)
            elif isinstance(item, dict):
                self.conversation(doc, here, item, scope, stack)
            else:  # not a mapping: validation says so, at its line
                self.out.conversations.append(doc.sources[here])
                out.append(self.build(doc, here, ("conversations", len(out)), item, scope))

    def matrix(self, doc: Document, loc: Loc, value: Any, scope: Scope) -> list[tuple[Scope, Loc]]:
        rows: list[tuple[Scope, Loc]] = []
        if isinstance(value, list):
            for index, row in enumerate(value):
                if not isinstance(row, dict) or not row:
                    self.problem(doc, (*loc, index), "a matrix row is a mapping of names to values")
                    continue
                rows.append((self.variables(doc, (*loc, index), row, scope), (*loc, index)))
        elif isinstance(value, dict) and all(isinstance(v, list) and v for v in value.values()):
            count = math.prod(len(v) for v in value.values())
            if count > MAX_CONVERSATIONS:
                self.problem(
                    doc,
                    loc,
                    f"the matrix makes {count:,} combinations; a suite expands to at most "
                    f"{MAX_CONVERSATIONS:,} conversations: shrink the matrix or split it",
                )
                return []
            table = self.variables(doc, loc, value, scope)
            names = list(table)
            for combination in itertools.product(*table.values()):
                self.charge(NODE_SIZE * (len(names) + 1), doc, loc)
                rows.append((dict(zip(names, combination, strict=True)), loc))
        else:
            self.problem(
                doc,
                loc,
                "`matrix` is a list of rows (`- {name: value, ...}`) or a mapping of names to "
                "non-empty lists of values (every combination is run)",
            )
        if not rows and isinstance(value, list):
            self.problem(doc, loc, "`matrix` is empty; add at least one row")
        return rows

    def conversation(
        self, doc: Document, loc: Loc, item: dict[str, Any], scope: Scope, stack: tuple[str, ...]
    ) -> None:
        out: list[Any] = self.out.value["conversations"]
        if "vars" in item:
            scope = {**scope, **self.variables(doc, (*loc, "vars"), item["vars"], scope)}
        rows: list[tuple[Scope | None, Loc]] = [(None, loc)]
        if "matrix" in item:
            rows = [*self.matrix(doc, (*loc, "matrix"), item["matrix"], scope)]
        template = item.get("id")
        self.copies = len(rows)
        for row, row_loc in rows:
            if len(out) >= MAX_CONVERSATIONS:
                self.problem(
                    doc,
                    loc,
                    f"the suite expands to more than {MAX_CONVERSATIONS:,} "
                    "conversations; split it or shrink the matrix",
                )
                return
            here = {**scope, **row} if row is not None else scope
            dst: Loc = ("conversations", len(out))
            self.out.sources[dst] = doc.sources.get(row_loc) or doc.sources[loc]
            self.row = (row, self.out.sources[dst]) if row is not None else None
            conversation: dict[str, Any] = {}
            for key, value in item.items():
                if key in ("vars", "matrix"):
                    continue
                if key == "turns" and isinstance(value, list):
                    self.build(doc, (*loc, key), (*dst, key), [], None)  # the list's own line
                    conversation[key] = []
                    self.turns(doc, (*loc, key), value, here, stack, conversation[key], dst)
                else:
                    conversation[key] = self.build(doc, (*loc, key), (*dst, key), value, here)
            self.row = None
            ident = conversation.get("id")
            if (
                row
                and isinstance(template, str)
                and "{{" not in template
                and isinstance(ident, str)
            ):
                conversation["id"] = f"{ident}-{slug(row) or len(out)}"
            if row is not None and (*dst, "id") in self.out.sources:
                # A matrix copy's id is the row's doing: point at the row.
                row_source = self.out.sources[dst]
                self.out.sources[(*dst, "id")] = Source(row_source.path, row_source.line, "text")
            self.out.conversations.append(self.out.sources[dst])
            out.append(conversation)

    def turns(
        self,
        doc: Document,
        loc: Loc,
        items: list[Any],
        scope: Scope,
        stack: tuple[str, ...],
        out: list[Any],
        conversation: Loc,
    ) -> None:
        for index, item in enumerate(items):
            here = (*loc, index)
            if isinstance(item, dict) and "include" in item:
                found = self.include(doc, here, item, "turns", scope, stack)
                if found is not None:
                    fragment, where, fitems, fscope, fstack = found
                    self.turns(fragment, where, fitems, fscope, fstack, out, conversation)
            else:
                out.append(self.build(doc, here, (*conversation, "turns", len(out)), item, scope))


def expand(
    root: Document,
    read: Callable[[str], Document],
    scope: SuiteScope | None = None,
    *,
    budget: int = MAX_EXPANDED_SIZE,
) -> Expansion:
    """Expand a suite document whose value is a mapping.

    Args:
        root: The suite file, read.
        read: Reads an included file (by path as joined to the including file's folder).
        scope: The roots included files must be under; None: anywhere (for a caller that
            confines paths itself; every loader entry point gives one).
        budget: The most the expansion may build (see `Expansion.size`).

    Returns:
        The expanded suite, its sources and every problem found on the way; `stopped` when it
        grew too large (then `value` is partial and only the excess is reported).
    """
    expander = _Expander(root, read, scope, budget)
    with contextlib.suppress(_TooLarge):  # stopped at the first excess, already reported
        _expand(expander, root)
    return expander.out


def _expand(expander: _Expander, root: Document) -> None:
    data: dict[str, Any] = root.value
    scope = expander.variables(root, ("vars",), data["vars"], {}) if "vars" in data else {}
    result = expander.out.value
    expander.build(root, (), (), {}, None)  # the top level's own line
    for key, value in data.items():
        if key == "vars":
            continue
        if key == "conversations" and isinstance(value, list):
            expander.build(root, (key,), (key,), [], None)
            result[key] = []
            expander.conversations(root, (key,), value, scope, (os.path.realpath(root.path),))
        else:
            result[key] = expander.build(root, (key,), (key,), value, None)
