"""Suite files → validated `LoadedSuite`s: discovery, reading, expansion, validation.

Every problem of every file is collected before one `SuiteError` is raised, so nothing is ever
half-loaded. Beyond the models, loading checks what would otherwise only show up as failures of
the target: matcher arguments (`evalkit.matchers.arguments`), `python:` checks (imported only
from the suites root or a named package, see `evalkit.matchers.custom`), field names and options
when the form is known (`evalkit.loader.fields`), and suite names unique across files.
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
from pydantic_core import ErrorDetails

from evalkit.errors import Problem, SuiteError
from evalkit.loader.expand import MAX_CONVERSATIONS, Expansion, expand
from evalkit.loader.fields import KnownForm, check_fields
from evalkit.loader.messages import found, message, where
from evalkit.loader.reader import Document, Loc, Source, parse_bytes, read_file
from evalkit.loader.scope import (
    LoadOptions,
    ProjectSettings,
    SuiteScope,
    is_under,
    project_settings,
    shown_roots,
)
from evalkit.matchers import resolve_custom
from evalkit.matchers.arguments import argument_problem
from evalkit.matchers.custom import import_check
from evalkit.suite import COMPOSITE_MATCHERS, Check, LoadedSuite, Suite, SuiteSource, VariantKind
from evalkit.variants import vary_suite, with_kinds
from evalkit.yamlfile import locate, validation_problems

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


_SUITE_KEYS = frozenset({"suite", "form", "conversations"})
"""A mapping with none of these keys is not a suite file."""


def _validate(
    expansion: Expansion,
    path: str,
    scope: SuiteScope | None,
    forms: Mapping[str, KnownForm] | None,
) -> tuple[Suite | None, list[Problem]]:
    """Validate the expanded value as a `Suite` and cross-check it.

    Args:
        expansion: The expanded suite file at `path`.
        path: The suite file.
        scope: Where its `python:` checks may come from; None: only modules already imported.
        forms: Known forms by key, to check field names and options against.
    """
    problems: list[Problem] = []
    sources = expansion.sources

    def report(loc: Loc, text: str) -> None:
        # A missing key, or a loc inside a parsed expectation, has no line of its own.
        at = locate(sources, loc)
        problems.append(Problem(at.path if at else "", at.line if at else 0, text))

    def describe(error: ErrorDetails, source: Source | None) -> str | None:
        if error["type"] == "too_short" and expansion.problems:
            return None  # emptied by a broken include or matrix, already reported
        return message(error, source)

    suite = None
    data = expansion.value
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        problems += validation_problems(exc, sources, describe, reported=expansion.reported)
    conversations = data.get("conversations")
    first: dict[str, Loc] = {}
    for index, conversation in enumerate(conversations if isinstance(conversations, list) else []):
        ident = conversation.get("id") if isinstance(conversation, dict) else None
        if not isinstance(ident, str):
            continue
        loc: Loc = ("conversations", index, "id")
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
    if suite is None:
        return None, problems
    for loc, check in _checks(suite):
        if (problem := argument_problem(check)) is not None:
            report(loc, f"{where(loc)}: {problem}")
        elif check.matcher == "python":
            try:
                _custom(str(check.value), path, scope)
            except ValueError as exc:
                report(loc, f"{where(loc)}: {exc}")
    form = (forms or {}).get(suite.form)
    if form is not None:
        check_fields(suite, form, report)
    return (suite if not problems else None), problems


def _custom(spec: str, path: str, scope: SuiteScope | None) -> None:
    """Import (if allowed) the function a `python:` check names; ValueError if it may not."""
    if scope is None:
        resolve_custom(spec)
        return
    folder = os.path.realpath(os.path.dirname(path) or ".")
    search = [folder, *(r for r in scope.roots if r != folder)]
    import_check(
        spec,
        search=search,
        roots=scope.roots,
        packages=scope.checks_packages,
        shown=scope.describe(),
    )


def _nested(check: Check) -> Iterator[Check]:
    yield check
    if check.matcher not in COMPOSITE_MATCHERS:
        return
    values = check.value if isinstance(check.value, list) else [check.value]
    for value in values:
        if isinstance(value, Check):
            yield from _nested(value)


def _checks(suite: Suite) -> Iterator[tuple[Loc, Check]]:
    """Every check of a suite (inner checks of composites too), with its expectation's loc."""
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
                yield loc, inner


def _not_a_suite(doc: Document) -> list[Problem]:
    """The problem of a file that is not a suite at all, in words that never quote it."""
    if isinstance(doc.value, dict):
        if _SUITE_KEYS & set(doc.value):
            return []
        return [
            Problem(
                doc.path,
                0,
                "is not a suite file (it holds a mapping without `suite`, `form` or "
                "`conversations`); a suite is a mapping with `suite`, `form` and `conversations`",
            )
        ]
    if () in doc.reported:
        return []
    kind = (doc.sources.get(()) or Source(doc.path, 0, "a value")).kind
    return [
        Problem(
            doc.path,
            doc.line(()),
            f"a suite must be a mapping with `suite`, `form` and `conversations`, found {kind}",
        )
    ]


