"""Authoring syntax: vars, includes, matrices and defaults, and `file:line` through all of them."""

from __future__ import annotations

import datetime
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.cli import main
from evalkit.errors import SuiteError
from evalkit.loader import dump_suite, load_suite
from evalkit.suite import Check, Conversation, Suite, Turn

AUTHORING = Path(__file__).resolve().parent / "data" / "suites" / "authoring"


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: str) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    return [str(p) for p in caught.value.problems]


def test_fixture_suite_expands_vars_includes_matrix_and_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(AUTHORING)
    loaded = load_suite("contact.eval.yaml")
    conversations = {c.id: c for c in loaded.suite.conversations}

    assert list(conversations) == [
        "greeting-then-email",
        "age-thirty-two",
        "age-twenty-five",
        "method-sms-text_message",
        "method-ring-me-phone_call",
        "consent-yes",
        "consent-no",
        "nested-list",
    ]
    greeting = conversations["greeting-then-email"]
    # The included turns use the conversation's vars; the suite's vars fill the rest.
    assert [t.user for t in greeting.turns] == ["Hi, I'm Jane", "jane@example.com"]
    assert greeting.turns[1].expect == {"email": Check(matcher="email", value="jane@example.com")}
    # A reference standing alone keeps its type.
    assert conversations["age-thirty-two"].turns[0].expect == {
        "age": Check(matcher="approx", value=32, options={"abs": 0})
    }
    assert conversations["age-twenty-five"].turns[0].user == "I'm twenty-five years old"
    # Defaults: prefill merges (the conversation's keys win), submitted inherited unless set.
    assert conversations["age-thirty-two"].prefill == {"source": "web", "first_name": "Ann"}
    assert conversations["age-thirty-two"].submitted is False
    assert conversations["consent-yes"].submitted is True
    assert conversations["consent-yes"].prefill["first_name"] == "Nina"
    # Conversations from an included file point at that file.
    assert loaded.location(0) == "contact.eval.yaml:13"
    assert loaded.location(1) == "contact.eval.yaml:24"  # a matrix conversation: its row
    assert loaded.location(5) == "fragments/consent.yaml:7"
    assert loaded.location(7) == "fragments/nested.yaml:2"


