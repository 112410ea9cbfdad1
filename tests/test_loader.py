"""The suite loader: discovery, safe YAML reading, and `file:line` problems a user can act on."""

from __future__ import annotations

import datetime
import hashlib
import shutil
import time
from pathlib import Path

import pytest
import yaml

from evalkit.errors import Problem, SuiteError
from evalkit.loader import MAX_FILE_BYTES, discover, load_suite, load_suites
from evalkit.suite import Check

SUITES = Path(__file__).resolve().parent / "data" / "suites"
VALID = SUITES / "valid"
BROKEN = SUITES / "broken"

# Lines 1-5; the first turn is on line 6.
HEAD = "suite: s\nform: f\nconversations:\n  - id: c\n    turns:\n"


def problems_of(path: str | Path) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    return [str(p) for p in caught.value.problems]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in an empty directory, so paths in problems are short and relative."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------------------ valid suites


def test_valid_suite_loads_with_conversation_lines_hash_and_path_as_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(SUITES)
    loaded = load_suite("valid/contact.eval.yaml")

    assert loaded.path == "valid/contact.eval.yaml"
    assert loaded.sha256 == hashlib.sha256((VALID / "contact.eval.yaml").read_bytes()).hexdigest()
    assert loaded.conversation_lines == [12, 29, 41]
    assert loaded.location(1) == "valid/contact.eval.yaml:29"
    suite = loaded.suite
    assert (suite.suite, suite.form, suite.defaults.unexpected_fields) == (
        "contact-form",
        "contact",
        "warn",
    )
    assert suite.client_time is not None
    assert suite.client_time.current_time == "2026-11-25T10:00:00Z"
    first = suite.conversations[0]
    assert first.turns[0].expect is not None
    assert first.turns[0].expect["age"] == Check(matcher="approx", value=30, options={"abs": 1})
    assert first.turns[1].user == "no"
    assert first.turns[1].set_values == {"newsletter": False}
    assert [c.id for c in suite.conversations] == [
        "name-and-email",
        "quoted-lookalikes",
        "flow.style_1",
    ]


def test_quoted_lookalikes_stay_text_and_keys_are_always_text() -> None:
    turns = load_suite(VALID / "contact.eval.yaml").suite.conversations[1].turns

    assert [t.user for t in turns] == [
        "12:30",
        "2026-01-01",
        "A multi-line message:\nit keeps its colons.\n",
    ]
    # `no:` as a key is the field target "no"; `yes` as a bare value is the boolean it looks like.
    assert turns[0].expect == {"no": Check(matcher=None, value=True)}


def test_unquoted_dates_in_values_are_kept_as_dates(in_tmp: Path) -> None:
    (in_tmp / "s.eval.yaml").write_text(
        HEAD + "      - user: hi\n        expect: {birthday: 1990-05-04}\n"
    )

    expect = load_suite("s.eval.yaml").suite.conversations[0].turns[0].expect

    assert expect == {"birthday": Check(value=datetime.date(1990, 5, 4))}


@pytest.mark.parametrize(
    ("newline", "bom"),
    [
        pytest.param("\n", b"", id="lf"),
        pytest.param("\r\n", b"", id="crlf"),
        pytest.param("\n", b"\xef\xbb\xbf", id="utf8-bom"),
    ],
)
def test_line_numbers_hold_for_any_line_ending(in_tmp: Path, newline: str, bom: bytes) -> None:
    text = "# header\n" + HEAD + "      - user: hi\n  - id: d\n    turns: [{user: yo}]\n"
    (in_tmp / "s.eval.yaml").write_bytes(bom + text.replace("\n", newline).encode())

    assert load_suite("s.eval.yaml").conversation_lines == [5, 8]


# ------------------------------------------------------------------------------ one problem each

ALL_KEYS_TURN = "valid keys: user, expect, set, reply, asks, offers"
TAG_ADVICE = "remove it (suites use plain mappings, lists, text, numbers and booleans)"

