"""Careless or hostile suites (issue 13, items 6-10): nothing silently wrong, nothing unbounded.

- includes stay under the suites root, are regular files, and never show a non-suite file;
- template variables and matrices cannot amplify a small file into gigabytes;
- `python:` checks import only modules under the suites root or in a package the user named,
  and refuse anything else before importing it;
- two suites with one name are a load error naming both places;
- matcher arguments, field names and select options are checked at load time.
"""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import SuiteError
from evalkit.loader import LoadOptions, index_suites, load_suite, load_suites
from evalkit.loader.expand import expand
from evalkit.loader.reader import read_file
from evalkit.loader.values import MAX_EXPANDED_SIZE
from evalkit.matchers import MISSING, match
from evalkit.suite import Check

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "suites" / "forms"

HEAD = "suite: s\nform: f\nconversations:\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(*paths: str | Path, options: LoadOptions | None = None) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        load_suites(list(paths), options=options)
    return [str(p) for p in caught.value.problems]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


# ------------------------------------------------------------------ 6. includes stay in the root

SECRET = "root:$6$hash-of-the-secret:19000:0:99999:7:::"


def test_an_include_that_leaves_the_suites_root_is_refused_and_never_read(in_tmp: Path) -> None:
    # List-shaped and valid as conversations: before, it was included and would have been sent.
    write(in_tmp / "private" / "other.yaml", f"- id: leaked\n  turns:\n    - user: '{SECRET}'\n")
    write(in_tmp / "suites" / "s.eval.yaml", HEAD + "  - include: ../private/other.yaml\n")

    found = problems("suites")

    assert found == [
        "suites/s.eval.yaml:4: include ../private/other.yaml leaves the suites root (suites); "
        "keep included files under it, or widen it with --includes-root DIR (or `suites` in "
        "[tool.evalkit])"
    ]
    assert SECRET not in "".join(found)


def test_deep_dot_dots_and_symlinks_out_of_the_root_are_refused(in_tmp: Path) -> None:
    outside = write(in_tmp / "outside.yaml", f"{SECRET}\n")
    (in_tmp / "suites").mkdir()
    (in_tmp / "suites" / "link.yaml").symlink_to(outside)
    write(
        in_tmp / "suites" / "s.eval.yaml",
        HEAD + "  - include: ../../../../../../../../etc/passwd\n  - include: link.yaml\n",
    )

    found = problems("suites")

    assert [p.split(": ", 1)[0] for p in found] == ["suites/s.eval.yaml:4", "suites/s.eval.yaml:5"]
    assert all("leaves the suites root" in p for p in found)
    assert not any("root:" in p.split("include", 1)[0] or SECRET in p for p in found)


def test_a_file_argument_roots_its_includes_in_its_folder_and_a_flag_widens_it(
    in_tmp: Path,
) -> None:
    write(in_tmp / "shared" / "c.yaml", "- id: shared\n  turns:\n    - user: hi\n")
    suite = write(in_tmp / "suites" / "s.eval.yaml", HEAD + "  - include: ../shared/c.yaml\n")

    assert "leaves the suites root (suites)" in problems(suite.relative_to(in_tmp))[0]
    loaded = load_suites(["suites/s.eval.yaml"], options=LoadOptions(includes_roots=(in_tmp,)))
    assert [c.id for c in loaded[0].suite.conversations] == ["shared"]
    # Kept small and built again later: the widened root holds for the rebuild too.
    (kept,) = index_suites(["suites/s.eval.yaml"], options=LoadOptions(includes_roots=(in_tmp,)))
    assert [c.id for c in kept.load().suite.conversations] == ["shared"]
    assert invoke("validate", "suites/s.eval.yaml")[0] == 2
    code, output = invoke("validate", "--includes-root", str(in_tmp), "suites/s.eval.yaml")
    assert code == 0, output


def test_the_project_configuration_names_the_suites_folder(in_tmp: Path) -> None:
    write(in_tmp / "pyproject.toml", '[tool.evalkit]\nsuites = "suites"\n')
    write(in_tmp / "suites" / "fragments" / "c.yaml", "- id: shared\n  turns:\n    - user: hi\n")
    write(in_tmp / "suites" / "sub" / "s.eval.yaml", HEAD + "  - include: ../fragments/c.yaml\n")

    (loaded,) = load_suites(["suites/sub/s.eval.yaml"])  # a file argument: its folder is sub/

    assert [c.id for c in loaded.suite.conversations] == ["shared"]
    assert [c.id for c in load_suite("suites/sub/s.eval.yaml").suite.conversations] == ["shared"]


