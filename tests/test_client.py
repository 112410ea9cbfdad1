"""The client against scripted responses (httpx2.MockTransport): requests, errors, partial turns."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx2
import pytest

from evalkit.client import API_PATH, Credentials, FormsClient, Secret
from evalkit.errors import StreamError, TargetError, WixApiError
from evalkit.protocol import ClientTime

pytestmark = pytest.mark.anyio

SESSION = {"id": "s-1", "formId": "f-1"}
EOR = {"chunkType": "END_OF_RESPONSE", "endOfResponseDetails": {"success": True}}
GREETING = {"chunkType": "TEXT", "textDetails": {"text": "Hi!"}}


def sse(*messages: dict) -> bytes:
    return b"".join(b"data: " + json.dumps(m).encode() + b"\n\n" for m in messages)


def client_for(handler: Callable[[httpx2.Request], httpx2.Response], **options) -> FormsClient:
    return FormsClient("https://api.test", transport=httpx2.MockTransport(handler), **options)


async def test_create_streamed_sends_a_dry_run_and_collects_the_greeting() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        body = sse(
            {"responseChunk": GREETING, "interactiveFormSession": SESSION}, {"responseChunk": EOR}
        )
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    async with client_for(handler) as client:
        turn = await client.create_session(
            "f-1",
            current_values={"source": "web"},
            client_time=ClientTime(current_time="2026-11-25T10:00:00Z", time_zone="Europe/Vilnius"),
        )
    (request,) = seen
    assert request.url.path == f"{API_PATH}/create-streamed"
    assert request.headers["accept"] == "text/event-stream"
    assert json.loads(request.content) == {
        "formId": "f-1",
        "currentValues": {"source": "web"},
        "dryRun": True,
        "clientTime": {"currentTime": "2026-11-25T10:00:00Z", "timeZone": "Europe/Vilnius"},
    }
    assert turn.session_id == "s-1"
    assert turn.framing == "sse"
    assert [c.chunk["chunkType"] for c in turn.chunks] == ["TEXT", "END_OF_RESPONSE"]
    assert turn.complete
    assert turn.first_chunk_s is not None
    assert 0 <= turn.first_chunk_s <= turn.total_s


@pytest.mark.parametrize(
    ("mode", "path", "accept"),
    [
        pytest.param("sse", "send-user-message-streamed", "text/event-stream", id="sse"),
        pytest.param("ndjson", "send-user-message-streamed", "application/x-ndjson", id="ndjson"),
        pytest.param("json-array", "send-user-message-streamed", "application/json", id="array"),
        pytest.param("unary", "send-user-message", "application/json", id="unary"),
    ],
)
async def test_send_message_uses_the_endpoint_and_accept_header_of_the_mode(
    mode: str, path: str, accept: str
) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(
            200, json={"interactiveFormSession": SESSION, "responseChunks": [EOR]}
        )

    async with client_for(handler, mode=mode) as client:
        turn = await client.send_message("s/1", "hello", current_values={"a": 1})
    assert seen[0].url.raw_path.decode() == f"{API_PATH}/s%2F1/{path}"
    assert seen[0].headers["accept"] == accept
    assert json.loads(seen[0].content) == {"input": "hello", "currentValues": {"a": 1}}
    assert turn.user == "hello"
    assert turn.framing == "json"


async def test_credentials_are_sent_as_headers_and_never_shown() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"responseChunks": [EOR]})

    credentials = Credentials.from_env({"WIX_API_KEY": "IST.secret-key", "WIX_SITE_ID": "site-9"})
    assert credentials is not None
    async with client_for(handler, credentials=credentials, mode="unary") as client:
        await client.send_message("s", "x")
    assert seen[0].headers["authorization"] == "IST.secret-key"
    assert seen[0].headers["wix-site-id"] == "site-9"
    assert "secret-key" not in repr(credentials) + str(credentials.api_key)
    assert str(Secret("abc")) == "***"


def test_no_key_in_the_environment_means_no_credentials() -> None:
    assert Credentials.from_env({"WIX_SITE_ID": "x"}) is None


async def test_wix_error_body_becomes_a_typed_error() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = {
            "message": "Request is empty",
            "details": {
                "applicationError": {"code": "EMPTY_REQUEST", "description": "d", "data": {}}
            },
        }
        return httpx2.Response(400, json=body, headers={"x-wix-request-id": "req-7"})

    async with client_for(handler) as client:
        with pytest.raises(WixApiError) as info:
            await client.send_message("s", None)
    error = info.value
    assert (error.status, error.code, error.request_id, error.kind) == (
        400,
        "EMPTY_REQUEST",
        "req-7",
        "http",
    )
    assert str(error) == "HTTP 400 EMPTY_REQUEST: Request is empty"


async def test_empty_system_error_body_still_gives_the_status() -> None:
    async with client_for(lambda request: httpx2.Response(503)) as client:
        with pytest.raises(WixApiError, match="HTTP 503"):
            await client.send_message("s", "x")


async def test_redirects_are_not_followed() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(302, headers={"location": "https://elsewhere.test/"})

    async with client_for(handler) as client:
        with pytest.raises(WixApiError, match="not followed"):
            await client.send_message("s", "x")
    assert len(seen) == 1


async def test_stream_without_end_of_response_is_truncated_and_keeps_what_arrived() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = sse({"responseChunk": GREETING, "interactiveFormSession": SESSION})
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    async with client_for(handler) as client:
        with pytest.raises(StreamError) as info:
            await client.send_message("s", "x")
    assert info.value.kind == "truncated"
    assert [c.chunk["chunkType"] for c in info.value.partial.chunks] == ["TEXT"]


async def test_malformed_stream_is_a_protocol_error_with_the_partial_turn() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = sse({"responseChunk": GREETING}) + b"data: {oops\n\n"
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    async with client_for(handler) as client:
        with pytest.raises(StreamError) as info:
            await client.send_message("s", "x")
    assert info.value.kind == "protocol"
    assert len(info.value.partial.chunks) == 1
    assert info.value.partial.framing == "sse"


@pytest.mark.parametrize(
    ("exception", "kind"),
    [
        pytest.param(httpx2.ConnectError("refused"), "transport", id="connect"),
        pytest.param(httpx2.ReadTimeout("slow"), "timeout", id="read-timeout"),
        pytest.param(httpx2.RemoteProtocolError("reset"), "transport", id="reset"),
    ],
)
async def test_transport_failures_become_target_errors(exception: Exception, kind: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise exception

    async with client_for(handler) as client:
        with pytest.raises(TargetError) as info:
            await client.send_message("s", "x")
    assert info.value.kind == kind


async def test_generate_form_summary() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert json.loads(request.content) == {"form": {"formFields": []}}
        return httpx2.Response(200, json={"formSummary": "A contact form."})

    async with client_for(handler) as client:
        assert await client.generate_form_summary({"formFields": []}) == "A contact form."
