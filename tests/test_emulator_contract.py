"""Contract tests: recorded request/response examples replayed against the emulator.

Each example in `tests/data/contract/*.json` is a list of steps (path, body, `Accept`, the status,
the chunk types in order, and a subset of the body that must match). What the names, enums and
paths must be comes from `tests/sdk/sdk_contract.json`, generated from the official SDK's typings
(`@wix/auto_sdk_forms_interactive-form-sessions`, by `tests/sdk/generate_contract.mjs`), never
from `evalkit.protocol`: every request and response is checked field by field against the SDK's
type of it, every enum value against the SDK's enum, every path against the SDK's URL; and
`evalkit.protocol`'s own aliases are checked against the same types, so a misspelt alias cannot
agree with itself. Wix error bodies are not in the typings: their names are the ones the SDK's
`@wix/sdk` error handling reads (spec §5.2).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel

from evalkit import protocol
from evalkit.emulator import EmulatorServer, load_forms
from evalkit.emulator.app import API_ROOT
from evalkit.protocol import ChunkType
from evalkit.stream import decode_body

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = Path(__file__).resolve().parent / "data" / "contract"
SDK = json.loads((Path(__file__).resolve().parent / "sdk" / "sdk_contract.json").read_text())
EXAMPLES = [
    example
    for path in sorted(CONTRACT.glob("*.json"))
    for example in json.loads(path.read_text(encoding="utf-8"))
]
TYPES: dict[str, Any] = SDK["types"]
ENUMS: dict[str, list[str]] = SDK["enums"]
DETAILS: dict[str, str] = SDK["chunkDetails"]  # chunkType -> its one details field
# The Wix error body (`@wix/sdk`'s rest-modules.js reads these; spec §5.2).
ERROR_NAMES = {
    *("message", "details", "applicationError", "code", "description", "data"),
    *("validationError", "fieldViolations", "field", "violatedRule", "ruleName"),
}


def method_for(path: str) -> dict[str, Any]:
    """The SDK's method whose URL a step's path (below the API root) is."""
    full = API_ROOT + path
    for method in SDK["methods"].values():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(method["path"]))
        if re.fullmatch(pattern, full):
            return dict(method)
    raise AssertionError(f"{full} is no path of the SDK")


def problems(value: Any, type_name: str, where: str = "") -> list[str]:
    """Every name and enum value in `value` that the SDK's type `type_name` does not have."""
    if isinstance(value, list):
        return [p for item in value for p in problems(item, type_name, where)]
    fields = TYPES[type_name]["fields"]
    if not isinstance(value, dict):
        return [f"{where}: expected an object of {type_name}, got {value!r}"]
    found = []
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None:
            found.append(f"{where}.{key}: not a field of {type_name}")
        elif "enum" in spec and item not in ENUMS[spec["enum"]]:
            found.append(f"{where}.{key}: {item!r} is not a value of {spec['enum']}")
        elif "type" in spec:
            found += problems(item, spec["type"], f"{where}.{key}")
    return found


def error_problems(value: Any, where: str = "") -> list[str]:
    if isinstance(value, list):
        return [p for item in value for p in error_problems(item, where)]
    if not isinstance(value, dict):
        return []
    found = []
    for key, item in value.items():
        if key not in ERROR_NAMES:
            found.append(f"{where}.{key}")
        if key != "data":
            found += error_problems(item, f"{where}.{key}")
    return found


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(forms=load_forms(ROOT / "suites" / "forms")) as server:
        yield server


@pytest.fixture(scope="module")
def http(server: EmulatorServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=5) as client:
        yield client


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
    http: httpx2.Client, server: EmulatorServer, example: dict[str, Any]
) -> None:
    session = ""
    for number, step in enumerate(example["steps"], start=1):
        path = step["path"].replace("{session}", session or "s")
        method = method_for(path)
        assert not problems(step["body"], method["request"]), problems(step["body"], "x")
        headers = {"Accept": step["accept"]} if "accept" in step else {}
        response = http.request(
            method["verb"], server.base_url + API_ROOT + path, json=step["body"], headers=headers
        )
        assert response.status_code == step["status"], f"step {number}: {response.text}"
        if response.status_code != 200:
            body = response.json()
            assert not error_problems(body), error_problems(body)
        elif "framing" in step:
            framing, messages = decode_body(response.content, response.headers["content-type"])
            assert framing == step["framing"]
            assert not problems(messages, method["response"]), problems(
                messages, method["response"]
            )
            assert ["interactiveFormSession" in m for m in messages] == [
                i == 0 for i in range(len(messages))
            ], "the session comes with the first message only"
            body = {"responseChunks": [m["responseChunk"] for m in messages]}
            session = messages[0]["interactiveFormSession"]["id"] or session
        else:
            body = response.json()
            assert not problems(body, method["response"]), problems(body, method["response"])
            if "responseChunks" in body:
                session = body["interactiveFormSession"]["id"] or session
        if "chunkTypes" in step:
            check_chunks(body["responseChunks"])
            assert [c["chunkType"] for c in body["responseChunks"]] == step["chunkTypes"]
        assert is_subset(step.get("expect", {}), body), f"step {number}: {json.dumps(body)}"


