"""The LLM-backed persona simulator, against a fake OpenAI-compatible endpoint on loopback."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
from collections.abc import Callable, Iterator
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
from evalkit.client import Credentials, RetryPolicy, Secret
from evalkit.client.chat import ChatClient, ChatEndpoint
from evalkit.errors import SimulatorError, UsageError
from evalkit.loader import load_suites
from evalkit.results import TimedChunk, TurnTranscript
from evalkit.runner import RunSettings, Target, run_async
from evalkit.runner.simulators import SimulatorSettings
from evalkit.serving import LoopbackServer
from evalkit.simulate import (
    NEVER_INVENT,
    ChatCache,
    FieldHint,
    LlmSimulator,
    Simulator,
    prompt_messages,
)
from evalkit.simulate.cache import MAX_ENTRY_BYTES, Lookup
from evalkit.simulate.llm import (
    PROMPT_MESSAGE_CHARS,
    PROMPT_TURNS,
    added_values,
    keeps_value,
    known_values,
    max_reply_chars,
)
from evalkit.simulate.simulator import Step
from evalkit.simulate.wording import MAX_OFFERED_OPTIONS
from evalkit.suite import Persona

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-simulator-leak-canary-0123456789"
MODEL = "fake-persona-model"
_DRAFT = re.compile(r"«(.*)»\]\Z", re.S)

pytest_plugins = ["pytester"]

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
    first (echoing the Authorization header, as a careless server might). `reword`, when set,
    rewrites each reply (a model that drops a value, or echoes the key). `held` makes every
    request wait, unanswered, until it is cleared (the fixture clears it when the test ends).
    """

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.replies: list[str] = []
        self.failures = 0
        self.status = 500
        self.held = False
        self.reword: Callable[[str, Request], str] | None = None

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        # Polled, not an asyncio.Event: the flag is cleared from the test's thread, not this loop.
        while self.held:  # no timer: it answers only once the test is over  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if self.failures:
            self.failures -= 1
            echoed = request.headers.get("authorization", "")
            return JSONResponse({"error": echoed}, self.status)  # all within the quoted head
        found = _DRAFT.search(body["messages"][-1]["content"])
        reply = found.group(1).lower() if found else "i don't have that"
        if self.reword is not None:
            reply = self.reword(reply, request)
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
        try:
            yield chat, server.root + "/v1"
        finally:
            chat.held = False  # a held request answers, so the server can stop


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
    # A port bound and never listened on: connecting is refused, and while the socket stays
    # open no other server (another test's, in parallel) can take the port.
    with socket.socket() as sock:
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
    assert [r.error.kind if r.error else r.status for r in results] == ["simulator"], [
        r.error for r in results
    ]
    assert results[0].status == "error"
    assert "ConnectError" in results[0].error.message  # type: ignore[union-attr]
    assert outcome.info.interrupted
    assert "the simulator's model gave no usable reply to 1 conversations" in outcome.info.stopped


