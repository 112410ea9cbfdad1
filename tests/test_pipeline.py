"""One pipeline after a run, and one target description: every entry point, the same artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.emulator import EmulatorServer
from evalkit.errors import UsageError
from evalkit.gates import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_OK, Gates
from evalkit.history import list_runs
from evalkit.metrics import summarize
from evalkit.pipeline import FinishOptions, finish_run
from evalkit.results import TargetInfo, read_run, write_run_info
from evalkit.runner.description import (
    WIX_RATE_LIMIT,
    TargetOptions,
    describe_target,
    resumed_target,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "suites" / "contact.eval.yaml"
FORMS = ROOT / "suites" / "forms"
FIXTURE = Path(__file__).parent / "data" / "run_fixture"


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def run_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "run.json").is_file())


def keep_first_rows(run_dir: Path, count: int) -> int:
    """Leave the run as a kill would: only the first rows, no summary; return the rows dropped."""
    path = run_dir / "results.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:count]), encoding="utf-8")
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    info["finished_at"] = ""
    (run_dir / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return len(lines) - count


# ---------------------------------------------------------------- the target description


def test_a_resumed_custom_run_goes_on_against_its_own_target_and_nothing_else(
    tmp_path: Path,
) -> None:
    with EmulatorServer(FORMS) as server:
        form = f"contact={server.form_ids['contact']}"
        args = ["--target", "custom", "--base-url", server.base_url, "--form-id", form]
        first = invoke("run", str(EXAMPLE), *args, "--out", str(tmp_path))
        assert first.exit_code == 0, first.output
        (run_dir,) = run_dirs(tmp_path)
        keep_first_rows(run_dir, 4)
        kept = {r.key for r in read_run(run_dir)[1]}
        before = server.stats.requests

        wrong = invoke("run", "--resume", str(run_dir), "--target", "emulator")
        assert wrong.exit_code == 2
        assert "--target emulator (the run used custom)" in wrong.output
        assert server.stats.requests == before

        resumed = invoke("run", "--resume", str(run_dir))
        assert resumed.exit_code == 0, resumed.output
        assert "against custom" in resumed.output
        sent = server.stats.requests - before
        url = server.base_url

    info, results = read_run(run_dir)
    # Every remaining conversation was sent to the custom server (one request per exchange,
    # session creation included), none to an emulator; the preflight is one session more.
    resumed_rows = [r for r in results if r.key not in kept]
    assert len(resumed_rows) == len(results) - 4 > 0
    assert sent == 1 + sum(len(r.transcript) for r in resumed_rows)
    assert info.target.base_url == url
    assert info.resumed == 1


def test_a_resumed_run_refuses_every_option_that_contradicts_its_target(tmp_path: Path) -> None:
    assert invoke("run", str(EXAMPLE), "--out", str(tmp_path)).exit_code == 0
    (run_dir,) = run_dirs(tmp_path)
    keep_first_rows(run_dir, 18)
    for args, phrase in [
        (["--framing", "ndjson"], "--framing ndjson (the run used sse)"),
        (["--base-url", "http://127.0.0.1:9"], "the run used the built-in emulator"),
        (["--form-id", "contact=contact-v2"], "--form-id contact=contact-v2"),
        (["--rate-limit", "60"], "--rate-limit 60 (the run used none)"),
    ]:
        result = invoke("run", "--resume", str(run_dir), *args)
        assert result.exit_code == 2, args
        assert phrase in result.output, result.output
    assert len(read_run(run_dir)[1]) == 18  # nothing ran


def test_a_resumed_wix_run_needs_its_credentials_before_anything_is_sent(tmp_path: Path) -> None:
    key = {"WIX_API_KEY": "IST.key-for-the-test-0001", "WIX_SITE_ID": "site-0001"}
    with EmulatorServer(FORMS) as server:
        args = ["--target", "custom", "--base-url", server.base_url]
        form = f"contact={server.form_ids['contact']}"
        assert invoke(
            "run", str(EXAMPLE), *args, "--form-id", form, "--out", str(tmp_path), env=key
        )
        (run_dir,) = run_dirs(tmp_path)
        assert read_run(run_dir)[0].target.auth == "api-key"
        keep_first_rows(run_dir, 3)
        before = server.stats.requests
        result = invoke("run", "--resume", str(run_dir), env={"WIX_API_KEY": ""})
        assert result.exit_code == 2
        assert "api-key credentials: set WIX_API_KEY" in result.output
        assert server.stats.requests == before


@pytest.mark.parametrize(
    ("options", "env", "expected"),
    [
        pytest.param(TargetOptions(), {}, {"name": "emulator", "rate_limit": None}, id="default"),
        pytest.param(
            TargetOptions(base_url="http://127.0.0.1:8080"),
            {},
            {"name": "custom", "auth": "none", "base_url": "http://127.0.0.1:8080"},
            id="a-base-url-means-custom",
        ),
        pytest.param(
            TargetOptions(kind="wix"),
            {"WIX_API_KEY": "IST.secret-0001"},
            {"name": "wix", "auth": "api-key", "rate_limit": WIX_RATE_LIMIT},
            id="wix-gets-its-documented-limit",
        ),
        pytest.param(
            TargetOptions(kind="wix", rate_limit=0),
            {
                "WIX_APP_ID": "app-0001",
                "WIX_APP_SECRET": "s3cret-0001",
                "WIX_INSTANCE_ID": "inst-0001",
            },
            {"name": "wix", "auth": "oauth", "rate_limit": None},
            id="zero-means-unlimited",
        ),
        pytest.param(
            TargetOptions(framing="unary", form_ids={"contact": "f-1"}, rate_limit=30),
            {},
            {"framing": "unary", "form_ids": {"contact": "f-1"}, "rate_limit": 30},
            id="the-emulator-keeps-its-options",
        ),
    ],
)
def test_describe_target(options: TargetOptions, env: dict[str, str], expected: dict) -> None:
    description = describe_target(options, env)
    assert {key: getattr(description, key) for key in expected} == expected
    stored = description.model_dump_json()
    assert not [secret for secret in env.values() if len(secret) > 3 and secret in stored]


@pytest.mark.parametrize(
    ("options", "phrase"),
    [
        (TargetOptions(kind="wix"), "--target wix needs credentials"),
        (TargetOptions(kind="custom"), "--target custom needs --base-url URL"),
        (TargetOptions(kind="emulator", base_url="http://x"), "drop --base-url"),
        (TargetOptions(kind="custom", base_url="ftp://x"), "http(s)://host"),
        (TargetOptions(kind="custom", flag="--evalkit-"), "--evalkit-target custom needs"),
    ],
)
def test_options_that_make_no_target_are_usage_errors(options: TargetOptions, phrase: str) -> None:
    with pytest.raises(UsageError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        describe_target(options, {})


def test_a_run_json_from_before_rate_limits_were_recorded_resumes_wix_at_its_limit() -> None:
    old = TargetInfo.model_validate_json(
        '{"name": "wix", "base_url": "https://www.wixapis.com", "framing": "sse"}'
    )
    assert resumed_target(old, TargetOptions()).rate_limit == WIX_RATE_LIMIT
    stored = describe_target(TargetOptions(kind="wix", rate_limit=0), {"WIX_API_KEY": "k-0001"})
    again = TargetInfo.model_validate_json(stored.model_dump_json())
    assert resumed_target(again, TargetOptions()).rate_limit is None


# ---------------------------------------------------------------- the pipeline


def test_a_merged_nightly_is_recorded_and_is_the_next_nights_baseline(tmp_path: Path) -> None:
    shards, reports = tmp_path / "shards", tmp_path / "reports"
    for index in (1, 2):
        shard = invoke("run", str(EXAMPLE), "--shard", f"{index}/2", "--out", str(shards))
        assert shard.exit_code == 0, shard.output
    merged = reports / "nightly-1"
    result = invoke("merge", *map(str, run_dirs(shards)), "-o", str(merged), "--check-gates")
    assert result.exit_code == 0, result.output
    assert "exit 0: all gates met" in result.output
    (row,) = list_runs(reports / "history.db")
    assert row.run_id == "nightly-1"
    assert row.gates_met

    nightly = invoke("run", str(EXAMPLE), "--out", str(reports), "--baseline", "last")
    assert nightly.exit_code == 0, nightly.output
    assert f"baseline: {merged}" in nightly.output
    assert "verdict:" in nightly.output


def test_merge_gates_decide_the_exit_only_when_asked(tmp_path: Path) -> None:
    info, results = read_run(FIXTURE)  # 3 passed, 1 failed, 1 error
    dirs = []
    for index in (1, 2):
        shard = [r for n, r in enumerate(results) if n % 2 == index - 1]
        run_dir = tmp_path / f"shard-{index}"
        run_dir.mkdir()
        (run_dir / "results.jsonl").write_text(
            "".join(r.model_dump_json() + "\n" for r in shard), encoding="utf-8"
        )
        update = {"run_id": run_dir.name, "shard": f"{index}/2", "summary": summarize(shard)}
        write_run_info(run_dir, info.model_copy(update=update))
        dirs.append(str(run_dir))
    gates = ["--max-error-rate", "0.5"]
    plain = invoke("merge", *dirs, "-o", str(tmp_path / "out" / "m1"), *gates)
    assert plain.exit_code == EXIT_OK
    assert "exit 1: 1 conversation(s) failed" in plain.output
    checked = invoke("merge", *dirs, "-o", str(tmp_path / "out" / "m2"), *gates, "--check-gates")
    assert checked.exit_code == EXIT_FAILED
    assert [row.gates_met for row in list_runs(tmp_path / "out" / "history.db")] == [False] * 2


def test_finish_run_gives_the_api_the_clis_verdict_and_artifacts(tmp_path: Path) -> None:
    assert invoke("run", str(EXAMPLE), "--out", str(tmp_path)).exit_code == 0
    (run_dir,) = run_dirs(tmp_path)
    for name in ("report.html", "report.md", "junit.xml"):
        (run_dir / name).unlink()
    finished = finish_run(run_dir, FinishOptions(gates=Gates(fail_under=1.0), record=False))
    assert finished.verdict.code == EXIT_OK
    assert {p.name for p in finished.reports.values()} == {"report.html", "report.md"}
    assert finished.junit is not None
    assert finished.junit.is_file()
    assert len(list_runs(tmp_path / "history.db")) == 1  # the CLI's record only


def test_finish_run_of_a_failing_and_an_erroring_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("run.json", "results.jsonl"):
        (run_dir / name).write_bytes((FIXTURE / name).read_bytes())
    lenient = finish_run(run_dir, FinishOptions(gates=Gates(max_error_rate=0.5)))
    assert lenient.verdict == (EXIT_FAILED, ("1 conversation(s) failed",))
    strict = finish_run(run_dir, FinishOptions(record=False))
    assert strict.verdict.code == EXIT_INCOMPLETE
    (row,) = list_runs(tmp_path / "history.db")
    assert not row.gates_met


def test_a_run_cannot_be_its_own_baseline_in_the_pipeline(tmp_path: Path) -> None:
    assert invoke("run", str(EXAMPLE), "--out", str(tmp_path)).exit_code == 0
    (run_dir,) = run_dirs(tmp_path)
    with pytest.raises(UsageError, match="is the run itself"):
        finish_run(run_dir, FinishOptions(baseline=run_dir))


def test_config_labels_must_be_safe_names(tmp_path: Path) -> None:
    result = invoke(
        "run", str(EXAMPLE), "--out", str(tmp_path / "out"),
        "--config", "../../../x=contact", "--config", "v2=contact-v2",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "names a directory" in result.output
    assert not (tmp_path / "x").exists()
