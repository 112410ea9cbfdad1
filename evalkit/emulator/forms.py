"""Form definitions for the emulator: evalkit's own form YAML, and Wix Form Schemas JSON.

A form file is `suites/forms/<key>.form.yaml`; its `key` must match the file name, and its `id` is a
fixed GUID so that a suite can name the form either way. Loading is strict (unknown keys are
errors, YAML aliases are refused) and every problem of every file is reported at once, each with
`file:line`, as a `SuiteError`.

A Wix `Form` object (as Form Schemas returns it, and as Generate Form Summary receives it) is read
tolerantly by `form_from_wix`: only the input fields' `target`, `required`, type, label, options
and number limits matter to the emulator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, model_validator

from evalkit.errors import Problem, SuiteError

__all__ = [
    "FieldType",
    "Form",
    "FormField",
    "FormOption",
    "form_from_wix",
    "load_form",
    "load_forms",
    "summarize_form",
]

FieldType = Literal[
    "text", "name", "email", "phone", "number", "boolean", "date", "single_select", "multi_select"
]
"""What a field holds; it decides how values are extracted, typed, validated and prompted for."""

SELECT_TYPES = frozenset({"single_select", "multi_select"})
SUMMARY_LIMIT = 255
FORM_SUFFIX = ".form.yaml"
_GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_TARGET = r"^[A-Za-z](?:_?[A-Za-z0-9])*$"  # Wix: a letter, then letters/digits/_, no "__"

# The C loader is much faster; both are safe loaders.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class FormOption(_Strict):
    """One choice of a select field."""

    value: StrictStr = Field(min_length=1, max_length=400)
    """The technical value that gets submitted (and that `TEXT_DATA.value` carries)."""
    label: StrictStr = Field(min_length=1, max_length=400)
    """The text shown to the user."""
    synonyms: list[StrictStr] = Field(default_factory=list)
    """Other words a user may say for this option, e.g. `sms` for "Text message"."""


class FormField(_Strict):
    """One input field of a form."""

    target: StrictStr = Field(pattern=_TARGET, max_length=200)
    """The field key: `currentValues` keys and `TEXT_DATA.fieldTarget` use it."""
    label: StrictStr = Field(min_length=1, max_length=350)
    """The human name of the field, used in questions and acknowledgements."""
    type: FieldType
    """What the field holds."""
    required: bool = False
    """The form is submitted once every required field has a value."""
    question: StrictStr | None = None
    """What the assistant asks; default "What is your <label>?"."""
    keywords: list[StrictStr] = Field(default_factory=list)
    """Words that show the user is talking about this field when it was not asked (e.g. `age`)."""
    name_part: Literal["first", "last", "full"] | None = None
    """For `name` fields: which part of a person's name the field holds (default `full`)."""
    options: list[FormOption] = Field(default_factory=list, max_length=100)
    """The choices of a select field (1–100)."""
    custom_option: bool = False
    """For selects: a value outside the options is accepted."""
    min: float | None = None
    """For numbers: the smallest accepted value (inclusive)."""
    max: float | None = None
    """For numbers: the largest accepted value (inclusive)."""
    multiple_of: float | None = Field(default=None, gt=0)
    """For numbers: accepted values are multiples of this."""

    @model_validator(mode="after")
    def _check_type_options(self) -> FormField:
        is_select = self.type in SELECT_TYPES
        if is_select and not self.options:
            raise ValueError(f"field {self.target!r}: a {self.type} field needs `options`")
        if not is_select and (self.options or self.custom_option):
            raise ValueError(f"field {self.target!r}: `options`/`custom_option` are for selects")
        limits = (self.min, self.max, self.multiple_of)
        if self.type != "number" and any(v is not None for v in limits):
            raise ValueError(f"field {self.target!r}: `min`/`max`/`multiple_of` are for numbers")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"field {self.target!r}: `min` is greater than `max`")
        if self.name_part is not None and self.type != "name":
            raise ValueError(f"field {self.target!r}: `name_part` is for `name` fields")
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError(f"field {self.target!r}: option values must be unique")
        return self

    def ask(self) -> str:
        """Return the question the assistant asks for this field."""
        return self.question or f"What is your {self.label[:1].lower()}{self.label[1:]}?"

    def option(self, value: str) -> FormOption | None:
        """Return the option with this value, or None."""
        return next((o for o in self.options if o.value == value), None)


