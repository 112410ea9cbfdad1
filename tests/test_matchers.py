"""Every matcher, table-driven: what passes, what fails, and the reason a user reads."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from evalkit.matchers import MATCHERS, MISSING, default_matcher, match
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
]


@pytest.mark.parametrize(("raw", "actual", "passes", "phrase"), CASES)
def test_matcher(raw: Any, actual: Any, passes: bool, phrase: str) -> None:
    _, result = match(check(raw), actual)
    assert result.passed is passes, result.reason
    assert phrase in result.reason
    if "fuzzy" not in str(raw):
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
