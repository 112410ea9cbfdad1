"""`evalkit rescore` of persona conversations: the rule-based simulator replayed, offline."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evalkit.cli import main
from evalkit.emulator import EmulatorServer, Knobs
from evalkit.rescore import rescore_run
from evalkit.results import ConversationResult, read_run
from evalkit.serving import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
SUITE = "contact-personas"
OMAR = f"{SUITE}/corrects-the-email"  # repeat 0: conversation_label
# Each session asks in its own order, and asks `newsletter` again once it has it: the personas
# pass (re-asks are a warning by default) with a re-ask in every transcript.
KNOBS = Knobs(ask_order="shuffled", defects=("re-ask:newsletter",))


def _invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def _run_personas(
    root: Path, server: EmulatorServer, *extra: str, env: dict[str, str] | None = None
) -> Path:
    code, output = _invoke(
        "run",
        str(root / "suites" / f"{SUITE}.eval.yaml"),
        "--target",
        "custom",
        "--base-url",
        server.base_url,
        "--form-id",
        f"contact={server.form_ids['contact']}",
        "--out",
        str(root / "reports"),
        *extra,
        env=env,
    )
    assert code == 0, output
    (run_dir,) = [p for p in (root / "reports").iterdir() if p.is_dir()]
    return run_dir


@pytest.fixture(scope="module")
def recorder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, EmulatorServer]]:
    """A copy of the suites, and the emulator the stored run is recorded against.

    It stays alive for the whole module: a rescore that sent anything would send it here, to the
    base URL the run names.
    """
    root = tmp_path_factory.mktemp("rescore-personas")
    shutil.copytree(ROOT / "suites", root / "suites")
    with EmulatorServer(root / "suites" / "forms", KNOBS) as server:
        yield root, server


@pytest.fixture(scope="module")
def stored(recorder: tuple[Path, EmulatorServer]) -> tuple[Path, Path]:
    """The example contact personas run once against the recorder: (suites copy, run dir)."""
    root, server = recorder
    run_dir = _run_personas(root, server)
    assert server.stats.requests > 0
    return root / "suites", run_dir


def _edited(suites: Path, tmp_path: Path, old: str, new: str) -> Path:
    copy = tmp_path / "suites"
    shutil.copytree(suites, copy)
    path = copy / f"{SUITE}.eval.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _results(run_dir: Path) -> dict[str, ConversationResult]:
    return {r.conversation_id: r for r in read_run(run_dir)[1]}


def test_unedited_personas_replay_to_the_same_verdicts_and_record(
    stored: tuple[Path, Path], tmp_path: Path
) -> None:
    _suites, run_dir = stored
    rescored = rescore_run(run_dir, out_dir=tmp_path / "same")
    assert (rescored.changed, rescored.refused, rescored.not_run) == ([], [], [])
    before, after = _results(run_dir), _results(tmp_path / "same")
    assert len(before) == 5
    assert all(r.status == "pass" and r.warnings for r in before.values())  # the re-asks warn
    for name, old in before.items():
        new = after[name]
        assert (new.status, new.fields, new.checks, new.warnings) == (
            old.status,
            old.fields,
            old.checks,
            old.warnings,
        ), name
        assert new.simulation == old.simulation, name  # asked, answers, stop, notes: replayed
        assert new.transcript == old.transcript, name


@pytest.mark.parametrize(
    ("old", "new", "failing"),
    [
        # The email matcher of one persona value: the value (what is said) stays.
        (
            "email: omar@example.org,",
            "email: {value: omar@example.org, expect: {email: omar@example.com}},",
            "email",
        ),
        # The re-ask policy: the planted re-ask of `newsletter` now fails the conversation.
        (
            "corrects: {email: omar@exmaple.org}\n",
            "corrects: {email: omar@exmaple.org}\n      re_asks: fail\n",
            "re_ask",
        ),
    ],
    ids=["email-matcher", "re-asks-fail"],
)
def test_an_edited_persona_expectation_changes_exactly_that_verdict_and_sends_nothing(
    stored: tuple[Path, Path],
    recorder: tuple[Path, EmulatorServer],
    tmp_path: Path,
    old: str,
    new: str,
    failing: str,
) -> None:
    suites, run_dir = stored
    suite = _edited(suites, tmp_path, old, new)
    out = tmp_path / "rescored"
    _, server = recorder
    assert read_run(run_dir)[0].target.base_url == server.base_url  # still serving the run's URL
    sent = server.stats.requests

    code, output = _invoke("rescore", str(run_dir), str(suite), "--out", str(out))

    assert server.stats.requests == sent  # nothing reached the server the run was recorded on
    assert code == 1, output  # the gates see the new failure
    assert f"changed  {OMAR}: pass → fail" in output
    assert "refused" not in output
    before, after = _results(run_dir), _results(out)
    changed = {n: (before[n].status, after[n].status) for n in before if before[n] != after[n]}
    assert changed == {"corrects-the-email": ("pass", "fail")}
    result = after["corrects-the-email"]
    failed = [f.field for f in result.fields if not f.passed]
    failed += [c.check for c in result.checks if not c.passed]
    assert failed == [failing]
    if failing == "email":
        (wrong,) = [f for f in result.fields if not f.passed]
        assert (wrong.expected, wrong.actual) == ("omar@example.com", "omar@example.org")
    else:
        (re_ask,) = [c for c in result.checks if c.check == "re_ask"]
        assert "newsletter again" in re_ask.reason
    assert result.transcript == before["corrects-the-email"].transcript


def _first_turn_saying(result: ConversationResult, words: str) -> tuple[int, str]:
    """The first user turn of a stored transcript whose message holds `words`, and it."""
    return next(
        (number, exchange.user)
        for number, exchange in enumerate(result.transcript[1:], start=1)
        if exchange.user is not None and words in exchange.user
    )


def test_a_persona_value_that_changes_what_is_said_is_refused_naming_the_turn(
    stored: tuple[Path, Path], tmp_path: Path
) -> None:
    suites, run_dir = stored
    suite = _edited(suites, tmp_path, "values: {first_name: Omar,", "values: {first_name: Omer,")
    rescored = rescore_run(run_dir, [suite], tmp_path / "out")
    stored_omar = _results(run_dir)["corrects-the-email"]
    turn, sent = _first_turn_saying(stored_omar, "Omar")
    (refused,) = rescored.refused
    assert refused.startswith(
        f"{OMAR}: turn {turn}'s utterance would differ now (sent {sent!r}, "
        "the persona as it is now says '"
    ), refused
    assert "Omer" in refused.split("now says", 1)[1]
    assert rescored.changed == []
    after = _results(tmp_path / "out")
    assert after["corrects-the-email"].status == "skipped"
    assert after["corrects-the-email"].warnings == [refused.replace(f"{OMAR}: ", "not rescored: ")]
    assert after["corrects-the-email"].transcript == stored_omar.transcript
    assert {n: r.status for n, r in after.items() if n != "corrects-the-email"} == {
        n: "pass" for n in after if n != "corrects-the-email"
    }


def test_a_trait_that_would_stop_the_persona_sooner_is_refused(
    stored: tuple[Path, Path], tmp_path: Path
) -> None:
    suites, run_dir = stored
    sent = len(_results(run_dir)["corrects-the-email"].transcript) - 1
    assert sent > 3
    suite = _edited(
        suites,
        tmp_path,
        "corrects: {email: omar@exmaple.org}\n",
        "corrects: {email: omar@exmaple.org}\n      max_turns: 3\n",
    )
    rescored = rescore_run(run_dir, [suite], tmp_path / "out")
    stored_turn_4 = _results(run_dir)["corrects-the-email"].transcript[4].user
    assert rescored.refused == [
        f"{OMAR}: the persona as it is now would stop before turn 4 (max turns); "
        f"the run sent {stored_turn_4!r}"
    ]


_DRAFT = re.compile(r"«(.*)»\]\Z", re.S)


class _Chat:
    """An OpenAI-compatible chat endpoint that words each message as the draft it is given."""

    def __init__(self) -> None:
        self.requests = 0

    async def completions(self, request: Request) -> Response:
        self.requests += 1
        body = await request.json()
        found = _DRAFT.search(body["messages"][-1]["content"])
        reply = found.group(1) if found else "I don't have that"
        choice = {"index": 0, "message": {"role": "assistant", "content": reply}}
        return JSONResponse({"object": "chat.completion", "choices": [choice]})


@pytest.fixture
def chat() -> Iterator[tuple[_Chat, str]]:
    fake = _Chat()
    app = Starlette(routes=[Route("/v1/chat/completions", fake.completions, methods=["POST"])])
    with LoopbackServer(app, name="fake-chat") as server:
        yield fake, server.root + "/v1"


def test_personas_the_llm_simulator_worded_are_refused(
    tmp_path: Path, chat: tuple[_Chat, str]
) -> None:
    fake, url = chat
    shutil.copytree(ROOT / "suites", tmp_path / "suites")
    env = {"EVALKIT_SIMULATOR_URL": url, "EVALKIT_SIMULATOR_MODEL": "fake-model"}
    with EmulatorServer(tmp_path / "suites" / "forms") as server:
        run_dir = _run_personas(
            tmp_path,
            server,
            "--simulator",
            "llm",
            "--simulator-cache",
            str(tmp_path / "cache"),
            env=env,
        )
        asked, sent = fake.requests, server.stats.requests
        assert asked > 0
        code, output = _invoke("rescore", str(run_dir), "--out", str(tmp_path / "out"), env=env)
        assert server.stats.requests == sent  # nothing to the target
    assert fake.requests == asked  # nor to the chat model
    stored = _results(run_dir)
    assert all(r.status == "pass" for r in stored.values())
    why = (
        "a persona conversation the LLM simulator worded: its utterances cannot be replayed offline"
    )
    rescored = _results(tmp_path / "out")
    assert {n: r.status for n, r in rescored.items()} == {n: "skipped" for n in stored}
    assert {n: r.warnings for n, r in rescored.items()} == {
        n: [f"not rescored: {why}"] for n in stored
    }
    for name in stored:
        assert f"refused  {SUITE}/{name}: a persona conversation the LLM" in output
    assert code == 0, output
