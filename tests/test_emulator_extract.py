"""Rule-based extraction of field values from user messages (pure functions, no server)."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.emulator import Form, load_form
from evalkit.emulator.extract import (
    Context,
    extract,
    find_dates,
    find_emails,
    find_names,
    find_numbers,
    find_options,
    find_phones,
    find_yes_no,
    is_correction,
    parse_number_words,
)

CONTACT = load_form(
    Path(__file__).resolve().parent.parent / "suites" / "forms" / "contact.form.yaml"
)
TODAY = date(2026, 11, 25)


def field(target: str) -> Any:
    found = CONTACT.field(target)
    assert found is not None
    return found


def values(text: str, asked: str | None = None, recent: tuple[str, ...] = ()) -> dict[str, Any]:
    return {e.target: e.value for e in extract(text, CONTACT, Context(asked, recent, TODAY))}


def spans(text: str, asked: str | None = None) -> dict[str, str]:
    return {
        e.target: text[e.start : e.start + e.length]
        for e in extract(text, CONTACT, Context(asked, (), TODAY))
    }


# ----------------------------------------------------------------------------- finders


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("jane@example.com", ["jane@example.com"], id="bare"),
        pytest.param(
            "mail me: Jane.Doe+forms@mail.example.co.uk.",
            ["Jane.Doe+forms@mail.example.co.uk"],
            id="plus-subdomain-trailing-dot",
        ),
        pytest.param("a@b.c and x@y.org", ["x@y.org"], id="one-letter-tld-is-not-an-email"),
        pytest.param("jane@example", [], id="no-tld"),
        pytest.param("jane at example dot com", [], id="spelled-out"),
    ],
)
def test_find_emails(text: str, expected: list[str]) -> None:
    assert [f.value for f in find_emails(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("+1 555 010 2030", "+15550102030", id="country-code-spaces"),
        pytest.param("call me at (555) 010-2030 today", "5550102030", id="parentheses-dash"),
        pytest.param("0044 20 7946 0958", "+442079460958", id="00-prefix"),
        pytest.param("+44 (0)20 7946 0958", "+442079460958", id="trunk-zero"),
        pytest.param("555.010.2030", "5550102030", id="dots"),
    ],
)
def test_find_phones_normalises_to_plus_and_digits(text: str, expected: str) -> None:
    assert [f.value for f in find_phones(text)] == [expected]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("I'm 34", id="age"),
        pytest.param("on 2026-11-25", id="iso-date"),
        pytest.param("12345", id="five-digits"),
        pytest.param("1234567890123456", id="sixteen-digits"),
    ],
)
def test_find_phones_ignores_what_is_not_a_phone(text: str) -> None:
    assert find_phones(text) == []


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        pytest.param("thirty", 30, id="tens"),
        pytest.param("twenty-five", 25, id="hyphenated"),
        pytest.param("forty two", 42, id="spaced"),
        pytest.param("a dozen", 12, id="a-dozen"),
        pytest.param("two dozen", 24, id="two-dozen"),
        pytest.param("half a dozen", 6, id="half-a-dozen"),
        pytest.param("one hundred and five", 105, id="hundred-and"),
        pytest.param("a hundred", 100, id="a-hundred"),
        pytest.param("three thousand two hundred", 3200, id="thousands"),
        pytest.param("Nineteen", 19, id="capitalised"),
        pytest.param("a", None, id="just-a"),
        pytest.param("dozens of", None, id="not-a-number"),
    ],
)
def test_parse_number_words(words: str, expected: int | None) -> None:
    assert parse_number_words(words) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("I'm 34", [34], id="integer"),
        pytest.param("about 2.5 hours", [2.5], id="decimal"),
        pytest.param("1,200 people", [1200], id="thousands-separator"),
        pytest.param("I'm twenty-five, she's thirty", [25, 30], id="words-in-order"),
        pytest.param("3 or a dozen", [3, 12], id="digits-and-words"),
        pytest.param("v2 and jane2@x.com", [], id="inside-words"),
    ],
)
def test_find_numbers(text: str, expected: list[float]) -> None:
    found = find_numbers(text)
    assert [f.value for f in found] == expected
    assert all(type(f.value) is type(e) for f, e in zip(found, expected, strict=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("yes", True, id="yes"),
        pytest.param("Sure, why not", True, id="sure"),
        pytest.param("I agree", True, id="i-agree"),
        pytest.param("of course!", True, id="of-course"),
        pytest.param("y", True, id="single-y"),
        pytest.param("no", False, id="no"),
        pytest.param("No thanks.", False, id="no-thanks"),
        pytest.param("nope", False, id="nope"),
        pytest.param("I don't agree", False, id="negated-agree"),
        pytest.param("I’d rather not", False, id="curly-apostrophe"),
    ],
)
def test_find_yes_no(text: str, expected: bool) -> None:
    assert find_yes_no(text.replace("’", "'"))[0].value is expected
    assert values(text, asked="newsletter") == {"newsletter": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Phone call", ["phone_call"], id="label"),
        pytest.param("text_message", ["text_message"], id="value"),
        pytest.param("SMS is fine", ["text_message"], id="synonym-any-case"),
        pytest.param("just ring me", ["phone_call"], id="synonym-word"),
        pytest.param("a text message", ["text_message"], id="longest-wins"),
        pytest.param("email or a call", ["email", "phone_call"], id="several-in-order"),
        pytest.param("gmail is my provider", [], id="not-inside-words"),
    ],
)
def test_find_options_by_value_label_or_synonym(text: str, expected: list[str]) -> None:
    assert [f.value for f in find_options(text, field("contact_method"))] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Hi, I'm Jane Doe, hi", ("Jane", "Doe"), id="im-full"),
        pytest.param("I am Jane and I like yoga", ("Jane", None), id="i-am-first"),
        pytest.param("my name is jane doe", ("Jane", "Doe"), id="lowercase-after-my-name-is"),
        pytest.param("you can call me Al", ("Al", None), id="call-me"),
        pytest.param("This is José Álvarez", ("José", "Álvarez"), id="accents"),
        pytest.param("I'm interested in yoga", None, id="not-a-name"),
        pytest.param("I'm Sorry about that", None, id="capitalised-non-name"),
        pytest.param("call me at 555 010 2030", None, id="call-me-at"),
        pytest.param("I'm Jane from Berlin", ("Jane", None), id="stops-at-from"),
        pytest.param(
            "My name is Dr. Anna-Maria O'Neil",
            ("Anna-Maria", "O'Neil"),
            id="title-hyphen-apostrophe",
        ),
        pytest.param("I am Mr. Smith", ("Smith", None), id="title-is-not-the-first-name"),
        pytest.param("this is Prof Li Wei", ("Li", "Wei"), id="title-without-dot"),
        pytest.param("Hi, I'm Mrs Jones", ("Jones", None), id="title-mrs"),
        pytest.param("Ms. Kim here; I'm Ms. Kim Lee", ("Kim", "Lee"), id="title-ms"),
        pytest.param("I'm Jan van der Berg", ("Jan", "van der Berg"), id="particles-van-der"),
        pytest.param(
            "my name is ludwig von beethoven", ("Ludwig", "von Beethoven"), id="particle-von"
        ),
        pytest.param("I'm Maria de la Cruz", ("Maria", "de la Cruz"), id="particles-de-la"),
        pytest.param("my name is anna-maria", ("Anna-Maria", None), id="hyphen-capitalised"),
        pytest.param("I'm Jane's mother", ("Jane", None), id="possessive-is-not-a-name"),
        pytest.param("I'm Jane and", ("Jane", None), id="and-is-not-a-surname"),
    ],
)
def test_find_names(text: str, expected: tuple[str, str | None] | None) -> None:
    found = find_names(text)
    if expected is None:
        assert found == []
        return
    first, last = found[0]
    assert (first.value, last.value if last else None) == expected


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        pytest.param("on 2027-03-01", None, ["2027-03-01"], id="iso"),
        pytest.param("1st of March 1990", None, ["1990-03-01"], id="day-month-year"),
        pytest.param("Sept 3, 2026", None, ["2026-09-03"], id="month-day-year"),
        pytest.param("March 3", TODAY, ["2026-03-03"], id="year-from-today"),
        pytest.param("March 3", None, [], id="no-year-no-today"),
        pytest.param("tomorrow", TODAY, ["2026-11-26"], id="tomorrow"),
        pytest.param("yesterday", TODAY, ["2026-11-24"], id="yesterday"),
        pytest.param("February 30 2026", None, [], id="impossible-date"),
    ],
)
def test_find_dates(text: str, today: date | None, expected: list[str]) -> None:
    assert [f.value for f in find_dates(text, today)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("actually, it's 26", True, id="actually"),
        pytest.param("Sorry, it's Smith", True, id="sorry"),
        pytest.param("I meant jane@example.org", True, id="i-meant"),
        pytest.param("Oops - wrong one", True, id="oops"),
        pytest.param("It is actually 26", False, id="not-at-start"),
        pytest.param("sorryful", False, id="prefix-of-word"),
    ],
)
def test_is_correction(text: str, expected: bool) -> None:
    assert is_correction(text) is expected


# ----------------------------------------------------------------------------- extract


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        pytest.param(
            "Hi, I'm Jane Doe, jane@example.com",
            "first_name",
            {"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com"},
            id="intro-with-email",
        ),
        pytest.param("Jane", "first_name", {"first_name": "Jane"}, id="free-text-name"),
        pytest.param(
            "It's noor haddad",
            "first_name",
            {"first_name": "Noor", "last_name": "Haddad"},
            id="free-text-full-name-is-split",
        ),
        pytest.param("Haddad.", "last_name", {"last_name": "Haddad"}, id="free-text-last-name"),
        pytest.param(
            "My name is Dr. Anna-Maria O'Neil",
            None,
            {"first_name": "Anna-Maria", "last_name": "O'Neil"},
            id="intro-with-title",
        ),
        pytest.param(
            "Dr. Anna-Maria O'Neil",
            "first_name",
            {"first_name": "Anna-Maria", "last_name": "O'Neil"},
            id="free-text-name-with-title",
        ),
        pytest.param(
            "jan van der berg",
            "first_name",
            {"first_name": "Jan", "last_name": "van der Berg"},
            id="free-text-name-with-particles",
        ),
        pytest.param("hello", "first_name", {}, id="greeting-is-not-a-name"),
        pytest.param("yes", "first_name", {}, id="yes-is-not-a-name"),
        pytest.param(
            "I'm thirty-two years old", "contact_method", {"age": 32}, id="age-words-by-keyword"
        ),
        pytest.param("a dozen", "age", {"age": 12}, id="asked-number-words"),
        pytest.param("I have 3 kids", "contact_method", {}, id="number-without-cue"),
        pytest.param("my age is 40", None, {"age": 40}, id="explicit-mention"),
        pytest.param(
            "sms please", "contact_method", {"contact_method": "text_message"}, id="asked-select"
        ),
        pytest.param(
            "please contact me by text",
            None,
            {"contact_method": "text_message"},
            id="select-by-keyword",
        ),
        pytest.param(
            "My email is a@example.com, but prefer a call",
            "contact_method",
            {"email": "a@example.com", "contact_method": "phone_call"},
            id="field-name-does-not-pick-option",
        ),
        pytest.param(
            "I'm into running, lifting and diet",
            None,
            {"interests": ["running", "strength", "nutrition"]},
            id="multi-select",
        ),
        pytest.param(
            "all of them",
            "interests",
            {"interests": ["yoga", "pilates", "strength", "nutrition", "running"]},
            id="multi-select-all",
        ),
        pytest.param(
            "rock climbing",
            "interests",
            {"interests": ["rock climbing"]},
            id="multi-select-custom-value",
        ),
        pytest.param("carrier pigeon", "contact_method", {}, id="no-custom-value"),
        pytest.param(
            "sign me up for the newsletter", None, {"newsletter": True}, id="consent-keyword"
        ),
        pytest.param(
            "hi, I'm Kim. no newsletter please",
            None,
            {"first_name": "Kim", "newsletter": False},
            id="consent-keyword-negated",
        ),
        pytest.param(
            "my phone number is +44 20 7946 0958",
            None,
            {"phone": "+442079460958"},
            id="phone-explicit",
        ),
    ],
)
def test_extract(text: str, asked: str | None, expected: dict[str, Any]) -> None:
    assert values(text, asked) == expected


@pytest.mark.parametrize(
    ("text", "asked", "recent", "expected"),
    [
        pytest.param(
            "sorry, it's 26",
            "contact_method",
            ("email", "age"),
            {"age": 26},
            id="number-for-last-filled-field",
        ),
        pytest.param(
            "Actually, it's Smith",
            "contact_method",
            ("last_name",),
            {"last_name": "Smith"},
            id="text-for-last-filled-field",
        ),
        pytest.param(
            "actually, my email is jo@example.org",
            "newsletter",
            ("age",),
            {"email": "jo@example.org"},
            id="named-field",
        ),
        pytest.param(
            "Actually my last name is Smith",
            "newsletter",
            (),
            {"last_name": "Smith"},
            id="named-text-field",
        ),
        pytest.param("it's 26", "contact_method", ("age",), {}, id="not-a-correction"),
    ],
)
def test_corrections(
    text: str, asked: str, recent: tuple[str, ...], expected: dict[str, Any]
) -> None:
    assert values(text, asked, recent) == expected


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        pytest.param("I'm 52, sorry, I meant 25", "age", {"age": 25}, id="number"),
        pytest.param(
            "jane@exmaple.com, sorry, I mean jane@example.com",
            "email",
            {"email": "jane@example.com"},
            id="email",
        ),
        pytest.param(
            "Jane Doe, oops, sorry, I meant Jana",
            "first_name",
            {"first_name": "Jana", "last_name": "Doe"},
            id="the-asked-field-of-two",
        ),
        pytest.param(
            "I'm Jane, 52 years old, sorry, I meant 25",
            "first_name",
            {"first_name": "Jane", "age": 25},
            id="the-last-value-when-not-the-asked-one",
        ),
        pytest.param(
            "by phone, sorry, I meant by email",
            "contact_method",
            {"contact_method": "email"},
            id="option",
        ),
        pytest.param("I'm sorry, I mean it", "first_name", {}, id="no-value-before-it"),
    ],
)
def test_a_value_said_again_after_sorry_i_meant_wins(
    text: str, asked: str, expected: dict[str, Any]
) -> None:
    """A correction inside one message, as people type it (and the `correction` variant)."""
    assert values(text, asked) == expected


def test_many_values_said_again_in_one_message_are_each_read_once() -> None:
    """Each `sorry, I meant` is read once: 60 of them in a message take no longer than 60."""
    text = "I'm 20" + "".join(f", sorry, I meant {n}" for n in range(21, 81))
    assert values(text, "age") == {"age": 80}


def test_spans_point_at_the_words_each_value_came_from() -> None:
    text = "Hi, I'm Jane Doe, jane@example.com, 34 years old, prefer texts, no newsletter"
    assert spans(text, "first_name") == {
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane@example.com",
        "age": "34",
        "contact_method": "texts",
        "newsletter": "no newsletter",
    }


def test_extractions_come_in_the_order_of_the_message() -> None:
    found = extract("jane@example.com, I'm Jane", CONTACT, Context("first_name"))
    assert [e.target for e in found] == ["email", "first_name"]


@pytest.mark.parametrize(
    ("text", "asked", "rejected"),
    [
        pytest.param("I'm Zoe, zoe@example", None, "zoe@example", id="no-tld"),
        pytest.param("zoe at example dot com", "email", "zoe at example dot com", id="spelled-out"),
        pytest.param("555 01", "phone", "555 01", id="too-few-digits"),
    ],
)
def test_malformed_values_are_returned_with_a_problem(
    text: str, asked: str | None, rejected: str
) -> None:
    bad = [e for e in extract(text, CONTACT, Context(asked)) if e.problem]
    assert len(bad) == 1
    assert bad[0].value == rejected
    assert text[bad[0].start : bad[0].start + bad[0].length] == rejected


def test_a_bare_phrase_without_at_is_not_an_email_attempt_unless_asked() -> None:
    assert values("meet me at noon dot com", "first_name") == {}


TEXT_FORM = Form.model_validate(
    {
        "key": "feedback",
        "id": "22222222-3333-4444-8555-666666666666",
        "name": "Feedback",
        "greeting": "Hi.",
        "fields": [
            {"target": "comment", "label": "Comment", "type": "text", "required": True},
            {
                "target": "visit",
                "label": "Visit date",
                "type": "date",
                "keywords": ["visited", "came"],
            },
        ],
    }
)


def test_a_text_field_takes_the_whole_message_when_nothing_else_matched() -> None:
    text = "Sure: the staff were lovely, but the room was cold."
    found = extract(text, TEXT_FORM, Context("comment"))
    assert [(e.target, e.value) for e in found] == [
        ("comment", "the staff were lovely, but the room was cold")
    ]


def test_a_relative_date_uses_the_users_today() -> None:
    found = extract("we came yesterday", TEXT_FORM, Context("comment", (), TODAY))
    assert [(e.target, e.value) for e in found] == [("visit", "2026-11-24")]


PIECES = [*"aeiJ@.-+ ,'0123456789", "yes", "no ", "I'm ", "my email is ", "sorry, ", "twenty"]


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from(PIECES), max_size=24).map("".join),
    ),
    asked=st.sampled_from([None, *(f.target for f in CONTACT.fields)]),
)
def test_extract_never_fails_and_spans_stay_inside_the_message(
    text: str, asked: str | None
) -> None:
    found = extract(text, CONTACT, Context(asked, ("age",), TODAY))
    assert len({e.target for e in found}) == len(found)
    for item in found:
        assert item.start >= 0
        assert item.start + item.length <= len(text)
    ordered = sorted((e.start, e.start + e.length) for e in found)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(ordered))
