"""Coverage of the forms: what suites exercise (offline) and what a run observed.

The example suites' gaps are checked against a universe enumerated here from the form files
themselves and a hand list of what the suites never touch; a suite written to cover all of
`contact` reaches 100% offline, and passes against the emulator with 100% observed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.cli import main
from evalkit.coverage import exercised, suite_coverage
from evalkit.emulator import Form, load_form
from evalkit.formcheck import check_suites
from evalkit.gates import EXIT_FAILED, EXIT_OK, Gates, evaluate_gates
from evalkit.metrics import summarize
from evalkit.metrics.coverage import CoverageTally, form_items
from evalkit.protocol import ChunkType
from evalkit.results import ConversationResult, FormInfo, read_run
from evalkit.runner import emulator_target, run_sync
from evalkit.runner.forms import find_forms, form_info
from evalkit.suite import Suite

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "suites" / "forms"
FULL = ROOT / "tests" / "data" / "coverage"

# What the example suites never touch, checked by reading them (see docs/coverage.md):
UNTOUCHED = {
    "booking": {
        "validation phone:bad-phone",  # no turn gives a too-short phone and expects none
    },
    "contact": {
        "option interests=nutrition",  # multi-select-interests names yoga, pilates, weights
        "option interests=running",
        "validation phone:bad-phone",
        "validation age:above-max",  # age-out-of-range says 15: below the minimum only
        "validation age:not-a-multiple",
        "validation contact_method:not-an-option",  # no turn offers a method the form lacks
    },
    "event": {
        "option dietary=kosher",  # the dietary matrix: none, vegan, halal, a custom answer
        "validation sessions:not-an-option",  # unknown-pass refuses a pass, not a session
    },
}


def _universe(form: Form) -> set[str]:
    """Every item of a form, enumerated from the form file's own fields (not evalkit's)."""
    items = {"submission submitted"}
    for f in form.fields:
        items.add(f"field {f.target}")
        items |= {f"option {f.target}={o.value}" for o in f.options}
        if f.type == "boolean":
            items |= {f"option {f.target}=true", f"option {f.target}=false"}
        if f.min is not None:
            items.add(f"validation {f.target}:below-min")
        if f.max is not None:
            items.add(f"validation {f.target}:above-max")
        if f.multiple_of is not None:
            items.add(f"validation {f.target}:not-a-multiple")
        if f.options and not f.custom_option:
            items.add(f"validation {f.target}:not-an-option")
        if f.type in ("email", "phone"):
            items.add(f"validation {f.target}:bad-{f.type}")
    return items


def test_the_example_suites_leave_exactly_the_hand_listed_items_uncovered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    checked = check_suites([ROOT / "suites"])
    coverage = suite_coverage(checked.suites, [FORMS])
    assert [f.form for f in coverage.forms] == sorted(UNTOUCHED)
    assert coverage.unknown == []
    for form in coverage.forms:
        defined = load_form(FORMS / f"{form.form}.form.yaml")
        assert form.source == f"suites/forms/{form.form}.form.yaml"
        assert {i.label for i in form.items} == _universe(defined)
        assert {i.label for i in form.uncovered} == UNTOUCHED[form.form]
    total = sum(len(_universe(load_form(FORMS / f"{k}.form.yaml"))) for k in UNTOUCHED)
    untouched = sum(len(v) for v in UNTOUCHED.values())
    assert (coverage.overall.covered, coverage.overall.total) == (total - untouched, total)


def test_the_coverage_command_lists_the_gaps_and_gates_on_min_coverage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    printed = runner.invoke(main, ["coverage", "suites/"], catch_exceptions=False)
    assert printed.exit_code == EXIT_OK, printed.output
    for key, labels in UNTOUCHED.items():
        for label in labels:
            assert f"uncovered  suites/forms/{key}.form.yaml: {label}\n" in printed.output
    assert printed.output.count("uncovered  ") == sum(len(v) for v in UNTOUCHED.values())

    gated = runner.invoke(main, ["coverage", "suites/", "--min-coverage", "95%"])
    assert gated.exit_code == EXIT_FAILED
    assert "is under --min-coverage 95.0%" in gated.output
    assert "uncovered: suites/forms/event.form.yaml: option dietary=kosher" in gated.output
    met = runner.invoke(main, ["coverage", "suites/", "--min-coverage", "0.8"])
    assert met.exit_code == EXIT_OK

    as_json = runner.invoke(main, ["coverage", "suites/", "--format", "json"])
    data = json.loads(as_json.output)
    gaps = {
        f["form"]: {f"{i['kind']} {i['name']}" for i in f["items"] if not i["covered"]}
        for f in data["forms"]
    }
    assert gaps == UNTOUCHED
    markdown = runner.invoke(main, ["coverage", "suites/", "--format", "markdown"]).output
    assert "## Coverage" in markdown
    assert "Not exercised, from suites/forms/contact.form.yaml:" in markdown
    assert "- option interests=running" in markdown


HOSTILE_FORM = """\
key: menu
id: 0f0e0d0c-0b0a-4909-8807-060504030201
name: Menu
greeting: Hello.
fields:
  - target: dish
    label: Dish
    type: single_select
    required: true
    options:
      - {value: "<img src=x onerror=alert(1)>", label: Image}
      - {value: "a|b", label: A or B}
      - {value: "**bold**_x_", label: Bold}