def test_a_bad_project_configuration_is_a_problem_of_that_file(in_tmp: Path) -> None:
    write(in_tmp / "evalkit.toml", "suites = 3\n")
    write(in_tmp / "s.eval.yaml", HEAD + "  - id: c\n    turns:\n      - user: hi\n")

    assert problems("s.eval.yaml") == [
        "evalkit.toml: `suites` must be a folder path (text), relative to this file"
    ]


def _load_in_thread(path: str) -> list[str]:
    """Load in a thread, so a blocking open cannot hang the test run."""
    found: list[str] = []

    def target() -> None:
        try:
            load_suite(path)
        except SuiteError as exc:
            found.extend(str(p) for p in exc.problems)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():  # unblock the reader before failing
        fd = os.open(path.replace("s.eval.yaml", "pipe.yaml"), os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("loading the suite blocked on a FIFO")
    return found


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_an_include_that_is_a_fifo_does_not_block(in_tmp: Path) -> None:
    os.mkfifo(in_tmp / "pipe.yaml")
    write(in_tmp / "s.eval.yaml", HEAD + "  - include: pipe.yaml\n")

    assert _load_in_thread(str(in_tmp / "s.eval.yaml")) == [
        f"{in_tmp}/pipe.yaml: cannot read the file (is a named pipe (FIFO), not a regular "
        "file); give a readable suite file"
    ]


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_a_device_is_not_read_even_in_a_widened_root(in_tmp: Path) -> None:
    write(in_tmp / "s.eval.yaml", HEAD + "  - include: ../../../../../../../../dev/null\n")

    found = problems("s.eval.yaml", options=LoadOptions(includes_roots=(Path("/"),)))

    assert len(found) == 1
    assert "is a character device, not a regular file" in found[0]
    assert "not a regular file" in str(read_file("/dev/null").problems[0])


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(f"{SECRET}\ndaemon:*:19000:0:99999:7:::\n", id="text"),
        pytest.param("password: hunter2-secret\napi_key: sk-live-secret\n", id="mapping"),
        pytest.param("- hunter2-secret\n- sk-live-secret\n", id="list-of-text"),
        pytest.param("password: a\npassword: hunter2-secret\n", id="duplicate-keys"),
    ],
)
def test_an_error_about_a_file_that_is_not_a_suite_never_shows_its_content(
    in_tmp: Path, content: str
) -> None:
    write(in_tmp / "notes.txt", content)
    write(in_tmp / "s.eval.yaml", HEAD + "  - include: notes.txt\n")

    found = problems("s.eval.yaml") + problems("notes.txt")

    assert found
    assert all("hunter2" not in p and "sk-live" not in p for p in found)
    assert all("password" not in p and "$6$" not in p for p in found)
    assert any("is not a suite fragment" in p for p in found)
    assert any("is not a suite file" in p or "a suite must be a mapping" in p for p in found)


# ------------------------------------------------------------------ 7. template amplification


def _amplifying(path: Path, a: int = 8000, b: int = 1000, r: int = 1000) -> Path:
    """About 24 KB that asks for ~10 GB: suite var → conversation var → matrix row → turn."""
    return write(
        path,
        f"""
        suite: amp
        form: f
        vars: {{a: "{"x" * a}"}}
        conversations:
          - id: c
            vars: {{b: "{"{{a}}" * b}"}}
            matrix:
              - {{r: "{"{{b}}" * r}"}}
            turns:
              - user: "{{{{ r }}}}"
        """,
    )


def test_amplifying_variables_stop_at_the_first_excess_with_file_and_line(in_tmp: Path) -> None:
    path = _amplifying(in_tmp / "amp.eval.yaml")
    assert path.stat().st_size < 25_000

    tracemalloc.start()
    try:
        expansion = expand(read_file("amp.eval.yaml"), read_file)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert [str(p) for p in expansion.problems] == [
        "amp.eval.yaml:8: the suite would expand to more than 48 MB here (`{{b}}` is "
        "8,000,000 characters long; variables and matrix rows multiply); use smaller values "
        "or fewer references"
    ]
    # Stopped at the first excess: what was built (all of it counted) stays within the budget.
    assert expansion.size <= MAX_EXPANDED_SIZE
    assert peak < 100 * 2**20
    assert "the suite would expand" in problems("amp.eval.yaml")[0]


