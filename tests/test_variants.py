"""Robustness variants: seeded copies of scripted conversations, and what they protect."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.cli import main
from evalkit.errors import SuiteError
from evalkit.loader import LoadOptions, index_suites, load_suite
from evalkit.spelling import number_words
from evalkit.suite import VARIANT_KINDS, Check, Conversation, Suite, VariantKind, Variants
from evalkit.variants import (
    parse_variant_id,
    protected_spans,
    seed_of,
    variant_id,
    vary_conversation,
    vary_suite,
    vary_utterance,
)

ROOT = Path(__file__).resolve().parent.parent
CONTACT = ROOT / "suites" / "contact.eval.yaml"
BOOKING = ROOT / "suites" / "booking.eval.yaml"
ALL_KINDS: list[VariantKind] = list(VARIANT_KINDS)  # type: ignore[arg-type]


def _utterances(suite: Suite) -> dict[str, list[str]]:
    return {c.id: [t.user for t in c.turns] for c in suite.conversations}


def _suite(*conversations: dict[str, object], variants: dict[str, object] | None = None) -> Suite:
    data: dict[str, object] = {
        "suite": "s",
        "form": "contact",
        "conversations": list(conversations),
    }
    if variants is not None:
        data["variants"] = variants
    return Suite.model_validate(data)


# ------------------------------------------------------------------ determinism


@pytest.mark.parametrize("path", [CONTACT, BOOKING])
def test_the_same_seed_gives_byte_identical_utterances(path: Path) -> None:
    options = LoadOptions(variants=ALL_KINDS)
    first = _utterances(load_suite(path, options=options).suite)
    again = _utterances(load_suite(path, options=options).suite)
    kept = _utterances(index_suites([path], options=options)[0].load().suite)
    assert first == again == kept
    assert len(first) > len(_utterances(load_suite(path).suite))


def test_the_example_suites_give_copies_of_every_kind() -> None:
    options = LoadOptions(variants=ALL_KINDS)
    ids = [
        c.id for p in (CONTACT, BOOKING) for c in load_suite(p, options=options).suite.conversations
    ]
    kinds = {parsed[1] for parsed in map(parse_variant_id, ids) if parsed is not None}
    assert kinds == set(VARIANT_KINDS)


def test_a_copy_depends_on_its_own_key_alone_not_on_order_or_neighbours() -> None:
    loaded = load_suite(CONTACT).suite
    spec = Variants(kinds=ALL_KINDS, copies=2, seed=7)
    forward = _utterances(vary_suite(loaded, spec)[0])
    backward = loaded.model_copy(update={"conversations": loaded.conversations[::-1]})
    reversed_ = _utterances(vary_suite(backward, spec)[0])
    alone = loaded.model_copy(update={"conversations": loaded.conversations[3:4]})
    assert forward == reversed_
    assert all(
        forward[cid] == texts for cid, texts in _utterances(vary_suite(alone, spec)[0]).items()
    )


def test_another_seed_gives_other_copies() -> None:
    loaded = load_suite(CONTACT).suite
    one = _utterances(vary_suite(loaded, Variants(kinds=["typos"], seed=1))[0])
    two = _utterances(vary_suite(loaded, Variants(kinds=["typos"], seed=2))[0])
    assert one.keys() == two.keys()
    assert one != two


def test_the_seed_names_suite_id_kind_index_and_seed() -> None:
    base = seed_of("s", "c", "typos", 1, 0)
    others = {
        seed_of("t", "c", "typos", 1, 0),
        seed_of("s", "d", "typos", 1, 0),
        seed_of("s", "c", "casing", 1, 0),
        seed_of("s", "c", "typos", 2, 0),
        seed_of("s", "c", "typos", 1, 1),
    }
    assert base not in others
    assert len(others) == 5


# ------------------------------------------------------------------ ids and the suite key


def test_copy_ids_name_original_kind_and_index() -> None:
    assert variant_id("name-and-email", "typos", 2) == "name-and-email~typos-2"
    assert parse_variant_id("name-and-email~typos-2") == ("name-and-email", "typos", 2)
    assert parse_variant_id("age-words-19") is None
    assert parse_variant_id("x~typos") is None


def test_a_suite_id_cannot_hold_the_separator(tmp_path: Path) -> None:
    path = tmp_path / "s.eval.yaml"
    path.write_text(
        "suite: s\nform: contact\nconversations:\n  - id: a~typos-1\n    turns: [{user: hi}]\n",
        encoding="utf-8",
    )
    with pytest.raises(SuiteError) as raised:
        load_suite(path)
    assert ":4:" in str(raised.value)


def test_the_variants_key_makes_copies_after_each_original_with_their_lines(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.eval.yaml"
    path.write_text(
        "suite: s\nform: contact\nvariants: {kinds: [numbers, typos], copies: 2, seed: 3}\n"
        "conversations:\n"
        '  - id: age\n    turns:\n      - user: "I\'m Ana and I am 25 years old"\n'
        "        expect: {first_name: Ana, age: 25}\n"
        "  - id: who\n    persona: {values: {first_name: Ana}}\n",
        encoding="utf-8",
    )
    loaded = load_suite(path)
    ids = [c.id for c in loaded.suite.conversations]
    assert ids == ["age", "age~numbers-1", "age~typos-1", "age~typos-2", "who"]
    assert [loaded.location(i) for i in range(3)] == [f"{path}:5"] * 3
    copy = loaded.suite.conversations[1]
    assert copy.turns[0].user == "I'm Ana and I am twenty-five years old"
    assert copy.turns[0].expect == loaded.suite.conversations[0].turns[0].expect


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ("{kinds: [typo]}", "typos"),
        ("{kinds: []}", "is empty"),
        ("{kinds: [typos, typos]}", "more than once"),
        ("{kinds: [typos], copies: 0}", "greater than or equal to 1"),
    ],
)
def test_a_bad_variants_key_is_a_load_error_at_its_line(
    tmp_path: Path, variants: str, message: str
) -> None:
    path = tmp_path / "s.eval.yaml"
    path.write_text(
        f"suite: s\nform: contact\nvariants: {variants}\n"
        "conversations:\n  - id: a\n    turns: [{user: hi}]\n",
        encoding="utf-8",
    )
    with pytest.raises(SuiteError) as raised:
        load_suite(path)
    assert f"{path}:3" in str(raised.value)
    assert message in str(raised.value)


def test_the_run_option_refuses_an_unknown_kind() -> None:
    result = CliRunner().invoke(main, ["run", str(CONTACT), "--variants", "typos,nope"])
    assert result.exit_code == 2
    assert "nope: not a variant kind" in result.output


# ------------------------------------------------------------------ what each kind does


def _one(text: str, expect: dict[str, object], kind: VariantKind, seed: int = 0) -> str | None:
    conversation = Conversation.model_validate(
        {"id": "c", "turns": [{"user": text, "expect": expect}]}
    )
    copy = vary_conversation(conversation, kind, 1, seed)
    return None if copy is None else copy.turns[0].user


@pytest.mark.parametrize(
    ("kind", "text", "expect", "holds"),
    [
        ("numbers", "I'm Ana, 25 years old", {"age": 25}, ["twenty-five years old"]),
        ("numbers", "call +44 20 7946 0958", {"phone": "+44 20 7946 0958"}, None),
        ("digits", "I'm thirty-two years old", {"age": 32}, ["I'm 32 years old"]),
        ("contractions", "I am Jane and it is fine", {"first_name": "Jane"}, ["I'm Jane", "it's"]),
        ("contractions", "I'm Jane", {"first_name": "Jane"}, ["I am Jane"]),
        ("correction", "I am 25", {"age": 25}, [", sorry, I mean", " 25"]),
        ("fillers", "book it for Jane please", {"first_name": "Jane"}, ["Jane"]),
        ("dates", "on 2026-11-27 please", {"date": {"date": "2026-11-27"}}, ["please"]),
    ],
)
def test_each_kind_writes_what_it_says(
    kind: VariantKind, text: str, expect: dict[str, object], holds: list[str] | None
) -> None:
    varied = _one(text, expect, kind)
    if holds is None:  # nothing for the kind to act on: no copy
        assert varied is None
        return
    assert varied is not None
    assert varied != text
    for part in holds:
        assert part in varied


def test_dates_are_rewritten_and_read_back_as_the_same_day() -> None:
    seen = {
        _one("on 2026-11-27 please", {"d": {"date": "2026-11-27"}}, "dates", s) for s in range(40)
    }
    assert seen == {
        "on 27 November 2026 please",
        "on 11/27/2026 please",
        "on November 27, 2026 please",
        "on 27.11.2026 please",
    }


def test_a_correction_says_a_wrong_value_then_the_right_one() -> None:
    varied = _one("I'm 25 years old", {"age": 25}, "correction", seed=4)
    assert varied is not None
    found = re.fullmatch(r"I'm (\d+) years old, (?:oops, )?sorry, I mean[t]? 25", varied)
    assert found is not None
    assert found[1] in {"24", "26"}


def test_typos_change_letters_to_keyboard_neighbours_only() -> None:
    text = "please contact me by text message tomorrow"
    varied = _one(text, {}, "typos", seed=11)
    assert varied is not None
    assert len(varied) == len(text)
    changed = [(a, b) for a, b in zip(text, varied, strict=True) if a != b]
    assert changed
    rows = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    where = {c: (r, i) for r, row in enumerate(rows) for i, c in enumerate(row)}
    for a, b in changed:
        (ra, ia), (rb, ib) = where[a], where[b]
        assert abs(ra - rb) <= 1
        assert abs(ia - ib) <= 1


def test_persona_conversations_and_unchanged_copies_are_not_made() -> None:
    suite = _suite(
        {"id": "p", "persona": {"values": {"first_name": "Ana"}}},
        {"id": "no-digits", "turns": [{"user": "hello there"}]},
        variants={"kinds": ["numbers", "casing"]},
    )
    ids = [c.id for c in vary_suite(suite)[0].conversations]
    assert ids == ["p", "no-digits", "no-digits~casing-1"]


# ------------------------------------------------------------------ protected spans

_WORDS = st.sampled_from(
    [
        "hi",
        "I",
        "am",
        "my",
        "name",
        "is",
        "and",
        "it",
        "please",
        "the",
        "form",
        "so",
        "you",
        "do",
        "not",
        "email",
        "phone",
        "call",
        "me",
        "at",
        "on",
        "yes",
        "no",
        "thanks",
        "let",
        "us",
    ]
)
_NUMBER_SHAPES = [
    "15-12-2026",
    "15/12/26",
    "3/15/2026",
    "15.12.2026",
    "2026-12-15",
    "15 December 2026",
    "December 15, 2026",
    "the 15th of December",
    "Dec. 15",
    "555-0100",
    "+44 20 7946 0958",
    "020 7946 0958",
    "9-5",
    "9 - 5",
    "12:30",
    "10.30",
    "14h00",
    "3pm",
    "3 p.m.",
]
"""Digits that are part of a date, phone number, time or range, in shapes the emulator reads."""

_PUNCT = st.sampled_from(["", ",", ".", "!", "?"])
_NAMES = st.sampled_from(["Jane", "Noor Haddad", "O'Brien", "jane@example.com", "+44 20 7946 0958"])


@st.composite
def _utterance(draw: st.DrawFn) -> tuple[str, str, int, str, str]:
    """Words around a name/email/phone value, a number value and a number shape.

    The shape (a date, phone number, time or range) is no expected value. Returns (text, value,
    number, written, shape).
    """
    before = draw(st.lists(_WORDS, max_size=6))
    middle = draw(st.lists(_WORDS, max_size=4))
    after = draw(st.lists(_WORDS, max_size=6))
    value = draw(_NAMES)
    number = draw(st.integers(min_value=2, max_value=999))
    written = draw(st.sampled_from([str(number), number_words(number)]))
    shape = draw(st.sampled_from(_NUMBER_SHAPES))
    parts = [*before, value + draw(_PUNCT), *middle, written + draw(_PUNCT), *after]
    parts.insert(draw(st.integers(min_value=0, max_value=len(parts))), shape)
    return " ".join(parts), value, number, written, shape


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_utterance(), st.sampled_from(ALL_KINDS), st.integers(min_value=0, max_value=2**32))
def test_protected_spans_are_never_altered_by_a_kind_not_about_their_form(
    drawn: tuple[str, str, int, str, str], kind: VariantKind, seed: int
) -> None:
    text, value, number, written, shape = drawn
    checks = [Check(value=value), Check(value=number)]
    spans = protected_spans(text, checks)
    assert any(text[s.start : s.end] == value for s in spans)
    if kind == "correction":
        conversation = Conversation.model_validate(
            {"id": "c", "turns": [{"user": text, "expect": {"a": value, "n": number}}]}
        )
        copy = vary_conversation(conversation, kind, 1, seed)
        assert copy is not None
        varied = copy.turns[0].user
        said = [text[s.start : s.end] for s in spans]
        # Every value is still said as written (the corrected one last, after "I mean[t]").
        assert all(part in varied for part in said)
        return
    varied = vary_utterance(text, spans, kind, random.Random(seed))
    assert value in varied  # the name, email or phone: no kind is about its form
    if kind not in ("numbers", "digits"):
        assert re.search(rf"(?<![\w-]){re.escape(written)}(?![\w-])", varied), varied
    else:  # a kind about numbers writes the number in its other form, never another number
        other = number_words(number) if kind == "numbers" else str(number)
        assert written in varied or other in varied
        # and never a number inside a date, phone number, time or range
        assert shape in varied, varied
    if kind not in ("numbers", "digits", "dates"):  # the others never touch a digit
        assert re.findall(r"\d+", varied) == re.findall(r"\d+", text), varied


def test_a_correction_needs_the_conversation_not_one_utterance() -> None:
    with pytest.raises(ValueError, match="acts on a conversation"):
        vary_utterance("I am 25", [], "correction", random.Random(0))


def test_variants_that_would_make_too_many_conversations_are_a_load_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.eval.yaml"
    path.write_text(
        "suite: s\nform: contact\nvariants: {kinds: [typos, casing], copies: 20}\n"
        "conversations:\n  - id: 'n-{{ n }}'\n    matrix: {n: ["
        + ", ".join(map(str, range(300)))
        + "]}\n"
        "    turns: [{user: 'hi there {{ n }}'}]\n",
        encoding="utf-8",
    )
    with pytest.raises(SuiteError) as raised:
        load_suite(path)
    assert f"{path}:3: the variants would make up to 12,300 conversations" in str(raised.value)


def test_a_resumed_run_makes_the_copies_its_variants_option_made(tmp_path: Path) -> None:
    """A run killed part-way keeps its `--variants`: a resume without the option runs the copies."""
    suite = Path(__file__).resolve().parent.parent / "suites" / "contact.eval.yaml"
    out = tmp_path / "runs"
    ran = CliRunner().invoke(
        main, ["run", str(suite), "--target", "emulator", "--variants", "casing", "--out", str(out)]
    )
    assert ran.exit_code == 0, ran.output
    (run_dir,) = [p for p in out.iterdir() if (p / "run.json").is_file()]
    rows = (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    every = {json.loads(row)["conversation_id"] for row in rows}
    assert any("~casing-" in cid for cid in every)
    # As a kill -9 leaves it: the first rows, and run.json as written at the start.
    (run_dir / "results.jsonl").write_text("".join(rows[:3]), encoding="utf-8")
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    info.update(finished_at="", summary={})
    (run_dir / "run.json").write_text(json.dumps(info), encoding="utf-8")

    resumed = CliRunner().invoke(main, ["run", "--resume", str(run_dir)])

    assert resumed.exit_code == 0, resumed.output
    after = (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(row)["conversation_id"] for row in after) == sorted(every)
    other = CliRunner().invoke(main, ["run", "--resume", str(run_dir), "--variants", "typos"])
    assert other.exit_code == 2
    assert "--variants casing" in other.output


def test_a_resume_takes_the_same_variants_in_another_order(tmp_path: Path) -> None:
    """`--variants casing,spacing` on a run started with `spacing,casing`: the same copies."""
    out = tmp_path / "runs"
    args = ["run", str(CONTACT), "--target", "emulator", "--variants", "spacing,casing"]
    ran = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert ran.exit_code in (0, 1), ran.output  # a copy may fail: a real fragility
    (run_dir,) = [p for p in out.iterdir() if (p / "run.json").is_file()]
    rows = (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    every = sorted(json.loads(row)["conversation_id"] for row in rows)
    (run_dir / "results.jsonl").write_text("".join(rows[:2]), encoding="utf-8")
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    info.update(finished_at="", summary={})
    (run_dir / "run.json").write_text(json.dumps(info), encoding="utf-8")

    resumed = CliRunner().invoke(
        main, ["run", "--resume", str(run_dir), "--variants", "casing,spacing"]
    )

    assert resumed.exit_code in (0, 1), resumed.output
    assert "keeps the variants" not in resumed.output
    after = (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(row)["conversation_id"] for row in after) == every
    stored = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert {tuple(s["variants"]) for s in stored["suites"]} == {("spacing", "casing")}


# ------------------------------------------------------------------ numbers inside other values


@pytest.mark.parametrize("shape", _NUMBER_SHAPES)
def test_numbers_leaves_digits_inside_a_date_phone_time_or_range_alone(shape: str) -> None:
    text = f"I'm 25 and it is {shape} thanks"
    varied = vary_utterance(text, [], "numbers", random.Random(0))
    assert varied == f"I'm twenty-five and it is {shape} thanks"


@pytest.mark.parametrize(
    "written",
    [
        "15-12-2026",
        "15/12/2026",
        "12/15/2026",
        "15.12.26",
        "2026-12-15",
        "15 December 2026",
        "15th of December, 2026",
        "December 15th, 2026",
        "Dec 15",
        "15 dec",
    ],
)
def test_an_expected_date_is_protected_in_every_shape_the_emulator_reads(written: str) -> None:
    text = f"on {written} please, for 3 people"
    spans = protected_spans(text, [Check(matcher="date", value="2026-12-15")])
    assert [text[s.start : s.end] for s in spans] == [written]
    for kind in ("numbers", "typos", "casing", "fillers", "spacing"):
        for seed in range(5):
            varied = vary_utterance(text, spans, kind, random.Random(seed))  # type: ignore[arg-type]
            assert written in varied, (kind, varied)


def test_numbers_writes_a_number_joined_to_a_word_by_a_hyphen() -> None:
    varied = vary_utterance("my son is a 12-year-old", [], "numbers", random.Random(0))
    assert varied == "my son is a twelve-year-old"
    spans = protected_spans("a 25-year-old", [Check(value=25)])
    assert [(s.start, s.end) for s in spans] == [(2, 4)]