"""
HOSTILE_SUITE = """\
suite: "menu | *suite*"
form: menu
conversations:
  - id: one
    turns:
      - user: "a|b please"
        expect: {dish: "a|b"}
"""


def test_the_coverage_markdown_is_the_reports_section_with_every_name_neutralised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "menu.form.yaml").write_text(HOSTILE_FORM, encoding="utf-8")
    (tmp_path / "menu.eval.yaml").write_text(HOSTILE_SUITE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(main, ["coverage", ".", "--format", "markdown"])

    assert result.exit_code == EXIT_OK, result.output
    markdown = result.output
    assert "<img" not in markdown
    assert "**bold**" not in markdown
    assert "- option dish=&lt;img src=x onerror=alert(1)&gt;" in markdown
    assert "- option dish=\\*\\*bold\\*\\*\\_x\\_" in markdown
    assert "option dish=a\\|b" not in markdown  # covered: not listed
    # Rates read as the reports write them (evalkit.report.format.percent).
    assert "| option | 1 | 3 | 33.3% |" in markdown
    # 6 items (the field, 3 options, not-an-option, the submission); the field and a|b covered.
    assert "The suites exercise 33.3% of the forms' fields, options, validation paths and " in (
        markdown
    )
    assert "and submissions (2 of 6)." in markdown


def test_a_suite_written_to_cover_everything_reaches_100_percent_and_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    checked = check_suites([FULL], forms=[FORMS])
    offline = suite_coverage(checked.suites, [FORMS])
    assert offline.overall.rate == 1.0
    assert [f.form for f in offline.forms] == ["contact"]

    with emulator_target(checked.suites, forms=[FORMS]) as target:
        outcome = run_sync(checked.suites, target, out_root=tmp_path)
    failures = [f"{r.conversation_id}: {r.status}" for r in outcome.results if r.status != "pass"]
    assert failures == []
    info, results = read_run(outcome.run_dir)
    assert [f.key for f in info.forms] == ["contact"]
    assert info.forms[0].source == "suites/forms/contact.form.yaml"
    observed = info.summary.coverage
    assert observed is not None
    assert observed.observed
    assert observed.overall.rate == 1.0
    seen = {i.name for f in observed.forms for i in f.items if i.kind == "chunk_type" and i.covered}
    assert {"TEXT_DATA", "SUBMISSION", "IMPORTANT_TEXT", "END_OF_RESPONSE"} <= seen
    # From the run directory alone, the same figures (as report, merge and rescore compute them).
    assert summarize(results, info).coverage == observed
    assert evaluate_gates(info, Gates(min_coverage=1.0), None).met


def test_a_run_gated_on_coverage_fails_listing_what_it_did_not_observe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    run = ["run", "tests/data/coverage", "--forms", "suites/forms", "--out", str(tmp_path)]
    outcome = CliRunner().invoke(main, [*run, "--id", "bad-email", "--min-coverage", "50%"])
    assert outcome.exit_code == EXIT_FAILED, outcome.output
    assert "1 conversations: 1 passed" in outcome.output
    # The one conversation extracts the first name only: all else is listed, with its file.
    assert "coverage observed: 5.3% (1 of 19)" in outcome.output
    reason = outcome.output.split("exit 1: ", 1)[1]
    assert reason.startswith("coverage 5.3% is under --min-coverage 50.0%; uncovered: ")
    assert "suites/forms/contact.form.yaml: field email;" in reason
    assert "suites/forms/contact.form.yaml: field first_name" not in reason
    assert reason.count("suites/forms/contact.form.yaml: ") == 18

    whole = CliRunner().invoke(main, [*run, "--min-coverage", "100%"])
    assert whole.exit_code == EXIT_OK, whole.output
    assert "coverage observed: 100.0% (19 of 19)" in whole.output


def test_the_gate_fails_when_the_run_records_no_form() -> None:
    info = read_run(ROOT / "tests" / "data" / "run_fixture")[0]
    assert info.forms == []
    assert info.summary.coverage is None
    code, reasons = evaluate_gates(
        info, Gates(min_coverage=0.1, fail_under=0.0, max_error_rate=1.0), None
    )
    assert code == EXIT_FAILED
    assert any("records no form" in r for r in reasons)


# ---------------------------------------------------------------- what counts, item by item

CONTACT = load_form(FORMS / "contact.form.yaml")


def _items(conversation: dict[str, Any]) -> set[str]:
    suite = Suite.model_validate({"suite": "s", "form": "contact", "conversations": [conversation]})
    return {f"{kind} {name}" for kind, name in exercised(suite, CONTACT)}


def _turn(user: str, expect: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"id": "c", "turns": [{"user": user, "expect": expect, **more}]}


@pytest.mark.parametrize(
    ("conversation", "items"),
    [
        # a field counts when an expectation asks for a value, not when it expects none
        (_turn("hi", {"first_name": "Jo"}), {"field first_name"}),
        (_turn("hi", {"first_name": {"absent": True}}), set()),
        (_turn("hi", {"phone": {"present": True}}), {"field phone"}),
        # options: by value (as the suite compares strings), in lists, inside any_of; not in `not`
        (
            _turn("x", {"contact_method": "EMAIL"}),
            {"field contact_method", "option contact_method=email"},
        ),
        (
            _turn("x", {"interests": {"subset": ["yoga", "running"]}}),
            {"field interests", "option interests=yoga", "option interests=running"},
        ),
        (
            _turn("x", {"contact_method": {"any_of": [{"one_of": ["sms", "phone_call"]}]}}),
            {"field contact_method", "option contact_method=phone_call"},
        ),
        (_turn("x", {"contact_method": {"not": "email"}}), {"field contact_method"}),
        (_turn("x", {"contact_method": {"regex": "^email$"}}), {"field contact_method"}),
        # booleans: true and false are its two options
        (_turn("no", {"newsletter": False}), {"field newsletter", "option newsletter=false"}),
        # validation paths: the field expected absent and the utterance gives a rejected value
        (_turn("I am 15", {"age": {"absent": True}}), {"validation age:below-min"}),
        (
            _turn("I am one hundred and thirty", {"age": {"absent": True}}),
            {"validation age:above-max"},
        ),
        (_turn("I am 30.5", {"age": {"absent": True}}), {"validation age:not-a-multiple"}),
        (_turn("I am 30", {"age": {"absent": True}}), set()),
        (_turn("I am 15", {"email": {"absent": True}}), set()),
        (_turn("zoe@example", {"email": {"absent": True}}), {"validation email:bad-email"}),
        (_turn("zoe@example.com.", {"email": {"absent": True}}), set()),
        (_turn("call 12345", {"phone": {"absent": True}}), {"validation phone:bad-phone"}),
        (_turn("call +44 20 7946 0958", {"phone": {"absent": True}}), set()),
        (
            _turn("by pigeon", {"contact_method": {"absent": True}}, asks="contact_method"),
            {"validation contact_method:not-an-option"},
        ),
        # naming an option (by synonym) is not offering a value the form lacks; nor is not asking
        (_turn("sms", {"contact_method": {"absent": True}}, asks="contact_method"), set()),
        (_turn("by pigeon", {"contact_method": {"absent": True}}), set()),
        # submission: only `submitted: true`
        ({**_turn("hi", {}), "submitted": True}, {"submission submitted"}),
        ({**_turn("hi", {}), "submitted": False}, set()),
        # `final` counts like a turn's expect; prefill and `set` are inputs, not coverage
        (
            {
                "id": "c",
                "prefill": {"age": 30},
                "turns": [{"user": "hi", "set": {"phone": "1"}}],
                "final": {"newsletter": True},
            },
            {"field newsletter", "option newsletter=true"},
        ),
    ],
)
def test_what_a_scripted_conversation_covers(conversation: dict[str, Any], items: set[str]) -> None:
    assert _items(conversation) == items


def test_a_persona_covers_its_values_options_and_submission_but_not_what_it_declines() -> None:
    persona = {
        "values": {
            "first_name": "Jo",
            "interests": ["yoga", "Running"],
            "newsletter": True,
            "phone": "+1 555 010 2030",
        },
        "declines": ["phone"],
    }
    assert _items({"id": "p", "persona": persona}) == {
        "field first_name",
        "field interests",
        "option interests=yoga",
        "option interests=running",
        "field newsletter",
        "option newsletter=true",
        "submission submitted",
    }
    assert "submission submitted" not in _items({"id": "p", "persona": persona, "submitted": False})


# ---------------------------------------------------------------- what a run observed


def _result(
    suite: str, chunks: list[dict[str, Any]], submitted: bool = False
) -> ConversationResult:
    return ConversationResult.model_validate(
        {
            "suite": suite,
            "conversation_id": "c",
            "status": "pass",
            "submitted": submitted,
            "transcript": [
                {"endpoint": "create", "chunks": [{"t": 0.0, "chunk": c} for c in chunks]}
            ],
        }
    )


def _data(target: str, value: Any) -> dict[str, Any]:
    return {"chunkType": "TEXT_DATA", "textDataDetails": {"fieldTarget": target, "value": value}}


@pytest.mark.parametrize(
    ("chunks", "covered"),
    [
        (
            [_data("contact_method", "email")],
            {"field contact_method", "option contact_method=email"},
        ),
        (
            [_data("interests", ["yoga", "juggling"])],
            {"field interests", "option interests=yoga"},
        ),
        ([_data("newsletter", False)], {"field newsletter", "option newsletter=false"}),
        ([_data("newsletter", "false")], {"field newsletter"}),  # text is not the boolean
        ([_data("shoe_size", 42)], set()),  # not a field of the form
        ([{"chunkType": "SEPARATOR"}], {"chunk_type SEPARATOR"}),
    ],
)
def test_what_a_transcript_shows(chunks: list[dict[str, Any]], covered: set[str]) -> None:
    info = form_info("contact", CONTACT, "suites/forms/contact.form.yaml")
    tally = CoverageTally([info], {"contact-form": "contact"})
    tally.add(_result("contact-form", chunks))
    tally.add(_result("other-suite", [_data("first_name", "Jo")]))  # another form's suite
    coverage = tally.coverage()
    assert coverage is not None
    (form,) = coverage.forms
    found = {f"{i.kind} {i.name}" for i in form.items if i.covered}
    kinds = (
        {"chunk_type TEXT_DATA"} if any(c["chunkType"] == "TEXT_DATA" for c in chunks) else set()
    )
    assert found == covered | kinds
    assert form.suites == ["contact-form"]


def test_a_submission_counts_and_a_run_without_forms_has_no_coverage() -> None:
    info = FormInfo.model_validate(form_info("contact", CONTACT, "x").model_dump())
    tally = CoverageTally([info], {"contact-form": "contact"})
    tally.add(_result("contact-form", [{"chunkType": "SUBMISSION"}], submitted=True))
    coverage = tally.coverage()
    assert coverage is not None
    assert coverage.forms[0].count("submission").covered == 1
    assert CoverageTally([], {"contact-form": "contact"}).coverage() is None


def test_a_run_of_a_form_mapped_to_another_records_the_one_it_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    found = find_forms(["contact", "nowhere"], [FORMS], {"contact": "contact-v2"})
    assert list(found) == ["contact"]
    form, source = found["contact"]
    assert form.key == "contact-v2"
    assert str(source) == "suites/forms/contact-v2.form.yaml"
    recorded = form_info("contact", form, source)
    assert (recorded.key, recorded.form) == ("contact", "contact-v2")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Values that name options (and near misses: another case, a label, a value of another field).
_OPTIONISH = st.sampled_from(
    ["yoga", "running", "Yoga", "email", "phone_call", "Phone call", "true", "kosher"]
)
_VALUES = _OPTIONISH | st.lists(_OPTIONISH | _JSON, max_size=4) | st.booleans() | _JSON
_TARGETS = st.sampled_from(["interests", "contact_method", "newsletter", "age", "shoe_size"])
_DATA = st.fixed_dictionaries(
    {
        "chunkType": st.just("TEXT_DATA"),
        "textDataDetails": st.fixed_dictionaries({"fieldTarget": _TARGETS, "value": _VALUES}),
    }
)
_CHUNKS = st.lists(
    _DATA
    | st.fixed_dictionaries(
        {},
        optional={
            "chunkType": st.sampled_from(["TEXT_DATA", "SUBMISSION", "SEPARATOR", "NOPE"]) | _JSON,
            "textDataDetails": _JSON
            | st.fixed_dictionaries({"fieldTarget": _TARGETS | _JSON, "value": _VALUES}),
        },
    ),
    max_size=6,
)


def _named_by(chunks: list[dict[str, Any]], submitted: bool) -> set[str]:
    """What docs/coverage.md says a transcript shows, read from the form file itself."""
    fields = {f.target: f for f in CONTACT.fields}
    shown = {"submission submitted"} if submitted else set()
    for chunk in chunks:
        kind = chunk.get("chunkType")
        if isinstance(kind, str) and kind in ChunkType.__members__ and kind != "UNKNOWN_CHUNK_TYPE":
            shown.add(f"chunk_type {kind}")
        details = chunk.get("textDataDetails")
        if kind != "TEXT_DATA" or not isinstance(details, dict):
            continue
        target, value = details.get("fieldTarget"), details.get("value")
        if not isinstance(target, str) or target not in fields:
            continue
        shown.add(f"field {target}")
        field = fields[target]
        if field.type == "boolean" and isinstance(value, bool):
            shown.add(f"option {target}={'true' if value else 'false'}")
        for given_value in value if isinstance(value, list) else [value]:
            if any(given_value == option.value for option in field.options):
                shown.add(f"option {target}={given_value}")
    return shown


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=_CHUNKS, submitted=st.booleans())
def test_whatever_a_target_sends_exactly_what_it_names_of_the_form_is_covered(
    chunks: list[dict[str, Any]], submitted: bool
) -> None:
    info = form_info("contact", CONTACT, "suites/forms/contact.form.yaml")
    tally = CoverageTally([info], {"contact-form": "contact"})
    tally.add(_result("contact-form", chunks, submitted=submitted))
    coverage = tally.coverage()
    assert coverage is not None
    (form,) = coverage.forms
    covered = {f"{i.kind} {i.name}" for i in form.items if i.covered}
    assert covered == _named_by(chunks, submitted)
    assert coverage.overall.covered == len([c for c in covered if not c.startswith("chunk_type")])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user=st.text(max_size=300) | st.from_regex(r"[\w@. +()-]{0,60}", fullmatch=True))
def test_any_utterance_covers_only_items_of_the_form(user: str) -> None:
    absent = {"absent": True}
    expect = {"age": absent, "email": absent, "phone": absent, "contact_method": absent}
    found = _items(_turn(user or ".", expect, asks="contact_method"))
    info = form_info("contact", CONTACT, "")
    assert found <= {f"{k} {n}" for k, n in form_items(info, observed=False)}
    assert all(item.startswith("validation ") for item in found)