@pytest.mark.parametrize(
    ("suite", "files", "expected"),
    [
        pytest.param(
            """
            suite: s
            form: f
            conversations:
              - id: c
                turns:
                  - user: "Hi {{ nmae }}"
            """,
            {},
            ["s.eval.yaml:6: unknown variable `nmae` in 'Hi {{ nmae }}'; defined: none"],
            id="unknown-variable",
        ),
        pytest.param(
            """
            suite: s
            form: f
            vars: {n: 1}
            conversations:
              - id: c
                turns:
                  - user: "{{ n + 1 }}"
            """,
            {},
            [
                "s.eval.yaml:7: '{{ n + 1 }}' is not a variable reference: between {{ and }} "
                "write only a variable name (evalkit never evaluates expressions); to send it "
                "as it is, write a backslash before it: '\\{{ n + 1 }}'"
            ],
            id="expression-is-not-evaluated",
        ),
        pytest.param(
            """
            suite: s
            form: f
            vars: {age: 32}
            conversations:
              - id: c
                turns:
                  - user: "{{ age }}"
            """,
            {},
            [
                "s.eval.yaml:7: conversations[0].turns[0].user must be text, found a number "
                "(substituted for {{ age }}); if the text contains ': ' or starts with '[' or "
                "'{', quote it"
            ],
            id="substituted-number-where-text-is-needed",
        ),
        pytest.param(
            """
            suite: s
            form: f
            conversations:
              - include: frags/more.yaml
            """,
            {
                "frags/more.yaml": """
                - id: ok
                  turns: [{user: hi}]
                - id: bad
                  turns:
                    - user: no
                """
            },
            [
                "frags/more.yaml:5: conversations[1].turns[0].user is a boolean (YAML reads "
                "unquoted no as false); quote it: 'no'"
            ],
            id="error-inside-an-included-file",
        ),
        pytest.param(
            """
            suite: s
            form: f
            conversations:
              - include: a.yaml
            """,
            {
                "a.yaml": "- include: b.yaml\n",
                "b.yaml": "- include: a.yaml\n",
            },
            [
                "b.yaml:1: an include cycle: s.eval.yaml → a.yaml → b.yaml → a.yaml; "
                "remove one of the includes"
            ],
            id="include-cycle",
        ),
        pytest.param(
            """
            suite: s
            form: f
            conversations:
              - include: missing.yaml
            """,
            {},
            [
                "missing.yaml: cannot read the file (No such file or directory); "
                "give a readable suite file"
            ],
            id="missing-include",
        ),
        pytest.param(
            """
            suite: s
            form: f
            conversations:
              - id: c
                turns:
                  - include: t.yaml
            """,
            {"t.yaml": "conversations: []\n"},
            [
                "s.eval.yaml:6: t.yaml holds conversations, not turns; "
                "include it under `conversations:`"
            ],
            id="fragment-of-the-wrong-kind",
        ),
        pytest.param(
            """
            suite: s
            form: f
            conversations:
              - id: "age-{{ n }}"
                matrix:
                  - {n: 1, ok: "yes"}
                  - {n: 2, ok: true}
                turns:
                  - user: "{{ ok }}"
            """,
            {},
            [
                "s.eval.yaml:9: conversations[1].turns[0].user must be text, found a boolean "
                "(substituted for {{ ok }}, matrix row at line 7); if the text contains ': ' or "
                "starts with '[' or '{', quote it"
            ],
            id="error-in-a-matrix-row-points-at-the-template",
        ),
        pytest.param(
            """
            suite: s
            form: f
            conversations:
              - id: same
                matrix: [{n: 1}, {n: 2}]
                turns: [{user: "{{ n }} apples"}]
            """,
            {},
            [],
            id="rows-get-their-values-in-the-id",
        ),
        pytest.param(
            """
            suite: s
            form: f
            conversations:
              - id: "x"
                matrix:
                  - {n: a}
                  - {n: a}
                turns: [{user: hi}]
            """,
            {},
            [
                "s.eval.yaml:7: duplicate conversation id 'x-a' (first at line 6); ids must be "
                "unique within a suite, rename one"
            ],
            id="duplicate-rows",
        ),
        pytest.param(
            """
            suite: s
            form: f
            conversations:
              - id: c
                matrx: [{n: 1}]
                turns: [{user: hi}]
            """,
            {},
            [
                "s.eval.yaml:5: conversations[0]: unknown key `matrx` (did you mean `matrix`?); "
                "valid keys: id, description, tags, prefill, client_time, persona, turns, final, "
                "submitted, no_errors, repeat, unexpected_fields, strings, vars, matrix"
            ],
            id="misspelled-authoring-key",
        ),
    ],
)
def test_authoring_problems_point_at_the_right_file_and_line(
    in_tmp: Path, suite: str, files: dict[str, str], expected: list[str]
) -> None:
    write(in_tmp / "s.eval.yaml", suite)
    for name, text in files.items():
        write(in_tmp / name, text)
    if expected:
        assert problems_of("s.eval.yaml") == expected
    else:
        ids = [c.id for c in load_suite("s.eval.yaml").suite.conversations]
        assert ids == ["same-1", "same-2"]


