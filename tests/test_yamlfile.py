"""The one safe YAML reader and the one translation of validation errors into located problems."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalkit.errors import Problem
from evalkit.yamlfile import (
    MAX_FILE_BYTES,
    FileKind,
    Source,
    parse_bytes,
    read_file,
    validation_problems,
)

THING = FileKind(name="thing file", plural="things", keys="name, size", syntax="bad YAML")


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    count: int = Field(default=0, ge=0)


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    parts: list[Part] = []


def read(text: str, kind: FileKind = THING) -> tuple[Thing | None, list[Problem]]:
    doc = parse_bytes("t.yaml", text.encode(), kind)
    return doc.validate(Thing), doc.problems


def test_a_valid_file_becomes_its_model() -> None:
    thing, problems = read("name: box\nparts:\n  - label: lid\n    count: 1\n")
    assert problems == []
    assert thing == Thing(name="box", parts=[Part(label="lid", count=1)])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "name: box\nparts:\n  - label: lid\n    count: -1\n",
            [Problem("t.yaml", 4, "parts.0.count: Input should be greater than or equal to 0")],
            id="nested value: its line",
        ),
        pytest.param(
            "name: box\nparts:\n  - count: 1\n",
            [Problem("t.yaml", 3, "parts.0.label: Field required")],
            id="missing key: the line of its mapping",
        ),
        pytest.param(
            "name: box\ncolour: red\n",
            [Problem("t.yaml", 2, "colour: Extra inputs are not permitted")],
            id="unknown key",
        ),
        pytest.param(
            "- name: box\n",
            [Problem("t.yaml", 1, "a thing file must be a mapping (name, size)")],
            id="not a mapping",
        ),
        pytest.param(
            "", [Problem("t.yaml", 1, "a thing file must be a mapping (name, size)")], id="empty"
        ),
    ],
)
def test_validation_errors_are_located_problems(text: str, expected: list[Problem]) -> None:
    thing, problems = read(text)
    assert thing is None
    assert problems == expected


@pytest.mark.parametrize(
    ("text", "line", "phrase"),
    [
        pytest.param("name: a\nname: b\n", 2, "duplicate key `name` (first at line 1)", id="dup"),
        pytest.param("name: &n a\nparts: *n\n", 2, "YAML aliases (*n) are not allowed", id="alias"),
        pytest.param("name: !!binary aGk=\n", 1, "(things use plain mappings", id="tag"),
        pytest.param("name: a\n---\nname: b\n", 2, "a thing file holds one YAML document", id="2"),
        pytest.param("name: [a\n", 2, "bad YAML: ", id="syntax"),
        pytest.param("name: " + "[" * 70 + "]" * 70 + "\n", 1, "nests deeper", id="nesting"),
    ],
)
def test_a_file_with_yaml_problems_is_not_validated(text: str, line: int, phrase: str) -> None:
    thing, problems = read(text)
    assert thing is None
    assert len(problems) == 1, problems
    assert (problems[0].line, phrase in problems[0].message) == (line, True), problems


def test_anchors_alone_are_refused_only_where_the_kind_says() -> None:
    assert read("name: &n box\n") == (Thing(name="box"), [])
    strict = FileKind(name="suite file", refuse_anchors=True)
    _, problems = read("name: &n box\n", strict)
    assert [p.message for p in problems] == [
        "YAML anchors (&n) are not allowed; write the value out where it is used"
    ]


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"name: " + b"x" * MAX_FILE_BYTES + b"\n")
    doc = read_file(str(path), THING)
    assert doc.validate(Thing) is None
    assert [str(p) for p in doc.problems] == [
        f"{path}: the file is 2.0 MiB; thing files may be at most 2 MiB, split it"
    ]


def test_an_unreadable_file_says_what_to_give(tmp_path: Path) -> None:
    doc = read_file(str(tmp_path), THING)
    assert [p.message for p in doc.problems] == [
        "cannot read the file (is a directory); give a readable thing file"
    ]


def test_the_pure_python_parser_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "name: a\nname: b\nparts:\n  - {label: x, count: 2}\n  - &a {label: y}\n"
    fast = parse_bytes("t.yaml", text.encode(), THING)
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    slow = parse_bytes("t.yaml", text.encode(), THING)
    assert (slow.value, slow.problems, slow.sources) == (fast.value, fast.problems, fast.sources)


def test_the_translation_drops_reported_values_and_what_describe_declines() -> None:
    sources = {
        (): Source("a.yaml", 1, "a mapping"),
        ("parts",): Source("a.yaml", 2, "a list"),
        ("parts", 0): Source("b.yaml", 7, "a mapping"),  # from an included file
    }
    value = {"name": 1, "parts": [{"count": "x"}, {"label": None}]}
    with pytest.raises(ValidationError) as caught:
        Thing.model_validate(value)

    def describe(error: object, source: Source | None) -> str | None:
        assert isinstance(error, dict)
        if error["type"] == "int_parsing":
            return None
        return f"{'.'.join(map(str, error['loc']))} ({source.kind if source else 'nothing'})"

    problems = validation_problems(
        caught.value, sources, describe, reported={("name",)}, path="a.yaml"
    )
    assert problems == [
        Problem("b.yaml", 7, "parts.0.label (nothing)"),
        Problem("a.yaml", 2, "parts.1.label (nothing)"),
    ]
    assert validation_problems(caught.value, {}, describe, path="a.yaml")[0] == Problem(
        "a.yaml", 0, "name (nothing)"
    )