def test_the_budget_is_injectable_and_counts_copies_of_whole_values(in_tmp: Path) -> None:
    rows = "\n".join(f"{' ' * 14}- {{n: {i}}}" for i in range(300))
    write(
        in_tmp / "s.eval.yaml",
        f"""
        suite: s
        form: f
        vars: {{big: [{", ".join(["aaaaaaaaaaaaaaaaaaaa"] * 100)}]}}
        conversations:
          - id: c
            prefill: {{list: "{{{{ big }}}}"}}
            turns: [{{user: hi}}]
            matrix:
{rows}
        """,
    )

    expansion = expand(read_file("s.eval.yaml"), read_file, budget=200_000)

    assert len(expansion.problems) == 1
    assert "the suite would expand to more than 0.2 MB" in str(expansion.problems[0])
    assert expansion.size <= 200_000
    assert len(expansion.value["conversations"]) < 300


def test_matrix_combinations_are_counted_before_any_is_built(in_tmp: Path) -> None:
    table = ", ".join(f"k{i}: [{', '.join(str(j) for j in range(10))}]" for i in range(10))
    write(
        in_tmp / "s.eval.yaml",
        f"suite: s\nform: f\nconversations:\n  - id: c\n    matrix: {{{table}}}\n"
        "    turns: [{user: hi}]\n",
    )

    expansion = expand(read_file("s.eval.yaml"), read_file)

    assert [str(p) for p in expansion.problems] == [
        "s.eval.yaml:5: the matrix makes 10,000,000,000 combinations; a suite expands to at "
        "most 10,000 conversations: shrink the matrix or split it"
    ]
    assert expansion.value["conversations"] == []


def test_a_legitimate_ten_thousand_row_matrix_still_loads(in_tmp: Path) -> None:
    write(
        in_tmp / "s.eval.yaml",
        """
        suite: s
        form: f
        conversations:
          - id: "c-{{ a }}-{{ b }}"
            matrix: {a: [RANGE], b: [RANGE]}
            turns:
              - user: "I'm {{ a }} and {{ b }}, jane@example.com"
                expect: {age: "{{ a }}", email: {email: jane@example.com}}
              - user: "Text message please"
                expect: {contact_method: text_message}
        """.replace("RANGE", ", ".join(str(i) for i in range(100))),
    )

    assert len(load_suite("s.eval.yaml").suite.conversations) == 10_000


# ------------------------------------------------------------------ 8. python checks


CHECKS = """
import evalkit

MARK = {mark!r}
with open(MARK, "a") as mark:
    mark.write("imported {name}\\n")


@evalkit.custom_check
def valid(actual):
    return actual == "ok", "it is ok" if actual == "ok" else "it is not ok"
"""


