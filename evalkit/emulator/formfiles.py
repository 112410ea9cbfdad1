"""Load emulator forms from files: evalkit's `<key>.form.yaml` and Wix `<key>.form.json`.

A form file is `suites/forms/<key>.form.yaml`; its `key` must match the file name, and its `id` is a
fixed GUID so that a suite can name the form either way. Loading is strict (unknown keys are
errors, YAML aliases are refused) and every problem of every file is reported at once, each with
`file:line`, as a `SuiteError`.

A `<key>.form.json` file holds a Wix `Form` object as Form Schemas returns it (bare, or as
`{"form": {...}}`); it is imported by `form_from_wix` under the key of its file name, and what the
emulator cannot ask for is left out with a note (`Form.notes`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from evalkit.emulator.forms import Form
from evalkit.emulator.wixform import form_from_wix
from evalkit.errors import Problem, SuiteError

__all__ = ["FORM_SUFFIX", "WIX_FORM_SUFFIX", "line_of", "load_form", "load_forms", "read_yaml"]

FORM_SUFFIX = ".form.yaml"
"""evalkit's form files."""

WIX_FORM_SUFFIX = ".form.json"
"""Wix Form Schemas JSON files."""

# The C loader is much faster; both are safe loaders.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(where, 0, f"cannot read the file: {exc}")]
    if path.name.endswith(WIX_FORM_SUFFIX):
        return _load_wix(path, text)
    try:
        node, data = read_yaml(text)
    except _YamlProblem as exc:
        return None, [Problem(where, exc.line, str(exc))]
    if not isinstance(data, dict):
        return None, [Problem(where, 1, "a form file must be a mapping (key, id, name, ...)")]
    try:
        form = Form.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            label = ".".join(str(p) for p in loc) or "form"
            problems.append(Problem(where, line_of(node, loc), f"{label}: {err['msg']}"))
        return None, problems
    expected = path.name.removesuffix(FORM_SUFFIX)
    if path.name.endswith(FORM_SUFFIX) and form.key != expected:
        line = line_of(node, ("key",))
        return None, [
            Problem(where, line, f"key {form.key!r} must match the file name {expected!r}")
        ]
    return form, []


class _YamlProblem(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def read_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse YAML safely, refusing aliases; return the node tree (for lines) and the data.

    Raises:
        ValueError: The text is not valid YAML or uses an alias; its `line` attribute says where.
    """
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise _YamlProblem(line, "YAML aliases (*name) are not allowed")
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # a safe loader: CSafeLoader or SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise _YamlProblem(line, f"invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    return node, data


def line_of(node: yaml.Node | None, loc: Iterable[int | str]) -> int:
    """Return the 1-based line of the deepest YAML node on the path `loc`, or 0 without one."""
    line = node.start_mark.line + 1 if node is not None else 0
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def _load_wix(path: Path, text: str) -> tuple[Form | None, list[Problem]]:
    where = str(path)
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
