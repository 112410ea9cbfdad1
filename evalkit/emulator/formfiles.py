"""Load emulator forms from files: evalkit's `<key>.form.yaml` and Wix `<key>.form.json`.

A form file is `suites/forms/<key>.form.yaml`; its `key` must match the file name, and its `id` is a
fixed GUID so that a suite can name the form either way. Loading is strict: the file is read by
evalkit's one safe YAML reader (`evalkit.yamlfile`: duplicate keys, aliases, tags, several
documents, deep nesting and files over 2 MiB are refused) and unknown keys are errors. Every
problem of every file is reported at once, each with `file:line`, as a `SuiteError`.

A `<key>.form.json` file holds a Wix `Form` object as Form Schemas returns it (bare, or as
`{"form": {...}}`); it is imported by `form_from_wix` under the key of its file name, and what the
emulator cannot ask for is left out with a note (`Form.notes`).
"""

from __future__ import annotations

import json
from pathlib import Path

from evalkit.emulator.forms import Form
from evalkit.emulator.wixform import form_from_wix
from evalkit.errors import Problem, SuiteError
from evalkit.yamlfile import FileKind, read_file

__all__ = ["FORM_FILE", "FORM_SUFFIX", "WIX_FORM_SUFFIX", "load_form", "load_forms"]

FORM_SUFFIX = ".form.yaml"
"""evalkit's form files."""

WIX_FORM_SUFFIX = ".form.json"
"""Wix Form Schemas JSON files."""

FORM_FILE = FileKind(
    name="form file", plural="form files", keys="key, id, name, ...", syntax="invalid YAML"
)
"""How messages name a form file."""


def load_form(path: Path) -> Form:
    """Load and validate one `<key>.form.yaml` or `<key>.form.json` file.

    Args:
        path: The file.

    Returns:
        The form.

    Raises:
        SuiteError: The file cannot be read, is not valid YAML, or does not describe a valid form;
            every problem is listed with its line.
    """
    form, problems = _load_one(path)
    if form is None:
        raise SuiteError(problems)
    return form


def load_forms(directory: Path) -> dict[str, Form]:
    """Load every `*.form.yaml` and `*.form.json` file of a directory.

    Args:
        directory: The directory (not searched recursively).

    Returns:
        The forms, keyed by form key, in file-name order.

    Raises:
        SuiteError: Any file has a problem, two forms share a key or an id, or there are no forms;
            every problem of every file is listed.
    """
    if not directory.is_dir():
        raise SuiteError([Problem(str(directory), 0, "not a directory of *.form.yaml files")])
    paths = sorted([*directory.glob(f"*{FORM_SUFFIX}"), *directory.glob(f"*{WIX_FORM_SUFFIX}")])
    if not paths:
        message = f"no *{FORM_SUFFIX} or *{WIX_FORM_SUFFIX} files found"
        raise SuiteError([Problem(str(directory), 0, message)])
    forms: dict[str, Form] = {}
    owners: dict[str, str] = {}
    problems: list[Problem] = []
    for path in paths:
        form, found = _load_one(path)
        problems.extend(found)
        if form is None:
            continue
        for name, value in (("key", form.key), ("id", form.id.lower())):
            if (owner := owners.get(f"{name}:{value}")) is not None:
                problems.append(Problem(str(path), 0, f"form {name} {value!r} is also in {owner}"))
            owners[f"{name}:{value}"] = str(path)
        forms[form.key] = form
    if problems:
        raise SuiteError(problems)
    return forms


def _load_one(path: Path) -> tuple[Form | None, list[Problem]]:
    if path.name.endswith(WIX_FORM_SUFFIX):
        return _load_wix(path)
    where = str(path)
    doc = read_file(where, FORM_FILE)
    form = doc.validate(Form)
    if form is None:
        return None, doc.problems
    expected = path.name.removesuffix(FORM_SUFFIX)
    if path.name.endswith(FORM_SUFFIX) and form.key != expected:
        line = doc.line(("key",))
        return None, [
            Problem(where, line, f"key {form.key!r} must match the file name {expected!r}")
        ]
    return form, []


def _load_wix(path: Path) -> tuple[Form | None, list[Problem]]:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(where, 0, f"cannot read the file: {exc}")]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [Problem(where, exc.lineno, f"invalid JSON: {exc.msg}")]
    if not isinstance(data, dict):
        return None, [Problem(where, 1, "a Wix form file must hold a Form object")]
    key = path.name.removesuffix(WIX_FORM_SUFFIX)
    try:
        return form_from_wix(data, key=key), []
    except ValueError as exc:
        return None, [Problem(where, 0, f"not a usable Wix form: {exc}")]
