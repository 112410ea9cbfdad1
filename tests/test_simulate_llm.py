"""The LLM-backed persona simulator, against a fake OpenAI-compatible endpoint on loopback."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import evalkit
from evalkit.cli import main
from evalkit.client import RetryPolicy, Secret
from evalkit.client.chat import ChatClient, ChatEndpoint
from evalkit.errors import SimulatorError, UsageError
from evalkit.loader import load_suites
from evalkit.results import TimedChunk, TurnTranscript
from evalkit.runner import RunSettings
from evalkit.runner.simulators import SimulatorSettings
from evalkit.serving import LoopbackServer
from evalkit.simulate import NEVER_INVENT, ChatCache, prompt_messages
from evalkit.suite import Persona

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-simulator-leak-canary-0123456789"
MODEL = "fake-persona-model"
_DRAFT = re.compile(r"«(.*)»\]\Z", re.S)

PERSONAS = """\
suite: llm-personas
form: contact
conversations:
  - id: "{{ who }}"
    matrix:
      - {who: terse-label, style: terse, selects: label, volunteers: 0}
      - {who: chatty-value, style: chatty, selects: value, volunteers: 1}
    persona:
      name: "{{ who }}"
      style: "{{ style }}"
      selects: "{{ selects }}"
      volunteers: "{{ volunteers }}"
      values:
        first_name: Jane
        email: jane@example.com
        contact_method: text_message
        newsletter: true
  - id: corrects-the-email
    persona:
      values: {first_name: Omar, email: omar@example.org, contact_method: email, newsletter: true}
      corrects: {email: omar@exmaple.org}
      phrases: {newsletter: [newsletter]}