@pytest.fixture
def clean_modules() -> Iterator[None]:
    """Forget the modules a test imported, so each test imports its own."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def _check_suite(path: Path, spec: str) -> Path:
    return write(
        path,
        HEAD + f"  - id: c\n    turns:\n      - user: hi\n        expect:\n"
        f"          x: {{python: '{spec}'}}\n",
    )


def test_a_python_check_outside_the_root_is_refused_before_it_is_imported(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    mark = in_tmp / "imported.txt"
    write(in_tmp / "site" / "evil_checks.py", CHECKS.format(mark=str(mark), name="evil"))
    write(in_tmp / "site" / "evil_pkg" / "__init__.py", CHECKS.format(mark=str(mark), name="pkg"))
    write(in_tmp / "site" / "evil_pkg" / "sub.py", CHECKS.format(mark=str(mark), name="sub"))
    monkeypatch.syspath_prepend(str(in_tmp / "site"))
    _check_suite(in_tmp / "suites" / "a.eval.yaml", "evil_checks:valid")
    _check_suite(in_tmp / "suites" / "b.eval.yaml", "evil_pkg.sub:valid")
    _check_suite(in_tmp / "suites" / "c.eval.yaml", "this:s")
    write(
        in_tmp / "suites" / "c.eval.yaml",
        (in_tmp / "suites" / "c.eval.yaml").read_text().replace("suite: s", "suite: c"),
    )
    write(
        in_tmp / "suites" / "b.eval.yaml",
        (in_tmp / "suites" / "b.eval.yaml").read_text().replace("suite: s", "suite: b"),
    )

    found = problems("suites")

    advice = (
        "is not under the suites root (suites) nor in a package named with --checks-package; "
        "it was not imported"
    )
    assert found == [
        f"suites/a.eval.yaml:8: conversations[0].turns[0].expect.x: module evil_checks {advice}",
        f"suites/b.eval.yaml:8: conversations[0].turns[0].expect.x: module evil_pkg {advice}",
        f"suites/c.eval.yaml:8: conversations[0].turns[0].expect.x: module this {advice}",
    ]
    assert not mark.exists()
    assert "Zen of Python" not in capfd.readouterr().out
    assert not {"evil_checks", "evil_pkg", "evil_pkg.sub"} & set(sys.modules)


def test_checks_beside_the_suite_work_without_pythonpath_and_leave_sys_path_alone(
    in_tmp: Path, clean_modules: None
) -> None:
    mark = in_tmp / "imported.txt"
    write(
        in_tmp / "suites" / "local_checks_a.py",
        CHECKS.format(mark=str(mark), name="local") + "\nfrom local_helper_a import HELP\n",
    )
    write(in_tmp / "suites" / "local_helper_a.py", "HELP = 1\n")
    write(in_tmp / "suites" / "pkg_a" / "deep.py", CHECKS.format(mark=str(mark), name="deep"))
    write(
        in_tmp / "suites" / "s.eval.yaml",
        HEAD + "  - id: c\n    turns:\n      - user: hi\n        expect:\n"
        "          x: {python: 'local_checks_a:valid'}\n"
        "          y: {not: {python: 'pkg_a.deep:valid'}}\n",
    )
    path_before = list(sys.path)

    (loaded,) = load_suites(["suites"])

    assert sys.path == path_before
    assert mark.read_text() == "imported local\nimported deep\n"
    expect = loaded.suite.conversations[0].turns[0].expect or {}
    assert match(expect["x"], "ok")[1].reason == "it is ok"
    assert match(expect["x"], "no")[1].passed is False
    load_suites(["suites"])  # loading again imports nothing again
    assert mark.read_text() == "imported local\nimported deep\n"


def test_a_named_checks_package_may_be_imported(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, clean_modules: None
) -> None:
    mark = in_tmp / "imported.txt"
    write(in_tmp / "site" / "team_checks_b" / "__init__.py", "")
    write(in_tmp / "site" / "team_checks_b" / "iban.py", CHECKS.format(mark=str(mark), name="b"))
    monkeypatch.syspath_prepend(str(in_tmp / "site"))
    _check_suite(in_tmp / "suites" / "s.eval.yaml", "team_checks_b.iban:valid")

    assert "not under the suites root" in problems("suites")[0]
    load_suites(["suites"], options=LoadOptions(checks_packages=("team_checks_b",)))
    assert mark.read_text() == "imported b\n"

    code, output = invoke("validate", "--checks-package", "team_checks_b", "suites")
    assert code == 0, output


def test_a_check_module_named_like_another_module_is_refused(
    in_tmp: Path, clean_modules: None
) -> None:
    mark = in_tmp / "imported.txt"
    write(in_tmp / "suites" / "json.py", CHECKS.format(mark=str(mark), name="json"))
    _check_suite(in_tmp / "suites" / "s.eval.yaml", "json:valid")

    (found,) = problems("suites")

    assert "module json is also" in found
    assert "give your module another name" in found
    assert not mark.exists()


def test_scoring_never_imports_a_python_check() -> None:
    result = match(Check(matcher="python", value="never_imported_module_x:f"), "x")[1]

    assert result.passed is False
    assert "was not loaded with a suite" in result.reason
    assert "never_imported_module_x" not in sys.modules
    assert match(Check(matcher="python", value="os:system"), MISSING)[1].passed is False


# ------------------------------------------------------------------ 9. duplicate suite names


def test_two_suite_files_with_one_name_are_an_error_naming_both(in_tmp: Path) -> None:
    body = "  - id: c\n    turns:\n      - user: hi\n"
    write(
        in_tmp / "suites" / "a.eval.yaml", "suite: contact-form\nform: f\nconversations:\n" + body
    )
    write(
        in_tmp / "suites" / "b" / "c.eval.yaml",
        "form: f\nsuite: contact-form\nconversations:\n" + body,
    )

    expected = [
        "suites/b/c.eval.yaml:2: suite name 'contact-form' is also the name of "
        "suites/a.eval.yaml:1; results are keyed by suite and id, so one would hide the other: "
        "rename one of them"
    ]
    assert problems("suites") == expected
    with pytest.raises(SuiteError) as caught:
        index_suites(["suites"])
    assert [str(p) for p in caught.value.problems] == expected
    code, output = invoke("validate", "suites")
    assert code == 2
    assert "is also the name of" in output


# ------------------------------------------------------------------ 10. matcher arguments, forms


@pytest.mark.parametrize(
    ("expectation", "message"),
    [
        pytest.param(
            '{date: "2026-13-45"}',
            'date takes a date (YYYY-MM-DD, or written out: 4 May 2026), got "2026-13-45"',
            id="date",
        ),
        pytest.param('{approx: "four"}', 'approx takes a number, got "four"', id="approx"),
        pytest.param(
            "{approx: 4, abs: -1}", "approx's `abs` must be a number ≥ 0, got -1", id="abs"
        ),
        pytest.param(
            "{time: 25:99}", 'time takes a time of day (14:30, 2:30 pm), got "25:99"', id="time"
        ),
        pytest.param(
            "{time: 12:30}",
            "time takes a time of day (14:30, 2:30 pm), got 750 (YAML reads unquoted 12:30 as a "
            "number: quote it)",
            id="time-sexagesimal",
        ),
        pytest.param(
            '{regex: "(unclosed"}',
            'regex takes a regular expression: "(unclosed" is not one (missing ), unterminated '
            "subpattern at position 0)",
            id="regex",
        ),
        pytest.param(
            "{fuzzy: Jane, threshold: 85}",
            "fuzzy's `threshold` must be a number from 0 to 1 (0.85 is 85%), got 85",
            id="threshold",
        ),
        pytest.param("{absent: 'yes'}", 'absent takes true or false, got "yes"', id="absent"),
        pytest.param(
            "{email: jane-at-example.com}",
            'email takes an address with an @, got "jane-at-example.com"',
            id="email",
        ),
        pytest.param(
            "{phone: call me}", 'phone takes a number with digits, got "call me"', id="phone"
        ),
        pytest.param(
            '{not: {all_of: [{date: "2026-02-30"}]}}',
            'date takes a date (YYYY-MM-DD, or written out: 4 May 2026), got "2026-02-30"',
            id="nested",
        ),
        pytest.param(
            "{one_of: []}", "one_of takes a non-empty list of values, got []", id="one-of"
        ),
    ],
)
def test_matcher_arguments_are_checked_at_the_line_of_the_expectation(
    in_tmp: Path, expectation: str, message: str
) -> None:
    write(
        in_tmp / "s.eval.yaml",
        HEAD + "  - id: c\n    turns:\n      - user: hi\n        expect:\n"
        f"          ok: 1\n          x: {expectation}\n",
    )

    assert problems("s.eval.yaml") == [
        f"s.eval.yaml:9: conversations[0].turns[0].expect.x: {message}"
    ]


def test_good_matcher_arguments_still_load(in_tmp: Path) -> None:
    write(
        in_tmp / "s.eval.yaml",
        HEAD + "  - id: c\n    turns:\n      - user: hi\n        expect:\n"
        "          a: {date: 2026-05-04}\n          b: {date: '4 May 2026'}\n"
        "          c: {approx: '30', rel: 0.1}\n          d: {time: '2:30 pm'}\n"
        "          e: {regex: '^J', ignore_case: true}\n          f: {fuzzy: Jo, threshold: 0.5}\n"
        "          g: {absent: false}\n          h: {phone: '+1 555 0100'}\n"
        "          i: {one_of: [a, b]}\n        reply: {contains: thanks}\n",
    )

    assert load_suite("s.eval.yaml").suite.conversations[0].turns[0].expect is not None


PETS_FORM = """
key: pets
id: 7d3c9a10-1b2c-4d5e-8f90-a1b2c3d4e5f6
name: Pet sitting
greeting: Hi! Tell me about your pet.
fields:
  - {target: owner_name, label: Your name, type: name, required: true}
  - {target: email, label: Email, type: email}
  - target: pet_type
    label: Pet
    type: single_select
    options:
      - {value: cat, label: Cat}
      - {value: dog, label: Dog}
      - {value: small_mammal, label: Small mammal}
  - target: extras
    label: Extras
    type: multi_select
    options:
      - {value: walks, label: Walks}
      - {value: grooming, label: Grooming}
  - target: breed
    label: Breed
    type: single_select
    custom_option: true
    options: [{value: mixed, label: Mixed}]