def test_scopes_inner_wins_and_text_gets_plain_spellings(in_tmp: Path) -> None:
    write(
        in_tmp / "s.eval.yaml",
        """
        suite: s
        form: f
        vars: {who: suite, when: 2026-11-27, person: {name: Ola}, yes: true}
        conversations:
          - include: frag.yaml
            vars: {who: site}
          - id: own
            vars: {who: conversation}
            turns:
              - user: "{{ who }} on {{ when }} is {{ yes }} for {{ person.name }}"
                expect: {birthday: "{{ when }}"}
        """,
    )
    write(
        in_tmp / "frag.yaml",
        """
        vars: {who: file, where: here}
        conversations:
          - id: frag
            turns: [{user: "{{ who }} {{ where }}"}]
        """,
    )

    conversations = load_suite("s.eval.yaml").suite.conversations

    assert conversations[0].turns[0].user == "site here"
    assert conversations[1].turns[0].user == "conversation on 2026-11-27 is true for Ola"
    assert conversations[1].turns[0].expect == {
        "birthday": Check(value=datetime.date(2026, 11, 27))
    }


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        (r"'\{{7*7}}'", "{{7*7}}"),
        (r"'\{{ name }}'", "{{ name }}"),  # alone, still text: never the variable's value
        (r"'\{{ name }} is {{ name }}'", "{{ name }} is Ola"),
        (r'"\\{{7*7}} and {{ name }}"', "{{7*7}} and Ola"),  # YAML double quotes
        (r"'{{ name }}\{{x}}'", "Ola{{x}}"),
        (r"'a \ b'", "a \\ b"),  # a backslash elsewhere is just a backslash
        (r"'C:\\{{ name }}'", "C:\\Ola"),  # two before braces: one, then the value
        (r"'\\\{{7*7}}'", "\\{{7*7}}"),  # three: one, then the braces as they are
    ],
)
def test_a_backslash_sends_double_braces_as_they_are(in_tmp: Path, written: str, sent: str) -> None:
    write(
        in_tmp / "s.eval.yaml",
        f"""
        suite: s
        form: f
        vars: {{name: Ola}}
        conversations:
          - id: c
            turns:
              - user: {written}
                expect: {{note: {written}}}
        """,
    )

    turn = load_suite("s.eval.yaml").suite.conversations[0].turns[0]

    assert turn.user == sent
    assert turn.expect == {"note": Check(value=sent)}


def test_a_product_matrix_runs_every_combination(in_tmp: Path) -> None:
    write(
        in_tmp / "s.eval.yaml",
        """
        suite: s
        form: f
        conversations:
          - id: combo
            matrix: {method: [sms, call], consent: ["yes", "no"]}
            turns: [{user: "{{ method }} {{ consent }}"}]
        """,
    )

    conversations = load_suite("s.eval.yaml").suite.conversations

    assert [(c.id, c.turns[0].user) for c in conversations] == [
        ("combo-sms-yes", "sms yes"),
        ("combo-sms-no", "sms no"),
        ("combo-call-yes", "call yes"),
        ("combo-call-no", "call no"),
    ]


def test_an_edited_fragment_changes_the_suite_hash(in_tmp: Path) -> None:
    write(in_tmp / "s.eval.yaml", "suite: s\nform: f\nconversations:\n  - include: f.yaml\n")
    write(in_tmp / "f.yaml", "- id: a\n  turns: [{user: hi}]\n")
    before = load_suite("s.eval.yaml").sha256
    write(in_tmp / "f.yaml", "- id: a\n  turns: [{user: hello}]\n")

    assert load_suite("s.eval.yaml").sha256 != before


def _hundred_conversation_suite() -> str:
    people = [
        ("Jane", "jane"),
        ("Omar", "omar"),
        ("Ravi", "ravi"),
        ("Ines", "ines"),
        ("Priya", "priya"),
        ("Tom", "tom"),
        ("Eli", "eli"),
        ("Lily", "lily"),
        ("Sam", "sam"),
        ("Ana", "ana"),
    ]
    rows = "\n".join(f"      - {{name: {n}, mail: {m}}}" for n, m in people)
    return f"""\
# yaml-language-server: $schema=evalkit.schema.json
suite: hundred
form: contact
defaults: {{submitted: false}}
vars: {{domain: example.com}}
conversations:
  - id: intro
    matrix:
{rows}
    turns:
      - user: "Hi, I'm {{{{ name }}}}, {{{{ mail }}}}@{{{{ domain }}}}"
        expect:
          first_name: "{{{{ name }}}}"
          email: {{email: "{{{{ mail }}}}@{{{{ domain }}}}"}}
  - id: method
    matrix:
      name: [Jane, Omar, Ravi, Ines, Priya, Tom, Eli, Lily, Sam, Ana]
      say: [sms, text me, texts are fine, ring me, a phone call, call me, email, e-mail, mail]
    turns:
      - user: "I'm {{{{ name }}}}, {{{{ name }}}}@example.com"
      - user: "{{{{ say }}}}"
        expect: {{contact_method: {{present: true}}}}
"""


