"""The emulator's knobs as a client sees them: faults, latency, noise, auth, expiry, determinism."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.emulator import (
    ALL_FAULTS,
    Auth,
    EmulatorServer,
    Faults,
    Knobs,
    Latency,
    Noise,
    load_forms,
)
from evalkit.emulator.app import API_ROOT
from evalkit.emulator.faults import garble
from evalkit.stream import decode_body

FORMS = load_forms(Path(__file__).resolve().parent.parent / "suites" / "forms")
NDJSON = {"Accept": "application/x-ndjson"}
CLOSED = (httpx2.RemoteProtocolError, httpx2.ReadError)
CLOSED_NAMES = {error.__name__ for error in CLOSED}
MESSAGES = [
    "Hi, I'm Jane Doe, jane@example.com, thirty years old",
    "text me please",
    "yes",
]


def api(server: EmulatorServer, **kwargs: Any) -> httpx2.Client:
    return httpx2.Client(base_url=server.base_url + API_ROOT, timeout=5, **kwargs)


def outcome(http: httpx2.Client, path: str, body: dict[str, Any]) -> tuple[str, bytes]:
    """What a client sees of one streamed request: status (or the transport error) and bytes."""
    received = b""
    try:
        with http.stream("POST", path, json=body, headers=NDJSON) as response:
            for piece in response.iter_bytes():
                received += piece
            return str(response.status_code), received
    except httpx2.TransportError as exc:
        return type(exc).__name__, received


def conversation(http: httpx2.Client) -> list[tuple[str, bytes]]:
    seen = [outcome(http, "/create-streamed", {"formId": "contact", "dryRun": True})]
    session = next(
        (m["interactiveFormSession"]["id"] for m in _messages(seen[0][1])),
        "00000000-0000-0000-0000-000000000000",
    )
    for text in MESSAGES:
        seen.append(outcome(http, f"/{session}/send-user-message-streamed", {"input": text}))
    return seen


def _messages(body: bytes) -> list[dict[str, Any]]:
    try:
        return [m for m in decode_body(body, "application/x-ndjson")[1] if m]
    except Exception:
        return []


# ----------------------------------------------------------------------------- determinism


KNOBS: dict[str, Any] = {
    "faults": Faults(rate=0.3, kinds=("429", "500", "cut", "malformed", "truncate"), seed=3),
    "noise": Noise(rate=0.4, seed=3),
    "latency": Latency(chunk=0.0005, distribution="exponential", seed=3),
}


def run_twice(**knobs: Any) -> list[list[tuple[str, bytes]]]:
    runs = []
    for _ in range(2):
        with EmulatorServer(FORMS, Knobs(**knobs)) as server, api(server) as http:
            runs.append([item for _ in range(5) for item in conversation(http)])
    return runs


def test_the_same_seed_gives_byte_identical_streams_with_faults_and_noise() -> None:
    first, second = run_twice(**KNOBS)
    assert first == second
    statuses = Counter(status for status, _ in first)
    assert statuses["200"] < len(first)  # faults really happened
    assert any(b"TEXT_DATA" in body for _, body in first)


def test_another_seed_gives_other_faults() -> None:
    other = {**KNOBS, "faults": KNOBS["faults"].model_copy(update={"seed": 4})}
    with EmulatorServer(FORMS, Knobs(**KNOBS)) as a, api(a) as http:
        seen_a = [status for status, _ in conversation(http) + conversation(http)]
    with EmulatorServer(FORMS, Knobs(**other)) as b, api(b) as http:
        seen_b = [status for status, _ in conversation(http) + conversation(http)]
    assert seen_a != seen_b


# ----------------------------------------------------------------------------- fault rates


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32), rate=st.sampled_from([0.05, 0.2, 0.5]))
def test_fault_decisions_follow_the_rate_and_spread_over_the_kinds(seed: int, rate: float) -> None:
    faults = Faults(rate=rate, seed=seed)
    picked = Counter(faults.decide(n) for n in range(20_000))
    injected = 20_000 - picked[None]
    assert abs(injected - 20_000 * rate) <= 5 * (20_000 * rate * (1 - rate)) ** 0.5
    for kind in ALL_FAULTS:
        share = injected / len(ALL_FAULTS)
        assert abs(picked[kind] - share) <= 5 * share**0.5 + 5, kind


def test_over_1000_requests_the_fault_counts_match_the_rate_and_what_the_client_saw() -> None:
    faults = Faults(rate=0.2, kinds=("429", "500", "503", "reset"), seed=11, retry_after=0)
    seen: Counter[str] = Counter()
    with EmulatorServer(FORMS, Knobs(faults=faults)) as server, api(server) as http:
        for _ in range(1000):
            try:
                status = str(
                    http.post(
                        str(http.base_url).rstrip("/"), json={"formId": "contact"}
                    ).status_code
                )
            except httpx2.TransportError:
                status = "reset"
            seen[status] += 1
        counts = server.fault_counts
        assert server.stats.requests == 1000
    injected = sum(counts.values())
    assert abs(injected - 200) <= 4 * (1000 * 0.2 * 0.8) ** 0.5  # within 4 sigma of the rate
    assert all(abs(counts[kind] - 50) <= 4 * 50**0.5 for kind in faults.kinds), counts
    assert {kind: seen[kind] for kind in faults.kinds} == counts  # every fault reached the client
    assert seen["200"] == 1000 - injected


# ----------------------------------------------------------------------------- each fault kind


@pytest.fixture(scope="module")
def every_kind() -> Iterator[dict[str, EmulatorServer]]:
    servers = {
        kind: EmulatorServer(
            FORMS,
            Knobs(faults=Faults(rate=1, kinds=(kind,), retry_after=0.25, stall_seconds=0.2)),
        )
        for kind in ("429", "500", "503", "reset", "cut", "truncate", "malformed", "stall")
    }
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


def test_a_429_says_when_to_retry_in_a_wix_error_body(
    every_kind: dict[str, EmulatorServer],
) -> None:
    with api(every_kind["429"]) as http:
        response = http.post("/create-streamed", json={"formId": "contact"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "0.25"
    assert response.json()["details"]["applicationError"]["code"] == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors_have_the_empty_wix_system_error_body(
    every_kind: dict[str, EmulatorServer], status: str
) -> None:
    with api(every_kind[status]) as http:
        response = http.post(str(http.base_url).rstrip("/"), json={"formId": "contact"})
    assert response.status_code == int(status)
    assert response.json() == {"message": "", "details": {}}


def test_a_reset_closes_the_connection_without_a_response(
    every_kind: dict[str, EmulatorServer],
) -> None:
    # A closed socket reads as "disconnected" (FIN) or "connection reset" (RST), by timing.
    with api(every_kind["reset"]) as http, pytest.raises(CLOSED):
        http.post(str(http.base_url).rstrip("/"), json={"formId": "contact"})


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        pytest.param("cut", "closed", id="cut: connection closed mid-body"),
        pytest.param("stall", "closed", id="stall: hangs, then closes"),
        pytest.param("truncate", "200", id="truncate: clean end, no END_OF_RESPONSE"),
    ],
)
def test_a_broken_stream_delivers_some_chunks_but_never_the_end(
    every_kind: dict[str, EmulatorServer], kind: str, error: str
) -> None:
    with api(every_kind[kind]) as http:
        started = time.monotonic()
        status, body = outcome(http, "/create-streamed", {"formId": "contact"})
    assert status == error or (error == "closed" and status in CLOSED_NAMES)
    messages = _messages(body)
    assert messages, "at least one chunk arrives before the break"
    assert all(m["responseChunk"]["chunkType"] != "END_OF_RESPONSE" for m in messages)
    if kind == "stall":
        assert time.monotonic() - started >= 0.2


def test_a_stall_trips_a_client_read_timeout(every_kind: dict[str, EmulatorServer]) -> None:
    with (
        httpx2.Client(base_url=every_kind["stall"].base_url + API_ROOT, timeout=0.05) as http,
        pytest.raises(httpx2.ReadTimeout),
        http.stream("POST", "/create-streamed", json={"formId": "contact"}) as response,
    ):
        for _ in response.iter_bytes():
            pass


@pytest.mark.parametrize("accept", ["application/x-ndjson", "text/event-stream"])
def test_a_malformed_message_breaks_the_decoder_after_the_good_ones(
    every_kind: dict[str, EmulatorServer], accept: str
) -> None:
    with api(every_kind["malformed"]) as http:
        response = http.post(
            "/create-streamed", json={"formId": "contact"}, headers={"Accept": accept}
        )
    assert response.status_code == 200
    with pytest.raises(Exception, match=r"(?i)json|malformed|invalid|decode"):
        decode_body(response.content, accept)


def test_faults_after_processing_have_been_applied_to_the_session(
    every_kind: dict[str, EmulatorServer],
) -> None:
    """A cut reply still moved the session on; a 429 did not create one."""
    assert every_kind["429"].stats.requests >= 1
    with api(every_kind["truncate"]) as http:
        _, body = outcome(http, "/create-streamed", {"formId": "contact"})
        session = _messages(body)[0]["interactiveFormSession"]["id"]
        status, _ = outcome(http, f"/{session}/send-user-message-streamed", {"input": "hi"})
    assert status == "200"  # the session exists although its create response was broken


# ----------------------------------------------------------------------------- latency


def test_turn_latency_delays_the_first_byte() -> None:
    with EmulatorServer(FORMS, Knobs(latency=Latency(turn=0.15))) as server, api(server) as http:
        started = time.monotonic()
        http.post(str(http.base_url).rstrip("/"), json={"formId": "contact"})
        assert time.monotonic() - started >= 0.15


@pytest.mark.parametrize("distribution", ["fixed", "uniform", "exponential"])
def test_latency_distributions_keep_their_mean(distribution: Any) -> None:
    latency = Latency(chunk=0.1, turn=0.2, distribution=distribution, seed=5)
    chunks = [latency.chunk_delay(n, 1) for n in range(5000)]
    turns = [latency.turn_delay(n) for n in range(5000)]
    assert latency.chunk_delay(7, 0) == 0  # never before the first message
    assert abs(sum(chunks) / len(chunks) - 0.1) < 0.01
    assert abs(sum(turns) / len(turns) - 0.2) < 0.02
    assert min(chunks) >= 0


# ----------------------------------------------------------------------------- noise


@pytest.mark.parametrize(
    ("value", "garbled"),
    [
        pytest.param("jane@example.com", "ajne@example.com", id="text: letters swapped"),
        pytest.param(32, 33, id="number: off by one"),
        pytest.param(True, False, id="boolean: flipped"),
        pytest.param(["yoga", "pilates"], ["yoga"], id="list: last item lost"),
        pytest.param(["yoga"], ["yoga", "other"], id="list of one: bogus item added"),
        pytest.param("7", "7x", id="no letters: one appended"),
    ],
)
def test_garble_gives_a_plausible_wrong_value(value: Any, garbled: Any) -> None:
    assert garble(value) == garbled
    assert garble(value) != value


def extracted(server: EmulatorServer, text: str) -> dict[str, Any]:
    with api(server) as http:
        session = http.post(str(http.base_url).rstrip("/"), json={"formId": "contact"}).json()[
            "interactiveFormSession"
        ]["id"]
        chunks = http.post(f"/{session}/send-user-message", json={"input": text}).json()
    return {
        c["textDataDetails"]["fieldTarget"]: c["textDataDetails"]["value"]
        for c in chunks["responseChunks"]
        if c["chunkType"] == "TEXT_DATA"
    }


@pytest.mark.parametrize(
    ("noise", "expected"),
    [
        pytest.param(Noise(rate=1, kinds=("drop",)), {}, id="drop everything"),
        pytest.param(
            Noise(rate=1, kinds=("garble",), fields=("email",)),
            {"first_name": "Jane", "email": "ajne@example.com"},
            id="garble one field",
        ),
        pytest.param(Noise(), {"first_name": "Jane", "email": "jane@example.com"}, id="off"),
    ],
)
def test_noise_drops_or_garbles_extracted_fields(noise: Noise, expected: dict[str, Any]) -> None:
    with EmulatorServer(FORMS, Knobs(noise=noise)) as server:
        assert extracted(server, "I'm Jane, jane@example.com") == expected


def test_noise_at_a_rate_makes_repeats_of_one_conversation_differ() -> None:
    with EmulatorServer(FORMS, Knobs(noise=Noise(rate=0.3, seed=1))) as server:
        results = [str(extracted(server, "I'm Jane Doe, jane@example.com")) for _ in range(20)]
    assert 1 < len(set(results)) < 20


# ----------------------------------------------------------------------------- auth, debug, TTL


AUTH = Auth(token="test-key", site_id="site-1")


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        pytest.param({}, 401, "UNAUTHENTICATED", id="no Authorization"),
        pytest.param({"Authorization": "nope"}, 401, "UNAUTHENTICATED", id="wrong key"),
        pytest.param({"Authorization": "test-key"}, 403, "PERMISSION_DENIED", id="no site id"),
        pytest.param(
            {"Authorization": "test-key", "wix-site-id": "site-2"},
            403,
            "PERMISSION_DENIED",
            id="wrong site id",
        ),
        pytest.param({"Authorization": "test-key", "wix-site-id": "site-1"}, 200, None, id="ok"),
    ],
)
def test_auth_answers_with_wix_401_and_403_bodies(
    headers: dict[str, str], status: int, code: str | None
) -> None:
    with EmulatorServer(FORMS, Knobs(auth=AUTH)) as server, api(server, headers=headers) as http:
        response = http.post(str(http.base_url).rstrip("/"), json={"formId": "contact"})
    assert response.status_code == status
    if code is not None:
        assert response.json()["details"]["applicationError"]["code"] == code
        assert "test-key" not in response.text


def test_debug_chunks_come_only_when_asked_for_and_just_before_the_end() -> None:
    for debug in (False, True):
        with EmulatorServer(FORMS, Knobs(debug=debug)) as server, api(server) as http:
            chunks = http.post(str(http.base_url).rstrip("/"), json={"formId": "contact"}).json()[
                "responseChunks"
            ]
        kinds = [c["chunkType"] for c in chunks]
        assert ("DEBUG" in kinds) is debug
        if debug:
            assert kinds[-2:] == ["DEBUG", "END_OF_RESPONSE"]
            assert chunks[-2]["debugDetails"]["data"]["asked"] == "first_name"


def test_an_idle_session_expires() -> None:
    with EmulatorServer(FORMS, Knobs(session_ttl=0.1)) as server, api(server) as http:
        session = http.post(str(http.base_url).rstrip("/"), json={"formId": "contact"}).json()[
            "interactiveFormSession"
        ]["id"]
        assert http.post(f"/{session}/send-user-message", json={"input": "hi"}).status_code == 200
        time.sleep(0.15)
        response = http.post(f"/{session}/send-user-message", json={"input": "hi"})
    assert response.status_code == 404
    assert "expired" in response.json()["message"]


def test_session_ids_are_reproducible_and_request_ids_unique() -> None:
    ids = []
    for _ in range(2):
        with EmulatorServer(FORMS, Knobs(seed=9)) as server, api(server) as http:
            response = http.post(str(http.base_url).rstrip("/"), json={"formId": "contact"})
            ids.append(
                (
                    response.json()["interactiveFormSession"]["id"],
                    response.headers["x-wix-request-id"],
                )
            )
    assert ids[0][0] == ids[1][0]  # the same seed gives the same session
    assert ids[0][1] != ids[1][1]  # a request id is never repeated, as the service's are
