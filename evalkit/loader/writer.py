r"""Suites written back as YAML: what record mode, `evalkit init` and `evalkit expand` produce.

The output is plain YAML that the loader reads back to the same suite: expectations in their
written form (`Check` serialises itself that way), text that YAML would read as something else
(`no`, `12:30`) quoted, `{{` in a conversation's text written `\{{` (else it would read as a
variable), keys in the models' order, and defaults left out.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from evalkit.loader.schema import SCHEMA_FILE
from evalkit.suite import Suite

__all__ = ["dump_suite", "schema_header"]


def schema_header(schema: str = SCHEMA_FILE) -> str:
    """The first line of a suite file, which points editors at the JSON Schema."""
    return f"# yaml-language-server: $schema={schema}\n"


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key, as people write suites."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value.rstrip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _short(value: Any) -> bool:
    return not isinstance(value, dict | list) and len(str(value)) <= 40


def _mapping(dumper: yaml.SafeDumper, value: dict[Any, Any]) -> yaml.MappingNode:
    # Small mappings of scalars read best on one line: `email: {email: jane@example.com}`.
    flow = 0 < len(value) <= 3 and all(_short(v) for v in value.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=flow)


def _sequence(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = all(_short(v) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(dict, _mapping)
_Dumper.add_representer(list, _sequence)


_BRACES = re.compile(r"(\\*)(\{\{.*?\}\})", re.DOTALL)
"""What the loader reads as a reference, with the backslashes before it (`expand._REFERENCE`)."""


def _literal_braces(value: Any) -> Any:
    """Every `{{ ... }}` in the strings of `value` escaped, so the loader reads it back as text."""
    if isinstance(value, str):
        # k backslashes then braces, as text: 2k + 1 backslashes read back as k and the braces.
        return _BRACES.sub(lambda m: "\\" * (2 * len(m.group(1)) + 1) + m.group(2), value)
    if isinstance(value, dict):
        return {key: _literal_braces(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_literal_braces(item) for item in value]
    return value


def dump_suite(suite: Suite, *, comment: str = "", schema: str | None = SCHEMA_FILE) -> str:
    """Write a suite as YAML.

    Args:
        suite: The suite.
        comment: Lines to put at the top, as YAML comments (e.g. how the file was made).
        schema: The schema path for the editor header; None for no header.

    Returns:
        The file's text.
    """
    data: Any = suite.model_dump(mode="python", by_alias=True, exclude_defaults=True)
    # Only conversations are read with `{{ }}` filled in (and a backslash before `{{`).
    data["conversations"] = _literal_braces(data["conversations"])
    head = schema_header(schema) if schema is not None else ""
    head += "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
    body = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return head + ("\n" if head else "") + body
