"""Every matcher, table-driven: what passes, what fails, and the reason a user reads."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from evalkit.errors import SuiteError
from evalkit.loader import load_suite
from evalkit.matchers import MATCHERS, MISSING, default_matcher, match
from evalkit.matchers.custom import import_check
from evalkit.suite import MATCHER_NAMES, Check, parse_check


def check(raw: Any) -> Check:
    return Check.model_validate(parse_check(raw))


def test_every_matcher_name_in_the_suite_format_has_a_comparator() -> None:
    assert set(MATCHERS) == set(MATCHER_NAMES)


CASES = [
    # (expectation as written in YAML, actual value, passes?, a phrase of the reason)
    pytest.param("Jane", "  jane ", True, "ignoring case", id="bare-string-is-normalised-text"),
    pytest.param("Jane", "Janet", False, 'expected text "Jane"', id="bare-string-differs"),
    pytest.param("Zoë", "ZOË", True, "", id="bare-string-unicode-case"),
    pytest.param(30, 30.0, True, "equals", id="bare-int-equals-float"),
    pytest.param(30, "30", False, "expected a int, got a str", id="bare-int-vs-string"),
    pytest.param(True, 1, False, "expected a bool", id="bool-is-not-one"),
    pytest.param(False, False, True, "", id="bare-bool"),
    pytest.param(None, None, True, "", id="bare-null"),
    pytest.param(["a", "b"], ["B", "a"], True, "any order", id="bare-list-is-a-set"),
    pytest.param(["a", "b"], ["a"], False, 'missing ["b"]', id="bare-list-missing-item"),
    pytest.param(["a"], ["a", "c"], False, 'extra ["c"]', id="bare-list-extra-item"),
    pytest.param({"equals": "Jane"}, "jane", False, 'expected "Jane"', id="equals-is-exact"),
    pytest.param({"equals": {"city": "Oslo"}}, {"city": "Oslo"}, True, "", id="equals-object"),
    pytest.param({"equals": [1, 2]}, [2, 1], False, "", id="equals-list-order-matters"),
    pytest.param({"text": "New  York"}, "new york", True, "", id="text"),
    pytest.param({"approx": 30, "abs": 1}, 30.8, True, "within ±1", id="approx-abs-inside"),
    pytest.param({"approx": 30, "abs": 1}, 31.5, False, "not within ±1", id="approx-abs-outside"),
    pytest.param({"approx": 100, "rel": 0.05}, 104, True, "", id="approx-rel"),
    pytest.param({"approx": 30, "abs": 1}, "30.2", True, "", id="approx-numeric-string"),
    pytest.param({"approx": 30}, "thirty", False, "expected a number", id="approx-not-a-number"),
    pytest.param({"regex": "^J\\w+$"}, "Jane", True, "matches", id="regex"),
    pytest.param({"regex": "^j"}, "Jane", False, "does not match", id="regex-case-sensitive"),
    pytest.param({"regex": "^j", "ignore_case": True}, "Jane", True, "", id="regex-ignore-case"),
    pytest.param({"regex": "("}, "x", False, "invalid regular expression", id="regex-invalid"),
    pytest.param({"one_of": ["email", "sms"]}, "SMS", True, "one of", id="one-of"),
    pytest.param({"one_of": ["email", "sms"]}, "phone", False, "expected one of", id="one-of-no"),
    pytest.param({"contains": "york"}, "New York City", True, "", id="contains-text"),
    pytest.param(
        {"contains": "tech"}, ["sports", "tech"], True, "list contains", id="contains-list"
    ),
    pytest.param({"contains": "art"}, ["sports"], False, "to contain", id="contains-list-no"),
    pytest.param({"set": ["a", "b"]}, ["b", "a"], True, "", id="set"),
    pytest.param({"subset": ["a"]}, ["b", "a"], True, "includes all", id="subset"),
    pytest.param({"subset": ["a", "z"]}, ["a"], False, 'missing ["z"]', id="subset-missing"),
    pytest.param({"absent": True}, MISSING, True, "not extracted", id="absent"),
    pytest.param({"absent": True}, "x", False, "expected nothing", id="absent-but-there"),
    pytest.param({"absent": True}, None, False, "expected nothing", id="absent-null-is-a-value"),
    pytest.param({"present": True}, "x", True, "extracted", id="present"),
    pytest.param({"present": True}, MISSING, False, "got nothing", id="present-missing"),
    pytest.param({"date": "2026-11-27"}, "2026-11-27T00:00:00Z", True, "", id="date-datetime"),
    pytest.param({"date": "2026-11-27"}, "27 November 2026", True, "", id="date-written"),
    pytest.param({"date": "2026-11-27"}, "2026-11-28", False, "expected the date", id="date-off"),
    pytest.param({"date": "2026-11-27"}, "soon", False, "not a date", id="date-garbage"),
    pytest.param(date(2026, 11, 27), "2026-11-27", True, "same date", id="bare-yaml-date"),
    pytest.param({"email": "Jane@Example.com"}, " jane@example.com", True, "", id="email"),
    pytest.param({"email": "jane@example.com"}, "jane@example.org", False, "", id="email-other"),
    pytest.param({"phone": "+1 (555) 010-2030"}, "+15550102030", True, "", id="phone-format"),
    pytest.param({"phone": "+1 555 010 2030"}, "555-010-2030", True, "country code", id="phone-cc"),
    pytest.param({"phone": "+1 555 010 2030"}, "555-010-2031", False, "", id="phone-other"),
    pytest.param({"fuzzy": "Jonathan"}, "Jonathon", True, "similar", id="fuzzy-close"),
    pytest.param({"fuzzy": "Jonathan", "threshold": 0.99}, "Jonathon", False, "", id="fuzzy-high"),
    pytest.param("Jane", MISSING, False, "not extracted", id="missing-value"),
    pytest.param({"time": "14:30"}, "2:30 pm", True, "same time 14:30", id="time-12h"),
    pytest.param({"time": "14:30"}, "2026-11-25T14:30:00Z", True, "", id="time-datetime"),
    pytest.param({"time": "9am"}, "09:00:00", True, "", id="time-9am"),
    pytest.param({"time": "14:30"}, "14:45", False, "expected the time 14:30", id="time-off"),
    pytest.param({"time": "14:30"}, "soon", False, "not a time", id="time-garbage"),
    pytest.param({"time": 870}, "14:30", False, "quote it", id="time-unquoted-in-yaml"),
    pytest.param({"not": {"contains": "sorry"}}, "Thanks!", True, "not contains", id="not"),
    pytest.param({"not": {"contains": "sorry"}}, "Sorry!", False, "to fail", id="not-fails"),
    pytest.param({"not": {"absent": True}}, "x", True, "", id="not-absent-is-present"),
    pytest.param({"not": {"absent": True}}, MISSING, False, "", id="not-absent-missing"),
    pytest.param(
        {"all_of": [{"contains": "@"}, {"regex": "com$"}]}, "a@b.com", True, "all 2", id="all-of"
    ),
    pytest.param(
        {"all_of": [{"contains": "@"}, {"regex": "org$"}]},
        "a@b.com",
        False,
        "1 of 2 checks failed: regex",
        id="all-of-one-fails",
    ),
    pytest.param({"any_of": [{"email": "a@b.com"}, "x"]}, "A@B.com", True, "", id="any-of"),
    pytest.param(
        {"any_of": [{"equals": 1}, {"equals": 2}]}, 3, False, "none of 2", id="any-of-none"
    ),
]


@pytest.mark.parametrize(("raw", "actual", "passes", "phrase"), CASES)
def test_matcher(raw: Any, actual: Any, passes: bool, phrase: str) -> None:
    _, result = match(check(raw), actual)
    assert result.passed is passes, result.reason
    assert phrase in result.reason
    if "fuzzy" not in str(raw) and "_of" not in str(raw):
        assert result.score == (1.0 if passes else 0.0)


def test_fuzzy_score_is_the_similarity() -> None:
    _, result = match(check({"fuzzy": "Jonathan"}), "Jonathon")
    assert 0.85 <= result.score < 1.0


def test_exact_string_policy_makes_bare_strings_exact() -> None:
    assert not match(check("Jane"), "jane", strings="exact")[1].passed
    assert match(check("Jane"), "Jane", strings="exact")[1].passed


@pytest.mark.parametrize(
    ("value", "strings", "name"),
    [
        pytest.param("x", "normalized", "text", id="string-normalized"),
        pytest.param("x", "exact", "equals", id="string-exact"),
        pytest.param(["x"], "normalized", "set", id="list"),
        pytest.param(3, "normalized", "equals", id="number"),
        pytest.param({"a": 1}, "normalized", "equals", id="object"),
        pytest.param(date(2026, 11, 27), "normalized", "date", id="unquoted-yaml-date"),
    ],
)
def test_default_matcher_for_a_bare_value(value: Any, strings: Any, name: str) -> None:
    assert default_matcher(value, strings) == name


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        pytest.param({"city": "Oslo"}, "found none", id="no-matcher-name"),
        pytest.param({"text": "a", "regex": "b"}, "found text, regex", id="two-matchers"),
        pytest.param({"approx": 1, "tolerance": 2}, "does not take tolerance", id="unknown-option"),
        pytest.param({"email": "a", "abs": 1}, "its options: none", id="option-on-optionless"),
    ],
)
def test_bad_mapping_expectations_say_what_is_valid(raw: Any, phrase: str) -> None:
    with pytest.raises(ValueError, match=r"valid matchers|its options") as info:
        parse_check(raw)
    assert phrase in str(info.value)


CUSTOM = """
from evalkit import MatchResult, custom_check


