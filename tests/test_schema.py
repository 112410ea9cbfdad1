"""The editor schema: generated from the models, committed, and a real check of suite files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.loader import suite_schema, suite_schema_text

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "suites" / "evalkit.schema.json"
EXAMPLES = sorted((ROOT / "suites").glob("**/*.eval.yaml")) + sorted(
    (ROOT / "tests" / "data" / "suites" / "authoring").glob("*.eval.yaml")
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = suite_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_committed_schema_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == suite_schema_text(), (
        "suites/evalkit.schema.json is stale: run `evalkit schema -o suites/evalkit.schema.json`"
    )


def test_evalkit_schema_writes_the_same_text(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schema", "-o", str(tmp_path / "s.json")])

    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.json").read_text(encoding="utf-8") == suite_schema_text()


def test_descriptions_come_from_field_docstrings() -> None:
    defs = suite_schema()["$defs"]
    assert "quote it if YAML could read it" in defs["Turn"]["properties"]["user"]["description"]
    matchers = {f.get("title") for f in defs["Expectation"]["anyOf"]}
    assert {"email", "not", "python", "time"} <= matchers


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_suite_is_valid_and_starts_with_the_editor_header(
    validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(text))]
    assert errors == []


def _suite(turn: dict[str, Any], **conversation: Any) -> dict[str, Any]:
    return {
        "suite": "s",
        "form": "f",
        "conversations": [{"id": "c", "turns": [{"user": "hi", **turn}], **conversation}],
    }


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(_suite({"expcet": {"a": 1}}), id="misspelled-turn-key"),
        pytest.param(_suite({}, submited=True), id="misspelled-conversation-key"),
        pytest.param({**_suite({}), "defualts": {}}, id="misspelled-suite-key"),
        pytest.param(_suite({"expect": {"a": {"emial": "x"}}}), id="misspelled-matcher"),
        pytest.param(_suite({"expect": {"a": {"approx": 1, "tol": 2}}}), id="unknown-option"),
        pytest.param(_suite({"expect": {"a": {"not": {"emial": "x"}}}}), id="nested-misspelling"),
        pytest.param(_suite({}, unexpected_fields="sometimes"), id="bad-policy"),
        pytest.param(_suite({}, matrix="rows"), id="matrix-not-a-table"),
    ],
)
def test_the_schema_rejects_misspellings(
    validator: jsonschema.Draft202012Validator, document: dict[str, Any]
) -> None:
    assert not validator.is_valid(document)


def test_the_schema_accepts_the_authoring_syntax(
    validator: jsonschema.Draft202012Validator,
) -> None:
    document = _suite(
        {"expect": {"age": "{{ age }}", "email": {"all_of": [{"contains": "@"}, "x"]}}},
        id="age-{{ words }}",
        matrix=[{"words": "ten", "age": 10}],
        vars={"a": 1},
    )
    document["conversations"].append({"include": "more.yaml", "vars": {"x": 1}})
    errors = [e.message for e in validator.iter_errors(json.loads(json.dumps(document)))]
    assert errors == []


def test_the_schema_accepts_variants_and_personas_and_rejects_their_misspellings(
    validator: jsonschema.Draft202012Validator,
) -> None:
    """The keys this round added: `variants` (suite) and `persona` (conversation), as written."""
    persona = {
        "name": "jane",
        "style": "chatty",
        "typos": True,
        "values": {"email": {"value": "j@example.com", "expect": {"email": "j@example.com"}}},
        "declines": ["phone"],
    }
    document = {
        "suite": "s",
        "form": "f",
        "variants": {"kinds": ["typos", "numbers"], "copies": 2, "seed": 7},
        "conversations": [
            {"id": "scripted", "turns": [{"user": "hi"}]},
            {"id": "person", "persona": persona},
        ],
    }
    assert [e.message for e in validator.iter_errors(document)] == []

    for wrong in (
        {**document, "variants": {"kinds": ["typo"]}},  # not a kind
        {**document, "variants": {"kinds": ["typos"], "copies": 21}},  # past the bound
        {**document, "variants": {"kind": ["typos"]}},  # misspelt key
        {**document, "conversations": [{"id": "p", "persona": {**persona, "styl": "terse"}}]},
        {**document, "conversations": [{"id": "p", "persona": {**persona, "style": "rude"}}]},
    ):
        assert not validator.is_valid(wrong), wrong
