"""The wire as the official SDK and the service see it (issue 14, items 11 to 17).

Each test reproduces one observed problem: the trailing slash of the unary create, bodies that are
not the API's, Wix errors inside a stream, an optional `clientTime.currentTime`, the summary under
OAuth, request ids, and what the emulator answers to `Accept: */*`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx2
import pytest

from evalkit.client import API_PATH, Credentials, FormsClient, RetryPolicy
from evalkit.emulator import EmulatorServer, Knobs, load_forms
from evalkit.errors import WixApiError
from evalkit.stream import InStreamError, NotAStream, decode_body

ROOT = Path(__file__).resolve().parent.parent
FORMS = load_forms(ROOT / "suites" / "forms")
SESSION = {"id": "s-1", "formId": "f-1"}
EOR = {"chunkType": "END_OF_RESPONSE", "endOfResponseDetails": {"success": True}}
GREETING = {"chunkType": "TEXT", "textDetails": {"text": "Hi!"}}
WIX_ERROR = {
    "message": "quota exceeded",
    "details": {
        "applicationError": {"code": "RESOURCE_EXHAUSTED", "description": "AI quota", "data": {}}
    },
}
FAST = RetryPolicy(initial=0.001, maximum=0.004)


def client_for(
    handler: Callable[[httpx2.Request], httpx2.Response], **options: object
) -> FormsClient:
    return FormsClient(
        "https://api.test", transport=httpx2.MockTransport(handler), retry=FAST, **options
    )  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(FORMS) as server:
        yield server


def absolute(server: EmulatorServer, path: str = "") -> str:
    return f"{server.base_url}{API_PATH}{path}"


# ----------------------------------------------------------------------------- 11: no slash


@pytest.mark.anyio
async def test_the_unary_create_has_no_trailing_slash() -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.raw_path.decode())
        return httpx2.Response(200, json={"interactiveFormSession": SESSION, "responseChunks": []})

    async with client_for(handler, mode="unary") as client:
        await client.create_session("f-1")
    assert seen == [API_PATH]


def test_the_emulator_routes_the_slashed_create_path_as_the_service_does(
    emulator: EmulatorServer,
) -> None:
    slashed = httpx2.post(absolute(emulator, "/"), json={"formId": "contact"})
    assert slashed.status_code == 404
    assert slashed.json()["details"]["applicationError"]["code"] == "NOT_FOUND"
    assert httpx2.post(absolute(emulator), json={"formId": "contact"}).status_code == 200


@pytest.mark.anyio
async def test_a_unary_run_creates_sessions_on_the_emulator(emulator: EmulatorServer) -> None:
    async with FormsClient(emulator.base_url, mode="unary") as client:
        created = await client.create_session("contact")
    assert created.session_id
    assert created.status_code == 200


# ----------------------------------------------------------------------------- 12: not the API's


@pytest.mark.anyio
async def test_an_html_summary_is_a_protocol_error_that_shows_what_arrived() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, content=b"<html>hi</html>", headers={"content-type": "text/html"}
        )

    async with client_for(handler) as client:
        with pytest.raises(NotAStream) as info:
            await client.generate_form_summary({"formFields": []})
    assert info.value.kind == "protocol"
    assert "content type 'text/html', first bytes b'<html>hi</html>'" in str(info.value)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["unary", "sse"])
async def test_an_html_200_is_never_an_empty_successful_turn(mode: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, content=b"<!doctype html>", headers={"content-type": "text/html"}
        )

    async with client_for(handler, mode=mode) as client:
        with pytest.raises(NotAStream, match="first bytes b'<!doctype html>'"):
            await client.create_session("f-1")


# ----------------------------------------------------------------------------- 13: in-stream error


def test_a_wix_error_body_inside_a_stream_is_the_services_error() -> None:
    body = b"".join(
        b"data: " + json.dumps(m).encode() + b"\n\n"
        for m in ({"responseChunk": GREETING, "interactiveFormSession": SESSION}, WIX_ERROR)
    )
    with pytest.raises(InStreamError) as info:
        decode_body(body, "text/event-stream")
    assert (info.value.code, info.value.description) == ("RESOURCE_EXHAUSTED", "AI quota")
    assert info.value.kind == "http"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sse", "ndjson", "unary"])
async def test_the_client_reports_an_in_stream_error_with_its_code(mode: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if mode == "unary":
            return httpx2.Response(200, json=WIX_ERROR)
        lines = [{"responseChunk": GREETING, "interactiveFormSession": SESSION}, WIX_ERROR]
        if mode == "sse":
            body = b"".join(b"data: " + json.dumps(m).encode() + b"\n\n" for m in lines)
            return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})
        body = b"".join(json.dumps(m).encode() + b"\n" for m in lines)
        return httpx2.Response(200, content=body, headers={"content-type": "application/x-ndjson"})

    async with client_for(handler, mode=mode) as client:
        with pytest.raises(WixApiError) as info:
            await client.send_message("s-1", "hello")
    error = info.value
    assert isinstance(error, InStreamError)
    assert error.code == "RESOURCE_EXHAUSTED"
    assert error.description == "AI quota"
    assert "an error inside the stream: quota exceeded" in str(error)
    assert "truncated" not in str(error)
    assert error.kind == "http"
    assert len(error.partial.chunks) == (0 if mode == "unary" else 1)


# ----------------------------------------------------------------------------- 14: clientTime


def test_client_time_without_current_time_uses_the_servers_clock(
    emulator: EmulatorServer,
) -> None:
    zone = ZoneInfo("Pacific/Kiritimati")  # UTC+14: its date is rarely the UTC date
    before = datetime.now(UTC).astimezone(zone).date()
    created = httpx2.post(
        absolute(emulator),
        json={"formId": "booking", "dryRun": True, "clientTime": {"timeZone": zone.key}},
    )
    assert created.status_code == 200, created.text
    session = created.json()["interactiveFormSession"]["id"]
    answer = httpx2.post(
        absolute(emulator, f"/{session}/send-user-message"),
        json={"input": "A haircut tomorrow at 3pm"},
    ).json()
    after = datetime.now(UTC).astimezone(zone).date()
    dates = [
        c["textDataDetails"]["value"]
        for c in answer["responseChunks"]
        if c["chunkType"] == "TEXT_DATA" and c["textDataDetails"]["fieldTarget"] == "date"
    ]
    assert dates
    assert dates[0] in {str(day + timedelta(days=1)) for day in (before, after)}


# ----------------------------------------------------------------------------- 15: OAuth summary


@pytest.mark.anyio
async def test_the_summary_is_authorised_under_oauth() -> None:
    seen: dict[str, str | None] = {}

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/oauth2/token":
            return httpx2.Response(200, json={"access_token": "oauth-token-1", "expires_in": 14400})
        seen[request.url.path] = request.headers.get("authorization")
        return httpx2.Response(200, json={"formSummary": "A form."})

    credentials = Credentials.from_env(
        {"WIX_APP_ID": "app", "WIX_APP_SECRET": "s3cret-value", "WIX_INSTANCE_ID": "inst"}
    )
    async with client_for(handler, credentials=credentials) as client:
        assert await client.generate_form_summary({"formFields": []}) == "A form."
    assert seen == {f"{API_PATH}/generate-form-summary": "oauth-token-1"}


# ----------------------------------------------------------------------------- 16: request ids


def test_request_ids_are_unique_across_emulators_with_one_seed() -> None:
    first_ids = []
    for _ in range(2):
        with EmulatorServer(FORMS, Knobs(seed=3)) as server:
            responses = [
                httpx2.post(absolute(server), json={"formId": "contact"}) for _ in range(2)
            ]
        first_ids.extend(r.headers["x-wix-request-id"] for r in responses)
    assert len(set(first_ids)) == 4


# ----------------------------------------------------------------------------- 17: Accept */*


@pytest.mark.parametrize("accept", ["*/*", None], ids=["any", "none"])
def test_accept_any_or_none_gets_one_json_array(
    emulator: EmulatorServer, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    with httpx2.Client() as http:
        request = http.build_request(
            "POST", absolute(emulator, "/create-streamed"), json={"formId": "contact"}
        )
        if accept is None:
            del request.headers["accept"]
        else:
            request.headers.update(headers)
        response = http.send(request)
    assert response.headers["content-type"] == "application/json"
    messages = response.json()  # what the SDK does: one res.json()
    assert isinstance(messages, list)
    assert messages[0]["interactiveFormSession"]["id"]
    assert messages[-1]["responseChunk"]["chunkType"] == "END_OF_RESPONSE"


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [("text/event-stream", "text/event-stream"), ("application/x-ndjson", "application/x-ndjson")],
)
def test_a_framing_asked_for_is_still_given(
    emulator: EmulatorServer, accept: str, content_type: str
) -> None:
    response = httpx2.post(
        absolute(emulator, "/create-streamed"),
        json={"formId": "contact"},
        headers={"Accept": accept},
    )
    assert response.headers["content-type"].split(";")[0] == content_type