def test_a_hundred_conversations_with_vars_and_matrix_are_a_third_of_the_expanded_lines(
    in_tmp: Path,
) -> None:
    (in_tmp / "short.eval.yaml").write_text(_hundred_conversation_suite(), encoding="utf-8")
    result = CliRunner().invoke(main, ["expand", "short.eval.yaml"])
    assert result.exit_code == 0, result.output
    # Renamed: two suites with one name are an error (their results would hide each other).
    expanded_text = result.output.replace("suite: hundred", "suite: hundred-expanded", 1)
    (in_tmp / "expanded.eval.yaml").write_text(expanded_text, encoding="utf-8")

    short = load_suite("short.eval.yaml").suite
    expanded = load_suite("expanded.eval.yaml").suite
    short_lines = len(_hundred_conversation_suite().splitlines())
    expanded_lines = len(result.output.splitlines())

    assert len(short.conversations) == 100
    assert expanded.conversations == short.conversations
    assert short_lines * 3 < expanded_lines, (short_lines, expanded_lines)
    validated = CliRunner().invoke(main, ["validate", "short.eval.yaml", "expanded.eval.yaml"])
    assert validated.exit_code == 0, validated.output
    assert "2 suite(s), 200 conversations: valid" in validated.output


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            Path(__file__).resolve().parent.parent / "suites" / "contact.eval.yaml", id="example"
        ),
        pytest.param(AUTHORING / "contact.eval.yaml", id="authoring-fixture"),
    ],
)
def test_written_suites_read_back_to_the_same_suite(tmp_path: Path, source: Path) -> None:
    loaded = load_suite(source)
    text = dump_suite(loaded.suite)
    (tmp_path / "out.eval.yaml").write_text(text, encoding="utf-8")

    assert text.startswith("# yaml-language-server: $schema=evalkit.schema.json\n")
    assert load_suite(tmp_path / "out.eval.yaml").suite == loaded.suite


def test_a_written_suite_keeps_double_braces_as_text(tmp_path: Path) -> None:
    (tmp_path / "s.eval.yaml").write_text(
        "suite: s\nform: f\nconversations:\n  - id: c\n    turns:\n"
        "      - user: 'My name is \\{{7*7}} \\ {{x}'\n"
        "        expect: {first_name: '\\{{ name }}'}\n",
        encoding="utf-8",
    )
    loaded = load_suite(tmp_path / "s.eval.yaml").suite
    assert loaded.conversations[0].turns[0].user == "My name is {{7*7}} \\ {{x}"
    (tmp_path / "out.eval.yaml").write_text(dump_suite(loaded), encoding="utf-8")

    assert load_suite(tmp_path / "out.eval.yaml").suite == loaded


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(alphabet="{}\\ a7*\n", min_size=1, max_size=30))
def test_any_text_written_back_reads_as_the_same_text(tmp_path: Path, text: str) -> None:
    suite = Suite(
        suite="s",
        form="f",
        conversations=[Conversation(id="c", turns=[Turn(user=text)])],
    )
    path = tmp_path / "out.eval.yaml"
    path.write_text(dump_suite(suite), encoding="utf-8")

    assert load_suite(path).suite.conversations[0].turns[0].user == text