"""


class FakeChat:
    """An OpenAI-compatible chat endpoint that plays the persona by a rule, and counts.

    The rule: say what the note on the last message asks for, in lower case (a wording of its
    own that the emulator still reads). `failures` answers that many requests with `status`
    first (echoing the Authorization header, as a careless server might).
    """

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.replies: list[str] = []
        self.failures = 0
        self.status = 500
        self.delay = 0.0  # seconds before answering

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        await asyncio.sleep(self.delay)
        if self.failures:
            self.failures -= 1
            echoed = request.headers.get("authorization", "")
            return JSONResponse({"error": echoed}, self.status)  # all within the quoted head
        found = _DRAFT.search(body["messages"][-1]["content"])
        reply = found.group(1).lower() if found else "i don't have that"
        self.replies.append(reply)
        choice = {"index": 0, "message": {"role": "assistant", "content": reply}}
        return JSONResponse(
            {"object": "chat.completion", "model": body["model"], "choices": [choice]}
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.completions, methods=["POST"])])


@pytest.fixture
def fake() -> Iterator[tuple[FakeChat, str]]:
    chat = FakeChat()
    with LoopbackServer(chat.app(), name="fake-chat") as server:
        yield chat, server.root + "/v1"


def _suites(tmp_path: Path) -> Path:
    suites = tmp_path / "suites"
    if not suites.exists():
        shutil.copytree(ROOT / "suites" / "forms", suites / "forms")
        (suites / "p.eval.yaml").write_text(PERSONAS, encoding="utf-8")
    return suites / "p.eval.yaml"


def _llm(url: str, cache: Path) -> SimulatorSettings:
    return SimulatorSettings("llm", ChatEndpoint(url, MODEL, Secret(KEY)), cache=cache)


def _run(tmp_path: Path, name: str, url: str, **settings: Any) -> evalkit.RunOutcome:
    settings.setdefault("simulator", _llm(url, tmp_path / "cache"))
    settings.setdefault("concurrency", 2)
    return evalkit.run(
        load_suites([_suites(tmp_path)]),
        out_root=tmp_path / name,
        settings=RunSettings(**settings),
    )


def _sent(outcome: evalkit.RunOutcome) -> list[list[str | None]]:
    return [[t.user for t in r.transcript[1:]] for r in outcome.results]


def _files(root: Path) -> dict[str, str]:
    return {
        str(p): p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file()
    }


# ----------------------------------------------------------------------------- runs


def test_a_persona_run_with_the_llm_passes_and_a_rerun_asks_nothing(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    first = _run(tmp_path, "one", url)
    results = list(first.results)
    assert [r.status for r in results] == ["pass"] * 3, [
        (r.conversation_id, r.error, [f.reason for f in r.fields if not f.passed]) for r in results
    ]
    asked = len(chat.requests)
    assert asked == sum(len(s) for s in _sent(first))  # one request per message sent
    # What the target heard is the model's wording, not the rule-based draft.
    assert sorted(u for s in _sent(first) for u in s if u) == sorted(chat.replies)
    assert any(u == "jane" for s in _sent(first) for u in s)
    assert first.info.simulator is not None
    assert (first.info.simulator.kind, first.info.simulator.model) == ("llm", MODEL)
    assert first.info.simulator.base_url == url

    second = _run(tmp_path, "two", url)
    assert len(chat.requests) == asked  # every reply came from the cache
    assert _sent(second) == _sent(first)
    assert [r.status for r in second.results] == ["pass"] * 3


def test_the_prompt_says_never_invent_and_carries_the_persona_and_transcript(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    _run(tmp_path, "one", url)
    headers, body = chat.requests[0]
    assert headers["authorization"] == f"Bearer {KEY}"
    assert (body["model"], body["temperature"]) == (MODEL, 0)
    system = body["messages"][0]
    assert system["role"] == "system"
    assert "Never invent a value" in system["content"]
    assert "say you don't have it" in system["content"]
    assert "- email: jane@example.com" in system["content"]
    # Later requests carry the dialogue: the assistant as `user`, the person as `assistant`.
    longest = max((b["messages"] for _, b in chat.requests), key=len)
    assert [m["role"] for m in longest[1:]] == ["user", "assistant"] * (len(longest) // 2 - 1) + [
        "user"
    ]


def test_an_endpoint_answering_500_is_a_simulator_error_not_a_failure(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    chat.failures = 10**6
    outcome = _run(tmp_path, "run", url, retry=RetryPolicy(retries=1, initial=0.01))
    results = list(outcome.results)
    assert [r.status for r in results] == ["error"] * 3
    for result in results:
        assert result.error is not None
        assert result.error.kind == "simulator"
        assert "HTTP 500 after 2 attempt(s)" in result.error.message
        assert result.transcript[0].session_id  # the target answered: it is not to blame
    assert len(chat.requests) == 6  # the first message of each, tried twice
    summary = outcome.info.summary
    assert (summary.failed, summary.errors) == (0, 3)
    # The 500 body echoed the key; nothing written holds it.
    assert not [name for name, text in _files(outcome.run_dir).items() if KEY in text]


def test_a_dead_endpoint_is_a_simulator_error_and_trips_the_breaker_as_the_simulators(
    tmp_path: Path,
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = _run(
        tmp_path,
        "run",
        f"http://127.0.0.1:{port}/v1",
        concurrency=1,
        breaker=1,
        retry=RetryPolicy(retries=0),
    )
    results = list(outcome.results)
    assert [r.error.kind if r.error else r.status for r in results] == ["simulator"]
    assert results[0].status == "error"
    assert "ConnectError" in results[0].error.message  # type: ignore[union-attr]
    assert outcome.info.interrupted
    assert "the simulator's model gave no usable reply to 1 conversations" in outcome.info.stopped


def test_a_model_slower_than_the_turn_deadline_is_a_simulator_error(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    chat.delay = 2.0
    outcome = _run(tmp_path, "run", url, turn_timeout=0.2, concurrency=3)
    for result in outcome.results:
        assert result.error is not None
        assert result.error.kind == "simulator"
        assert "before the turn deadline" in result.error.message


def test_a_corrupt_cache_entry_is_ignored_with_a_note_and_replaced(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    first = _run(tmp_path, "one", url)
    entries = sorted((tmp_path / "cache").rglob("*.json"))
    assert len(entries) == len(chat.requests)
    entries[0].write_text('{"key": "not this one", "reply": "I am Eve"}', encoding="utf-8")
    entries[1].write_bytes(b"\xff\xfe not json")
    asked = len(chat.requests)

    second = _run(tmp_path, "two", url)
    assert len(chat.requests) == asked + 2  # only the two broken entries were asked again
    assert _sent(second) == _sent(first)
    notes = [n for r in second.results if r.simulation for n in r.simulation.notes]
    assert len([n for n in notes if "cache entry was ignored" in n]) == 2
    third = _run(tmp_path, "three", url)  # rewritten whole: trusted again
    assert len(chat.requests) == asked + 2
    assert _sent(third) == _sent(first)


def test_the_cli_runs_the_llm_simulator_and_no_output_or_file_holds_the_key(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    chat.failures = 1  # one 500 echoing the key, then answers
    env = {
        "EVALKIT_SIMULATOR_URL": url,
        "EVALKIT_SIMULATOR_MODEL": MODEL,
        "EVALKIT_SIMULATOR_KEY": KEY,
    }
    out = tmp_path / "out"
    args = ["run", str(_suites(tmp_path)), "--simulator", "llm", "--out", str(out)]
    args += ["--simulator-cache", str(tmp_path / "cache"), "--retries", "0", "--concurrency", "1"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 3, result.output  # one of three in error: over the 5% error gate
    assert "simulator" in result.output
    run_json = json.loads(next(out.glob("*/run.json")).read_text("utf-8"))
    assert run_json["simulator"] == {"kind": "llm", "base_url": url, "model": MODEL}
    files = _files(out)
    assert any("simulator" in text and "HTTP 500" in text for text in files.values())
    leaks = [name for name, text in {**files, "output": result.output}.items() if KEY in text]
    assert not leaks


def test_a_resumed_run_keeps_the_simulator_it_started_with(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    chat.failures = 1  # one conversation ends in a simulator error, to be retried on resume
    env = {"EVALKIT_SIMULATOR_URL": url, "EVALKIT_SIMULATOR_MODEL": MODEL}
    out = tmp_path / "out"
    args = ["run", str(_suites(tmp_path)), "--simulator", "llm", "--out", str(out)]
    args += ["--simulator-cache", str(tmp_path / "cache"), "--retries", "0", "--concurrency", "1"]
    assert CliRunner().invoke(main, args, env=env).exit_code == 3
    run_dir = next(out.glob("*/run.json")).parent
    resume = ["run", "--resume", str(run_dir), "--retry-errors"]

    # The rules would play the retried persona: half the run one simulator, half the other.
    mixed = CliRunner().invoke(main, resume, env=env)
    assert mixed.exit_code == 2, mixed.output
    assert "--simulator llm" in mixed.output
    assert MODEL in mixed.output
    other = {**env, "EVALKIT_SIMULATOR_MODEL": "another-model"}
    assert CliRunner().invoke(main, [*resume, "--simulator", "llm"], env=other).exit_code == 2

    cache = ["--simulator-cache", str(tmp_path / "cache")]
    same = CliRunner().invoke(main, [*resume, "--simulator", "llm", *cache], env=env)
    assert same.exit_code == 0, same.output
    rows = (run_dir / "results.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(row)["status"] for row in rows] == ["pass"] * len(rows)


def test_llm_without_an_endpoint_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="EVALKIT_SIMULATOR_URL"):
        SimulatorSettings.from_env("llm", {})
    with pytest.raises(UsageError, match="EVALKIT_SIMULATOR_MODEL"):
        SimulatorSettings.from_env("llm", {"EVALKIT_SIMULATOR_URL": "http://127.0.0.1:1/v1"})
    assert SimulatorSettings.from_env("rules", {}).info().kind == "rules"


# ----------------------------------------------------------------------------- the client


def _client(handler: Any, retries: int = 0) -> ChatClient:
    endpoint = ChatEndpoint("http://chat.test/v1", MODEL, Secret(KEY), seed=7)
    return ChatClient(
        endpoint,
        retry=RetryPolicy(retries=retries, initial=0.0),
        transport=httpx2.MockTransport(handler),
    )


async def _complete(client: ChatClient) -> str:
    async with client:
        return await client.complete([{"role": "user", "content": "hi"}])


def _answer(body: Any, status: int = 200) -> Any:
    def handler(request: httpx2.Request) -> httpx2.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx2.Response(status, content=content)

    return handler


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, b"<html>oops</html>", "not a chat completion"),
        (200, b"", "not a chat completion"),
        (200, {"choices": []}, "no choice"),
        (200, {"choices": [{"message": {"content": "  "}}]}, "an empty reply"),
        (200, {"choices": [{"message": {}}]}, "an empty reply"),
        (401, {"error": "bad key"}, "HTTP 401 after 1 attempt"),
    ],
)
def test_what_is_not_a_reply_is_a_simulator_error(status: int, body: Any, reason: str) -> None:
    with pytest.raises(SimulatorError, match=reason) as caught:
        asyncio.run(_complete(_client(_answer(body, status))))
    assert caught.value.kind == "simulator"


def test_429_is_retried_and_the_request_carries_model_seed_and_temperature() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(json.loads(request.content))
        if len(seen) == 1:
            return httpx2.Response(429, headers={"Retry-After": "0"})
        return httpx2.Response(200, json={"choices": [{"message": {"content": "Jane"}}]})

    assert asyncio.run(_complete(_client(handler, retries=1))) == "Jane"
    assert len(seen) == 2
    assert seen[0] == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0,
        "seed": 7,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["choices", "message", "content"]), inner)
            ),
            max_leaves=10,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_any_body_gives_a_reply_or_a_simulator_error(body: bytes) -> None:
    try:
        reply = asyncio.run(_complete(_client(_answer(body))))
    except SimulatorError:
        return
    assert isinstance(reply, str)
    assert reply.strip()


# ----------------------------------------------------------------------------- prompt, cache


def test_the_prompt_alternates_roles_and_shows_select_options() -> None:
    persona = Persona.model_validate(
        {"values": {"contact_method": "email", "age": 32}, "declines": ["age"]}
    )
    select = {
        "chunkType": "SINGLE_SELECT_INPUT",
        "singleSelectInputDetails": {
            "fieldTarget": "contact_method",
            "options": [{"value": "email", "label": "Email"}, {"value": "sms", "label": "SMS"}],
        },
    }
    greeting = TurnTranscript(
        endpoint="create",
        chunks=[TimedChunk(t=0, chunk={"chunkType": "TEXT", "textDetails": {"text": "Hi!"}})],
    )
    asked = TurnTranscript(
        endpoint="send",
        user="hello",
        chunks=[
            TimedChunk(t=0, chunk={"chunkType": "TEXT", "textDetails": {"text": "How?"}}),
            TimedChunk(t=0, chunk=select),
        ],
    )
    messages = prompt_messages(persona, [greeting, asked], "Email")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert NEVER_INVENT in messages[0]["content"]
    assert "You would rather not give: age" in messages[0]["content"]
    assert messages[1]["content"] == "Hi!"
    assert messages[2]["content"] == "hello"
    assert messages[3]["content"].startswith("How? Options: Email, SMS\n\n[")
    assert messages[3]["content"].endswith("«Email»]")


def test_the_cache_key_is_the_model_and_the_exact_messages(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "hi"}]
    one, other = ChatCache(tmp_path, "m1"), ChatCache(tmp_path, "m2")
    one.put(messages, "hello")
    assert one.get(messages).reply == "hello"
    assert other.get(messages).reply is None  # another model: another entry
    assert one.get([{"role": "user", "content": "hi "}]).reply is None
    assert not list(tmp_path.rglob(".*.tmp"))  # written through a renamed temporary file
