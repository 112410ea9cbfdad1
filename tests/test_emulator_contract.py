"""Contract tests: recorded request/response examples replayed against the emulator.

Each example in `tests/data/contract/*.json` is a list of steps (path, body, `Accept`, the status,
the chunk types in order, and a subset of the body that must match). Responses are decoded by
evalkit's own decoder and read back with the wire models, so both sides agree; every key must be a
name the spec uses, and every `chunkType` a value of the spec's enum, with its one details field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel

from evalkit import protocol
from evalkit.emulator import EmulatorServer, load_forms
from evalkit.emulator.app import API_ROOT
from evalkit.protocol import ChunkType, CreateSessionResponse, StreamedMessage
from evalkit.stream import decode_body

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = Path(__file__).resolve().parent / "data" / "contract"
EXAMPLES = [
    example
    for path in sorted(CONTRACT.glob("*.json"))
    for example in json.loads(path.read_text(encoding="utf-8"))
]
# Field names of the spec: every wire model's camelCase names, plus the Wix error body's (§5.2).
SPEC_NAMES = {
    field.alias or name
    for model in vars(protocol).values()
    if isinstance(model, type) and issubclass(model, BaseModel)
    for name, field in model.model_fields.items()
} | {
    *("message", "details", "applicationError", "code", "description", "data"),
    *("validationError", "fieldViolations", "field", "violatedRule", "ruleName"),
}
FREE_FORM = {"value", "data", "currentValues"}  # JSON values of any shape
DETAILS = {
    kind.value: kind.value.lower().replace("_", " ").title().replace(" ", "")[:1].lower()
    + kind.value.lower().replace("_", " ").title().replace(" ", "")[1:]
    + "Details"
    for kind in ChunkType
}


@pytest.fixture(scope="module")
def http() -> Iterator[httpx2.Client]:
    with (
        EmulatorServer(forms=load_forms(ROOT / "suites" / "forms")) as server,
        httpx2.Client(base_url=server.base_url + API_ROOT, timeout=5) as client,
    ):
        yield client


def unknown_names(value: Any, where: str = "") -> list[str]:
    if isinstance(value, list):
        return [bad for item in value for bad in unknown_names(item, where)]
    if not isinstance(value, dict):
        return []
    found = []
    for key, item in value.items():
        if key not in SPEC_NAMES:
            found.append(f"{where}.{key}")
        if key not in FREE_FORM:
            found += unknown_names(item, f"{where}.{key}")
    return found


def is_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and is_subset(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(is_subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return type(expected) is type(actual) and expected == actual


def check_chunks(chunks: list[dict[str, Any]]) -> None:
    for chunk in chunks:
        kind = chunk["chunkType"]
        assert kind in DETAILS, kind
        one_of = {k for k in chunk if k.endswith("Details")}
        assert one_of == {DETAILS[kind]}, chunk


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e["name"])
def test_the_emulator_answers_as_the_contract_says(
    http: httpx2.Client, example: dict[str, Any]
) -> None:
    session = ""
    for number, step in enumerate(example["steps"], start=1):
        headers = {"Accept": step["accept"]} if "accept" in step else {}
        response = http.post(
            step["path"].replace("{session}", session), json=step["body"], headers=headers
        )
        assert response.status_code == step["status"], f"step {number}: {response.text}"
        if "framing" in step:
            framing, messages = decode_body(response.content, response.headers["content-type"])
            assert framing == step["framing"]
            parsed = [StreamedMessage.model_validate(m) for m in messages]
            assert [m.interactive_form_session is not None for m in parsed] == [
                i == 0 for i in range(len(parsed))
            ], "the session comes with the first message only"
            body: dict[str, Any] = {"responseChunks": [m["responseChunk"] for m in messages]}
            assert not unknown_names(messages), unknown_names(messages)
            session = (
                parsed[0].interactive_form_session.id
                if parsed[0].interactive_form_session
                else session
            )
        else:
            body = response.json()
            assert not unknown_names(body), unknown_names(body)
            if "responseChunks" in body:
                CreateSessionResponse.model_validate(body)
                session = body["interactiveFormSession"]["id"] or session
        if "chunkTypes" in step:
            check_chunks(body["responseChunks"])
            assert [c["chunkType"] for c in body["responseChunks"]] == step["chunkTypes"]
        assert is_subset(step.get("expect", {}), body), f"step {number}: {json.dumps(body)}"