def _load(
    doc: Document,
    read: Callable[[str], Document] = read_file,
    scope: SuiteScope | None = None,
    forms: Mapping[str, KnownForm] | None = None,
    variants: Sequence[VariantKind] = (),
) -> LoadedSuite | list[Problem]:
    """Expand and validate one read suite file: the suite, or every problem found in it.

    `read` reads the files it includes; `scope` says where includes and checks may come from
    (None: anywhere, for bytes validated already); `forms` are the forms known for the field check;
    `variants` are the robustness variant kinds a run asks for (`evalkit.variants`), beside or
    instead of the suite's own `variants` key.
    """
    if doc.present and (other := _not_a_suite(doc)):
        return other  # its own problems (duplicate keys, ...) would show its content
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
        return problems  # a top-level value that already has its problem (a tag)
    expansion = expand(doc, read, scope)
    if expansion.stopped:  # partial: only the excess means anything
        return problems + expansion.problems
    expansion.reported |= doc.reported & set(expansion.sources)
    suite, invalid = _validate(expansion, doc.path, scope, forms)
    problems += expansion.problems + invalid
    if suite is None or problems:
        return problems
    digest = hashlib.sha256(doc.data)
    for fragment in expansion.included:  # an edited fragment changes the suite's hash
        digest.update(hashlib.sha256(fragment.data).digest())
    # Robustness variants are made here, where the matrix was: copies are conversations.
    spec = with_kinds(suite.variants, variants)
    if spec is not None:
        scripted = sum(c.persona is None for c in suite.conversations)
        at_most = len(suite.conversations) + scripted * len(spec.kinds) * spec.copies
        if at_most > MAX_CONVERSATIONS:
            return [
                Problem(
                    doc.path,
                    doc.line(("variants",)),
                    f"the variants would make up to {at_most:,} conversations; a suite expands "
                    f"to at most {MAX_CONVERSATIONS:,}: fewer kinds or copies, or split the suite",
                )
            ]
    suite, origins = vary_suite(suite, spec)
    files = [expansion.conversations[i].path for i in origins]
    return LoadedSuite(
        suite=suite,
        path=doc.path,
        sha256=digest.hexdigest(),
        conversation_lines=[expansion.conversations[i].line for i in origins],
        conversation_files=files if any(f != doc.path for f in files) else [],
        variants=tuple(variants),
    )


def _walk(directory: Path) -> list[Path]:
    found_files: list[Path] = []
    for root, dirs, files in os.walk(directory):
        # Hidden directories (.git, .venv) never hold suites, and can be large.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found_files.extend(Path(root) / name for name in files if name.endswith(SUITE_SUFFIX))
    return sorted(found_files, key=lambda p: p.relative_to(directory).parts)


def _discover(paths: Sequence[str | Path]) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """The suite files `paths` name, each with the root it was found through, and problems."""
    chosen: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    empty_dirs: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files, root = _walk(path), os.fspath(given)
            if not files:
                empty_dirs.append(os.fspath(given))
        elif path.is_file():
            files, root = [path], os.path.dirname(os.fspath(given)) or "."
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
                chosen.append((file, root))
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
    return [file for file, _ in chosen]


