"""`evalkit rescore`: a stored run's transcripts judged again against edited suites, offline."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.emulator import EmulatorServer
from evalkit.errors import UsageError
from evalkit.rescore import rescore_run
from evalkit.results import read_run

ROOT = Path(__file__).resolve().parent.parent


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def recorder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, EmulatorServer]]:
    """A copy of the suites, and the emulator the stored run is recorded against.

    It stays alive for the whole module: a rescore that sent anything would send it here, to the
    base URL the run names.
    """
    root = tmp_path_factory.mktemp("rescore")
    shutil.copytree(ROOT / "suites", root / "suites")
    with EmulatorServer(root / "suites" / "forms") as server:
        yield root, server


@pytest.fixture(scope="module")
def stored(recorder: tuple[Path, EmulatorServer]) -> tuple[Path, Path]:
    """The example contact suite run once against the recorder: (suites copy, run dir)."""
    root, server = recorder
    code, output = _invoke(
        "run",
        str(root / "suites" / "contact.eval.yaml"),
        "--target",
        "custom",
        "--base-url",
        server.base_url,
        "--form-id",
        f"contact={server.form_ids['contact']}",
        "--out",
        str(root / "reports"),
    )
    assert code == 0, output
    assert server.stats.requests > 0
    (run_dir,) = [p for p in (root / "reports").iterdir() if p.is_dir()]
    return root / "suites", run_dir


def _edited(suites: Path, tmp_path: Path, *edits: tuple[str, str]) -> Path:
    copy = tmp_path / "suites"
    shutil.copytree(suites, copy)
    path = copy / "contact.eval.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


def _statuses(run_dir: Path) -> dict[tuple[str, str, int], str]:
    _, results = read_run(run_dir)
    return {r.key: r.status for r in results}


def test_an_edited_expectation_changes_exactly_that_verdict_and_sends_nothing(
    stored: tuple[Path, Path], recorder: tuple[Path, EmulatorServer], tmp_path: Path
) -> None:
    suites, run_dir = stored
    suite = _edited(
        suites,
        tmp_path,
        ("expect: {age: 26}", "expect: {age: 27}"),
        ('user: "Just ring me"', 'user: "Just ring me, please"'),
    )
    out = tmp_path / "rescored"
    _, server = recorder
    assert read_run(run_dir)[0].target.base_url == server.base_url  # still serving the run's URL
    sent = server.stats.requests

    code, output = _invoke("rescore", str(run_dir), str(suite), "--out", str(out))

    assert server.stats.requests == sent  # nothing reached the server the run was recorded on
    assert code == 1, output  # correction-age now fails: the gates say so
    before, after = _statuses(run_dir), _statuses(out)
    assert before.keys() == after.keys()
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert changed == {
        ("contact-form", "correction-age", 0): ("pass", "fail"),
        ("contact-form", "single-select-ring-me", 0): ("pass", "skipped"),
    }
    assert "refused  contact-form/single-select-ring-me: turn 2's utterance changed" in output
    assert "'Just ring me'" in output
    assert "changed  contact-form/correction-age" in output
    info, results = read_run(out)
    assert info.rescored_from == run_dir.name
    assert {s.name for s in info.suites} == {"contact-form"}
    assert info.summary.failed == 1
    assert info.summary.skipped == 1
    refused = next(r for r in results if r.conversation_id == "single-select-ring-me")
    assert refused.warnings[0].startswith("not rescored: turn 2's utterance changed")
    assert refused.transcript  # the stored transcript is kept
    failed = next(r for r in results if r.conversation_id == "correction-age")
    (wrong,) = [f for f in failed.fields if not f.passed]
    assert (wrong.field, wrong.turn, wrong.expected, wrong.actual) == ("age", 2, 27, 26)
    for name in ("report.html", "report.md", "junit.xml", "run.json", "results.jsonl"):
        assert (out / name).is_file(), name
    assert "correction-age" in (out / "report.md").read_text(encoding="utf-8")
    # The stored run is untouched.
    assert json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["summary"]["failed"] == 0


def test_unchanged_suites_give_the_same_verdicts(stored: tuple[Path, Path], tmp_path: Path) -> None:
    _suites, run_dir = stored
    rescored = rescore_run(run_dir, out_dir=tmp_path / "same")  # the suites run.json names
    assert rescored.changed == []
    assert rescored.refused == []
    assert rescored.not_run == []
    assert _statuses(run_dir) == _statuses(tmp_path / "same")
    old, new = read_run(run_dir)[1], read_run(tmp_path / "same")[1]
    assert [r.fields for r in old] == [r.fields for r in new]
    assert rescored.info.summary.pass_rate == read_run(run_dir)[0].summary.pass_rate


def test_removed_turns_prefill_and_conversations_are_refused(
    stored: tuple[Path, Path], tmp_path: Path
) -> None:
    suites, run_dir = stored
    suite = _edited(
        suites,
        tmp_path,
        ("prefill: {first_name: Maria,", "prefill: {first_name: Mara,"),
        ("  - id: invalid-email\n", "  - id: invalid-email-renamed\n"),
        (
            '      - user: "Actually, my email is sam@example.com"\n'
            "        expect: {email: sam@example.com}\n",
            "",
        ),
    )
    rescored = rescore_run(run_dir, [suite], tmp_path / "out")
    assert sorted(rescored.refused) == [
        "contact-form/correction-email: it has 1 turn(s) now; the run sent 2",
        "contact-form/invalid-email: the suites no longer hold this conversation",
        "contact-form/prefill-then-select: its prefill changed since the run",
    ]
    assert rescored.not_run == ["contact-form/invalid-email-renamed"]


def test_the_output_directory_must_be_new(stored: tuple[Path, Path], tmp_path: Path) -> None:
    _, run_dir = stored
    with pytest.raises(UsageError, match="stored run"):
        rescore_run(run_dir, out_dir=run_dir)
    shutil.copytree(run_dir, tmp_path / "other")
    with pytest.raises(UsageError, match="already holds a run"):
        rescore_run(run_dir, out_dir=tmp_path / "other")
