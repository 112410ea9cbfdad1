"""The robustness table: copies against their originals, hand-computed, and on the emulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.metrics import summarize
from evalkit.metrics.robustness import MAX_BROKEN, RobustnessTally, drop_interval
from evalkit.report.format import percent
from evalkit.results import ConversationResult, FieldResult, read_run
from evalkit.results.figures import RobustnessKind
from evalkit.results.models import Summary

ROOT = Path(__file__).resolve().parent.parent
CONTACT = ROOT / "suites" / "contact.eval.yaml"
DOC = ROOT / "docs" / "variants.md"


def _result(
    cid: str, status: str, verdicts: dict[str, str], repeat: int = 0, suite: str = "s"
) -> ConversationResult:
    fields = [
        FieldResult(
            field=name,
            turn=1,
            matcher="text",
            outcome=outcome,  # type: ignore[arg-type]
            passed=outcome in ("correct", "unexpected"),
            score=1.0 if outcome == "correct" else 0.0,
            reason="",
        )
        for name, outcome in verdicts.items()
    ]
    return ConversationResult(
        suite=suite,
        conversation_id=cid,
        repeat=repeat,
        status=status,  # type: ignore[arg-type]
        fields=fields,
    )


def _kinds(results: list[ConversationResult]) -> dict[str, RobustnessKind]:
    tally = RobustnessTally()
    for result in results:
        tally.add(result)
    metrics = tally.metrics()
    assert metrics is not None
    return {k.kind: k for k in metrics.kinds}


# ------------------------------------------------------------------ hand-computed


def test_a_run_without_copies_has_no_robustness_table() -> None:
    assert summarize([_result("a", "pass", {"x": "correct"})]).robustness is None


def test_copies_pair_with_their_originals_per_kind() -> None:
    results = [
        # a: passes both repeats; its typo copy fails on `name`, its casing copy passes.
        _result("a", "pass", {"name": "correct", "age": "correct"}, repeat=0),
        _result("a", "pass", {"name": "correct", "age": "correct"}, repeat=1),
        _result("a~typos-1", "fail", {"name": "missing", "age": "correct"}),
        _result("a~casing-1", "pass", {"name": "correct", "age": "correct"}),
        # b: fails (age wrong); its typo copies: one fails the same way, one errors.
        _result("b", "fail", {"age": "wrong", "extra": "unexpected"}),
        _result("b~typos-1", "fail", {"age": "wrong"}),
        _result("b~typos-2", "error", {}),
        # c: no copy at all: in no kind's originals.
        _result("c", "fail", {"age": "missing"}),
        # d~typos-1: its original errored, so it pairs with nothing.
        _result("d", "error", {}),
        _result("d~typos-1", "pass", {"age": "correct"}),
    ]
    kinds = _kinds(results)
    assert list(kinds) == ["typos", "casing"]  # in the order the kinds are defined
    typos = kinds["typos"]
    assert (typos.originals, typos.original_passed, typos.original_runs) == (2, 2, 3)
    assert (typos.copies_passed, typos.copies) == (0, 2)
    assert typos.original_pass_rate == pytest.approx(2 / 3)
    assert typos.copy_pass_rate == 0.0
    assert typos.drop == pytest.approx(2 / 3)
    assert typos.drop_ci == pytest.approx(drop_interval(2, 3, 0, 2))
    # name: originals 2/2 (a twice), copies 0/1; age: originals 2/3, copies 1/2.
    name, age = typos.fields["name"], typos.fields["age"]
    assert (name.original_correct, name.original_checked) == (2, 2)
    assert (name.copy_correct, name.copy_checked) == (0, 1)
    assert name.drop == 1.0
    assert (age.original_correct, age.original_checked, age.copy_correct) == (2, 3, 1)
    assert age.drop == pytest.approx(2 / 3 - 1 / 2)
    assert "extra" not in typos.fields  # unexpected fields are not accuracy
    # Broken: a copy that failed while its original always passed (b's failed too: not broken).
    assert typos.broken_count == 1
    assert [(b.conversation, b.fields) for b in typos.broken] == [("s/a~typos-1", ["name"])]
    # Errors are on neither side of the rates, and counted: b's errored copy, d's errored
    # original (its passed copy pairs with nothing: unpaired).
    assert (typos.copy_errors, typos.original_errors, typos.unpaired) == (1, 1, 1)
    assert typos.errored == ["s/b~typos-2"]
    casing = kinds["casing"]
    assert (casing.copy_errors, casing.original_errors, casing.unpaired) == (0, 0, 0)
    assert (casing.original_passed, casing.original_runs, casing.copies_passed) == (2, 2, 1)
    assert casing.drop == 0.0
    assert casing.broken == []


def test_a_kind_whose_every_copy_errored_is_listed_with_its_errors() -> None:
    # A target that fails on every typo'd message: no decided copy, so no rate and no drop,
    # but the kind is there, with what errored.
    results = [
        _result("a", "pass", {"x": "correct"}),
        _result("a~typos-1", "error", {}),
        _result("a~typos-1", "error", {}, repeat=1),
        _result("b", "error", {}),
        _result("b~typos-1", "error", {}),
    ]
    (typos,) = _kinds(results).values()
    assert typos.kind == "typos"
    assert (typos.originals, typos.copies, typos.copy_pass_rate, typos.drop) == (0, 0, None, None)
    assert (typos.copy_errors, typos.original_errors, typos.unpaired) == (3, 1, 0)
    assert typos.errored == ["s/a~typos-1", "s/b~typos-1"]


def test_errored_copies_are_listed_up_to_the_limit_and_all_counted() -> None:
    results = [_result("a", "pass", {"x": "correct"})]
    results += [_result(f"a~typos-{i}", "error", {}) for i in range(1, MAX_BROKEN + 6)]
    typos = _kinds(results)["typos"]
    assert typos.copy_errors == MAX_BROKEN + 5
    assert len(typos.errored) == MAX_BROKEN
    assert typos.errored == sorted(typos.errored)


def test_a_run_json_with_the_old_field_names_still_loads() -> None:
    old = {
        "kind": "typos",
        "originals": 1,
        "copies": 2,
        "copies_passed": 1,
        "variant_pass_rate": 0.5,
        "fields": {"name": {"variant_correct": 1, "variant_checked": 2, "variant_accuracy": 0.5}},
    }
    kind = RobustnessKind.model_validate(old)
    assert (kind.copies, kind.copy_pass_rate, kind.copy_errors) == (2, 0.5, 0)
    summary = Summary.model_validate({"robustness": {"kinds": [old]}})
    assert summary.robustness is not None
    assert summary.robustness.kinds[0].copies_passed == 1


def test_copies_of_two_suites_with_one_id_do_not_mix() -> None:
    results = [
        _result("a", "pass", {"x": "correct"}, suite="one"),
        _result("a", "fail", {"x": "wrong"}, suite="two"),
        _result("a~typos-1", "fail", {"x": "wrong"}, suite="one"),
    ]
    typos = _kinds(results)["typos"]
    assert (typos.original_passed, typos.original_runs) == (1, 1)
    assert typos.broken_count == 1


def test_an_id_that_only_looks_like_a_copy_is_an_original() -> None:
    # `~` cannot be in a suite's own ids, but a stored run may hold anything: an unknown kind
    # is not a copy.
    results = [_result("a~weird-1", "pass", {"x": "correct"})]
    assert summarize(results).robustness is None


@pytest.mark.parametrize(
    ("a", "n", "b", "m", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10.
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (5, 56, 0, 29, -0.0381, 0.1926),
    ],
)
def test_the_drop_interval_is_newcombes_hybrid_score_interval(
    a: int, n: int, b: int, m: int, low: float, high: float
) -> None:
    found = drop_interval(a, n, b, m)
    assert found is not None
    assert found == pytest.approx((low, high), abs=5e-5)


def test_the_drop_interval_needs_runs_on_both_sides() -> None:
    assert drop_interval(0, 0, 1, 2) is None
    assert drop_interval(1, 2, 0, 0) is None


# ------------------------------------------------------------------ on the emulator


def _run(tmp_path: Path, form: str, kinds: str) -> RobustnessKind:
    args = ["run", str(CONTACT), "--form-id", f"contact={form}", "--out", str(tmp_path)]
    CliRunner().invoke(main, [*args, "--variants", kinds], catch_exceptions=False)
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    robustness = read_run(run_dir)[0].summary.robustness
    assert robustness is not None
    (kind,) = robustness.kinds
    return kind


def _quoted(kind: str, form: str) -> list[str]:
    for line in DOC.read_text(encoding="utf-8").splitlines():
        found = re.match(rf"\| `{kind}` \| `{form}` \|(.*)\|$", line)
        if found:
            return [cell.strip() for cell in found[1].split("|")]
    raise AssertionError(f"docs/variants.md quotes no `{kind}` on `{form}`")


def _cells(kind: RobustnessKind, field: str) -> list[str]:
    f = kind.fields[field]
    return [
        f"{percent(kind.original_pass_rate)} ({kind.original_passed}/{kind.original_runs})",
        f"{percent(kind.copy_pass_rate)} ({kind.copies_passed}/{kind.copies})",
        f"`{field}` {percent(f.original_accuracy)} → {percent(f.copy_accuracy)}",
    ]


@pytest.mark.slow
def test_numbers_as_words_drop_on_contact_v2_only_and_on_age(tmp_path: Path) -> None:
    v1 = _run(tmp_path / "v1", "contact", "numbers")
    v2 = _run(tmp_path / "v2", "contact-v2", "numbers")
    # contact reads number words: no drop. contact-v2 does not: the copies lose `age`.
    assert v1.drop == 0.0
    assert v1.broken == []
    assert v2.drop is not None
    assert v2.drop > 0
    drops = {name: f.drop for name, f in v2.fields.items() if f.drop}
    assert set(drops) == {"age"}
    assert all(b.fields == ["age"] for b in v2.broken)
    assert v2.broken
    assert _quoted("numbers", "contact") == _cells(v1, "age")
    assert _quoted("numbers", "contact-v2") == _cells(v2, "age")


@pytest.mark.slow
def test_typos_on_contact_drop_beyond_noise_and_name_the_fields_they_broke(
    tmp_path: Path,
) -> None:
    typos = _run(tmp_path, "contact", "typos")
    assert typos.drop_ci is not None
    assert typos.drop_ci[0] > 0
    broke = {name for b in typos.broken for name in b.fields}
    dropped = {name for name, f in typos.fields.items() if f.drop and f.drop > 0}
    assert broke
    assert broke <= dropped
    # The values themselves are protected: the email is never mistyped, and it never drops.
    assert typos.fields["email"].drop == 0.0
    assert _quoted("typos", "contact") == _cells(typos, "newsletter")


@pytest.mark.slow
def test_a_run_with_copies_rescores_to_the_same_verdicts_and_table(tmp_path: Path) -> None:
    args = ["run", str(CONTACT), "--form-id", "contact=contact-v2", "--out", str(tmp_path)]
    CliRunner().invoke(main, [*args, "--variants", "numbers"], catch_exceptions=False)
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    out = tmp_path / "rescored"
    again = ["rescore", str(run_dir), "-o", str(out), "--variants", "numbers"]
    CliRunner().invoke(main, again, catch_exceptions=False)
    before, after = read_run(run_dir), read_run(out)
    statuses = [{(r.conversation_id, r.status) for r in run[1]} for run in (before, after)]
    assert statuses[0] == statuses[1]
    assert "correction-age~numbers-1" in {cid for cid, _ in statuses[1]}
    assert before[0].summary.robustness == after[0].summary.robustness