class _Scopes:
    """The scope of each suite file: its root, the project's suites folder, the options'."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        self.extra = [os.path.realpath(r) for r in options.includes_roots]
        self.problems: list[Problem] = []
        self.configs: set[str] = set()
        self.settings: dict[str, tuple[ProjectSettings | None, list[Problem]]] = {}

    def of(self, file: str, root: str) -> SuiteScope:
        folder = os.path.dirname(file) or "."
        if folder not in self.settings:  # a folder of many suites reads its configuration once
            self.settings[folder] = project_settings(folder)
        settings, problems = self.settings[folder]
        for problem in problems:  # a broken configuration: once, whichever suites it concerns
            if problem.path not in self.configs:
                self.configs.add(problem.path)
                self.problems.append(problem)
        roots: list[tuple[str, str]] = [(os.path.realpath(root), root)]
        if settings is not None and settings.suites is not None:
            folder = os.path.realpath(settings.suites)
            if is_under(file, [folder]):
                roots.append((folder, shown_roots([settings.suites])[0]))
        roots += zip(self.extra, shown_roots(self.options.includes_roots), strict=True)
        unique = dict(roots)  # first shown name of each real path
        packages = (*self.options.checks_packages, *(settings.checks_packages if settings else ()))
        return SuiteScope(
            roots=tuple(unique), shown=tuple(unique.values()), checks_packages=packages
        )


def load_suite(path: str | Path, *, options: LoadOptions | None = None) -> LoadedSuite:
    """Read, expand and validate one suite file.

    Its suites root is its folder (and the project's configured suites folder, when the file is
    under it); `options` may widen it, name check packages and give the known forms.

    Args:
        path: The file; kept as given in `LoadedSuite.path` and in problems.
        options: Roots, check packages and forms; none by default.

    Returns:
        The validated suite, its hash and the line of each conversation.

    Raises:
        SuiteError: Every problem found in the file (and in the files it includes).
    """
    options = options or LoadOptions()
    scopes = _Scopes(options)
    shown = os.fspath(path)
    scope = scopes.of(shown, os.path.dirname(shown) or ".")
    result = _load(read_file(shown), read_file, scope, options.forms, options.variants)
    if isinstance(result, list) or scopes.problems:
        raise SuiteError(scopes.problems + (result if isinstance(result, list) else []))
    return result


def load_suites(
    paths: Sequence[str | Path], *, options: LoadOptions | None = None
) -> list[LoadedSuite]:
    """Discover and load every suite under `paths`, all or nothing.

    Each file's suites root is the directory it was found in as named in `paths` (for a file
    named directly, its folder), with the project's configured suites folder and
    `options.includes_roots`.

    Args:
        paths: Files and directories, as for `discover`.
        options: Roots, check packages and forms; none by default.

    Returns:
        The loaded suites, in discovery order.

    Raises:
        SuiteError: Every problem of every file (and of discovery) at once, two suites with one
            name included.
    """
    return _load_all(paths, lambda loaded, _, __: loaded, options or LoadOptions())


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
    scope: SuiteScope | None = field(default=None, repr=False)
    """Where its includes and checks may come from (None: its folder)."""
    variants: tuple[VariantKind, ...] = ()
    """The robustness variant kinds the run asked for (`LoadOptions.variants`)."""

    @classmethod
    def of(
        cls,
        loaded: LoadedSuite,
        files: Mapping[str, bytes] | None = None,
        scope: SuiteScope | None = None,
        variants: Sequence[VariantKind] = (),
    ) -> SuiteFile:
        """The small record of a loaded suite, with the bytes it was built from (when given)."""
        return cls(
            path=loaded.path,
            name=loaded.name,
            sha256=loaded.sha256,
            form=loaded.form,
            conversations=loaded.outline,
            files=tuple((path, zlib.compress(data)) for path, data in (files or {}).items()),
            scope=scope,
            variants=tuple(variants),
        )

    @property
    def outline(self) -> tuple[tuple[str, int], ...]:
        """(id, repeat) of each conversation, in order (see `evalkit.suite.SuiteSource`)."""
        return self.conversations

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

        scope = self.scope or _Scopes(LoadOptions()).of(
            self.path, os.path.dirname(self.path) or "."
        )
        result = _load(read(self.path), read, scope, variants=self.variants)
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


Suites = Sequence[SuiteSource]
"""What a run takes: loaded suites, or validated suite files read again when their turn comes."""


def index_suites(
    paths: Sequence[str | Path], *, options: LoadOptions | None = None
) -> list[SuiteFile]:
    """Discover and validate every suite under `paths`, all or nothing, keeping each small.

    Like `load_suites`, every problem of every file is reported at once; but each suite is
    kept as a `SuiteFile` once it validated, so validating 10,000 conversations holds one file's
    worth of them at a time.

    Args:
        paths: Files and directories, as for `discover`.
        options: Roots, check packages and forms, as for `load_suites`.

    Raises:
        SuiteError: Every problem of every file (and of discovery) at once.
    """
    options = options or LoadOptions()
    kinds = options.variants

    def keep(loaded: LoadedSuite, files: dict[str, bytes], scope: SuiteScope) -> SuiteFile:
        return SuiteFile.of(loaded, files, scope, variants=kinds)

    return _load_all(paths, keep, options)


def _load_all(
    paths: Sequence[str | Path],
    keep: Callable[[LoadedSuite, dict[str, bytes], SuiteScope], T],
    options: LoadOptions,
) -> list[T]:
    files, problems = _discover(paths)
    scopes = _Scopes(options)
    suites: list[T] = []
    names: dict[str, str] = {}  # suite name → where the first file with it says so
    for file, root in files:
        read: dict[str, bytes] = {}

        def recorded(path: str, read: dict[str, bytes] = read) -> Document:
            doc = read_file(path)
            read[path] = doc.data
            return doc

        scope = scopes.of(os.fspath(file), root)
        doc = recorded(os.fspath(file))
        result = _load(doc, recorded, scope, options.forms, options.variants)
        if isinstance(result, list):
            problems.extend(result)
        else:
            suites.append(keep(result, read, scope))
        # The name as written, so that a broken suite's name counts too (all problems at once).
        name = doc.value.get("suite") if isinstance(doc.value, dict) else None
        if isinstance(name, str):
            line = doc.line(("suite",))
            if (first := names.get(name)) is not None:
                problems.append(
                    Problem(
                        doc.path,
                        line,
                        f"suite name {name!r} is also the name of {first}; results are keyed "
                        "by suite and id, so one would hide the other: rename one of them",
                    )
                )
            names.setdefault(name, f"{doc.path}:{line}" if line else doc.path)
        del result, doc  # before the next file is read: else two files' suites are alive at once
    problems += scopes.problems
    if problems:
        raise SuiteError(problems)
    return suites