def test_a_model_slower_than_the_turn_deadline_is_a_simulator_error(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    chat.held = True  # the model never answers while the run goes on: its deadline fires
    # The simulator's own deadline, well under the turn's: however slow the target is under
    # load, its exchanges (two minutes each) never time out first.
    simulator = SimulatorSettings(
        "llm", ChatEndpoint(url, MODEL, Secret(KEY)), cache=tmp_path / "cache", reply_timeout=0.5
    )
    outcome = _run(tmp_path, "run", url, simulator=simulator, concurrency=3)
    results = list(outcome.results)
    assert len(results) == 3
    for result in results:
        assert result.error is not None
        assert result.error.kind == "simulator", result.error
        assert "before its deadline" in result.error.message
        assert result.transcript[0].session_id  # the target answered in time
    assert len(chat.requests) == 3  # each asked the model once, and waited for it


def test_the_models_deadline_is_a_run_option(tmp_path: Path, fake: tuple[FakeChat, str]) -> None:
    chat, url = fake
    chat.held = True
    env = {"EVALKIT_SIMULATOR_URL": url, "EVALKIT_SIMULATOR_MODEL": MODEL}
    out = tmp_path / "out"
    args = ["run", str(_suites(tmp_path)), "--simulator", "llm", "--out", str(out)]
    args += ["--simulator-cache", str(tmp_path / "cache"), "--simulator-reply-timeout", "0.5"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 3, result.output  # every conversation in error: over the gate
    rows = [
        json.loads(r) for r in next(out.glob("*/results.jsonl")).read_text("utf-8").splitlines()
    ]
    assert [r["error"]["kind"] for r in rows] == ["simulator"] * 3
    bad = CliRunner().invoke(main, [*args[:-1], "0"], env=env)
    assert bad.exit_code == 2


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
    assert run_json["simulator"] == {"kind": "llm", "base_url": url, "model": MODEL, "seed": None}
    files = _files(out)
    assert any("simulator" in text and "HTTP 500" in text for text in files.values())
    leaks = [name for name, text in {**files, "output": result.output}.items() if KEY in text]
    assert not leaks

    # A URL carrying credentials or a query would be recorded and printed as it is: refused.
    asked = len(chat.requests)
    for secretive in (url.replace("://", "://alice:pw-canary@"), url + "?api_key=pw-canary"):
        other = {**env, "EVALKIT_SIMULATOR_URL": secretive}
        refused = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "other")], env=other)
        assert refused.exit_code == 2, refused.output
        assert "EVALKIT_SIMULATOR_URL" in refused.output
        assert "pw-canary" not in refused.output
    assert len(chat.requests) == asked
    assert not (tmp_path / "other").exists()


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
    reseeded = CliRunner().invoke(
        main, [*resume, "--simulator", "llm", *cache], env={**env, "EVALKIT_SIMULATOR_SEED": "7"}
    )
    assert reseeded.exit_code == 2, reseeded.output
    assert "seed 7" in reseeded.output  # another seed words the messages otherwise
    started = json.loads((run_dir / "run.json").read_text("utf-8"))["simulator"]
    assert started["seed"] is None  # run.json says how to reproduce the run

    same = CliRunner().invoke(main, [*resume, "--simulator", "llm", *cache], env=env)
    assert same.exit_code == 0, same.output
    rows = (run_dir / "results.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(row)["status"] for row in rows] == ["pass"] * len(rows)


def test_the_pytest_plugin_plays_personas_with_the_llm_and_shows_no_key(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    chat.failures = 1  # one 500 echoing the key (retried), then answers
    monkeypatch.setenv("EVALKIT_SIMULATOR_URL", url)
    monkeypatch.setenv("EVALKIT_SIMULATOR_MODEL", MODEL)
    monkeypatch.setenv("EVALKIT_SIMULATOR_KEY", KEY)
    shutil.copytree(ROOT / "suites" / "forms", pytester.path / "forms")
    pytester.makefile(".eval.yaml", p=PERSONAS)
    cache = pytester.path / ".cache" / "replies"

    result = pytester.runpytest_subprocess(
        "--evalkit-simulator", "llm", "--evalkit-simulator-cache", str(cache), "-rA", "-v"
    )

    result.assert_outcomes(passed=3)
    asked = len(chat.requests)
    assert asked > 3  # the model worded the personas' messages
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str()}
    outputs |= {
        str(p): p.read_text(encoding="utf-8", errors="replace")
        for p in pytester.path.rglob("*")
        if p.is_file() and "forms" not in p.parts
    }
    assert not [name for name, text in outputs.items() if KEY in text]
    again = pytester.runpytest_subprocess(
        "--evalkit-simulator", "llm", "--evalkit-simulator-cache", str(cache)
    )
    again.assert_outcomes(passed=3)
    assert len(chat.requests) == asked  # the cache answered: the rerun asked nothing


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


def test_the_cache_key_holds_the_base_url_and_the_seed(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "hi"}]
    base = ChatCache(tmp_path, "m1", base_url="http://a.test/v1", seed=1)
    assert base.put(messages, "hello") == ""
    assert base.get(messages).reply == "hello"
    for other in (
        ChatCache(tmp_path, "m1", base_url="http://b.test/v1", seed=1),  # another endpoint
        ChatCache(tmp_path, "m1", base_url="http://a.test/v1", seed=2),  # another seed
        ChatCache(tmp_path, "m1", base_url="http://a.test/v1"),  # no seed
    ):
        assert other.key(messages) != base.key(messages)
        assert other.get(messages) == Lookup(None)