CASES = [
    # YAML read the text as something else: show the source text, say to quote it.
    pytest.param(
        HEAD + "      - user: no\n",
        "s.eval.yaml:6: conversations[0].turns[0].user is a boolean "
        "(YAML reads unquoted no as false); quote it: 'no'",
        id="utterance-no-is-boolean",
    ),
    pytest.param(
        HEAD + "      - user: 12:30\n",
        "s.eval.yaml:6: conversations[0].turns[0].user is a number "
        "(YAML reads unquoted 12:30 as the number 750); quote it: '12:30'",
        id="utterance-time-is-sexagesimal-number",
    ),
    pytest.param(
        HEAD + "      - user: 0755\n",
        "s.eval.yaml:6: conversations[0].turns[0].user is a number "
        "(YAML reads unquoted 0755 as the number 493); quote it: '0755'",
        id="utterance-octal",
    ),
    pytest.param(
        HEAD + "      - user: 42\n",
        "s.eval.yaml:6: conversations[0].turns[0].user is a number "
        "(YAML reads unquoted 42 as a number); quote it: '42'",
        id="utterance-plain-number",
    ),
    pytest.param(
        HEAD + "      - user: 2026-01-01\n",
        "s.eval.yaml:6: conversations[0].turns[0].user is a date "
        "(YAML reads unquoted 2026-01-01 as a date); quote it: '2026-01-01'",
        id="utterance-date",
    ),
    pytest.param(
        HEAD + "      - user: null\n",
        "s.eval.yaml:6: conversations[0].turns[0].user is null "
        "(YAML reads unquoted null as null); quote it: 'null'",
        id="utterance-null-word",
    ),
    pytest.param(
        HEAD + "      - user:\n",
        "s.eval.yaml:6: conversations[0].turns[0].user is empty; write the text",
        id="utterance-missing-value",
    ),
    pytest.param(
        HEAD + "      - user: 2026-13-45\n",
        "s.eval.yaml:6: YAML reads unquoted 2026-13-45 as a date, but it is not a valid one "
        "(month must be in 1..12); if it is text, quote it: '2026-13-45'",
        id="utterance-impossible-date",
    ),
    pytest.param(
        HEAD.replace("id: c", "id: 1.5") + "      - user: hi\n",
        "s.eval.yaml:4: conversations[0].id is a number (YAML reads unquoted 1.5 as a number); "
        "quote it: '1.5'",
        id="id-is-number",
    ),
    pytest.param(
        HEAD.replace("id: c", "id: c\n    tags: [smoke, on]") + "      - user: hi\n",
        "s.eval.yaml:5: conversations[0].tags[1] is a boolean (YAML reads unquoted on as true); "
        "quote it: 'on'",
        id="tag-is-boolean",
    ),
    pytest.param(
        HEAD + "      - user: [hi]\n",
        "s.eval.yaml:6: conversations[0].turns[0].user must be text, found a list; "
        "if the text contains ': ' or starts with '[' or '{', quote it",
        id="utterance-is-list",
    ),
    pytest.param(
        HEAD + "      - user: " + "x" * 10_001 + "\n",
        "s.eval.yaml:6: conversations[0].turns[0].user is 10,001 characters long; "
        "the service accepts at most 10,000 characters per message; shorten it",
        id="utterance-over-service-limit",
    ),
    # Keys and shapes.
    pytest.param(
        HEAD + "      - user: hi\n        expected: {a: 1}\n",
        f"s.eval.yaml:7: conversations[0].turns[0]: unknown key `expected` "
        f"(did you mean `expect`?); {ALL_KEYS_TURN}",
        id="unknown-key-with-suggestion",
    ),
    pytest.param(
        HEAD + "      - user: hi\n        zzz: 1\n",
        f"s.eval.yaml:7: conversations[0].turns[0]: unknown key `zzz`; {ALL_KEYS_TURN}",
        id="unknown-key-lists-valid-keys",
    ),
    pytest.param(
        HEAD + "      - user: hi\n        set_values: {a: 1}\n",
        f"s.eval.yaml:7: conversations[0].turns[0]: unknown key `set_values`; {ALL_KEYS_TURN}",
        id="unknown-key-field-name-instead-of-alias",
    ),
    pytest.param(
        "suite: s\nform: f\nconversations:\n  - id: c\n    description: no turns\n",
        "s.eval.yaml:4: conversations[0]: missing required key `turns`; add it",
        id="missing-key-points-at-its-mapping",
    ),
    pytest.param(
        "suite: s\nform: f\nconversations: []\n",
        "s.eval.yaml:3: conversations is empty; add at least one conversation",
        id="no-conversations",
    ),
    pytest.param(
        HEAD.replace("turns:", "turns: []"),
        "s.eval.yaml:5: conversations[0].turns is empty; add at least one turn",
        id="no-turns",
    ),
    pytest.param(
        HEAD.replace("id: c", "id: c\n    unexpected_fields: no") + "      - user: hi\n",
        "s.eval.yaml:5: conversations[0].unexpected_fields is `no`; "
        "use one of 'fail', 'warn' or 'ignore'",
        id="closed-set-shows-source-text",
    ),
    pytest.param(
        HEAD.replace("id: c", "id: my id") + "      - user: hi\n",
        "s.eval.yaml:4: conversations[0].id 'my id' is not a valid id; "
        "use letters, digits, `_`, `.` and `-`, starting with a letter or digit",
        id="id-pattern",
    ),
    pytest.param(
        HEAD.replace("turns:", "turns: hello"),
        "s.eval.yaml:5: conversations[0].turns must be a list (`- item` lines), found text 'hello'",
        id="list-expected",
    ),
    pytest.param(
        HEAD + "      - user: hi\n        expect: [a, b]\n",
        "s.eval.yaml:7: conversations[0].turns[0].expect must be a mapping (`key: value` lines), "
        "found a list",
        id="mapping-expected",
    ),
    pytest.param(
        HEAD + "      - user: hi\n    submitted: maybe\n",
        "s.eval.yaml:7: conversations[0].submitted must be true or false, found text 'maybe'",
        id="boolean-expected",
    ),
    pytest.param(
        HEAD + "      - user: hi\n        expect:\n          age: {approx: 30, within: 1}\n",
        "s.eval.yaml:8: conversations[0].turns[0].expect.age: matcher 'approx' does not take "
        "within; its options: abs, rel",
        id="matcher-option-unknown",
    ),
    pytest.param(
        HEAD + "      - user: hi\n        expect:\n          'first name': {text: a, email: b}\n",
        "s.eval.yaml:8: conversations[0].turns[0].expect['first name']: a mapping expectation "
        "names exactly one matcher (found text, email); valid matchers: equals, text, approx, "
        "regex, one_of, contains, set, subset, absent, present, date, time, email, phone, fuzzy, "
        "not, all_of, any_of, python. "
        "To expect an object value, write {equals: {...}}",
        id="matcher-two-names",
    ),
    pytest.param(
        HEAD + "      - user: hi\n        expect:\n          email: {emial: x@y.z}\n",
        "s.eval.yaml:8: conversations[0].turns[0].expect.email: a mapping expectation "
        "names exactly one matcher (found none); unknown matcher `emial` (did you mean "
        "`email`?); valid matchers: equals, text, approx, "
        "regex, one_of, contains, set, subset, absent, present, date, time, email, phone, fuzzy, "
        "not, all_of, any_of, python. To expect an object value, write {equals: {...}}",
        id="matcher-name-misspelt",
    ),
    pytest.param(
        HEAD + "      - user: hi\n        expect:\n          age: {not: {aprox: 30, abs: 1}}\n",
        "s.eval.yaml:8: conversations[0].turns[0].expect.age: a mapping expectation "
        "names exactly one matcher (found none); unknown matcher `aprox` (did you mean "
        "`approx`?); valid matchers: equals, text, approx, "
        "regex, one_of, contains, set, subset, absent, present, date, time, email, phone, fuzzy, "
        "not, all_of, any_of, python. To expect an object value, write {equals: {...}}",
        id="matcher-name-misspelt-nested",
    ),
    pytest.param(
        "- just\n- a list\n",
        "s.eval.yaml:1: a suite must be a mapping with `suite`, `form` and `conversations`, "
        "found a list",
        id="top-level-list",
    ),
    pytest.param(
        "suite: s\nform: f\nsuite: t\n" + HEAD[16:] + "      - user: hi\n",
        "s.eval.yaml:3: duplicate key `suite` (first at line 1); keep only one",
        id="duplicate-key",
    ),
    pytest.param(
        HEAD + "      - user: hi\n  - id: c\n    turns: [{user: yo}]\n",
        "s.eval.yaml:7: duplicate conversation id 'c' (first at line 4); "
        "ids must be unique within a suite, rename one",
        id="duplicate-conversation-id",
    ),
    # YAML features a suite must not use.
    pytest.param(
        HEAD + "      - user: hi\n        set: {a: *x}\n",
        "s.eval.yaml:7: YAML aliases (*x) are not allowed; write the value out",
        id="alias",
    ),
    pytest.param(
        HEAD + "      - user: &x hi\n",
        "s.eval.yaml:6: YAML anchors (&x) are not allowed; write the value out where it is used",
        id="anchor",
    ),
    pytest.param(
        HEAD + "      - user: hi\n        <<: {reply: {contains: a}}\n",
        "s.eval.yaml:7: YAML merge keys (<<) are not allowed; write the keys out",
        id="merge-key",
    ),
    pytest.param(
        HEAD + "      - user: hi\n        set: {? [a, b] : c}\n",
        "s.eval.yaml:7: a key must be a plain name, not a list or mapping",
        id="complex-key",
    ),
    pytest.param(
        HEAD + "      - user: !!python/object/apply:os.system ['echo pwned']\n",
        f"s.eval.yaml:6: the YAML tag !!python/object/apply:os.system is not allowed; {TAG_ADVICE}",
        id="python-tag",
    ),
    pytest.param(
        HEAD + "      - user: !!binary aGk=\n",
        f"s.eval.yaml:6: the YAML tag !!binary is not allowed; {TAG_ADVICE}",
        id="binary-tag",
    ),
    pytest.param(
        HEAD + "      - user: hi\n        set: !!set {a, b}\n",
        f"s.eval.yaml:7: the YAML tag !!set is not allowed; {TAG_ADVICE}",
        id="set-tag",
    ),
    pytest.param(
        HEAD + "      - user: hi\n        set: {!local a: 1}\n",
        f"s.eval.yaml:7: the YAML tag !local is not allowed; {TAG_ADVICE}",
        id="local-tag-on-key",
    ),
    # Files that are not a suite document at all.
    pytest.param(
        HEAD + "      - user: Hi: I am Jane\n",
        "s.eval.yaml:6: YAML syntax error: mapping values are not allowed in this context; "
        "a value containing ': ' must be quoted",
        id="syntax-unquoted-colon",
    ),
    pytest.param(
        HEAD + "      - user: [hi\n",
        "s.eval.yaml:7: YAML syntax error: did not find expected ',' or ']' "
        "(while parsing a flow sequence, line 6); check indentation and quoting",
        id="syntax-unclosed-bracket",
    ),
    pytest.param(
        HEAD + "      - user: hi\n---\nsuite: again\n",
        "s.eval.yaml:7: a suite file holds one YAML document, but a second one starts here; "
        "remove the `---` line or move what follows into its own file",
        id="two-documents",
    ),
    pytest.param(
        "# yaml-language-server: $schema=evalkit.schema.json\n\n",
        "s.eval.yaml: the file is empty; a suite needs `suite`, `form` and `conversations`",
        id="only-comments",
    ),
    pytest.param(
        HEAD + "      - user: hi\x07there\n",
        "s.eval.yaml:6: character U+0007 is not allowed in YAML; remove it",
        id="control-character",
    ),
    pytest.param(
        "suite: s\nform: f\nx: " + "[" * 100 + "]" * 100 + "\n",
        "s.eval.yaml:3: the YAML nests deeper than 64 levels; flatten it",
        id="deep-nesting",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_each_kind_of_problem_is_reported_with_its_line(
    in_tmp: Path, text: str, expected: str
) -> None:
    (in_tmp / "s.eval.yaml").write_text(text, encoding="utf-8")

    assert problems_of("s.eval.yaml") == [expected]


def test_non_utf8_file_reports_the_line_of_the_bad_byte(in_tmp: Path) -> None:
    (in_tmp / "s.eval.yaml").write_bytes(b"suite: s\nform: caf\xe9\n")

    assert problems_of("s.eval.yaml") == [
        "s.eval.yaml:2: the file is not UTF-8 (byte 0xe9); save it as UTF-8"
    ]


def test_file_over_the_size_cap_is_refused_before_parsing(in_tmp: Path) -> None:
    (in_tmp / "s.eval.yaml").write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")

    assert problems_of("s.eval.yaml") == [
        "s.eval.yaml: the file is 2.0 MiB; suite files may be at most 2 MiB, split it"
    ]


def test_alias_bomb_is_rejected_fast_without_expansion(in_tmp: Path) -> None:
    lines = ["      a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"      a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    text = HEAD + "      - user: hi\n    prefill:\n" + "\n".join(lines) + "\n"
    (in_tmp / "s.eval.yaml").write_text(text)

    started = time.perf_counter()
    problems = problems_of("s.eval.yaml")

    assert time.perf_counter() - started < 1.0
    assert "s.eval.yaml:9: YAML aliases (*a0) are not allowed; write the value out" in problems
    assert sum("aliases" in p for p in problems) == 81
    assert sum("anchors" in p for p in problems) == 10
    assert len(problems) == 91


def test_a_python_tag_is_never_constructed(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[str] = []
    monkeypatch.setattr("os.system", called.append)
    (in_tmp / "s.eval.yaml").write_text("!!python/object/apply:os.system ['echo pwned']\n")

    with pytest.raises(SuiteError):
        load_suite("s.eval.yaml")
    assert called == []


def test_problems_in_one_file_are_all_reported_in_line_order(in_tmp: Path) -> None:
    text = HEAD + "      - user: no\n      - user: hi\n        bogus: 1\n  - id: c\n    turns: []\n"
    (in_tmp / "s.eval.yaml").write_text(text)

    lines = [p.split(":")[1] for p in problems_of("s.eval.yaml")]

    assert lines == ["6", "8", "9", "10"]


def test_a_directory_given_to_load_suite_is_a_problem(in_tmp: Path) -> None:
    (in_tmp / "d").mkdir()

    assert problems_of("d") == [
        "d: cannot read the file (is a directory); give a readable suite file"
    ]


# ------------------------------------------------------------------------------ many files


def test_broken_suites_report_every_problem_of_every_file_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(SUITES)

    with pytest.raises(SuiteError) as caught:
        load_suites(["valid", "broken", "missing.eval.yaml"])

    lines: dict[str, list[int]] = {}
    for problem in caught.value.problems:
        lines.setdefault(problem.path.removesuffix(".eval.yaml"), []).append(problem.line)
    assert lines == {
        "broken/strings": [3, 5, 6, 8, 9, 10, 11, 12, 13],
        "broken/structure": [2, 3, 4, 4, 9, 11, 12, 13, 14, 15, 16, 17, 18],
        "broken/syntax": [6],
        "broken/two-documents": [6],
        "broken/yaml-features": [7, 8, 9, 10, 11],
        "missing": [0],
    }
    assert all(p.path.startswith(("broken/", "missing")) for p in caught.value.problems)


def test_suite_error_text_lists_every_problem(in_tmp: Path) -> None:
    (in_tmp / "a.eval.yaml").write_text(HEAD + "      - user: no\n")
    (in_tmp / "b.eval.yaml").write_text("suite: b\n")

    with pytest.raises(SuiteError) as caught:
        load_suites(["."])

    text = str(caught.value)
    assert text.splitlines()[0] == f"{len(caught.value.problems)} problems found:"
    assert len(caught.value.problems) == 3
    for problem in caught.value.problems:
        assert str(problem) in text.splitlines()


def test_pure_python_yaml_gives_the_same_suites_and_problems_as_libyaml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def problems() -> list[Problem]:
        with pytest.raises(SuiteError) as caught:
            load_suites([BROKEN])
        return caught.value.problems

    with_c, suites_c = problems(), load_suites([VALID])
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    pure, suites_pure = problems(), load_suites([VALID])

    assert suites_pure == suites_c
    assert [(p.path, p.line) for p in pure] == [(p.path, p.line) for p in with_c]
    # Only the wording of syntax errors comes from the parser itself.
    assert [p for p in pure if "syntax" not in p.message] == [
        p for p in with_c if "syntax" not in p.message
    ]


# ------------------------------------------------------------------------------ discovery


def test_directories_are_searched_recursively_in_sorted_order(in_tmp: Path) -> None:
    shutil.copytree(VALID, "suites")
    (in_tmp / "suites" / "a.eval.yaml").write_text(
        (VALID / "nested" / "minimal.eval.yaml").read_text().replace("suite: minimal", "suite: a")
    )
    (in_tmp / "suites" / "notes.yaml").write_text("not a suite")
    (in_tmp / "suites" / ".hidden").mkdir()
    (in_tmp / "suites" / ".hidden" / "x.eval.yaml").write_text("not: loaded")

    assert discover(["suites"]) == [
        Path("suites/a.eval.yaml"),
        Path("suites/contact.eval.yaml"),
        Path("suites/nested/minimal.eval.yaml"),
    ]
    assert [s.name for s in load_suites(["suites"])] == ["a", "contact-form", "minimal"]


def test_files_are_taken_as_given_in_order_and_each_loads_once(in_tmp: Path) -> None:
    shutil.copy(VALID / "contact.eval.yaml", "contact.eval.yaml")
    shutil.copy(VALID / "nested" / "minimal.eval.yaml", "other-name.yaml")

    found = discover(["other-name.yaml", ".", "contact.eval.yaml"])

    assert found == [Path("other-name.yaml"), Path("contact.eval.yaml")]
    assert [s.path for s in load_suites(found)] == ["other-name.yaml", "contact.eval.yaml"]


NO_SUITES = "no suite files (*.eval.yaml) found; give a suite file or a directory holding some"


@pytest.mark.parametrize(
    ("setup", "paths", "expected"),
    [
        pytest.param(
            None,
            ["nope.eval.yaml"],
            ["nope.eval.yaml: does not exist; give a suite file or a directory"],
            id="missing-path",
        ),
        pytest.param(
            "empty",
            ["empty"],
            [f"empty: {NO_SUITES}"],
            id="empty-directory",
        ),
        pytest.param(
            None,
            [],
            [f"<no paths>: {NO_SUITES}"],
            id="no-paths",
        ),
    ],
)
def test_discovery_problems(
    in_tmp: Path, setup: str | None, paths: list[str], expected: list[str]
) -> None:
    if setup:
        (in_tmp / setup).mkdir()

    with pytest.raises(SuiteError) as caught:
        discover(paths)

    assert [str(p) for p in caught.value.problems] == expected


def test_a_missing_path_fails_the_load_even_when_other_suites_are_fine(in_tmp: Path) -> None:
    shutil.copy(VALID / "contact.eval.yaml", "contact.eval.yaml")

    with pytest.raises(SuiteError) as caught:
        load_suites(["contact.eval.yaml", "typo.eval.yaml"])

    assert [str(p) for p in caught.value.problems] == [
        "typo.eval.yaml: does not exist; give a suite file or a directory"
    ]