"""

FORM_SUITE = """
suite: s
form: pets
conversations:
  - id: c
    turns:
      - user: hi
        expect:
          owner_name: Jane
          pet_typ: cat
          pet_type: dgo
        asks: pet_tpye
        offers: [Cat, Fax]
      - user: a small mammal
        expect:
          pet_type: {one_of: [cat, Small mammal]}
          extras: [walks, groming]
          breed: Siamese
    final:
      email: {present: true}
      pet_type: {not: {equals: dog}}
      extras: {contains: walks}
"""


def _pets(root: Path, suite: str = FORM_SUITE, name: str = "s.eval.yaml") -> None:
    write(root / "suites" / name, suite)
    write(root / "suites" / "forms" / "pets.form.yaml", PETS_FORM)


def test_field_names_and_options_are_checked_against_the_form_with_did_you_mean(
    in_tmp: Path,
) -> None:
    from evalkit.formcheck import check_suites

    _pets(in_tmp)

    with pytest.raises(SuiteError) as caught:
        check_suites(["suites"])

    assert [str(p) for p in caught.value.problems] == [
        "suites/s.eval.yaml:9: conversations[0].turns[0].expect: form pets has no field "
        "`pet_typ` (did you mean `pet_type`?); its fields: owner_name, email, pet_type, extras, "
        "breed",
        'suites/s.eval.yaml:10: conversations[0].turns[0].expect.pet_type: "dgo" is not an '
        "option of pet_type (did you mean `dog`?); its options: cat, dog, small_mammal",
        "suites/s.eval.yaml:11: conversations[0].turns[0].asks: form pets has no field "
        "`pet_tpye` (did you mean `pet_type`?); its fields: owner_name, email, pet_type, extras, "
        "breed",
        'suites/s.eval.yaml:12: conversations[0].turns[0].offers: "Fax" is not an option '
        "(value or label) of any select field of form pets",
        'suites/s.eval.yaml:15: conversations[0].turns[1].expect.pet_type: "Small mammal" is '
        "the label of option `small_mammal`; TEXT_DATA carries the value: write small_mammal",
        'suites/s.eval.yaml:16: conversations[0].turns[1].expect.extras: "groming" is not an '
        "option of extras (did you mean `grooming`?); its options: walks, grooming",
    ]


def test_an_unknown_form_is_said_once_and_is_not_an_error(in_tmp: Path) -> None:
    from evalkit.formcheck import check_suites

    good = "suite: NAME\nform: petz\nconversations:\n  - id: c\n    turns:\n      - user: hi\n"
    for name in ("a", "b"):
        _pets(in_tmp, good.replace("NAME", name), f"{name}.eval.yaml")

    checked = check_suites(["suites"])

    assert [s.name for s in checked.suites] == ["a", "b"]
    assert checked.notes == [
        "form 'petz' (suites/a.eval.yaml, suites/b.eval.yaml) is not defined in forms/ beside "
        "the suites (did you mean `pets`?): its field names and options are not checked"
    ]


def test_a_form_id_mapping_checks_against_the_form_it_maps_to(in_tmp: Path) -> None:
    from evalkit.formcheck import check_suites

    _pets(in_tmp, FORM_SUITE.replace("form: pets", "form: animals"))

    with pytest.raises(SuiteError) as caught:
        check_suites(["suites"], form_ids={"animals": "pets"})
    assert len(caught.value.problems) == 6


def test_validate_and_run_check_fields_before_anything_is_sent(in_tmp: Path) -> None:
    _pets(in_tmp)

    code, output = invoke("validate", "suites")
    assert code == 2
    assert "form pets has no field `pet_typ` (did you mean `pet_type`?)" in output

    code, output = invoke("run", "suites", "--out", str(in_tmp / "reports"))
    assert code == 2
    assert "did you mean `pet_type`?" in output
    assert not (in_tmp / "reports").exists()


def test_validate_prints_the_note_for_an_unknown_form(in_tmp: Path) -> None:
    write(in_tmp / "s.eval.yaml", HEAD + "  - id: c\n    turns:\n      - user: hi\n")

    code, output = invoke("validate", "s.eval.yaml")

    assert code == 0, output
    assert "note: form 'f' (s.eval.yaml) is not defined in forms/ beside the suites" in output
