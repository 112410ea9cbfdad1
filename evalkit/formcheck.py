"""Suites checked against the forms they are written for, before anything is sent.

`evalkit validate` and `evalkit run` call `check_suites`: it validates every suite file (as
`evalkit.loader.index_suites` does) and, where the form a suite names is known, checks the field
names and select option values its expectations use, with did-you-mean (`evalkit.loader.fields`).
A form is known when an emulator form file defines it: `<key>.form.yaml`, or a Wix form JSON
`<key>.form.json`, in the directories given (`--forms`) or in `forms/` beside a suite, looked up in
the order the emulator uses (`evalkit.runner.target.forms_dirs`: the first directory that
defines a key wins). A `--form-id KEY=OTHER` that names another known form (by key or id) checks
the suites of KEY against OTHER. Where the form is not known, a note says so once per form; that
is not an error (a Wix form may be known only to the service).

This module sits in the runner's layer: it needs both the loader and the emulator's forms.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from evalkit.emulator import Form, load_forms
from evalkit.emulator.forms import SELECT_TYPES
from evalkit.errors import Problem, SuiteError
from evalkit.formlookup import follow_form_ids
from evalkit.loader import (
    KnownField,
    KnownForm,
    LoadOptions,
    SuiteFile,
    discover,
    index_suites,
)
from evalkit.loader.messages import did_you_mean

__all__ = ["CheckedSuites", "check_suites", "known_form", "known_forms"]

_LISTED = 3
"""Suite files a note names before it says how many more there are."""


@dataclass(frozen=True)
class CheckedSuites:
    """Suites that validated, and what could not be checked about them."""

    suites: list[SuiteFile]
    """The suites, kept small (as `index_suites` returns them)."""
    notes: list[str] = field(default_factory=list)
    """One line per form that is not known: its suites' fields were not checked."""


def known_form(form: Form, source: str = "") -> KnownForm:
    """What the loader checks of an emulator form: its fields, and the options of its selects."""
    return KnownForm(
        key=form.key,
        source=source,
        fields=tuple(
            KnownField(
                target=f.target,
                options=tuple((o.value, o.label) for o in f.options),
                multiple=f.type == "multi_select",
                open=f.type in SELECT_TYPES and f.custom_option,
            )
            for f in form.fields
        ),
    )


def _dirs(files: Sequence[Path], extra: Sequence[Path]) -> list[Path]:
    """The directories forms are looked up in, each once.

    In the order of `evalkit.runner.target.forms_dirs` (given ones, then `forms/` beside each
    suite), which takes loaded suites where this takes the files found before loading.
    """
    found: list[Path] = []
    for candidate in [*extra, *(Path(f).parent / "forms" for f in files)]:
        if candidate.is_dir() and candidate.resolve() not in {f.resolve() for f in found}:
            found.append(candidate)
    return found


def known_forms(directories: Sequence[Path]) -> tuple[dict[str, Form], list[Problem]]:
    """The forms the directories define (the first directory that defines a key wins).

    Returns:
        The forms by key, and the problems of broken form files.
    """
    forms: dict[str, Form] = {}
    problems: list[Problem] = []
    for directory in reversed(directories):
        try:
            forms.update(load_forms(directory))
        except SuiteError as exc:
            problems += exc.problems
    return forms, problems


def _for_keys(
    keys: set[str], forms: Mapping[str, Form], form_ids: Mapping[str, str]
) -> dict[str, KnownForm]:
    """The known form of each suite form key, following `form_ids` to another known form."""
    by_id = {form.id.lower(): form for form in forms.values()}
    return {
        key: known_form(form) for key, form in follow_form_ids(keys, forms, by_id, form_ids).items()
    }


def _note(key: str, paths: list[str], forms: Mapping[str, Form], extra: Sequence[Path]) -> str:
    listed = ", ".join(paths[:_LISTED])
    if len(paths) > _LISTED:
        listed += f" and {len(paths) - _LISTED} more"
    where = "in forms/ beside the suites"
    if extra:
        where += f" nor in {', '.join(str(d) for d in extra)}"
    return (
        f"form {key!r} ({listed}) is not defined {where}{did_you_mean(key, list(forms))}: "
        "its field names and options are not checked"
    )


def check_suites(
    paths: Sequence[str | Path],
    *,
    forms: Sequence[Path] = (),
    form_ids: Mapping[str, str] | None = None,
    options: LoadOptions | None = None,
) -> CheckedSuites:
    """Validate the suites under `paths`, checking fields and options against known forms.

    Args:
        paths: Suite files and directories, as for `evalkit.loader.index_suites`.
        forms: More directories of form files, searched before `forms/` beside each suite.
        form_ids: Form key → the form a run uses instead (a known key or id is checked).
        options: Suites roots and check packages (`options.forms` is filled in here).

    Returns:
        The suites, and a note for each form that is not known.

    Raises:
        SuiteError: Every problem of every suite, and of the form files, at once.
    """
    try:
        files = discover(paths)
    except SuiteError:
        files = []  # index_suites reports what discovery found wrong, with everything else
    definitions, problems = known_forms(_dirs(files, forms))
    keys = set(definitions) | set((form_ids or {}).keys())
    wanted = _for_keys(keys, definitions, form_ids or {})
    base = options or LoadOptions()
    loaded = replace(base, forms=wanted)
    try:
        suites = index_suites(paths, options=loaded)
    except SuiteError as exc:
        raise SuiteError(exc.problems + problems) from None
    if problems:
        raise SuiteError(problems)
    unknown: dict[str, list[str]] = {}
    for suite in suites:
        if suite.form not in wanted:
            unknown.setdefault(suite.form, []).append(os.fspath(suite.path))
    notes = [_note(key, found, definitions, forms) for key, found in unknown.items()]
    return CheckedSuites(suites=suites, notes=notes)