class Form(_Strict):
    """A form the emulator can run a conversation for."""

    key: StrictStr = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)
    """Short name that suites use (`form: contact`); equals the file name `<key>.form.yaml`."""
    id: StrictStr = Field(pattern=_GUID)
    """A fixed GUID: the `formId` a session is created with (the key is accepted too)."""
    name: StrictStr = Field(min_length=1, max_length=200)
    """The form's title."""
    greeting: StrictStr = Field(min_length=1, max_length=10_000)
    """The first thing the assistant says in a new session."""
    fields: list[FormField] = Field(min_length=1, max_length=500)
    """The input fields, in the order the assistant asks for them."""

    @model_validator(mode="after")
    def _check_unique_targets(self) -> Form:
        targets = [f.target for f in self.fields]
        duplicates = sorted({t for t in targets if targets.count(t) > 1})
        if duplicates:
            raise ValueError(f"field targets must be unique; repeated: {', '.join(duplicates)}")
        return self

    def field(self, target: str) -> FormField | None:
        """Return the field with this target, or None."""
        return next((f for f in self.fields if f.target == target), None)


# ----------------------------------------------------------------------------- YAML loading


def load_form(path: Path) -> Form:
    """Load and validate one `<key>.form.yaml` file.

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
    """Load every `*.form.yaml` file of a directory.

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
    paths = sorted(directory.glob(f"*{FORM_SUFFIX}"))
    if not paths:
        raise SuiteError([Problem(str(directory), 0, f"no *{FORM_SUFFIX} files found")])
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
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else 0
                return None, [Problem(where, line, "YAML aliases (*name) are not allowed")]
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # a safe loader: CSafeLoader or SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        return None, [Problem(where, line, f"invalid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(data, dict):
        return None, [Problem(where, 1, "a form file must be a mapping (key, id, name, ...)")]
    try:
        form = Form.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            label = ".".join(str(p) for p in loc) or "form"
            problems.append(Problem(where, _line_of(node, loc), f"{label}: {err['msg']}"))
        return None, problems
    expected = path.name.removesuffix(FORM_SUFFIX)
    if path.name.endswith(FORM_SUFFIX) and form.key != expected:
        line = _line_of(node, ("key",))
        return None, [
            Problem(where, line, f"key {form.key!r} must match the file name {expected!r}")
        ]
    return form, []


def _line_of(node: yaml.Node | None, loc: Iterable[int | str]) -> int:
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


# ----------------------------------------------------------------------------- Wix Form JSON

_WIX_OPTION_KEYS = ("radioGroupOptions", "dropdownOptions", "checkboxGroupOptions", "tagsOptions")
_WIX_FORMAT_TYPES: dict[str, FieldType] = {
    "EMAIL": "email",
    "PHONE": "phone",
    "DATE": "date",
    "DATE_OPTIONAL_TIME": "date",
}


def form_from_wix(data: Mapping[str, Any], *, key: str = "wix-form") -> Form:
    """Read a Wix Form Schemas `Form` object into an emulator form.

    Only input fields with a `target` are kept; display fields, hidden fields and field types the
    emulator cannot ask for (files, payments, addresses) are skipped.

    Args:
        data: The `Form` object (camelCase, as the REST API returns it).
        key: The key to give the form.

    Returns:
        The form.

    Raises:
        ValueError: The object has no usable input field (the service's `INVALID_FORM`).
    """
    fields: list[FormField] = []
    for raw in data.get("formFields") or []:
        field = _wix_field(raw) if isinstance(raw, Mapping) else None
        if field is not None and all(f.target != field.target for f in fields):
            fields.append(field)
    if not fields:
        raise ValueError("the form has no input fields")
    name = str(data.get("name") or "Form")[:200]
    form_id = str(data.get("id") or "")
    if not re.match(_GUID, form_id):
        form_id = "00000000-0000-4000-8000-000000000000"
    greeting = f"Hi! I'll help you fill in {name!r}."
    return Form(key=key, id=form_id, name=name, greeting=greeting, fields=fields)


