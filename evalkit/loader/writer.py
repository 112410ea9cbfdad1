"""Suites written back as YAML: what record mode, `evalkit init` and `evalkit expand` produce.

The output is plain YAML that the loader reads back to the same suite: expectations in their
written form (`Check` serialises itself that way), text that YAML would read as something else
(`no`, `12:30`) quoted, keys in the models' order, and defaults left out.
"""

from __future__ import annotations

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
