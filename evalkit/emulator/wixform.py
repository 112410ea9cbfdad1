"""Import a Wix Form Schemas `Form` object (as `GET /v4/forms/{id}` returns it) as an emulator form.

Read tolerantly: what the emulator can ask for becomes a field, and everything else is left out
with a note on `Form.notes` rather than a crash. Supported, from `formFields[].inputOptions`:

- `target`, `required`, the component's `label` (plain text or rich content), `hidden` (skipped);
- `STRING`: text; `validation.format` EMAIL / PHONE / DATE / DATE_TIME / DATE_OPTIONAL_TIME / TIME,
  or the component (`PHONE_INPUT`, `DATE_INPUT`, `DATE_PICKER`, `TIME_INPUT`); `radioGroupOptions` /
  `dropdownOptions` make a single select; `customOption` allows a custom value;
- `NUMBER`: `validation.minimum` / `maximum` / `multipleOf`;
- `BOOLEAN`: a yes/no checkbox;
- `ARRAY`: `checkboxGroupOptions` / `tagsOptions` make a multi-select;
- `PAYMENT` with product checkboxes: a multi-select of products (a submission gets a `checkoutId`);
- `contactMapping` FIRST_NAME / LAST_NAME / EMAIL / PHONE: the matching field type;
- the order of `steps[].layout` (page, row, column), which is the order a person sees.

Not supported (noted, skipped): file uploads, signatures, scheduling, addresses, objects, other
payment components; `formRules` are not applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from evalkit.emulator.forms import (
    GUID_PATTERN,
    SELECT_TYPES,
    TARGET_PATTERN,
    FieldType,
    Form,
    FormField,
    FormOption,
)

__all__ = ["FALLBACK_FORM_ID", "form_from_wix"]

FALLBACK_FORM_ID = "00000000-0000-4000-8000-000000000000"
"""The id given to an imported form whose own `id` is missing or not a GUID."""

_SINGLE_OPTION_KEYS = ("radioGroupOptions", "dropdownOptions")
_MULTI_OPTION_KEYS = ("checkboxGroupOptions", "tagsOptions")
_FORMAT_TYPES: dict[str, FieldType] = {
    "EMAIL": "email",
    "PHONE": "phone",
    "DATE": "date",
    "DATE_TIME": "date",
    "DATE_OPTIONAL_TIME": "date",
    "TIME": "time",
}
_COMPONENT_TYPES: dict[str, FieldType] = {
    "PHONE_INPUT": "phone",
    "DATE_INPUT": "date",
    "DATE_PICKER": "date",
    "DATE_TIME": "date",
    "TIME_INPUT": "time",
}
_CONTACT_TYPES: dict[str, tuple[FieldType, str | None]] = {
    "FIRST_NAME": ("name", "first"),
    "LAST_NAME": ("name", "last"),
    "EMAIL": ("email", None),
    "PHONE": ("phone", None),
}
_UNSUPPORTED = {
    "WIX_FILE": "file uploads and signatures are not supported",
    "SCHEDULING": "scheduling (appointments) is not supported",
    "ADDRESS": "addresses are not supported",
    "OBJECT": "object fields are not supported",
}


def form_from_wix(data: Mapping[str, Any], *, key: str = "wix-form") -> Form:
    """Read a Wix Form Schemas `Form` object into an emulator form.

    Args:
        data: The `Form` object (camelCase, as the REST API returns it), or `{"form": {...}}`.
        key: The key to give the form.

    Returns:
        The form; `notes` says what was skipped and why.

    Raises:
        ValueError: The object has no usable input field (the service's `INVALID_FORM`).
    """
    if isinstance(data.get("form"), Mapping) and "formFields" not in data:
        data = data["form"]
    notes: list[str] = []
    fields: list[FormField] = []
    raw_fields = [f for f in data.get("formFields") or [] if isinstance(f, Mapping)]
    order = _layout_order(data.get("steps"))
    ranked = sorted(
        enumerate(raw_fields),
        key=lambda pair: (order.get(str(pair[1].get("id")), (1_000_000,)), pair[0]),
    )
    for _, raw in ranked:
        field = _wix_field(raw, notes)
        if field is not None and all(f.target != field.target for f in fields):
            fields.append(field)
    if data.get("formRules"):
        notes.append("formRules (conditional logic) are not applied")
    if not fields:
        raise ValueError("the form has no input fields")
    name = str(data.get("name") or "Form")[:200]
    form_id = str(data.get("id") or "")
    if not re.match(GUID_PATTERN, form_id):
        form_id = FALLBACK_FORM_ID
    greeting = f"Hi! I'll help you fill in {name!r}."
    return Form(key=key, id=form_id, name=name, greeting=greeting, fields=fields, notes=notes)


def _layout_order(steps: Any) -> dict[str, tuple[int, ...]]:
    """Field id → (page, row, column), from the large-screen layout of each step."""
    order: dict[str, tuple[int, ...]] = {}
    for page, step in enumerate(steps if isinstance(steps, list) else []):
        layout = _mapping(_mapping(_mapping(step).get("layout")).get("large"))
        for item in layout.get("items") or []:
            item = _mapping(item)
            if isinstance(item.get("fieldId"), str):
                row, column = _int(item.get("row")), _int(item.get("column"))
                order.setdefault(item["fieldId"], (page, row, column))
    return order


def _wix_field(raw: Mapping[str, Any], notes: list[str]) -> FormField | None:
    inputs = raw.get("inputOptions")
    if not isinstance(inputs, Mapping) or raw.get("hidden") is True:
        return None
    target = inputs.get("target")
    if not isinstance(target, str) or not re.match(TARGET_PATTERN, target):
        notes.append(f"an input field without a valid target ({target!r}) was skipped")
        return None
    input_type = str(inputs.get("inputType") or "STRING")
    type_key = "".join(p.capitalize() for p in input_type.lower().split("_"))
    typed = _mapping(inputs.get(type_key[:1].lower() + type_key[1:] + "Options"))
    validation = _mapping(typed.get("validation"))
    label = _first_label(typed) or target.replace("_", " ").capitalize()
    single, single_custom = _options(typed, _SINGLE_OPTION_KEYS)
    multi, multi_custom = _options(typed, _MULTI_OPTION_KEYS)
    field_type: FieldType
    extra: dict[str, Any] = {}
    if input_type == "NUMBER":
        field_type = "number"
        extra = {k: validation.get(w) for k, w in (("min", "minimum"), ("max", "maximum"))}
        extra["multiple_of"] = validation.get("multipleOf")
    elif input_type == "BOOLEAN":
        field_type = "boolean"
    elif input_type == "ARRAY" and multi:
        field_type, extra = "multi_select", {"options": multi, "custom_option": multi_custom}
    elif input_type == "PAYMENT" and multi:
        field_type, extra = "multi_select", {"options": multi, "products": True}
    elif input_type == "STRING" and single:
        field_type, extra = "single_select", {"options": single, "custom_option": single_custom}
    elif input_type == "STRING":
        component = str(typed.get("componentType", ""))
        field_type = _FORMAT_TYPES.get(str(validation.get("format", "")), "text")
        field_type = _COMPONENT_TYPES.get(component, field_type)
    else:
        reason = _UNSUPPORTED.get(input_type, f"{input_type} fields are not supported")
        if input_type == "PAYMENT":
            reason = "payment fields other than product checkboxes are not supported"
        notes.append(f"field {target!r} ({input_type}) was skipped: {reason}")
        return None
    contact = str(_mapping(inputs.get("contactMapping")).get("contactField", ""))
    if field_type == "text" and contact in _CONTACT_TYPES:
        field_type, part = _CONTACT_TYPES[contact]
        if part is not None:
            extra["name_part"] = part
    if field_type not in SELECT_TYPES:
        extra.pop("options", None)
    extra = {k: v for k, v in extra.items() if v is not None}
    required = inputs.get("required") is True
    try:
        return FormField(
            target=target, label=label[:350], type=field_type, required=required, **extra
        )
    except ValueError as exc:  # e.g. minimum above maximum
        notes.append(f"field {target!r} was skipped: {exc}")
        return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _first_label(node: Any) -> str:
    """Find the component's `label`, one level down (e.g. in `textInputOptions`).

    A rich content label (a checkbox's) is read as its text.
    """
    if isinstance(node, Mapping):
        label = node.get("label")
        if isinstance(label, str) and label.strip():
            return label.strip()
        if isinstance(label, Mapping) and (text := " ".join(_rich_text(label)).strip()):
            return text
        for value in node.values():
            if isinstance(value, Mapping) and (found := _first_label(value)):
                return found
    return ""


def _rich_text(node: Any) -> list[str]:
    """The text of a Wix rich content document (`nodes[].textData.text`)."""
    if isinstance(node, list):
        return [text for item in node for text in _rich_text(item)]
    if not isinstance(node, Mapping):
        return []
    own = _mapping(node.get("textData")).get("text")
    return ([own] if isinstance(own, str) else []) + _rich_text(node.get("nodes"))


def _options(typed: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[list[FormOption], bool]:
    """Return a select's options and whether it accepts a custom value."""
    for key in keys:
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
