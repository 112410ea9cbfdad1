"""A dead target costs seconds (the circuit breaker); a wrong one is found first (preflight)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from evalkit.cli import main
from evalkit.client import RetryPolicy
from evalkit.emulator import EmulatorServer
from evalkit.gates import EXIT_INCOMPLETE
from evalkit.loader import load_suites
from evalkit.pipeline import finish_run
from evalkit.results import ConversationResult, read_run
from evalkit.runner import CircuitBreaker, RunSettings, Target, run_sync

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "suites" / "contact.eval.yaml"
FORMS = ROOT / "suites" / "forms"
FAST = RetryPolicy(retries=1, initial=0.01, maximum=0.02)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def result(kind: str | None) -> ConversationResult:
    error = None if kind is None else {"kind": kind, "message": f"{kind} failure"}
    status = "pass" if kind is None else "error"
    return ConversationResult.model_validate(
        {"suite": "s", "conversation_id": "c", "status": status, "error": error}
    )


def test_the_breaker_trips_on_the_nth_transport_error_in_a_row_only() -> None:
    breaker = CircuitBreaker(3)
    outcomes = [breaker.record(result(k)) for k in ["transport", "transport", None, "http"]]
    outcomes += [breaker.record(result("transport")) for _ in range(4)]
    assert outcomes == [False, False, False, False, False, False, True, False]
    assert "3 conversations in a row" in breaker.reason
    assert not any(CircuitBreaker(0).record(result("transport")) for _ in range(50))


def test_a_target_gone_mid_run_stops_it_within_the_breaker_and_resume_finishes_it(
    tmp_path: Path,
) -> None:
    suites = load_suites([EXAMPLE])
    total = sum(len(s.outline) for s in suites)
    settings = RunSettings(concurrency=2, retry=FAST, breaker=3)
    server = EmulatorServer(FORMS)
    server.start()
    port, url, ids = server.port, server.base_url, server.form_ids
    target = Target(name="custom", base_url=url, form_ids={"contact": ids["contact"]})

    def the_target_dies(done: ConversationResult) -> None:
        server.stop()  # after the first conversation, nothing listens there any more

    outcome = run_sync(
        suites, target, out_root=tmp_path, settings=settings, on_result=the_target_dies
    )

    info = outcome.info
    assert info.interrupted
    assert "could not be reached by 3 conversations in a row" in info.stopped
    # The first, the three that tripped it, and at most one more that was in flight.
    assert 4 <= len(outcome.results) <= 5 < total
    finished = finish_run(outcome.run_dir)
    assert finished.verdict.code == EXIT_INCOMPLETE
    assert (
        f"{total - len(outcome.results)} of {total} conversation(s) not run"
        in (finished.verdict.reasons[0])
    )

    with EmulatorServer(FORMS, port=port):  # the target is back
        resumed = invoke("run", "--resume", str(outcome.run_dir), "--retry-errors")
    assert resumed.exit_code == 0, resumed.output
    info, results = read_run(outcome.run_dir)
    assert (len(results), info.interrupted, info.stopped) == (total, False, "")


def test_preflight_names_a_form_the_target_does_not_know_and_sends_nothing_else(
    tmp_path: Path,
) -> None:
    with EmulatorServer(FORMS) as server:
        args = ["--target", "custom", "--base-url", server.base_url, "--out", str(tmp_path)]
        result = invoke("run", str(EXAMPLE), *args, "--form-id", "contact=nosuchform")
        requests = server.stats.requests
    assert result.exit_code == 2
    assert "preflight" in result.output
    assert "refused form contact (sent as nosuchform): HTTP 404" in result.output
    assert requests == 1
    assert not any(tmp_path.iterdir())


def test_preflight_of_a_configuration_the_emulator_does_not_have(tmp_path: Path) -> None:
    result = invoke(
        "run", str(EXAMPLE), "--out", str(tmp_path),
        "--config", "v1=contact", "--config", "v2=nosuchform",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "refused form contact (sent as nosuchform)" in result.output
    assert result.output.count("HTTP 404") == 1


def test_an_unreachable_target_exits_3_before_any_conversation(tmp_path: Path) -> None:
    # Nothing listens on port 9 of loopback (discard).
    args = ["--target", "custom", "--base-url", "http://127.0.0.1:9", "--retries", "1"]
    result = invoke("run", str(EXAMPLE), *args, "--out", str(tmp_path))
    assert result.exit_code == 3
    assert "preflight: http://127.0.0.1:9 could not be reached for form contact" in result.output
    assert not any(tmp_path.iterdir())
