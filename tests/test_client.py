"""The client against scripted responses (httpx2.MockTransport): requests, errors, partial turns."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Callable

import httpx2
import pytest

from evalkit.client import (
    API_PATH,
    Credentials,
    FormsClient,
    Limits,
    RetryPolicy,
    Secret,
    retry_after,
)
from evalkit.errors import StreamError, TargetError, UsageError, WixApiError
from evalkit.protocol import ClientTime
from evalkit.stream import LimitExceeded, NotAStream

pytestmark = pytest.mark.anyio

SESSION = {"id": "s-1", "formId": "f-1"}
EOR = {"chunkType": "END_OF_RESPONSE", "endOfResponseDetails": {"success": True}}
GREETING = {"chunkType": "TEXT", "textDetails": {"text": "Hi!"}}


def sse(*messages: dict) -> bytes:
    return b"".join(b"data: " + json.dumps(m).encode() + b"\n\n" for m in messages)


FAST = RetryPolicy(initial=0.001, maximum=0.004)


def client_for(handler: Callable[[httpx2.Request], httpx2.Response], **options) -> FormsClient:
    options.setdefault("retry", FAST)
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


def scripted(*steps):
    """A handler that plays `steps` in order: a Response, or an exception to raise."""
    calls: list[httpx2.Request] = []
    queue = list(steps)

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        step = queue.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return handler, calls


def ok() -> httpx2.Response:
    return httpx2.Response(
        200, content=sse({"responseChunk": EOR}), headers={"content-type": "text/event-stream"}
    )


async def test_429_is_retried_after_the_time_the_server_asks_for() -> None:
    handler, calls = scripted(
        httpx2.Response(429, headers={"retry-after": "0.02"}, json={"message": "slow down"}), ok()
    )
    async with client_for(handler) as client:
        turn = await client.send_message("s", "x", turn=3)
    assert len(calls) == 2
    (attempt,) = turn.retries
    assert (attempt.turn, attempt.attempt, attempt.cause, attempt.action) == (
        3,
        1,
        "HTTP 429",
        "retry",
    )
    assert attempt.wait_s == pytest.approx(0.02)


async def test_retry_after_is_capped() -> None:
    handler, _ = scripted(httpx2.Response(503, headers={"retry-after": "3600"}), ok())
    policy = RetryPolicy(initial=0.001, retry_after_cap=0.01)
    async with client_for(handler, retry=policy) as client:
        turn = await client.send_message("s", "x")
    assert turn.retries[0].wait_s == 0.01


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("7", 7.0, id="delta-seconds"),
        pytest.param("1.5", 1.5, id="fractional"),
        pytest.param("Wed, 25 Nov 2026 10:00:30 GMT", 30.0, id="http-date"),
        pytest.param("Wed, 25 Nov 2026 09:00:00 GMT", 0.0, id="date-in-the-past"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("", None, id="absent"),
    ],
)
def test_retry_after_header_forms(value: str, seconds: float | None) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
    headers = httpx2.Headers({"retry-after": value} if value else {})
    assert retry_after(headers, now) == seconds


async def test_connection_errors_are_retried_with_backoff_and_recorded() -> None:
    handler, calls = scripted(httpx2.ConnectError("refused"), httpx2.ConnectTimeout("slow"), ok())
    async with client_for(handler) as client:
        turn = await client.create_session("f")
    assert len(calls) == 3
    assert [(a.attempt, a.cause) for a in turn.retries] == [
        (1, "ConnectError"),
        (2, "ConnectTimeout"),
    ]
    assert all(0 < a.wait_s <= 0.004 for a in turn.retries)


async def test_retries_give_up_after_the_configured_number_and_keep_the_history() -> None:
    handler, calls = scripted(*[httpx2.Response(502) for _ in range(3)])
    async with client_for(handler, retry=RetryPolicy(retries=2, initial=0.001)) as client:
        with pytest.raises(WixApiError) as info:
            await client.send_message("s", "x")
    assert len(calls) == 3
    assert info.value.status == 502
    assert [a.cause for a in info.value.partial.retries] == ["HTTP 502", "HTTP 502"]


@pytest.mark.parametrize(
    ("response", "calls_made"),
    [
        pytest.param(httpx2.Response(400, json={"message": "bad"}), 1, id="400-is-not-retried"),
        pytest.param(httpx2.Response(404), 1, id="404-is-not-retried"),
        pytest.param(
            httpx2.Response(503, headers={"x-should-retry": "false"}), 1, id="told-not-to"
        ),
        pytest.param(httpx2.Response(409, headers={"x-should-retry": "true"}), 4, id="told-to"),
        pytest.param(httpx2.Response(408), 4, id="408"),
    ],
)
async def test_which_statuses_are_retried(response: httpx2.Response, calls_made: int) -> None:
    handler, calls = scripted(*[response] * 4)
    async with client_for(handler) as client:
        with pytest.raises(WixApiError):
            await client.send_message("s", "x")
    assert len(calls) == calls_made


async def test_a_stream_broken_after_it_began_is_not_resent() -> None:
    class Broken(httpx2.AsyncByteStream):
        async def __aiter__(self):
            yield sse({"responseChunk": GREETING})
            raise httpx2.RemoteProtocolError("peer closed connection")

    handler, calls = scripted(
        httpx2.Response(200, stream=Broken(), headers={"content-type": "text/event-stream"}), ok()
    )
    async with client_for(handler) as client:
        with pytest.raises(TargetError) as info:
            await client.send_message("s", "x")
    assert len(calls) == 1
    assert info.value.kind == "transport"
    assert "stream broken" in str(info.value)
    assert len(info.value.partial.chunks) == 1


async def test_a_dripping_stream_ends_at_the_deadline_with_what_arrived() -> None:
    import asyncio

    class Drip(httpx2.AsyncByteStream):
        async def __aiter__(self):
            while True:
                yield sse({"responseChunk": GREETING})
                await asyncio.sleep(0.05)

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=Drip(), headers={"content-type": "text/event-stream"})

    async with client_for(handler, timeout=5.0) as client:
        deadline = asyncio.get_running_loop().time() + 0.3
        with pytest.raises(TargetError) as info:
            await client.send_message("s", "x", deadline=deadline)
    assert info.value.kind == "timeout"
    assert 3 <= len(info.value.partial.chunks) <= 8
    assert not info.value.partial.complete


async def test_throttle_and_status_hooks_see_every_attempt() -> None:
    handler, _ = scripted(httpx2.Response(429, headers={"retry-after": "0"}), ok())
    throttled: list[int] = []
    statuses: list[int] = []

    async def throttle() -> None:
        throttled.append(1)

    async def on_status(status: int) -> None:
        statuses.append(status)

    async with client_for(handler, throttle=throttle, on_status=on_status) as client:
        await client.send_message("s", "x")
    assert (len(throttled), statuses) == (2, [429, 200])


def test_oauth_credentials_come_from_the_app_variables() -> None:
    env = {"WIX_APP_ID": "app", "WIX_APP_SECRET": "app-secret-123", "WIX_INSTANCE_ID": "inst"}
    credentials = Credentials.from_env(env)
    assert credentials is not None
    assert credentials.oauth
    assert credentials.secrets() == ["app-secret-123"]
    keyed = Credentials.from_env({"WIX_API_KEY": "key-123", "WIX_SITE_ID": "site-456"})
    assert keyed is not None
    assert keyed.secrets() == ["key-123", "site-456"]
    assert "app-secret-123" not in repr(credentials)


def test_half_set_oauth_variables_are_a_usage_error() -> None:
    from evalkit.errors import UsageError

    with pytest.raises(UsageError, match="WIX_APP_SECRET"):
        Credentials.from_env({"WIX_APP_ID": "app"})


async def test_oauth_token_is_fetched_once_sent_as_authorization_and_never_stored() -> None:
    token_requests: list[dict] = []
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/oauth2/token":
            token_requests.append(json.loads(request.content))
            return httpx2.Response(200, json={"access_token": "tok-abc-123", "expires_in": 14400})
        seen.append(request.headers["authorization"])
        return ok()

    credentials = Credentials.from_env(
        {"WIX_APP_ID": "app", "WIX_APP_SECRET": "s3cret-value", "WIX_INSTANCE_ID": "inst"}
    )
    async with client_for(handler, credentials=credentials) as client:
        first = await client.send_message("s", "x")
        await client.send_message("s", "y")
        assert client.issued_tokens() == ["tok-abc-123"]
    assert token_requests == [
        {
            "grant_type": "client_credentials",
            "client_id": "app",
            "client_secret": "s3cret-value",
            "instance_id": "inst",
        }
    ]
    assert seen == ["tok-abc-123", "tok-abc-123"]
    assert "tok-abc-123" not in first.model_dump_json()


async def test_a_refused_token_request_is_an_error_without_the_secret() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(401, json={"message": "invalid client"})

    credentials = Credentials.from_env(
        {"WIX_APP_ID": "app", "WIX_APP_SECRET": "s3cret-value", "WIX_INSTANCE_ID": "inst"}
    )
    async with client_for(handler, credentials=credentials) as client:
        with pytest.raises(WixApiError) as info:
            await client.send_message("s", "x")
    assert info.value.status == 401
    assert "s3cret" not in str(info.value)


# ----------------------------------------------------------------------------- limits


class Endless(httpx2.AsyncByteStream):
    """A body that never ends (bounded, so a broken client cannot hang the test)."""

    def __init__(self, piece: bytes) -> None:
        self.piece = piece
        self.sent = 0

    async def __aiter__(self):
        while self.sent < 2**30:
            self.sent += len(self.piece)
            yield self.piece


def test_limits_must_be_positive_integers() -> None:
    with pytest.raises(UsageError, match="chunks_per_turn"):
        Limits(chunks_per_turn=0)
    with pytest.raises(UsageError, match="response_bytes"):
        Limits(response_bytes=1.5)  # type: ignore[arg-type]


async def test_only_the_start_of_an_error_body_is_read() -> None:
    body = Endless(b"<html>oops</html>" * 1000)

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(400, stream=body)

    async with client_for(handler, limits=Limits(error_body_bytes=100)) as client:
        with pytest.raises(WixApiError) as info:
            await client.send_message("s", "x")
    message = str(info.value)
    assert message.startswith("HTTP 400: an error body of more than 100 bytes, not read past them")
    assert "'<html>oops</html><html>oops" in message
    assert len(message) < 300
    assert body.sent < 100_000


async def test_a_whole_wix_error_body_within_the_limit_is_parsed_safely() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            400,
            content=b'{"message": "bad \\ud800", "details": {"applicationError": {"code": "X"}}}',
        )

    async with client_for(handler) as client:
        with pytest.raises(WixApiError) as info:
            await client.send_message("s", "x")
    assert (info.value.code, str(info.value)) == ("X", "HTTP 400 X: bad \\ud800")


async def test_chunks_past_the_limit_end_the_turn_keeping_the_first_ones() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        stream = Endless(sse({"responseChunk": GREETING}) * 10)
        return httpx2.Response(200, stream=stream, headers={"content-type": "text/event-stream"})

    async with client_for(handler, limits=Limits(chunks_per_turn=25)) as client:
        with pytest.raises(LimitExceeded, match="more than 25 chunks in one response") as info:
            await client.send_message("s", "x")
    assert info.value.kind == "protocol"
    assert len(info.value.partial.chunks) == 25
    assert info.value.partial.status_code == 200


async def test_a_response_past_the_byte_limit_ends_the_turn_keeping_what_came() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        stream = Endless(sse({"responseChunk": GREETING}))
        return httpx2.Response(200, stream=stream, headers={"content-type": "text/event-stream"})

    async with client_for(handler, limits=Limits(response_bytes=1000)) as client:
        with pytest.raises(LimitExceeded, match="more than 1,000 bytes") as info:
            await client.send_message("s", "x")
    chunks = info.value.partial.chunks
    assert 0 < len(chunks) <= 1000 // len(sse({"responseChunk": GREETING}))


async def test_a_message_past_the_limit_ends_the_turn() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = sse({"responseChunk": GREETING}) + b'data: {"text": "' + b"a" * 5000
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    async with client_for(handler, limits=Limits(message_bytes=1000)) as client:
        with pytest.raises(LimitExceeded, match="a message of more than 1,000 bytes") as info:
            await client.send_message("s", "x")
    assert len(info.value.partial.chunks) == 1


@pytest.mark.parametrize("mode", ["sse", "unary"])
async def test_an_empty_200_body_is_not_a_stream(mode: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=b"", headers={"content-type": "application/json"})

    async with client_for(handler, mode=mode) as client:
        with pytest.raises(NotAStream) as info:
            await client.send_message("s", "x")
    assert str(info.value) == (
        "HTTP 200: not a stream of the API's messages (an empty body): "
        "content type 'application/json'"
    )
    assert info.value.partial.status_code == 200


async def test_an_html_page_is_not_a_stream_and_says_what_it_was() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, content=b"<html>\xff</html>", headers={"content-type": "text/html"}
        )

    async with client_for(handler) as client:
        with pytest.raises(NotAStream) as info:
            await client.send_message("s", "x")
    assert str(info.value) == (
        "HTTP 200: not a stream of the API's messages (neither JSON nor Server-Sent Events): "
        "content type 'text/html', first bytes b'<html>\\xff</html>'"
    )


async def test_what_the_decoder_kept_differently_is_a_warning_on_the_turn() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = b'data: {"responseChunk": {"chunkType": "TEXT", "textDetails": {"text": NaN}}}\n\n'
        return httpx2.Response(
            200,
            content=body + sse({"responseChunk": EOR}),
            headers={"content-type": "text/event-stream"},
        )

    async with client_for(handler) as client:
        turn = await client.send_message("s", "x")
    assert turn.chunks[0].chunk["textDetails"]["text"] == "NaN"
    assert turn.warnings == ["NaN is not a JSON number: kept as the text 'NaN'"]


async def test_a_form_summary_is_read_within_the_limits() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=Endless(b"{" * 1000))

    async with client_for(handler, limits=Limits(response_bytes=10_000)) as client:
        with pytest.raises(LimitExceeded):
            await client.generate_form_summary({"formFields": []})


@pytest.mark.parametrize("mode", ["sse", "unary"])
async def test_json_that_is_not_the_apis_messages_is_not_a_stream(mode: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"message": "maintenance", "retryIn": 60})

    async with client_for(handler, mode=mode) as client:
        with pytest.raises(NotAStream, match="JSON, but no message carries") as info:
            await client.send_message("s", "x")
    assert 'first bytes b\'{"message":"maintenance"' in str(info.value)


async def test_an_endless_token_answer_is_read_only_in_part() -> None:
    body = Endless(b'{"access_token": "' + b"t" * 1000)

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=body)

    credentials = Credentials.from_env(
        {"WIX_APP_ID": "app", "WIX_APP_SECRET": "s3cret-value", "WIX_INSTANCE_ID": "inst"}
    )
    async with client_for(handler, credentials=credentials) as client:
        with pytest.raises(TargetError, match="no access_token") as info:
            await client.send_message("s", "x")
    assert info.value.kind == "protocol"
    assert body.sent < 2**20


async def test_a_compressed_answer_is_never_expanded() -> None:
    # One small gzip piece could expand to gigabytes before any byte count sees it: evalkit asks
    # for no compression, and refuses an answer that comes compressed anyway.
    seen: list[httpx2.Request] = []
    bomb = gzip.compress(b"data: " + b" " * 50_000_000 + b"\n\n")

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
        return httpx2.Response(200, content=bomb, headers=headers)

    async with client_for(handler) as client:
        with pytest.raises(NotAStream, match=r"compressed \(gzip\)") as caught:
            await client.create_session("f-1")
    assert seen[0].headers["accept-encoding"] == "identity"
    assert caught.value.partial.chunks == []


async def test_a_compressed_error_body_is_quoted_as_it_came_not_expanded() -> None:
    bomb = gzip.compress(b"x" * 50_000_000)

    class Body(httpx2.AsyncByteStream):  # as off the network: not read yet
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield bomb

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(400, stream=Body(), headers={"content-encoding": "gzip"})

    async with client_for(handler) as client:
        with pytest.raises(WixApiError) as caught:
            await client.create_session("f-1")
    assert caught.value.status == 400
    assert "x" * 100 not in str(caught.value)