def _wix_field(raw: Mapping[str, Any]) -> FormField | None:
    inputs = raw.get("inputOptions")
    if not isinstance(inputs, Mapping) or raw.get("hidden") is True:
        return None
    target = inputs.get("target")
    if not isinstance(target, str) or not re.match(_TARGET, target):
        return None
    input_type = str(inputs.get("inputType") or "STRING")
    type_key = "".join(p.capitalize() for p in input_type.lower().split("_"))
    typed = _mapping(inputs.get(type_key[:1].lower() + type_key[1:] + "Options"))
    validation = _mapping(typed.get("validation"))
    label = _first_label(typed) or target.replace("_", " ").capitalize()
    options, custom = _wix_options(typed)
    field_type: FieldType
    extra: dict[str, Any] = {}
    if input_type == "NUMBER":
        field_type = "number"
        extra = {k: validation.get(w) for k, w in (("min", "minimum"), ("max", "maximum"))}
        extra["multiple_of"] = validation.get("multipleOf")
    elif input_type == "BOOLEAN":
        field_type = "boolean"
    elif input_type == "ARRAY" and options:
        field_type = "multi_select"
    elif input_type == "STRING" and options:
        field_type = "single_select"
    elif input_type == "STRING":
        field_type = _WIX_FORMAT_TYPES.get(str(validation.get("format", "")), "text")
    else:
        return None
    if field_type in SELECT_TYPES:
        extra = {"options": options, "custom_option": custom}
    extra = {k: v for k, v in extra.items() if v is not None}
    required = inputs.get("required") is True
    return FormField(target=target, label=label[:350], type=field_type, required=required, **extra)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _first_label(node: Any) -> str:
    """Find the component's `label` (it sits one level down, in e.g. `textInputOptions`)."""
    if isinstance(node, Mapping):
        if isinstance(node.get("label"), str) and node["label"].strip():
            return str(node["label"]).strip()
        for value in node.values():
            if isinstance(value, Mapping) and (found := _first_label(value)):
                return found
    return ""


def _wix_options(typed: Mapping[str, Any]) -> tuple[list[FormOption], bool]:
    """Return a select's options and whether it accepts a custom value."""
    for key in _WIX_OPTION_KEYS:
        component = typed.get(key)
        if not isinstance(component, Mapping) or not isinstance(component.get("options"), list):
            continue
        found: dict[str, FormOption] = {}
        for raw in component["options"]:
            value = str(raw.get("value", "")).strip() if isinstance(raw, Mapping) else ""
            if value and value not in found:
                label = str(raw.get("label") or value).strip() or value
                found[value] = FormOption(value=value[:400], label=label[:400])
        return list(found.values())[:100], isinstance(component.get("customOption"), Mapping)
    return [], False


def summarize_form(form: Form) -> str:
    """Write a plain-language summary of a form, at most 255 characters, deterministically.

    Args:
        form: The form.

    Returns:
        E.g. "Contact us asks for 8 fields: first name*, email*, ... (* required)."
    """
    names = [f.label.lower() + ("*" if f.required else "") for f in form.fields]
    count = len(names)
    head = f"{form.name} asks for {count} field{'s' if count != 1 else ''}: "
    tail = " (* required)." if any(f.required for f in form.fields) else "."
    listing = ", ".join(names)
    room = SUMMARY_LIMIT - len(head) - len(tail)
    if len(listing) > room:
        listing = listing[: max(room - 1, 0)].rstrip(", ") + "…"
    return (head + listing + tail)[:SUMMARY_LIMIT]