# evalkit.protocol's wire models and the SDK type each one is the REST form of.
PROTOCOL_TYPES = {
    protocol.TextDetails: "TextDetails",
    protocol.TextDataDetails: "TextDataDetails",
    protocol.Option: "Option",
    protocol.CustomValue: "CustomValue",
    protocol.MultiSelectInputDetails: "MultiSelectInputDetails",
    protocol.SingleSelectInputDetails: "SingleSelectInputDetails",
    protocol.NumberRangeLimit: "NumberRangeLimit",
    protocol.NumberInputDetails: "NumberInputDetails",
    protocol.SeparatorDetails: "SeparatorDetails",
    protocol.ErrorDetails: "ErrorDetails",
    protocol.SubmissionDetails: "SubmissionDetails",
    protocol.ImportantTextDetails: "ImportantTextDetails",
    protocol.DebugDetails: "DebugDetails",
    protocol.EndOfResponseDetails: "EndOfResponseDetails",
    protocol.FileUploadDetails: "FileUploadDetails",
    protocol.SignatureDetails: "SignatureDetails",
    protocol.MeaningfulInput: "MeaningfulInput",
    protocol.ResponseChunk: "InteractiveFormSessionResponseChunk",
    protocol.InteractiveFormSession: "InteractiveFormSession",
    protocol.ClientTime: "ClientTime",
    protocol.CreateSessionRequest: "CreateInteractiveFormSessionRequest",
    protocol.CreateSessionResponse: "CreateInteractiveFormSessionResponse",
    protocol.SendMessageResponse: "SendUserMessageResponse",
    protocol.StreamedMessage: "SendUserMessageStreamedResponse",
    protocol.GenerateFormSummaryRequest: "GenerateFormSummaryRequest",
    protocol.GenerateFormSummaryResponse: "GenerateFormSummaryResponse",
}


@pytest.mark.parametrize("model", list(PROTOCOL_TYPES), ids=lambda m: m.__name__)
def test_the_protocol_spells_every_field_as_the_sdk_does(model: type[BaseModel]) -> None:
    names = {field.alias or name for name, field in model.model_fields.items()}
    assert names == set(TYPES[PROTOCOL_TYPES[model]]["fields"])


def test_the_send_request_is_the_sdks_body() -> None:
    # The session id is a path parameter of the SDK's request, not a body field.
    names = {f.alias or n for n, f in protocol.SendMessageRequest.model_fields.items()}
    assert names == set(TYPES["SendUserMessageRequest"]["fields"]) - {"interactiveFormSessionId"}


def test_the_protocols_enums_are_the_sdks() -> None:
    assert {kind.value for kind in ChunkType} - {"UNKNOWN_CHUNK_TYPE"} == set(ENUMS["ChunkType"])
    assert protocol.TextDetails().style in ENUMS["Style"]
    assert protocol.SeparatorDetails().type in ENUMS["Type"]


def test_evalkit_calls_the_sdks_paths() -> None:
    from evalkit.client import API_PATH

    assert API_PATH == API_ROOT
    paths = {method["path"] for method in SDK["methods"].values()}
    assert paths == {
        API_ROOT,
        f"{API_ROOT}/create-streamed",
        f"{API_ROOT}/{{interactiveFormSessionId}}/send-user-message",
        f"{API_ROOT}/{{interactiveFormSessionId}}/send-user-message-streamed",
        f"{API_ROOT}/generate-form-summary",
    }
    assert {method["verb"] for method in SDK["methods"].values()} == {"POST"}


SDK_DIR = ROOT / ".cache" / "sdk"


@pytest.mark.skipif(
    shutil.which("node") is None
    or not (
        SDK_DIR / "node_modules" / "@wix" / "auto_sdk_forms_interactive-form-sessions"
    ).is_dir(),
    reason="the official SDK is not installed (make sdk)",
)
def test_the_fixture_is_what_the_sdks_typings_give() -> None:
    script = Path(__file__).resolve().parent / "sdk" / "generate_contract.mjs"
    done = subprocess.run(
        ["node", str(script), str(SDK_DIR)], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == SDK, "regenerate tests/sdk/sdk_contract.json"