@custom_check
def iban(actual, country="LT"):
    ok = isinstance(actual, str) and actual.replace(" ", "").startswith(country)
    return ok, f"{actual} is {'an' if ok else 'not an'} {country} IBAN"


@custom_check
def always(actual):
    return MatchResult(True, 0.5, actual, "custom result")


@custom_check
def broken(actual):
    raise RuntimeError("boom")


def unmarked(actual):
    return True
"""


@pytest.fixture
def custom_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`my_checks` beside the suites of the test, imported as loading a suite would."""
    (tmp_path / "my_checks.py").write_text(CUSTOM, encoding="utf-8")
    import_check("my_checks:iban", search=[str(tmp_path)], roots=[os.path.realpath(tmp_path)])
    yield "my_checks"
    sys.modules.pop("my_checks", None)


@pytest.mark.parametrize(
    ("raw", "actual", "passes", "phrase"),
    [
        pytest.param({"python": "my_checks:iban"}, "LT12 1000", True, "is an LT IBAN", id="pair"),
        pytest.param(
            {"python": "my_checks:iban", "args": {"country": "DE"}},
            "LT12",
            False,
            "not an DE IBAN",
            id="args",
        ),
        pytest.param({"python": "my_checks:always"}, "x", True, "custom result", id="result"),
        pytest.param(
            {"python": "my_checks:broken"}, "x", False, "raised RuntimeError", id="raises"
        ),
        pytest.param(
            {"python": "my_checks:unmarked"}, "x", False, "decorate it with", id="unmarked"
        ),
        pytest.param({"python": "os:system"}, "x", False, "not marked as a check", id="os-system"),
        pytest.param({"python": "my_checks:nope"}, "x", False, "has no function", id="no-such"),
        pytest.param({"python": "my_checks:iban"}, MISSING, False, "not extracted", id="missing"),
    ],
)
def test_python_checks_call_only_marked_functions(
    custom_module: str, raw: Any, actual: Any, passes: bool, phrase: str
) -> None:
    _, result = match(check(raw), actual)
    assert result.passed is passes, result.reason
    assert phrase in result.reason


