"""Suite files → validated `LoadedSuite`s: discovery, reading, expansion, validation.

Every problem of every file is collected before one `SuiteError` is raised, so nothing is ever
half-loaded.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from evalkit.errors import Problem, SuiteError
from evalkit.loader.expand import Expansion, expand
from evalkit.loader.messages import found, message, where
from evalkit.loader.reader import Document, Loc, parse_bytes, read_file
from evalkit.matchers import resolve_custom
from evalkit.suite import Check, LoadedSuite, Suite

__all__ = [
    "SUITE_SUFFIX",
    "SuiteFile",
    "Suites",
    "discover",
    "index_suites",
    "load_suite",
    "load_suites",
]

T = TypeVar("T")

SUITE_SUFFIX = ".eval.yaml"
"""Directories are searched recursively for files whose name ends with this."""


def _validate(expansion: Expansion) -> tuple[Suite | None, list[Problem]]:
    """Validate the expanded value as a `Suite` and cross-check it."""
    problems: list[Problem] = []
    sources = expansion.sources

    def report(loc: Loc, text: str) -> None:
        # A missing key, or a loc inside a parsed expectation, has no line of its own.
        at = next(loc[:i] for i in range(len(loc), -1, -1) if loc[:i] in sources)
        problems.append(Problem(sources[at].path, sources[at].line, text))

    suite = None
    data = expansion.value
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc: Loc = tuple(error["loc"])
            if any(loc[:i] in expansion.reported for i in range(len(loc) + 1)):
                continue
            if error["type"] == "too_short" and expansion.problems:
                continue  # emptied by a broken include or matrix, already reported
            report(loc, message(error, sources.get(loc)))
    conversations = data.get("conversations")
    first: dict[str, Loc] = {}
    for index, conversation in enumerate(conversations if isinstance(conversations, list) else []):
        ident = conversation.get("id") if isinstance(conversation, dict) else None
        if not isinstance(ident, str):
            continue
        loc = ("conversations", index, "id")
        if ident in first:
            earlier, here = sources[first[ident]], sources[loc]
            at = (
                f"line {earlier.line}"
                if earlier.path == here.path
                else f"{earlier.path}:{earlier.line}"
            )
            via = f" ({found(here)})" if here.via else ""
            report(
                loc,
                f"duplicate conversation id '{ident}'{via} (first at {at}); ids must be unique "
                "within a suite, rename one",
            )
        first.setdefault(ident, loc)
    if suite is not None:
        for loc, check in _custom_checks(suite):
            try:
                resolve_custom(str(check.value))
            except ValueError as exc:
                report(loc, f"{where(loc)}: {exc}")
    return (suite if not problems else None), problems


def _nested(check: Check) -> Iterator[Check]:
    yield check
    values = check.value if isinstance(check.value, list) else [check.value]
    for value in values:
        if isinstance(value, Check):
            yield from _nested(value)


def _custom_checks(suite: Suite) -> Iterator[tuple[Loc, Check]]:
    """Every `python:` check of a suite, with the loc of the expectation it sits in."""
    for i, conversation in enumerate(suite.conversations):
        located: list[tuple[Loc, Check]] = []
        for j, turn in enumerate(conversation.turns):
            here: Loc = ("conversations", i, "turns", j)
            located += [((*here, "expect", k), c) for k, c in (turn.expect or {}).items()]
            located += [((*here, "reply"), turn.reply)] if turn.reply else []
        located += [
            (("conversations", i, "final", k), c) for k, c in (conversation.final or {}).items()
        ]
        for loc, check in located:
            for inner in _nested(check):
                if inner.matcher == "python":
                    yield loc, inner


def _load(
    doc: Document, read: Callable[[str], Document] = read_file
) -> LoadedSuite | list[Problem]:
    """Expand and validate one read suite file: the suite, or every problem found in it.

    `read` reads the files it includes.
    """
    problems = list(doc.problems)
    if not doc.present:
        if not problems:
            problems.append(
                Problem(
                    doc.path,
                    0,
                    "the file is empty; a suite needs `suite`, `form` and `conversations`",
                )
            )
        return problems
    if not isinstance(doc.value, dict):
        if () not in doc.reported:
            problems.append(
                Problem(
                    doc.path,
                    doc.line(()),
                    "a suite must be a mapping with `suite`, `form` and `conversations`, found "
                    + found(doc.sources.get(())),
                )
            )
        return problems
    expansion = expand(doc, read)
    expansion.reported |= doc.reported & set(expansion.sources)
    suite, invalid = _validate(expansion)
    problems += expansion.problems + invalid
    if suite is None or problems:
        return problems
    digest = hashlib.sha256(doc.data)
    for fragment in expansion.included:  # an edited fragment changes the suite's hash
        digest.update(hashlib.sha256(fragment.data).digest())
    files = [s.path for s in expansion.conversations]
    return LoadedSuite(
        suite=suite,
        path=doc.path,
        sha256=digest.hexdigest(),
        conversation_lines=[s.line for s in expansion.conversations],
        conversation_files=files if any(f != doc.path for f in files) else [],
    )


def _walk(directory: Path) -> list[Path]:
    found_files: list[Path] = []
    for root, dirs, files in os.walk(directory):
        # Hidden directories (.git, .venv) never hold suites, and can be large.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found_files.extend(Path(root) / name for name in files if name.endswith(SUITE_SUFFIX))
    return sorted(found_files, key=lambda p: p.relative_to(directory).parts)


def _discover(paths: Sequence[str | Path]) -> tuple[list[Path], list[Problem]]:
    chosen: list[Path] = []
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
                chosen.append(file)
    if not chosen and not problems:
        text = (
            f"no suite files (*{SUITE_SUFFIX}) found; give a suite file or a directory holding some"
        )
        problems.extend(Problem(d, 0, text) for d in empty_dirs or ["<no paths>"])
    return chosen, problems


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
    chosen, problems = _discover(paths)
    if problems:
        raise SuiteError(problems)
    return chosen


def load_suite(path: str | Path) -> LoadedSuite:
    """Read, expand and validate one suite file.

    Args:
        path: The file; kept as given in `LoadedSuite.path` and in problems.

    Returns:
        The validated suite, its hash and the line of each conversation.

    Raises:
        SuiteError: Every problem found in the file (and in the files it includes).
    """
    result = _load(read_file(os.fspath(path)))
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
    return _load_all(paths, lambda loaded, _: loaded)


@dataclass(frozen=True)
class SuiteFile:
    """A suite file that validated, kept small: its name, hash, form, ids, and its bytes.

    A run keeps these rather than the loaded suites and builds each suite again when its turn
    comes (`load`): memory then holds the suites being run, not every suite of the run (a
    validated conversation takes about 5 KB; 10,000 of them would be most of a run's memory).
    The suite is built from the bytes validated at the start (the file and the files it
    includes, compressed), so editing a suite while a run goes on does not change the run.
    """

    path: str
    """The file, as given."""
    name: str
    """The suite's name."""
    sha256: str
    """Hash of the file (and of the files it includes), as validated."""
    form: str
    """The form the suite is written for."""
    conversations: tuple[tuple[str, int], ...]
    """(id, repeat) of each conversation, in order."""
    files: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    """(path, zlib-compressed bytes) of the file and of each file it includes, as validated."""

    @classmethod
    def of(cls, loaded: LoadedSuite, files: Mapping[str, bytes] | None = None) -> SuiteFile:
        """The small record of a loaded suite, with the bytes it was built from (when given)."""
        return cls(
            path=loaded.path,
            name=loaded.name,
            sha256=loaded.sha256,
            form=loaded.form,
            conversations=tuple((c.id, c.repeat) for c in loaded.suite.conversations),
            files=tuple((path, zlib.compress(data)) for path, data in (files or {}).items()),
        )

    def load(self) -> LoadedSuite:
        """Build the suite again, from the bytes it validated with (from disk if none are kept).

        Raises:
            SuiteError: It no longer validates (read from disk, when it changed), or it is not
                the suite that validated (its hash differs).
        """
        kept = {path: zlib.decompress(data) for path, data in self.files}

        def read(path: str) -> Document:
            data = kept.get(path)
            return read_file(path) if data is None else parse_bytes(path, data)

        result = _load(read(self.path), read)
        if isinstance(result, list):
            raise SuiteError(result)
        if result.sha256 != self.sha256:
            raise SuiteError(
                [
                    Problem(
                        self.path,
                        0,
                        "the file changed since the run started; resume the run once it is "
                        "back as it was, or start a new run",
                    )
                ]
            )
        return result


Suites = Sequence[LoadedSuite | SuiteFile]
"""What a run takes: loaded suites, or validated suite files read again when their turn comes."""


def index_suites(paths: Sequence[str | Path]) -> list[SuiteFile]:
    """Discover and validate every suite under `paths`, all or nothing, keeping each small.

    Like `load_suites`, every problem of every file is reported at once; but each suite is
    kept as a `SuiteFile` once it validated, so validating 10,000 conversations holds one file's
    worth of them at a time.

    Raises:
        SuiteError: Every problem of every file (and of discovery) at once.
    """
    return _load_all(paths, SuiteFile.of)


def _load_all(
    paths: Sequence[str | Path], keep: Callable[[LoadedSuite, dict[str, bytes]], T]
) -> list[T]:
    files, problems = _discover(paths)
    suites: list[T] = []
    for file in files:
        read: dict[str, bytes] = {}

        def recorded(path: str, read: dict[str, bytes] = read) -> Document:
            doc = read_file(path)
            read[path] = doc.data
            return doc

        result = _load(recorded(os.fspath(file)), recorded)
        if isinstance(result, list):
            problems.extend(result)
        else:
            suites.append(keep(result, read))
        del result  # before the next file is read: else two files' suites are alive at once
    if problems:
        raise SuiteError(problems)
    return suites