def test_a_reply_larger_than_an_entry_is_not_cached(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "hi"}]
    cache = ChatCache(tmp_path, "m1")
    problem = cache.put(messages, "x" * MAX_ENTRY_BYTES)
    assert "larger than" in problem
    assert not list(tmp_path.rglob("*.json"))
    assert cache.get(messages) == Lookup(None)


# ----------------------------------------------------------------------------- review fixes

_EMAIL = re.compile(r"\S+@\S+\.\w+")


def test_a_model_that_drops_a_value_is_overruled_by_the_rules_words_with_a_note(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    chat.reword = lambda reply, request: _EMAIL.sub("my usual address", reply)
    outcome = _run(tmp_path, "run", url)
    results = list(outcome.results)
    assert [r.status for r in results] == ["pass"] * 3, [
        (r.conversation_id, r.error, [f.reason for f in r.fields if not f.passed]) for r in results
    ]
    sent = _sent(outcome)
    assert not [u for s in sent for u in s if u and "my usual address" in u]
    assert any(u == "jane" for s in sent for u in s)  # a reply that kept its values is sent
    for result in results:
        assert result.simulation is not None
        dropped = [n for n in result.simulation.notes if "dropped" in n]
        assert dropped, result.simulation.notes  # each gave an email: the simulator's trouble
        assert all("@" in n and "the rules' words were sent" in n for n in dropped)
    corrected = next(r for r in results if r.conversation_id == "corrects-the-email")
    notes = corrected.simulation.notes if corrected.simulation else []
    assert [n for n in notes if "omar@exmaple.org" in n]  # the wrong value first: kept too
    assert [n for n in notes if "omar@example.org" in n]


def test_a_secret_the_model_echoes_is_redacted_before_it_is_cached_or_sent(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    bearer = "Bearer "
    chat.reword = lambda reply, request: (
        f"{reply} (key {request.headers['authorization'].removeprefix(bearer)})"
    )
    heard: list[str] = []
    outcome = asyncio.run(
        run_async(
            load_suites([_suites(tmp_path)]),
            _wix(),
            out_root=tmp_path / "out",
            settings=RunSettings(simulator=_llm(url, tmp_path / "cache"), concurrency=1),
            transport=httpx2.MockTransport(_asking_target(heard)),
        )
    )
    assert len(list(outcome.results)) == 3
    assert chat.replies
    assert all(KEY in reply for reply in chat.replies)
    assert heard
    assert not [body for body in heard if KEY in body]  # the target never got it
    assert any("[REDACTED]" in body for body in heard)
    cached = _files(tmp_path / "cache")
    assert cached
    assert not [name for name, text in cached.items() if KEY in text]


def test_a_secret_the_target_echoes_never_reaches_the_model(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    asyncio.run(
        run_async(
            load_suites([_suites(tmp_path)]),
            _wix(),
            out_root=tmp_path / "out",
            settings=RunSettings(simulator=_llm(url, tmp_path / "cache"), concurrency=1),
            transport=httpx2.MockTransport(_asking_target([])),
        )
    )
    assert chat.requests
    prompts = json.dumps([body for _, body in chat.requests])
    assert TARGET_KEY not in prompts
    assert "[REDACTED]" in prompts  # the echo reached the model, without the key


TARGET_KEY = "IST.target-key-canary-5d1e0b7a"
_EOR = {"chunkType": "END_OF_RESPONSE", "endOfResponseDetails": {"success": True}}


def _wix() -> Target:
    credentials = Credentials.from_env({"WIX_API_KEY": TARGET_KEY, "WIX_SITE_ID": "site"})
    return Target(name="wix", base_url="https://target.test", credentials=credentials)


def _asking_target(heard: list[str]) -> Any:
    """A Wix-like target that echoes its key in every answer and asks for the first name."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        heard.append(request.content.decode("utf-8", "replace"))
        echoed = request.headers["authorization"]
        text = f"Your key is {echoed}. What is your first name?"
        said = {"chunkType": "TEXT", "textDetails": {"text": text}}
        session = {"id": "s", "formId": "contact"}
        stream = b"".join(
            b"data: " + json.dumps(m).encode() + b"\n\n"
            for m in (
                {"responseChunk": said, "interactiveFormSession": session},
                {"responseChunk": _EOR},
            )
        )
        return httpx2.Response(200, content=stream, headers={"content-type": "text/event-stream"})

    return handler


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://alice:pw-canary@127.0.0.1:8000/v1", id="user-info"),
        pytest.param("http://127.0.0.1:8000/v1?api_key=pw-canary", id="query"),
        pytest.param("http://127.0.0.1:8000/v1#pw-canary", id="fragment"),
        pytest.param("ftp://alice:pw-canary@127.0.0.1/v1", id="scheme"),
        pytest.param("http:///v1?pw-canary", id="no-host"),
    ],
)
def test_a_simulator_url_with_credentials_or_a_query_is_refused_without_echoing_it(
    url: str,
) -> None:
    environ = {"EVALKIT_SIMULATOR_URL": url, "EVALKIT_SIMULATOR_MODEL": MODEL}
    with pytest.raises(UsageError, match="EVALKIT_SIMULATOR_URL") as caught:
        SimulatorSettings.from_env("llm", environ)
    assert "pw-canary" not in str(caught.value)
    with pytest.raises(UsageError):
        ChatEndpoint(url, MODEL)


def test_the_prompt_keeps_the_last_exchanges_each_cut_to_a_bound() -> None:
    persona = Persona.model_validate({"values": {"first_name": "Jane"}})

    def turn(number: int) -> TurnTranscript:
        said = {"chunkType": "TEXT", "textDetails": {"text": f"q{number} " + "x" * 10_000}}
        return TurnTranscript(
            endpoint="send" if number else "create",
            user=f"u{number} " + "y" * 5_000 if number else None,
            chunks=[TimedChunk(t=0, chunk=said)],
        )

    messages = prompt_messages(persona, [turn(n) for n in range(60)], "Jane")
    dialogue = messages[1:]
    assert len(dialogue) == 2 * PROMPT_TURNS - 1  # the last 20 turns: 20 questions, 19 answers
    assert [m["role"] for m in dialogue] == ["user", "assistant"] * (PROMPT_TURNS - 1) + ["user"]
    assert dialogue[0]["content"].startswith("(earlier messages left out)")
    assert "q40 " in dialogue[0]["content"]
    assert dialogue[1]["content"].startswith("u41 ")
    said, note = dialogue[-1]["content"].split("\n\n[", 1)
    assert said.startswith("q59 ")
    assert note.endswith("«Jane»]")  # the note is never cut
    shown = [m["content"] for m in dialogue[:-1]] + [said]
    assert max(len(text) for text in shown) <= PROMPT_MESSAGE_CHARS + len(
        "(earlier messages left out) "
    )
    assert all(text.endswith("…") for text in shown)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(["TEXT", "IMPORTANT_TEXT", "SINGLE_SELECT_INPUT", "hi"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    *("chunkType", "textDetails", "importantTextDetails"),
                    *("singleSelectInputDetails", "multiSelectInputDetails"),
                    *("text", "options", "label", "value"),
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["chunkType", "textDetails", "singleSelectInputDetails"]), _JSON
        ),
        max_size=4,
    )
)
def test_whatever_chunks_a_target_sent_make_a_prompt(chunks: list[dict[str, Any]]) -> None:
    persona = Persona.model_validate({"values": {"first_name": "Jane"}})
    turn = TurnTranscript(endpoint="create", chunks=[TimedChunk(t=0, chunk=c) for c in chunks])
    messages = prompt_messages(persona, [turn], "Jane")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[-1]["content"].endswith("«Jane»]")


def test_an_unwritable_cache_is_a_usage_error_before_anything_is_sent(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.raises(UsageError, match="simulator cache"):
        _run(tmp_path, "run", url, simulator=_llm(url, blocker / "cache"))
    assert not (tmp_path / "run").exists()  # from Python too: no run directory left behind
    env = {"EVALKIT_SIMULATOR_URL": url, "EVALKIT_SIMULATOR_MODEL": MODEL}
    out = tmp_path / "out"
    args = ["run", str(_suites(tmp_path)), "--simulator", "llm", "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--simulator-cache", str(blocker / "cache")], env=env)
    assert result.exit_code == 2, result.output
    assert "simulator cache" in result.output
    assert not out.exists()
    assert chat.requests == []


def test_a_cache_write_that_fails_during_the_run_is_a_note_not_an_error(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    cache = tmp_path / "cache"
    cache.mkdir()
    for first in "0123456789abcdef":  # every entry's folder is a file: every write fails
        for second in "0123456789abcdef":
            (cache / f"{first}{second}").write_text("", encoding="utf-8")
    outcome = _run(tmp_path, "run", url)
    results = list(outcome.results)
    assert [r.status for r in results] == ["pass"] * 3, [r.error for r in results]
    notes = [n for r in results if r.simulation for n in r.simulation.notes]
    assert len([n for n in notes if "was not cached" in n]) == len(chat.requests)


@pytest.mark.parametrize(
    ("reply", "value", "kept"),
    [
        ("jane", "Jane", True),
        ("my usual address", "jane@example.com", False),
        ("write to JANE@example.com please", "jane@example.com", True),
        ("it's jane@example.com.", "jane@example.com", True),  # the sentence ends
        ("it's jane@example.com.au", "jane@example.com", False),  # another address
        ("it's jane@example.com-mail.org", "jane@example.com", False),
        ("it's mary.jane@example.com", "jane@example.com", False),
        ("thirty-two", "32", True),
        ("it is 320", "32", False),
        ("on 27 November 2026", "2026-11-27", True),
        ("on 2026-11-28", "2026-11-27", False),
        ("by text-message", "text message", True),
        ("5", "5", True),
        ("15 of us", "5", False),
        ("option a, please", "A", True),
        ("an apple", "A", False),
        ("call +1-555-010-2030", "+1 555 010 2030", True),
        ("zip 0123", "0123", True),
        ("zip 123", "0123", False),
        ("squared ²", "²", True),
        ("a million: 1000000", "1000000", True),
        ("Nothing, thanks", "Nothing, thanks", True),
        ("nothing much", "Nothing, thanks", False),
    ],
)
def test_a_reply_keeps_a_value_as_the_protected_span_finder_reads_it(
    reply: str, value: str, kept: bool
) -> None:
    assert keeps_value(reply, value) is kept


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A[A-Za-z0-9@.+_-]{1,16}\Z"), st.text(max_size=30))
def test_a_value_said_as_written_is_kept_and_any_reply_is_judged(value: str, noise: str) -> None:
    assert keeps_value(f"so {value} it is", value)
    assert keeps_value(f"{value}", value)
    assert isinstance(keeps_value(noise, value), bool)
    assert isinstance(keeps_value(value, noise), bool)


# ----------------------------------------------------------------------------- what a reply adds

_KNOWN = (
    "Jane",
    "Doe",
    "jane@example.com",
    "omar@exmaple.org",
    "Email",
    "email",
    "Text message",
    "text_message",
    "+44 20 7946 0958",
)
"""What a persona and a form's options could bring: only a draft that carries one may say it."""


@pytest.mark.parametrize(
    ("reply", "draft", "values", "added"),
    [
        ("jane", "Jane", ["Jane"], []),
        ("Jane — yes, Jane", "Jane", ["Jane"], []),
        (
            "zed@evil.com (or jane@example.com)",
            "jane@example.com",
            ["jane@example.com"],
            ["zed@evil.com"],
        ),
        ("jane@example.com (I am 44 years old)", "jane@example.com", ["jane@example.com"], ["44"]),
        ("Jane Doe", "Jane", ["Jane"], ["Doe"]),
        (
            "omar@example.org, not omar@exmaple.org",
            "omar@example.org",
            ["omar@example.org"],
            ["omar@exmaple.org"],
        ),
        ("two guests", "2", ["2"], []),
        ("2 guests, maybe three", "2", ["2"], ["three"]),
        ("December 15th, 2026", "2026-12-15", ["2026-12-15"], []),
        ("Jane, born 3 March 1990", "Jane", ["Jane"], ["3 March 1990"]),
        ("text message, or email", "Text message", ["Text message"], ["email"]),
        ("by text-message", "text message", ["text message"], []),
        (
            "I'd rather not, but it's jane@example.com",
            "I'd rather not say.",
            [],
            ["jane@example.com"],
        ),
        ("Rather not. Call +44 20 7946 0958", "I'd rather not say.", [], ["+44 20 7946 0958"]),
        ("Sorry, I don't have one.", "I don't have that.", [], []),
        ("Yes, that one is right.", "Yes, that's right.", [], []),
        ("Yes, and add Jane", "Yes, that's right.", [], ["Jane"]),
        ("Yes, for 12 people", "Yes, please send it.", [], ["12"]),
        ("Yes please — at 3pm", "Yes, please send it.", [], ["3pm"]),
        ("Yes, send it", "Yes, send it, all 3 of them", [], []),
        ("It's my first form", "I don't have that.", [], []),
        # Past Python's 4,300-digit int() limit: read as written, never converted.
        ("order " + "7" * 4400, "Yes, send it.", [], ["7" * 4400]),
        ("it's 007", "it's 7", [], []),
    ],
)
def test_a_reply_may_carry_only_the_values_its_draft_carries(
    reply: str, draft: str, values: list[str], added: list[str]
) -> None:
    assert added_values(reply, draft, values, _KNOWN) == added


def test_an_option_named_like_a_field_is_not_a_value_to_guard() -> None:
    persona = Persona.model_validate(
        {"values": {"first_name": "Jane", "email": "jane@example.com", "age": 32, "ok": True}}
    )
    hints = [
        FieldHint("email", label="Email address"),
        FieldHint("contact_method", options=(("email", "Email"), ("text_message", "Text"))),
    ]
    known = known_values(persona, hints, [("sms", "SMS")])
    assert {"Jane", "jane@example.com", "text_message", "text message", "Text", "SMS"} <= set(known)
    assert not {"Email", "email"} & set(known)  # "Email: jane@…" names the field
    assert not {"32", "true"} & set(known)  # any number is guarded anyway; yes is no value


def test_the_options_a_target_offers_are_guarded_up_to_a_bound() -> None:
    """A target may offer 100,000 options in a turn; the check reads a bounded number of them."""
    persona = Persona.model_validate({"values": {"first_name": "Jane"}})
    offered = [(f"option_{i}", f"Option {i}") for i in range(100_000)] * 2
    known = known_values(persona, [], offered)
    assert len(known) == len(set(known))
    assert {"Jane", "option_0", "Option 0"} <= set(known)
    assert len(known) <= 1 + 3 * MAX_OFFERED_OPTIONS
    assert "Option 99999" not in known


_FIELDS = ("first_name", "email", "age", "birthday", "contact_method", "phone", "?confirm", "?")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.from_regex(r"\A[A-Z][a-z]{1,10}( [A-Z][a-z]{1,10})?\Z"),
    email=st.from_regex(r"\A[a-z]{1,8}@[a-z]{1,8}\.(com|org)\Z"),
    age=st.integers(0, 130),
    birthday=st.dates().map(lambda d: d.isoformat()),
    style=st.sampled_from(["terse", "chatty"]),
    selects=st.sampled_from(["label", "value"]),
    typos=st.booleans(),
    declines=st.lists(st.sampled_from(["email", "age"]), max_size=1),
    volunteers=st.integers(0, 2),
    corrects=st.booleans(),
    asked=st.sampled_from(_FIELDS),
    seed=st.integers(0, 2**32),
)
def test_a_reply_that_is_the_draft_is_always_sent(
    name: str,
    email: str,
    age: int,
    birthday: str,
    style: str,
    selects: str,
    typos: bool,
    declines: list[str],
    volunteers: int,
    corrects: bool,
    asked: str,
    seed: int,
) -> None:
    persona = Persona.model_validate(
        {
            "values": {
                "first_name": name,
                "email": email,
                "age": age,
                "birthday": birthday,
                "contact_method": "text_message",
            },
            "style": style,
            "selects": selects,
            "typos": typos,
            "declines": declines,
            "volunteers": volunteers,
            "corrects": {"email": f"x{email}"} if corrects and not declines else {},
        }
    )
    options = (("email", "Email"), ("text_message", "Text message"), ("sms", "SMS"))
    hints = [FieldHint("contact_method", label="Contact method", options=options)]
    if asked == "contact_method":
        details = {"fieldTarget": asked, "options": [{"value": v, "label": t} for v, t in options]}
        chunk = {"chunkType": "SINGLE_SELECT_INPUT", "singleSelectInputDetails": details}
    elif asked == "?confirm":
        chunk = {"chunkType": "TEXT", "textDetails": {"text": "Shall I send it?"}}
    elif asked == "?":
        chunk = {"chunkType": "TEXT", "textDetails": {"text": "Hmm."}}
    else:
        text = f"What is your {asked.replace('_', ' ')}?"
        chunk = {"chunkType": "TEXT", "textDetails": {"text": text}}
    turn = TurnTranscript(endpoint="create", chunks=[TimedChunk(t=0, chunk=chunk)])

    async def echo(messages: list[dict[str, str]]) -> str:
        found = _DRAFT.search(messages[-1]["content"])
        assert found is not None
        return found.group(1)

    rules = Simulator(persona, seed, hints)
    llm = LlmSimulator(Simulator(persona, seed, hints), echo)
    drafted = rules.next_message([turn])
    step = asyncio.run(llm.next_message([turn]))
    assert step == drafted
    assert not [n for n in llm.notes if "instead" in n], llm.notes


def test_a_model_that_adds_a_value_is_overruled_by_the_rules_words_with_a_note(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    chat.reword = lambda reply, request: (
        _EMAIL.sub(r"zed@evil.com (or \g<0>)", reply)
        + (" (by the way I am 44 years old)" if "jane" in reply else "")
    )
    outcome = _run(tmp_path, "run", url)
    results = list(outcome.results)
    assert [r.status for r in results] == ["pass"] * 3, [
        (r.conversation_id, r.error, [f.reason for f in r.fields if not f.passed]) for r in results
    ]
    sent = [u for s in _sent(outcome) for u in s if u]
    assert not [u for u in sent if "evil" in u or "44" in u]
    for result in results:
        assert result.simulation is not None
        added = [n for n in result.simulation.notes if "added" in n]
        assert added, result.simulation.notes  # the model's invention: the simulator's trouble
        assert all("the rules' words were sent instead" in n for n in added)


def test_a_model_that_answers_a_decline_with_a_value_is_overruled(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    chat.reword = lambda reply, request: (
        reply if "@" in reply or "jane" in reply else f"{reply} — ok fine, it's omar@example.org"
    )
    persona = Persona.model_validate(
        {"values": {"first_name": "Jane", "email": "omar@example.org"}, "declines": ["email"]}
    )
    hint = "What is your email?"
    turn = TurnTranscript(
        endpoint="create",
        chunks=[TimedChunk(t=0, chunk={"chunkType": "TEXT", "textDetails": {"text": hint}})],
    )

    async def ask() -> tuple[Step, list[str]]:
        async with ChatClient(ChatEndpoint(url, MODEL, Secret(KEY))) as client:
            simulator = LlmSimulator(Simulator(persona, 1), client.complete)
            return await simulator.next_message([turn]), simulator.notes

    step, notes = asyncio.run(ask())
    assert step.utterance is not None
    assert "@" not in step.utterance  # the decline, as drafted
    assert chat.replies
    assert "omar@example.org" in chat.replies[-1]
    assert [n for n in notes if "added 'omar@example.org'" in n], notes


def test_a_padded_reply_is_not_sent_the_draft_is_with_a_note(
    tmp_path: Path, fake: tuple[FakeChat, str]
) -> None:
    chat, url = fake
    chat.reword = lambda reply, request: reply + " la" * 20_000
    outcome = _run(tmp_path, "run", url)
    results = list(outcome.results)
    assert [r.status for r in results] == ["pass"] * 3, [
        (r.conversation_id, r.error) for r in results
    ]
    sent = [u for s in _sent(outcome) for u in s if u]
    assert max(len(u) for u in sent) < 300  # the rules' words
    for result in results:
        assert result.simulation is not None
        long = [n for n in result.simulation.notes if "too long" in n]
        assert long, result.simulation.notes
        assert all(len(n) < 400 for n in long)  # the note shows a bounded excerpt
    assert max_reply_chars("yes") == 300
    assert max_reply_chars("x" * 200) == 600
