"""Merging shard runs: the merge equals the whole run; parts of other runs are refused."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.cli import main
from evalkit.errors import RunFileError, UsageError
from evalkit.merge import merge_runs, parse_shard
from evalkit.metrics import summarize
from evalkit.results import (
    ConversationResult,
    FormInfo,
    RunInfo,
    SimulatorInfo,
    read_run,
    suite_key,
    target_key,
    write_run_info,
)

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent


def write_shard(
    run_dir: Path, info: RunInfo, results: list[ConversationResult], **update: object
) -> Path:
    """A run directory holding `results`, with run.json `info` updated (and summarised)."""
    run_dir.mkdir(parents=True)
    (run_dir / "results.jsonl").write_text(
        "".join(r.model_dump_json() + "\n" for r in results), encoding="utf-8"
    )
    write_run_info(
        run_dir,
        info.model_copy(update={"run_id": run_dir.name, "summary": summarize(results), **update}),
    )
    return run_dir


def split(
    root: Path, fixture: str, assignment: list[int], count: int, **update: object
) -> list[Path]:
    """Shard directories of a fixture run: result i goes to shard assignment[i] (1-based)."""
    info, results = read_run(DATA / fixture)
    return [
        write_shard(
            root / f"shard-{index}",
            info,
            [r for r, shard in zip(results, assignment, strict=True) if shard == index],
            shard=f"{index}/{count}",
            started_at=f"2026-03-02T02:00:0{index}.000000Z",
            finished_at=f"2026-03-02T02:00:1{index}.000000Z",
            **update,
        )
        for index in range(1, count + 1)
    ]


def assert_same_run(merged: Path, whole: Path) -> None:
    merged_info, merged_results = read_run(merged)
    whole_info, whole_results = read_run(whole)
    assert [r.key for r in merged_results] == [r.key for r in whole_results]
    assert [r.status for r in merged_results] == [r.status for r in whole_results]
    assert merged_info.summary == summarize(whole_results)
    assert merged_info.suites == whole_info.suites
    assert merged_info.target == whole_info.target


@pytest.mark.parametrize("fixture", ["run_fixture", "run_fixture_rich"])
def test_four_shards_merge_into_the_whole_run(tmp_path: Path, fixture: str) -> None:
    _, results = read_run(DATA / fixture)
    shards = split(tmp_path, fixture, [i % 4 + 1 for i in range(len(results))], 4)
    info = merge_runs(list(reversed(shards)), tmp_path / "merged")
    assert_same_run(tmp_path / "merged", DATA / fixture)
    assert info.run_id == "merged"
    assert info.shard is None
    assert info.started_at == "2026-03-02T02:00:01.000000Z"
    assert info.finished_at == "2026-03-02T02:00:14.000000Z"
    assert info.concurrency == 4 * read_run(DATA / fixture)[0].concurrency
    assert not info.interrupted


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_split_merges_back_into_the_whole_run(data: st.DataObject) -> None:
    _, results = read_run(DATA / "run_fixture")
    count = data.draw(st.integers(min_value=1, max_value=4), label="shards")
    assignment = data.draw(
        st.lists(
            st.integers(min_value=1, max_value=count), min_size=len(results), max_size=len(results)
        ),
        label="assignment",
    )
    with tempfile.TemporaryDirectory() as tmp:
        shards = split(Path(tmp), "run_fixture", assignment, count)
        merge_runs(shards, Path(tmp) / "merged")
        assert_same_run(Path(tmp) / "merged", DATA / "run_fixture")


def test_the_emulators_random_port_does_not_make_another_target(tmp_path: Path) -> None:
    info, results = read_run(DATA / "run_fixture")
    other = info.target.model_copy(update={"base_url": "http://127.0.0.1:50123"})
    first = write_shard(tmp_path / "a", info, results[:2], shard="1/2")
    second = write_shard(tmp_path / "b", info, results[2:], shard="2/2", target=other)
    merge_runs([first, second], tmp_path / "merged")
    assert_same_run(tmp_path / "merged", DATA / "run_fixture")


def _other_suite_version(info: RunInfo) -> dict[str, object]:
    return {"suites": [info.suites[0].model_copy(update={"sha256": "0" * 64}), *info.suites[1:]]}


def _other_form(info: RunInfo) -> dict[str, object]:
    forms = {**info.target.form_ids, "contact": "contact-v2"}
    return {"target": info.target.model_copy(update={"form_ids": forms})}


def _other_host(info: RunInfo) -> dict[str, object]:
    target = info.target.model_copy(update={"name": "custom", "base_url": "http://a.example"})
    return {"target": target}


def _one_suite_fewer(info: RunInfo) -> dict[str, object]:
    return {"suites": info.suites[:1]}


def _with_variants(info: RunInfo) -> dict[str, object]:
    return {"suites": [s.model_copy(update={"variants": ["typos"]}) for s in info.suites]}


def _other_simulator(info: RunInfo) -> dict[str, object]:
    llm = SimulatorInfo(kind="llm", base_url="http://127.0.0.1:9/v1", model="m")
    return {"simulator": llm}


def _other_forms(info: RunInfo) -> dict[str, object]:
    return {"forms": [FormInfo(key="contact", form_id="contact-v2")]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(_other_suite_version, "suite 'contact-form' is a different version", id="sha"),
        pytest.param(_one_suite_fewer, "it did not run suite 'booking'", id="suites"),
        pytest.param(_other_form, "another target", id="form-id"),
        pytest.param(_other_host, "another target", id="base-url"),
        pytest.param(lambda _: {"evalkit_version": "9.9.9"}, "evalkit_version", id="version"),
        pytest.param(lambda _: {"git_commit": "b" * 40}, "git_commit", id="commit"),
        pytest.param(lambda _: {"repeat": 5}, "repeat", id="repeat"),
        pytest.param(_with_variants, "--variants typos, the first's no --variants", id="variants"),
        pytest.param(_other_simulator, "another simulator", id="simulator"),
        pytest.param(_other_forms, "other forms", id="forms"),
    ],
)
def test_parts_of_different_runs_are_refused(tmp_path: Path, change, message: str) -> None:
    info, results = read_run(DATA / "run_fixture")
    info = info.model_copy(update={"git_commit": "a" * 40, "repeat": 1})
    first = write_shard(tmp_path / "a", info, results[:2], shard="1/2")
    second = write_shard(tmp_path / "b", info, results[2:], shard="2/2", **change(info))
    with pytest.raises(UsageError, match=message) as caught:
        merge_runs([first, second], tmp_path / "merged")
    assert str(second) in str(caught.value)
    assert not (tmp_path / "merged").exists()


def test_shards_whose_llm_simulator_had_another_seed_are_refused(tmp_path: Path) -> None:
    info, results = read_run(DATA / "run_fixture")
    llm = SimulatorInfo(kind="llm", base_url="http://127.0.0.1:9/v1", model="m", seed=1)
    info = info.model_copy(update={"simulator": llm})
    first = write_shard(tmp_path / "a", info, results[:2], shard="1/2")
    reseeded = {"simulator": llm.model_copy(update={"seed": 2})}
    second = write_shard(tmp_path / "b", info, results[2:], shard="2/2", **reseeded)
    with pytest.raises(UsageError, match=r"another simulator \(llm m at .* seed 2") as caught:
        merge_runs([first, second], tmp_path / "merged")
    assert "seed 1" in str(caught.value)
    assert not (tmp_path / "merged").exists()


def test_a_conversation_in_two_directories_is_refused(tmp_path: Path) -> None:
    info, results = read_run(DATA / "run_fixture")
    first = write_shard(tmp_path / "a", info, results[:3])
    second = write_shard(tmp_path / "b", info, results[2:])
    with pytest.raises(UsageError, match=r"1 conversation is in more than one run: booking/"):
        merge_runs([first, second], tmp_path / "merged")


@pytest.mark.parametrize(
    ("shards", "message"),
    [
        pytest.param(["1/3", "3/3"], "missing shard 2/3", id="missing"),
        pytest.param(["1/2", "1/2"], "shard 1/2 is given twice", id="twice"),
        pytest.param(["1/2", "2/3"], "split the run differently", id="different-n"),
        pytest.param(["1/2", None], "not a shard", id="not-a-shard"),
    ],
)
def test_incomplete_or_mixed_shards_are_refused(
    tmp_path: Path, shards: list[str | None], message: str
) -> None:
    info, results = read_run(DATA / "run_fixture")
    dirs = [
        write_shard(tmp_path / f"s{i}", info, results[i::2], shard=shard)
        for i, shard in enumerate(shards)
    ]
    with pytest.raises(UsageError, match=message):
        merge_runs(dirs, tmp_path / "merged")


def test_a_partial_merge_is_allowed_when_asked(tmp_path: Path) -> None:
    info, results = read_run(DATA / "run_fixture")
    first = write_shard(tmp_path / "a", info, results[:2], shard="1/3")
    merged = merge_runs([first], tmp_path / "merged", allow_partial=True)
    assert merged.summary.total == 2


def test_a_shard_that_never_finished_makes_the_merge_interrupted(tmp_path: Path) -> None:
    shards = split(tmp_path, "run_fixture", [1, 2, 1, 2, 1], 2)
    info, _ = read_run(shards[1])
    write_run_info(shards[1], info.model_copy(update={"finished_at": ""}))
    merged = merge_runs(shards, tmp_path / "merged")
    assert merged.interrupted
    assert merged.finished_at == ""


def test_the_same_directory_twice_is_refused(tmp_path: Path) -> None:
    (shard,) = split(tmp_path, "run_fixture", [1] * 5, 1)
    with pytest.raises(UsageError, match="are the same run"):
        merge_runs([shard, shard], tmp_path / "merged")


def test_the_output_must_be_new(tmp_path: Path) -> None:
    shards = split(tmp_path, "run_fixture", [1, 2, 1, 2, 1], 2)
    with pytest.raises(UsageError, match="one of the runs to merge"):
        merge_runs(shards, shards[0])
    merge_runs(shards, tmp_path / "merged")
    with pytest.raises(UsageError, match="already holds a run"):
        merge_runs(shards, tmp_path / "merged")
    with pytest.raises(UsageError, match="nothing to merge"):
        merge_runs([], tmp_path / "other")


def test_a_directory_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunFileError, match="not a run directory"):
        merge_runs([tmp_path], tmp_path / "merged")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1/4", (1, 4)), ("4/4", (4, 4)), (None, None), ("", None)],
)
def test_parse_shard(value: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_shard(value) == expected


@pytest.mark.parametrize("value", ["0/4", "5/4", "a/b", "3"])
def test_parse_shard_refuses_malformed_values(value: str) -> None:
    with pytest.raises(UsageError):
        parse_shard(value)


def test_keys_ignore_suite_order_and_the_emulators_port() -> None:
    info, _ = read_run(DATA / "run_fixture")
    assert suite_key(reversed(info.suites)) == suite_key(info.suites)
    moved = info.target.model_copy(update={"base_url": "http://127.0.0.1:1"})
    assert target_key(moved) == target_key(info.target)
    wix = info.target.model_copy(update={"name": "wix"})
    assert target_key(wix.model_copy(update={"base_url": "http://127.0.0.1:1"})) != target_key(wix)


def test_merge_command_writes_the_run_and_its_reports(tmp_path: Path) -> None:
    shards = split(tmp_path, "run_fixture", [1, 2, 1, 2, 1], 2)
    out = tmp_path / "nightly"
    result = CliRunner().invoke(
        main, ["merge", *map(str, shards), "-o", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "5 conversations" in result.output
    for name in ("results.jsonl", "run.json", "report.html", "report.md", "junit.xml"):
        assert (out / name).is_file(), name
    assert_same_run(out, DATA / "run_fixture")
    report = CliRunner().invoke(main, ["report", str(out)], catch_exceptions=False)
    assert report.exit_code == 0


def test_merge_command_refusal_exits_2_with_the_reason(tmp_path: Path) -> None:
    shards = split(tmp_path, "run_fixture", [1, 1, 1, 1, 1], 2)[:1]
    result = CliRunner().invoke(main, ["merge", str(shards[0]), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "missing shard 2/2" in result.output


@pytest.mark.slow
def test_four_real_shards_against_the_emulator_merge_into_the_unsharded_run(
    tmp_path: Path,
) -> None:
    suite = str(ROOT / "suites" / "contact.eval.yaml")

    def run(out: Path, *extra: str) -> Path:
        result = CliRunner().invoke(
            main,
            ["run", suite, "--target", "emulator", "--repeat", "2", "--out", str(out), *extra],
            catch_exceptions=False,
        )
        assert result.exit_code in (0, 1), result.output
        (run_dir,) = [p for p in out.iterdir() if (p / "run.json").is_file()]
        return run_dir

    whole = run(tmp_path / "whole")
    shards = [run(tmp_path / f"shard-{i}", "--shard", f"{i}/4") for i in range(1, 5)]
    merge_runs(shards, tmp_path / "merged")
    merged_info, merged_results = read_run(tmp_path / "merged")
    whole_info, whole_results = read_run(whole)
    assert len(whole_results) >= 4
    assert [(r.key, r.status) for r in merged_results] == [(r.key, r.status) for r in whole_results]
    counts = ("total", "passed", "failed", "errors", "pass_rate", "fields", "flaky")
    assert {k: getattr(merged_info.summary, k) for k in counts} == {
        k: getattr(whole_info.summary, k) for k in counts
    }


@pytest.mark.slow
def test_real_shards_run_with_and_without_variants_are_refused(tmp_path: Path) -> None:
    suite = str(ROOT / "suites" / "contact.eval.yaml")

    def run(out: Path, *extra: str) -> Path:
        result = CliRunner().invoke(
            main,
            ["run", suite, "--target", "emulator", "--out", str(out), *extra],
            catch_exceptions=False,
        )
        assert result.exit_code in (0, 1), result.output
        (run_dir,) = [p for p in out.iterdir() if (p / "run.json").is_file()]
        return run_dir

    first = run(tmp_path / "one", "--shard", "1/2", "--variants", "typos,casing")
    second = run(tmp_path / "two", "--shard", "2/2")
    result = CliRunner().invoke(main, ["merge", str(first), str(second), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "it ran no --variants, the first's --variants typos,casing" in " ".join(
        result.output.split()
    )
    assert not (tmp_path / "m").exists()
    # The same kinds in another order make the same copies: those shards merge.
    third = run(tmp_path / "three", "--shard", "2/2", "--variants", "casing,typos")
    merge_runs([first, third], tmp_path / "merged")
    assert read_run(tmp_path / "merged")[1]
