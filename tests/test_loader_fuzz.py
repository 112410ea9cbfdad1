"""Whatever bytes a suite file holds, loading gives a suite or located `SuiteError` problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from evalkit.errors import SuiteError
from evalkit.loader import load_suite

VALID = (
    Path(__file__).resolve().parent / "data" / "suites" / "valid" / "contact.eval.yaml"
).read_bytes()

# 1,000 examples per test, every run (CI included): the loader is where hostile input arrives.
FUZZ = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Pieces that steer random text into YAML's corners: indicators, anchors, tags, lookalike
# scalars, keys of the suite models, and characters YAML refuses.
TOKENS = [
    *list(":-?[]{},&*!|>'\"#%@`~ \t\n\r"),
    "\n  ",
    "\n    - ",
    "---\n",
    "...\n",
    "&a ",
    "*a",
    "<<: ",
    "!!python/object:os.system ",
    "!!binary ",
    "!!set ",
    "!x ",
    "no",
    "12:30",
    "0755",
    "2026-01-01",
    "2026-13-45",
    "1e400",
    ".inf",
    "~",
    "suite: ",
    "form: ",
    "conversations:\n  - ",
    "id: ",
    "turns:\n      - ",
    "user: ",
    "expect: ",
    "{approx: 1, abs: 2}",
    "\x00",
    "\ufeff",
    "\u2028",
    "\x85",
]
yamlish = st.lists(st.sampled_from(TOKENS) | st.text(max_size=4), max_size=60).map("".join)

REPLACEMENTS = [
    b"no",
    b"12:30",
    b"~",
    b"",
    b"[]",
    b"{}",
    b"[a, [b, {c: d}]]",
    b"2026-01-01",
    b"2026-02-30",
    b"123",
    b"'quoted'",
    b"*alias",
    b"&anchor value",
    b"!!python/object/apply:os.system ['true']",
    b"!!binary aGk=",
    b"|\n  block",
    b"{user: x, user: y}",
    b"'" + b"x" * 10_001 + b"'",
]
mutation = st.one_of(
    st.tuples(st.just("delete-line"), st.integers(0, 60)),
    st.tuples(st.just("duplicate-line"), st.integers(0, 60)),
    st.tuples(st.just("retype-value"), st.integers(0, 60), st.sampled_from(REPLACEMENTS)),
    st.tuples(st.just("reindent"), st.integers(0, 60), st.integers(-4, 4)),
    st.tuples(st.just("truncate"), st.integers(0, len(VALID))),
    st.tuples(st.just("insert-bytes"), st.integers(0, len(VALID)), st.binary(max_size=8)),
    st.tuples(st.just("insert-alias"), st.integers(0, 60)),
)


def mutate(data: bytes, steps: list[tuple[Any, ...]]) -> bytes:
    for kind, at, *arg in steps:
        if kind == "truncate":
            data = data[: at % (len(data) + 1)]
            continue
        if kind == "insert-bytes":
            position = at % (len(data) + 1)
            data = data[:position] + arg[0] + data[position:]
            continue
        lines = data.split(b"\n")
        index = at % len(lines)
        if kind == "delete-line":
            del lines[index]
        elif kind == "duplicate-line":
            lines.insert(index, lines[index])
        elif kind == "retype-value":
            key, sep, _ = lines[index].partition(b": ")
            lines[index] = key + b": " + arg[0] if sep else lines[index] + b" " + arg[0]
        elif kind == "reindent":
            shift = arg[0]
            lines[index] = b" " * shift + lines[index] if shift > 0 else lines[index][-shift:]
        else:  # insert-alias: an anchored turn and its alias, at the indentation found there
            indent = b" " * (len(lines[index]) - len(lines[index].lstrip()))
            lines[index:index] = [indent + b"- &x {user: hi}", indent + b"- *x"]
        data = b"\n".join(lines)
    return data


def check_only_located_problems(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        load_suite(path)
    except SuiteError as exc:
        problems = exc.problems
    else:
        return
    # YAML counts \r, \x85, \u2028 and \u2029 as line breaks too; splitlines() counts a
    # superset, so it bounds the lines a problem may name.
    last_line = len(data.decode("utf-8", "replace").splitlines()) + 1
    assert problems
    for problem in problems:
        assert problem.path == str(path)
        assert 0 <= problem.line <= last_line, problem
        assert problem.message.strip(), problem


@pytest.fixture(params=[True, False], ids=["libyaml", "pure-python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param and not yaml.__with_libyaml__:
        pytest.fail("pyyaml was built without libyaml; reinstall it so the C parser is covered")
    monkeypatch.setattr(yaml, "__with_libyaml__", request.param)
    return bool(request.param)


@FUZZ
@given(text=yamlish)
@example(text="")
@example(text="[" * 200)
@example(text="? [a]\n: b\n")
@example(text="a: 1\n\x00")
def test_random_yamlish_text_only_ever_gives_located_problems(
    tmp_path: Path, parser: bool, text: str
) -> None:
    check_only_located_problems(tmp_path / "f.eval.yaml", text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(steps=st.lists(mutation, min_size=1, max_size=4))
@example(steps=[("insert-bytes", 3, b"\xff\xfe")])
@example(steps=[("truncate", 200)])
def test_mutated_valid_suite_only_ever_gives_located_problems(
    tmp_path: Path, parser: bool, steps: list[tuple[Any, ...]]
) -> None:
    check_only_located_problems(tmp_path / "f.eval.yaml", mutate(VALID, steps))
