"""The emulator as a user of it sees it: a real server on loopback, spoken to over HTTP."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from evalkit.emulator import (
    EmulatorServer,
    Form,
    Knobs,
    Latency,
    create_app,
    form_from_wix,
    load_form,
    load_forms,
)
from evalkit.emulator.app import API_ROOT, choose_framing
from evalkit.emulator.forms import summarize_form
from evalkit.errors import SuiteError, UsageError
from evalkit.loader import load_suites
from evalkit.suite import Check, Conversation, Suite

ROOT = Path(__file__).resolve().parent.parent
FORMS_DIR = ROOT / "suites" / "forms"
SUITE_FILE = ROOT / "suites" / "contact.eval.yaml"
ZERO_ID = "00000000-0000-0000-0000-000000000000"

PROMPTS_FORM = Form.model_validate(
    {
        "key": "prompts",
        "id": "11111111-2222-4333-8444-555555555555",
        "name": "Prompts",
        "greeting": "Hello.",
        "fields": [
            {
                "target": "guests",
                "label": "Guests",
                "type": "number",
                "required": True,
                "min": 1,
                "max": 12,
                "multiple_of": 1,
            },
            {
                "target": "extras",
                "label": "Extras",
                "type": "multi_select",
                "required": True,
                "custom_option": True,
                "options": [
                    {"value": "wifi", "label": "Wi-Fi"},
                    {"value": "parking", "label": "Parking"},
                ],
            },
        ],
    }
)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    forms = {**load_forms(FORMS_DIR), "prompts": PROMPTS_FORM}
    with EmulatorServer(forms=forms) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: EmulatorServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url + API_ROOT, timeout=10) as http:
        yield http


def create(client: httpx2.Client, form: str = "contact", **body: Any) -> dict[str, Any]:
    response = client.post(
        str(client.base_url).rstrip("/"), json={"formId": form, "dryRun": True, **body}
    )
    assert response.status_code == 200, response.text
    parsed: dict[str, Any] = response.json()
    return parsed


def send(client: httpx2.Client, session_id: str, **body: Any) -> list[dict[str, Any]]:
    response = client.post(f"/{session_id}/send-user-message", json=body)
    assert response.status_code == 200, response.text
    chunks: list[dict[str, Any]] = response.json()["responseChunks"]
    return chunks


def types(chunks: list[dict[str, Any]]) -> list[str]:
    return [c["chunkType"] for c in chunks]


def data(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        c["textDataDetails"]["fieldTarget"]: c["textDataDetails"]["value"]
        for c in chunks
        if c["chunkType"] == "TEXT_DATA"
    }


def texts(chunks: list[dict[str, Any]]) -> str:
    return " ".join(c["textDetails"]["text"] for c in chunks if c["chunkType"] == "TEXT")


# ----------------------------------------------------------------------------- sessions


def test_create_greets_then_asks_for_the_first_required_field(
    client: httpx2.Client, server: EmulatorServer
) -> None:
    body = create(client, server.form_ids["contact"])
    chunks = body["responseChunks"]
    assert body["interactiveFormSession"]["formId"] == server.form_ids["contact"]
    assert types(chunks) == ["TEXT", "SEPARATOR", "TEXT", "END_OF_RESPONSE"]
    assert "assistant" in chunks[0]["textDetails"]["text"]
    assert chunks[2]["textDetails"]["text"] == "What's your first name?"
    assert chunks[-1]["endOfResponseDetails"] == {"success": True}


def test_prefilled_values_of_the_form_are_echoed_as_text_data(client: httpx2.Client) -> None:
    chunks = create(client, currentValues={"first_name": "Dana", "utm_source": "web"})[
        "responseChunks"
    ]
    assert data(chunks) == {"first_name": "Dana"}
    assert "meaningfulInput" not in chunks[1]
    assert "email" in texts(chunks)


def test_text_data_carries_typed_values_and_the_span_they_came_from(client: httpx2.Client) -> None:
    session = create(client)["interactiveFormSession"]["id"]
    message = "I'm Jane Doe, jane@example.com, 34 years old, +1 555 010 2030"
    chunks = send(client, session, input=message)
    found = {
        c["textDataDetails"]["fieldTarget"]: message[
            c["meaningfulInput"]["startOffset"] : c["meaningfulInput"]["startOffset"]
            + c["meaningfulInput"]["length"]
        ]
        for c in chunks
        if c["chunkType"] == "TEXT_DATA"
    }
    assert data(chunks) == {
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane@example.com",
        "age": 34,
        "phone": "+15550102030",
    }
    assert found == {
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane@example.com",
        "age": "34",
        "phone": "+1 555 010 2030",
    }
    assert types(chunks)[-5:] == [
        "TEXT",
        "SEPARATOR",
        "TEXT",
        "SINGLE_SELECT_INPUT",
        "END_OF_RESPONSE",
    ]


def test_a_single_select_question_comes_with_its_options(client: httpx2.Client) -> None:
    session = create(client, currentValues={"first_name": "Jo", "email": "jo@example.com"})
    prompt = session["responseChunks"][-2]["singleSelectInputDetails"]
    assert prompt["fieldTarget"] == "contact_method"
    assert [o["value"] for o in prompt["options"]] == ["email", "phone_call", "text_message"]
    assert "allowedCustomValue" not in prompt


def test_number_and_multi_select_prompts_carry_their_limits(client: httpx2.Client) -> None:
    body = create(client, "prompts")
    number = body["responseChunks"][-2]
    assert number["numberInputDetails"] == {
        "fieldTarget": "guests",
        "rangeLimit": {"minInclusiveValue": 1, "maxInclusiveValue": 12},
        "multipleOf": 1,
    }
    chunks = send(client, body["interactiveFormSession"]["id"], input="four")
    assert data(chunks) == {"guests": 4}
    multi = chunks[-2]["multiSelectInputDetails"]
    assert [o["label"] for o in multi["options"]] == ["Wi-Fi", "Parking"]
    assert multi["allowedCustomValue"]["description"]


def test_a_custom_value_is_accepted_where_the_select_allows_it(client: httpx2.Client) -> None:
    session = create(client, "prompts", currentValues={"guests": 2})["interactiveFormSession"]["id"]
    chunks = send(client, session, input="a baby cot")
    assert data(chunks) == {"extras": ["a baby cot"]}
    assert "SUBMISSION" in types(chunks)


def test_a_value_that_fails_validation_is_reported_and_asked_again(client: httpx2.Client) -> None:
    session = create(client, "prompts")["interactiveFormSession"]["id"]
    chunks = send(client, session, input="20")
    assert data(chunks) == {}
    important = [c["importantTextDetails"] for c in chunks if c["chunkType"] == "IMPORTANT_TEXT"]
    assert important == [
        {"fieldTarget": "guests", "text": "20 is out of range. Guests must be between 1 and 12."}
    ]
    assert chunks[-2]["chunkType"] == "NUMBER_INPUT"


def test_the_last_required_value_brings_a_dry_run_submission_and_no_question(
    client: httpx2.Client,
) -> None:
    values = {"first_name": "Ann", "email": "ann@example.com", "contact_method": "email"}
    session = create(client, currentValues=values)["interactiveFormSession"]["id"]
    chunks = send(client, session, input="yes please")
    assert types(chunks)[-2:] == ["SUBMISSION", "END_OF_RESPONSE"]
    assert chunks[-2]["submissionDetails"] == {"submissionId": ZERO_ID}
    assert not any(c["chunkType"].endswith("_INPUT") for c in chunks)
    again = send(client, session, input="and my phone is 555 010 2030")
    assert "SUBMISSION" not in types(again)
    assert "already been submitted" in texts(again)


def test_a_real_run_gets_a_real_looking_submission_id(client: httpx2.Client) -> None:
    values = {"first_name": "Ann", "email": "ann@example.com", "contact_method": "email"}
    response = client.post(
        str(client.base_url).rstrip("/"), json={"formId": "contact", "currentValues": values}
    )
    session = response.json()["interactiveFormSession"]["id"]
    chunks = send(client, session, input="no")
    submission_id = chunks[-2]["submissionDetails"]["submissionId"]
    assert submission_id != ZERO_ID
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", submission_id
    )


def test_current_values_on_send_replace_earlier_values(client: httpx2.Client) -> None:
    session = create(client)["interactiveFormSession"]["id"]
    send(client, session, input="I'm Jane, jane@example.com")
    chunks = send(
        client, session, currentValues={"email": "j@example.org", "contact_method": "email"}
    )
    assert data(chunks) == {}
    assert "newsletter" in texts(chunks)


def test_a_blank_message_is_an_error_chunk_and_an_unsuccessful_end(client: httpx2.Client) -> None:
    session = create(client)["interactiveFormSession"]["id"]
    chunks = send(client, session, input="   ")
    assert types(chunks) == ["ERROR", "END_OF_RESPONSE"]
    assert chunks[-1]["endOfResponseDetails"] == {"success": False}


def test_the_same_messages_give_the_same_chunks(client: httpx2.Client) -> None:
    runs = []
    for _ in range(2):
        body = create(client, clientTime={"currentTime": "2026-11-25T10:00:00Z"})
        chunks = send(client, body["interactiveFormSession"]["id"], input="I'm Al, al@example.com")
        runs.append((body["responseChunks"], chunks))
    assert runs[0] == runs[1]


# ----------------------------------------------------------------------------- streaming


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        pytest.param("text/event-stream", "text/event-stream", id="sse"),
        pytest.param("application/x-ndjson", "application/x-ndjson", id="ndjson"),
        pytest.param("application/json", "application/json", id="json-array"),
        pytest.param("*/*", "application/json", id="any-gives-default"),
    ],
)
def test_streamed_framing_follows_the_accept_header(
    client: httpx2.Client, accept: str, content_type: str
) -> None:
    response = client.post(
        "/create-streamed", json={"formId": "contact"}, headers={"Accept": accept}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == content_type
    messages = decode(response.text, content_type)
    assert [m["responseChunk"]["chunkType"] for m in messages] == [
        "TEXT",
        "SEPARATOR",
        "TEXT",
        "END_OF_RESPONSE",
    ]
    assert set(messages[0]["interactiveFormSession"]) == {"id", "formId"}
    assert all("interactiveFormSession" not in m for m in messages[1:])


def test_send_streamed_carries_the_same_chunks_as_send(client: httpx2.Client) -> None:
    streamed, unary = (create(client)["interactiveFormSession"]["id"] for _ in range(2))
    message = {"input": "Hi, I'm Jane Doe, jane@example.com"}
    response = client.post(
        f"/{streamed}/send-user-message-streamed",
        json=message,
        headers={"Accept": "application/x-ndjson"},
    )
    chunks = [m["responseChunk"] for m in decode(response.text, "application/x-ndjson")]
    assert chunks == send(client, unary, **message)


def test_streamed_messages_really_arrive_one_by_one() -> None:
    with (
        EmulatorServer(FORMS_DIR, Knobs(framing="ndjson", latency=Latency(chunk=0.1))) as slow,
        httpx2.Client(base_url=slow.base_url + API_ROOT) as http,
        http.stream("POST", "/create-streamed", json={"formId": "contact"}) as response,
    ):
        assert response.headers["content-type"] == "application/x-ndjson"
        arrivals = [time.monotonic() for line in response.iter_lines() if line.strip()]
    assert len(arrivals) == 4
    assert arrivals[-1] - arrivals[0] >= 0.25


@pytest.mark.parametrize(
    ("accept", "framing"),
    [
        pytest.param("", "ndjson", id="no-header"),
        pytest.param("*/*", "ndjson", id="any"),
        pytest.param("text/event-stream", "sse", id="sse"),
        pytest.param("application/json, */*;q=0.5", "json-array", id="json-first"),
        pytest.param("text/html, application/x-ndjson;q=0.9", "ndjson", id="skips-unknown"),
        pytest.param("application/json;q=0.2, text/event-stream", "sse", id="by-quality"),
        pytest.param("application/json;q=0", "ndjson", id="refused-type"),
    ],
)
def test_choose_framing(accept: str, framing: str) -> None:
    assert choose_framing(accept, "ndjson") == framing


def decode(body: str, content_type: str) -> list[dict[str, Any]]:
    if content_type == "text/event-stream":
        events = [e for e in body.split("\n\n") if e.strip()]
        assert all(e.startswith("data: ") for e in events)
        return [json.loads(e.removeprefix("data: ")) for e in events]
    if content_type == "application/x-ndjson":
        return [json.loads(line) for line in body.splitlines() if line.strip()]
    parsed = json.loads(body)
    assert isinstance(parsed, list)
    return parsed


# ----------------------------------------------------------------------------- errors


def wix_error(response: httpx2.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"message", "details"}
    details: dict[str, Any] = body["details"]
    return details


def test_a_message_with_neither_input_nor_values_is_empty_request(client: httpx2.Client) -> None:
    session = create(client)["interactiveFormSession"]["id"]
    bodies: list[dict[str, Any]] = [{}, {"input": ""}, {"currentValues": {}}]
    for body in bodies:
        response = client.post(f"/{session}/send-user-message-streamed", json=body)
        assert response.status_code == 400
        app_error = wix_error(response)["applicationError"]
        assert app_error["code"] == "EMPTY_REQUEST"
        assert app_error["data"] == {}
        assert app_error["description"]


def test_an_unknown_session_is_not_found(client: httpx2.Client) -> None:
    response = client.post(
        "/4b0f2c1e-0000-4000-8000-000000000000/send-user-message", json={"input": "hi"}
    )
    assert response.status_code == 404
    assert wix_error(response)["applicationError"]["code"] == "NOT_FOUND"


def test_an_unknown_form_is_not_found(client: httpx2.Client) -> None:
    response = client.post(str(client.base_url).rstrip("/"), json={"formId": "no-such-form"})
    assert response.status_code == 404
    assert wix_error(response)["applicationError"]["code"] == "NOT_FOUND"


def test_input_is_limited_to_ten_thousand_characters(client: httpx2.Client) -> None:
    session = create(client)["interactiveFormSession"]["id"]
    response = client.post(f"/{session}/send-user-message", json={"input": "x" * 10_001})
    assert response.status_code == 400
    violation = wix_error(response)["validationError"]["fieldViolations"][0]
    assert violation["field"] == "input"
    assert violation["violatedRule"] == "MAX_LENGTH"
    assert (
        client.post(f"/{session}/send-user-message", json={"input": "x" * 10_000}).status_code
        == 200
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(b'{"dryRun": true}', id="no-form-id"),
    ],
)
def test_a_malformed_create_request_is_a_400_with_a_wix_body(
    client: httpx2.Client, body: bytes
) -> None:
    response = client.post(
        str(client.base_url).rstrip("/"), content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert wix_error(response)


def test_every_response_has_a_request_id(client: httpx2.Client) -> None:
    ok = client.post(str(client.base_url).rstrip("/"), json={"formId": "contact"})
    missing = client.get("/nowhere")
    assert missing.status_code in (404, 405)
    ids = {ok.headers["x-wix-request-id"], missing.headers["x-wix-request-id"]}
    assert len(ids) == 2


def test_generate_form_summary_describes_the_posted_form(client: httpx2.Client) -> None:
    form = {
        "id": "0b6f5c3e-1d2a-4e6f-8a9b-0c1d2e3f4a5b",
        "name": "Booking",
        "formFields": [
            {
                "inputOptions": {
                    "target": "email",
                    "inputType": "STRING",
                    "required": True,
                    "stringOptions": {
                        "validation": {"format": "EMAIL"},
                        "textInputOptions": {"label": "Email"},
                    },
                }
            },
            {
                "inputOptions": {
                    "target": "room",
                    "inputType": "STRING",
                    "stringOptions": {
                        "dropdownOptions": {
                            "label": "Room",
                            "options": [{"value": "a", "label": "A"}],
                        }
                    },
                }
            },
            {"displayOptions": {"displayFieldType": "RICH_CONTENT"}},
        ],
    }
    first = client.post("/generate-form-summary", json={"form": form})
    second = client.post("/generate-form-summary", json={"form": form})
    assert first.status_code == 200
    assert (
        first.json()
        == second.json()
        == {"formSummary": "Booking asks for 2 fields: email*, room (* required)."}
    )


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"name": "Empty", "formFields": []}, id="no-fields"),
        pytest.param({"formFields": [{"displayOptions": {}}]}, id="display-only"),
    ],
)
def test_a_form_without_fields_is_invalid_form(client: httpx2.Client, form: dict[str, Any]) -> None:
    response = client.post("/generate-form-summary", json={"form": form})
    assert response.status_code == 400
    assert wix_error(response)["applicationError"]["code"] == "INVALID_FORM"


# ----------------------------------------------------------------------------- server


def test_the_server_stops_cleanly_and_frees_its_port() -> None:
    before = set(threading.enumerate())
    with EmulatorServer(FORMS_DIR) as running:
        port = running.port
        assert running.base_url == f"http://127.0.0.1:{port}"
        assert running.form_ids["contact"] == "3c0f6a52-8d1e-4b7a-9f25-5e4c1a7d2b90"
        with httpx2.Client() as http:
            assert http.post(running.base_url + API_ROOT, json={"formId": "contact"}).is_success
    assert set(threading.enumerate()) <= before
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


def test_requests_on_a_kept_alive_connection_are_not_held_back(client: httpx2.Client) -> None:
    # Without TCP_NODELAY on accepted sockets each response waits ~40 ms for a delayed ACK.
    client.post(str(client.base_url).rstrip("/"), json={"formId": "contact"})
    started = time.monotonic()
    for _ in range(10):
        client.post(str(client.base_url).rstrip("/"), json={"formId": "contact"})
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(
    "forms",
    [pytest.param(None, id="neither"), pytest.param(42, id="not-forms")],
)
def test_the_server_needs_forms_dir_or_forms(forms: Any) -> None:
    with pytest.raises(UsageError, match="forms_dir or forms"):
        EmulatorServer(forms)


def test_create_app_rejects_an_unknown_framing() -> None:
    with pytest.raises(ValueError, match="framing"):
        create_app({}, Knobs(framing="xml"))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- forms


def test_the_contact_form_loads_with_its_required_fields() -> None:
    form = load_form(FORMS_DIR / "contact.form.yaml")
    required = [f.target for f in form.fields if f.required]
    assert required == ["first_name", "email", "contact_method", "newsletter"]
    assert len(summarize_form(form)) <= 255


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param("key: x\n  bad: [", 2, "invalid YAML", id="bad-yaml"),
        pytest.param("- a\n", 1, "must be a mapping", id="not-a-mapping"),
        pytest.param(
            "key: broken\nid: 3c0f6a52-8d1e-4b7a-9f25-5e4c1a7d2b91\nname: B\ngreeting: Hi\n"
            "fields:\n  - target: a\n    label: A\n    type: single_select\n",
            6,
            "needs `options`",
            id="select-without-options",
        ),
        pytest.param(
            "key: broken\nid: nope\nname: B\ngreeting: Hi\nfields: []\n", 2, "id", id="bad-id"
        ),
        pytest.param(
            "key: broken\nid: 3c0f6a52-8d1e-4b7a-9f25-5e4c1a7d2b91\nname: B\ngreeting: Hi\n"
            "fields:\n  - target: a\n    label: A\n    type: text\n    colour: red\n",
            9,
            "colour",
            id="unknown-key",
        ),
        pytest.param("base: &b {key: x}\nother: *b\n", 2, "aliases", id="alias"),
        pytest.param(
            "key: other\nid: 3c0f6a52-8d1e-4b7a-9f25-5e4c1a7d2b91\nname: B\ngreeting: Hi\n"
            "fields:\n  - {target: a, label: A, type: text}\n",
            1,
            "file name",
            id="key-not-file-name",
        ),
    ],
)
def test_form_problems_are_reported_with_their_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "broken.form.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SuiteError) as caught:
        load_forms(tmp_path)
    problem = caught.value.problems[0]
    assert (problem.path, problem.line) == (str(path), line)
    assert message in problem.message


VALID_FORM = (
    "key: broken\nid: 3c0f6a52-8d1e-4b7a-9f25-5e4c1a7d2b91\nname: B\ngreeting: Hi\n"
    "fields:\n  - {target: a, label: A, type: text}\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            VALID_FORM + "name: C\n",
            "broken.form.yaml:7: duplicate key `name` (first at line 3); keep only one",
            id="duplicate-key",
        ),
        pytest.param(
            VALID_FORM + "  - &f {target: b, label: B, type: text}\n  - *f\n",
            "broken.form.yaml:8: YAML aliases (*f) are not allowed; write the value out",
            id="alias",
        ),
        pytest.param(
            VALID_FORM.replace("name: B", "name: !!binary Qg=="),
            "broken.form.yaml:3: the YAML tag !!binary is not allowed; remove it (form files "
            "use plain mappings, lists, text, numbers and booleans)",
            id="tag",
        ),
        pytest.param(
            VALID_FORM + "---\n" + VALID_FORM,
            "broken.form.yaml:7: a form file holds one YAML document, but a second one starts "
            "here; remove the `---` line or move what follows into its own file",
            id="two-documents",
        ),
        pytest.param(
            VALID_FORM + "notes: ['" + "x" * (2 * 1024 * 1024) + "']\n",
            "broken.form.yaml: the file is 2.0 MiB; form files may be at most 2 MiB, split it",
            id="oversized",
        ),
    ],
)
def test_form_files_are_read_as_strictly_as_suites(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "broken.form.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_form(FORMS_DIR / "contact.form.yaml")  # the example forms pass
    with pytest.raises(SuiteError) as caught:
        load_forms(tmp_path)
    assert [str(p) for p in caught.value.problems] == [str(tmp_path / expected)]


def test_load_forms_reports_every_file_and_duplicate_ids(tmp_path: Path) -> None:
    text = (FORMS_DIR / "contact.form.yaml").read_text(encoding="utf-8")
    (tmp_path / "contact.form.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "copy.form.yaml").write_text(text.replace("key: contact", "key: copy"), "utf-8")
    (tmp_path / "empty.form.yaml").write_text("", encoding="utf-8")
    with pytest.raises(SuiteError) as caught:
        load_forms(tmp_path)
    messages = [p.message for p in caught.value.problems]
    assert len(messages) == 2
    assert any("is also in" in m for m in messages)
    assert any("must be a mapping" in m for m in messages)


def test_a_wix_form_becomes_an_emulator_form() -> None:
    form = form_from_wix(
        {
            "id": "0b6f5c3e-1d2a-4e6f-8a9b-0c1d2e3f4a5b",
            "name": "Party",
            "formFields": [
                {
                    "inputOptions": {
                        "target": "guests",
                        "inputType": "NUMBER",
                        "required": True,
                        "numberOptions": {
                            "validation": {"minimum": 1, "maximum": 9},
                            "numberInputOptions": {"label": "Guests"},
                        },
                    }
                },
                {
                    "inputOptions": {
                        "target": "food",
                        "inputType": "ARRAY",
                        "arrayOptions": {
                            "checkboxGroupOptions": {
                                "label": "Food",
                                "customOption": {"label": "Other"},
                                "options": [{"value": "veg", "label": "Veggie"}],
                            }
                        },
                    }
                },
                {"hidden": True, "inputOptions": {"target": "secret", "inputType": "STRING"}},
            ],
        }
    )
    guests, food = form.fields
    assert (guests.type, guests.min, guests.max, guests.required) == ("number", 1, 9, True)
    assert (food.type, food.custom_option, food.options[0].label) == (
        "multi_select",
        True,
        "Veggie",
    )


# ----------------------------------------------------------------------------- the example suite


def load_suite() -> Suite:
    assert SUITE_FILE.read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=evalkit.schema.json\n"
    )
    return load_suites([str(SUITE_FILE)])[0].suite  # the loader expands matrices and includes


SUITE = load_suite()


@pytest.mark.parametrize("conversation", SUITE.conversations, ids=lambda c: c.id)
def test_example_suite_passes_against_the_emulator(
    client: httpx2.Client, server: EmulatorServer, conversation: Conversation
) -> None:
    clock = conversation.client_time or SUITE.client_time
    body: dict[str, Any] = {"formId": server.form_ids[SUITE.form], "dryRun": True}
    if conversation.prefill:
        body["currentValues"] = conversation.prefill
    if clock is not None:
        body["clientTime"] = clock.model_dump(by_alias=False, exclude_none=True)
        body["clientTime"] = {"currentTime": clock.current_time, "timeZone": clock.time_zone}
    created = client.post(str(client.base_url).rstrip("/"), json=body).json()
    session = created["interactiveFormSession"]["id"]
    state = dict(conversation.prefill)
    all_chunks = list(created["responseChunks"])
    for number, turn in enumerate(conversation.turns, start=1):
        message: dict[str, Any] = {"input": turn.user}
        if turn.set_values:
            message["currentValues"] = turn.set_values
            state.update(turn.set_values)
        chunks = send(client, session, **message)
        all_chunks += chunks
        extracted = data(chunks)
        state.update(extracted)
        for target, check in (turn.expect or {}).items():
            assert passes(check, target in extracted, extracted.get(target)), (
                f"turn {number}: {target} = {extracted.get(target)!r}, expected {check}"
            )
        if turn.reply is not None:
            assert passes(turn.reply, True, texts(chunks)), f"turn {number}: {texts(chunks)!r}"
    for target, check in (conversation.final or {}).items():
        assert passes(check, target in state, state.get(target)), f"final {target}: {state}"
    if conversation.submitted is not None:
        assert ("SUBMISSION" in types(all_chunks)) is conversation.submitted


def passes(check: Check, present: bool, actual: Any) -> bool:
    """A small stand-in for evalkit's matchers, with the semantics the suite is written for."""
    expected, name = check.value, check.matcher
    if name == "absent":
        return not present
    if name == "present":
        return present
    if not present:
        return False
    if name is None:
        if isinstance(expected, bool) or isinstance(actual, bool):
            return type(expected) is type(actual) and expected == actual
        if isinstance(expected, int | float):
            return isinstance(actual, int | float) and expected == actual
        if isinstance(expected, list):
            return isinstance(actual, list) and sorted(map(str, expected)) == sorted(
                map(str, actual)
            )
        return isinstance(actual, str) and norm(actual) == norm(str(expected))
    if name in ("email", "text"):
        return norm(str(actual)) == norm(str(expected))
    if name == "phone":
        return re.sub(r"\D", "", str(actual)) == re.sub(r"\D", "", str(expected))
    if name == "approx":
        return abs(float(actual) - float(expected)) <= float(check.options.get("abs", 0))
    if name == "regex":
        return re.search(str(expected), str(actual)) is not None
    if name == "one_of":
        return actual in expected
    if name == "set":
        return sorted(map(str, actual)) == sorted(map(str, expected))
    if name == "contains":
        return norm(str(expected)) in norm(str(actual))
    raise AssertionError(f"matcher {name} is not used by the example suite")


def norm(text: str) -> str:
    return " ".join(text.split()).casefold()