def test_a_python_check_that_cannot_be_resolved_is_a_load_problem(
    custom_module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.eval.yaml").write_text(
        "suite: s\nform: f\nconversations:\n  - id: c\n    turns:\n      - user: hi\n"
        "        expect:\n          iban: {not: {python: 'my_checks:unmarked'}}\n"
    )
    with pytest.raises(SuiteError) as caught:
        load_suite("s.eval.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "s.eval.yaml:8: conversations[0].turns[0].expect.iban: my_checks:unmarked is not "
        "marked as a check; decorate it with @evalkit.custom_check"
    ]


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        pytest.param({"all_of": []}, "non-empty list", id="all-of-empty"),
        pytest.param({"any_of": "x"}, "non-empty list", id="any-of-not-a-list"),
        pytest.param({"not": {"emial": "x"}}, "found none", id="nested-unknown-matcher"),
        pytest.param({"python": "no colon"}, "module:function", id="python-spec"),
    ],
)
def test_bad_composite_and_python_expectations(raw: Any, phrase: str) -> None:
    with pytest.raises(ValueError, match=r".") as info:
        parse_check(raw)
    assert phrase in str(info.value)


def test_checks_serialise_back_to_their_yaml_spelling() -> None:
    raw = {"all_of": [{"regex": "^a", "ignore_case": True}, {"not": {"absent": True}}, "x"]}
    assert check(raw).model_dump() == raw
    assert check({"equals": {"city": "Oslo"}}).model_dump() == {"equals": {"city": "Oslo"}}
