"""The emulator as the official Wix JavaScript SDK sees it.

`tests/sdk/drive_emulator.mjs` calls the five methods of
`@wix/auto_sdk_forms_interactive-form-sessions` (pinned, installed by `make sdk` into `.cache/sdk`)
through `@wix/sdk`'s own client against an emulator started here on loopback, then three calls
that must fail. The SDK is Wix's code, not ours: whatever it cannot read, the emulator sends
wrong. One node process runs every call (about a second).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from evalkit.emulator import EmulatorServer, load_forms

ROOT = Path(__file__).resolve().parent.parent
SDK_DIR = ROOT / ".cache" / "sdk"
SCRIPT = Path(__file__).resolve().parent / "sdk" / "drive_emulator.mjs"
PACKAGE = SDK_DIR / "node_modules" / "@wix" / "auto_sdk_forms_interactive-form-sessions"
API = "/forms/ai/v1/interactive-form-sessions"


def _sdk_missing() -> str:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (PACKAGE / "package.json").is_file():
        return f"the official SDK is not installed in {SDK_DIR} (run `make sdk`)"
    return ""


@pytest.fixture(scope="module")
def sdk() -> dict[str, Any]:
    missing = _sdk_missing()
    if missing:
        if os.environ.get("CI"):  # `make test` installs it: missing there is a failure
            pytest.fail(missing)
        pytest.skip(missing)
    with EmulatorServer(load_forms(ROOT / "suites" / "forms")) as server:
        done = subprocess.run(
            ["node", str(SCRIPT), str(SDK_DIR), server.base_url, server.form_ids["contact"]],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ok(sdk: dict[str, Any], method: str) -> Any:
    call = sdk["calls"][method]
    assert call["ok"], f"the SDK's {method} threw: {json.dumps(call['error'], indent=1)}"
    return call["value"]


def test_create_session_takes_a_client_time_without_current_time(sdk: dict[str, Any]) -> None:
    # The SDK types clientTime.currentTime as optional; the script sends only a time zone.
    session = ok(sdk, "createInteractiveFormSession")
    assert session["_id"]
    assert session["formId"]


def test_send_user_message_returns_the_chunks(sdk: dict[str, Any]) -> None:
    answer = ok(sdk, "sendUserMessage")
    kinds = [chunk["chunkType"] for chunk in answer["responseChunks"]]
    assert "TEXT_DATA" in kinds
    assert answer["interactiveFormSession"]["_id"] == ok(sdk, "createInteractiveFormSession")["_id"]


@pytest.mark.parametrize(
    "method", ["createInteractiveFormSessionStreamed", "sendUserMessageStreamed"]
)
def test_streamed_methods_read_the_default_answer_to_accept_any(
    sdk: dict[str, Any], method: str
) -> None:
    # The SDK sends `Accept: */*` and reads the body with one res.json(): the emulator answers
    # a JSON array of the streamed messages, the first carrying the session.
    messages = ok(sdk, method)
    assert isinstance(messages, list)
    assert messages
    assert messages[0]["interactiveFormSession"]["_id"]
    assert messages[-1]["responseChunk"]["chunkType"] == "END_OF_RESPONSE"
    assert all("interactiveFormSession" not in m for m in messages[1:])


def test_generate_form_summary(sdk: dict[str, Any]) -> None:
    assert "email" in ok(sdk, "generateFormSummary")["formSummary"]


def test_every_request_went_to_the_sdks_own_paths(sdk: dict[str, Any]) -> None:
    paths = [request["path"] for request in sdk["requests"]]
    assert paths[0] == API  # no trailing slash
    assert paths[2] == f"{API}/create-streamed"
    assert paths[4] == f"{API}/generate-form-summary"
    assert all(r["headers"]["authorization"] == "sdk-test-key" for r in sdk["requests"])


@pytest.mark.parametrize(
    ("call", "status", "code"),
    [
        pytest.param("emptyRequest", 400, "EMPTY_REQUEST", id="empty-request"),
        pytest.param("unknownSession", 404, "NOT_FOUND", id="unknown-session"),
        pytest.param("invalidForm", 400, "INVALID_FORM", id="invalid-form"),
    ],
)
def test_the_sdk_reads_the_emulators_errors(
    sdk: dict[str, Any], call: str, status: int, code: str
) -> None:
    outcome = sdk["errors"][call]
    assert not outcome["ok"]
    error = outcome["error"]
    assert error["name"] == "SDKError"
    assert error["status"] == status
    assert error["details"]["applicationError"]["code"] == code
    assert error["details"]["applicationError"]["description"]
    assert error["requestId"]  # from X-Wix-Request-Id
