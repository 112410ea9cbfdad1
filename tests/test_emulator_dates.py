"""Dates, times and behaviour switches in extraction: pure finders, then the session's clock."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.emulator import Form, load_form
from evalkit.emulator.dialogue import Session, reply
from evalkit.emulator.extract import Context, extract, find_dates, find_options, find_times
from evalkit.emulator.finders import find_phones
from evalkit.emulator.forms import Behaviour
from evalkit.protocol import ClientTime

FORMS = Path(__file__).resolve().parent.parent / "suites" / "forms"
BOOKING = load_form(FORMS / "booking.form.yaml")
CONTACT = load_form(FORMS / "contact.form.yaml")
EVENT = load_form(FORMS / "event.form.yaml")
WEDNESDAY = date(2026, 11, 25)


def values(
    form: Form, text: str, asked: str | None, recent: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {e.target: e.value for e in extract(text, form, Context(asked, recent, WEDNESDAY))}


def switched(form: Form, **off: bool) -> Form:
    return form.model_copy(update={"behaviour": Behaviour(**off)})


# ----------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("text", "expected", "said"),
    [
        pytest.param("see you at 3pm", "15:00", "3pm", id="pm"),
        pytest.param("9 am works", "09:00", "9 am", id="am-spaced"),
        pytest.param("3:15 p.m.", "15:15", "3:15 p.m.", id="pm-dotted"),
        pytest.param("12am", "00:00", "12am", id="midnight-am"),
        pytest.param("12pm", "12:00", "12pm", id="noon-pm"),
        pytest.param("15:30", "15:30", "15:30", id="24-hour"),
        pytest.param("at 10.30", "10:30", "10.30", id="dot-separator"),
        pytest.param("14h00", "14:00", "14h00", id="h-separator"),
        pytest.param("15:00 pm", "15:00", "15:00 pm", id="24-hour-with-pm"),
        pytest.param("2:30", "02:30", "2:30", id="no-marker-is-read-as-written"),
        pytest.param("half past two", "02:30", "half past two", id="half-past"),
        pytest.param(
            "half past two in the afternoon",
            "14:30",
            "half past two in the afternoon",
            id="half-past-afternoon",
        ),
        pytest.param("quarter to four", "03:45", "quarter to four", id="quarter-to"),
        pytest.param("a quarter past 7", "07:15", "a quarter past 7", id="quarter-past-digit"),
        pytest.param("ten past nine tonight", "21:10", "ten past nine tonight", id="tonight"),
        pytest.param("twenty-five to eleven", "10:35", "twenty-five to eleven", id="minutes-to"),
        pytest.param("quarter to one", "12:45", "quarter to one", id="to-one-is-twelve"),
        pytest.param("three o'clock", "03:00", "three o'clock", id="oclock-word"),
        pytest.param("4 oclock in the evening", "16:00", "4 oclock in the evening", id="oclock"),
        pytest.param("8:30 in the morning", "08:30", "8:30 in the morning", id="morning"),
        pytest.param("8:30 in the evening", "20:30", "8:30 in the evening", id="evening"),
        pytest.param("around noon", "12:00", "noon", id="noon"),
        pytest.param("midnight", "00:00", "midnight", id="midnight"),
    ],
)
def test_find_times(text: str, expected: str, said: str) -> None:
    found = find_times(text)
    assert [f.value for f in found] == [expected]
    assert text[found[0].start : found[0].end] == said


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("15.03.2026", id="dotted-date"),
        pytest.param("about 2.5 hours", id="decimal"),
        pytest.param("version 1.2.3", id="version"),
        pytest.param("I have 2 kids", id="bare-number"),
        pytest.param("25:00", id="hour-25"),
        pytest.param("quarter to", id="no-hour"),
        pytest.param("sixty past two", id="sixty-minutes"),
    ],
)
def test_find_times_ignores_what_is_not_a_time(text: str) -> None:
    assert find_times(text) == []


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("tomorrow", "2026-11-26", id="tomorrow"),
        pytest.param("the day after tomorrow", "2026-11-27", id="day-after-tomorrow"),
        pytest.param("today", "2026-11-25", id="today"),
        pytest.param("Friday", "2026-11-27", id="weekday-this-week"),
        pytest.param("next Friday", "2026-11-27", id="next-weekday-is-the-coming-one"),
        pytest.param("this coming Friday", "2026-11-27", id="this-coming"),
        pytest.param("this Monday", "2026-11-30", id="this-monday-is-ahead"),
        pytest.param("on Tuesday", "2026-12-01", id="on-weekday"),
        pytest.param("Wednesday", "2026-11-25", id="todays-weekday-is-today"),
        pytest.param("next Wednesday", "2026-12-02", id="next-todays-weekday-is-a-week-on"),
        pytest.param("in 3 days", "2026-11-28", id="in-days"),
        pytest.param("in a week", "2026-12-02", id="in-a-week"),
        pytest.param("in 2 weeks", "2026-12-09", id="in-weeks"),
        pytest.param("the 25th", "2026-11-25", id="day-of-month-today"),
        pytest.param("on the 15th", "2026-12-15", id="day-of-month-next-month"),
        pytest.param("the 31st", "2026-12-31", id="day-of-month-skips-short-month"),
    ],
)
def test_relative_dates_resolve_against_the_users_today(text: str, expected: str) -> None:
    assert [f.value for f in find_dates(text, WEDNESDAY)] == [expected]
    assert find_dates(text, WEDNESDAY, relative=False) == []
    assert find_dates(text, None) == []


def test_the_31st_in_december_rolls_into_the_next_year() -> None:
    assert [f.value for f in find_dates("the 1st", date(2026, 12, 31))] == ["2027-01-01"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-03-15", ["2026-03-15"], id="iso"),
        pytest.param("15.03.2026", ["2026-03-15"], id="d.m.y"),
        pytest.param("5.3.2026", ["2026-03-05"], id="d.m.y-single-digits"),
        pytest.param("15-03-2026", ["2026-03-15"], id="d-m-y"),
        pytest.param("3/15/2026", ["2026-03-15"], id="m/d/y"),
        pytest.param("3/4/2026", ["2026-03-04"], id="m/d/y-ambiguous-is-month-first"),
        pytest.param("15/03/2026", ["2026-03-15"], id="d/m/y-when-not-a-month"),
        pytest.param("3/15/26", ["2026-03-15"], id="two-digit-year"),
        pytest.param("15.03.26", ["2026-03-15"], id="two-digit-year-dotted"),
        pytest.param("from 1.2.2026 to 3.2.2026", ["2026-02-01", "2026-02-03"], id="two"),
        pytest.param("31/31/2026", [], id="no-month"),
        pytest.param("2/30/2026", [], id="impossible-day"),
        pytest.param("15.03/2026", [], id="mixed-separators"),
        pytest.param("1.2.3.4", [], id="version-number"),
        pytest.param("On 15-12-2026.", ["2026-12-15"], id="ends-a-sentence"),
        pytest.param("On 12/15/2026...", ["2026-12-15"], id="before-an-ellipsis"),
        pytest.param("On 15.12.2026. Thanks", ["2026-12-15"], id="dotted-ends-a-sentence"),
    ],
)
def test_numeric_dates(text: str, expected: list[str]) -> None:
    assert [f.value for f in find_dates(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("on 15.03.2026", [], id="dotted-date"),
        pytest.param("3/15/2026", [], id="slashed-date"),
        pytest.param("2026-03-15 10:30", [], id="iso-date-and-time"),
        pytest.param("+44 12.34.5678", ["+4412345678"], id="dotted-phone-not-a-date"),
        pytest.param("15/03/2026 or +370 612 34567", ["+37061234567"], id="date-then-phone"),
    ],
)
def test_a_date_is_not_a_phone_number(text: str, expected: list[str]) -> None:
    assert [f.value for f in find_phones(text)] == expected


# ----------------------------------------------------------------------------- in a form


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        pytest.param(
            "a haircut tomorrow at 3pm",
            "service",
            {"service": "haircut", "date": "2026-11-26", "time": "15:00"},
            id="date-and-time-while-service-asked",
        ),
        pytest.param(
            "Monday at half past two in the afternoon",
            "date",
            {"date": "2026-11-30", "time": "14:30"},
            id="time-in-words-while-date-asked",
        ),
        pytest.param(
            "Haircut on 15.12.2026 at 10:00, my mobile is +370 612 34567",
            "service",
            {"service": "haircut", "date": "2026-12-15", "time": "10:00", "phone": "+37061234567"},
            id="date-time-and-phone",
        ),
        pytest.param(
            "Actually, make it 4pm", "name", {"time": "16:00"}, id="time-correction-anywhere"
        ),
        pytest.param(
            "Please use the side entrance.",
            "notes",
            {"notes": "Please use the side entrance"},
            id="free-text-keeps-please",
        ),
        pytest.param(
            "Sure: bring photos", "notes", {"notes": "bring photos"}, id="free-text-interjection"
        ),
    ],
)
def test_booking_extraction(text: str, asked: str, expected: dict[str, Any]) -> None:
    assert values(BOOKING, text, asked) == expected


TWO_DATES = Form.model_validate(
    {
        "key": "trip",
        "id": "33333333-4444-4555-8666-777777777777",
        "name": "Trip",
        "greeting": "Hi.",
        "fields": [
            {"target": "destination", "label": "Destination", "type": "text"},
            {"target": "leave", "label": "Departure", "type": "date", "keywords": ["leave"]},
            {"target": "back", "label": "Return", "type": "date", "keywords": ["back"]},
        ],
    }
)


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        pytest.param(
            "Lisbon, on Friday",
            "destination",
            {"destination": "Lisbon, on Friday"},
            id="no-cue-no-date",
        ),
        pytest.param("Friday", "back", {"back": "2026-11-27"}, id="asked"),
        pytest.param(
            "leave Friday, back on Monday",
            None,
            {"leave": "2026-11-27", "back": "2026-11-30"},
            id="each-by-its-keyword",
        ),
    ],
)
def test_with_two_date_fields_a_date_needs_the_question_or_a_keyword(
    text: str, asked: str | None, expected: dict[str, Any]
) -> None:
    assert values(TWO_DATES, text, asked) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("two full passes and a t-shirt", ["full_pass", "tshirt"], id="plural-es"),
        pytest.param("2 day passes and two kits", ["day_pass", "workshop_kit"], id="plural-s"),
        pytest.param("a passenger seat", [], id="not-a-plural"),
    ],
)
def test_options_are_named_in_the_plural_too(text: str, expected: list[str]) -> None:
    passes = EVENT.field("passes")
    assert passes is not None
    assert [f.value for f in find_options(text, passes)] == expected


# ----------------------------------------------------------------------------- behaviour switches


@pytest.mark.parametrize(
    ("form", "switch", "text", "asked", "recent", "on", "off"),
    [
        pytest.param(
            BOOKING,
            "relative_dates",
            "tomorrow at 3pm",
            "date",
            (),
            {"date": "2026-11-26", "time": "15:00"},
            {"time": "15:00"},
            id="relative-dates-tomorrow",
        ),
        pytest.param(
            BOOKING,
            "relative_dates",
            "next Friday",
            "date",
            (),
            {"date": "2026-11-27"},
            {},
            id="relative-dates-weekday",
        ),
        pytest.param(
            BOOKING,
            "relative_dates",
            "15.12.2026",
            "date",
            (),
            {"date": "2026-12-15"},
            {"date": "2026-12-15"},
            id="relative-dates-off-keeps-absolute",
        ),
        pytest.param(
            CONTACT,
            "synonyms",
            "sms please",
            "contact_method",
            (),
            {"contact_method": "text_message"},
            {},
            id="synonyms-sms",
        ),
        pytest.param(
            BOOKING,
            "synonyms",
            "some highlights",
            "service",
            (),
            {"service": "colour"},
            {},
            id="synonyms-highlights",
        ),
        pytest.param(
            CONTACT,
            "synonyms",
            "A text message",
            "contact_method",
            (),
            {"contact_method": "text_message"},
            {"contact_method": "text_message"},
            id="synonyms-off-keeps-labels",
        ),
        pytest.param(
            CONTACT,
            "corrections",
            "sorry, it's 26",
            "contact_method",
            ("email", "age"),
            {"age": 26},
            {},
            id="corrections-number",
        ),
        pytest.param(
            CONTACT,
            "corrections",
            "Actually, it's Smith",
            "newsletter",
            ("last_name",),
            {"last_name": "Smith"},
            {},
            id="corrections-text",
        ),
        pytest.param(
            CONTACT,
            "corrections",
            "actually, my email is jo@example.org",
            "newsletter",
            ("age",),
            {"email": "jo@example.org"},
            {"email": "jo@example.org"},
            id="corrections-off-keeps-named-fields",
        ),
    ],
)
def test_each_behaviour_switch_turns_off_only_its_own_reading(
    form: Form,
    switch: str,
    text: str,
    asked: str,
    recent: tuple[str, ...],
    on: dict[str, Any],
    off: dict[str, Any],
) -> None:
    assert values(form, text, asked, recent) == on
    assert values(switched(form, **{switch: False}), text, asked, recent) == off


# ----------------------------------------------------------------------------- the session's clock


@pytest.mark.parametrize(
    ("current_time", "zone", "today"),
    [
        pytest.param("2026-11-26T22:30:00Z", "Europe/Vilnius", date(2026, 11, 27), id="east"),
        pytest.param("2026-11-26T22:30:00Z", None, date(2026, 11, 26), id="no-zone-is-utc"),
        pytest.param("2026-11-27T03:00:00Z", "America/New_York", date(2026, 11, 26), id="west"),
        pytest.param("2026-11-27T03:00:00+00:00", "Nowhere/Else", date(2026, 11, 27), id="bad"),
        pytest.param("2026-11-26T23:30:00", "Asia/Tokyo", date(2026, 11, 26), id="naive-local"),
        pytest.param("not a time", "Europe/Vilnius", None, id="unreadable"),
    ],
)
def test_the_users_date_is_the_client_time_in_its_zone(
    current_time: str, zone: str | None, today: date | None
) -> None:
    session = Session(
        "s", BOOKING, client_time=ClientTime(current_time=current_time, time_zone=zone)
    )
    assert session.today == today


@pytest.mark.parametrize(
    ("zone", "tomorrow", "friday"),
    [
        pytest.param("Europe/Vilnius", "2026-11-28", "2026-11-27", id="already-friday-in-vilnius"),
        pytest.param("UTC", "2026-11-27", "2026-11-27", id="still-thursday-in-utc"),
        pytest.param("America/Los_Angeles", "2026-11-27", "2026-11-27", id="thursday-in-la"),
    ],
)
def test_a_session_reads_relative_dates_in_its_time_zone(
    zone: str, tomorrow: str, friday: str
) -> None:
    clock = ClientTime(current_time="2026-11-26T22:30:00Z", time_zone=zone)
    found = []
    for text in ("tomorrow", "Friday"):
        session = Session("s", BOOKING, client_time=clock, asked="date")
        chunks = reply(session, text, None)
        found += [c.text_data_details.value for c in chunks if c.text_data_details is not None]
    assert found == [tomorrow, friday]


PIECES = [
    *" ,./:-0123456789",
    "half past ", "quarter to ", "two", "twelve", " o'clock", "pm", " in the afternoon",
    "tomorrow", "next Friday", "the 15th", "15.03.2026", "3/15/26", "+370 612 34567",
    "haircut", "I'm Jo Li", "actually, ",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=40), st.lists(st.sampled_from(PIECES), max_size=16).map("".join)
    ),
    asked=st.sampled_from([None, *(f.target for f in BOOKING.fields)]),
)
def test_booking_extraction_never_fails_and_values_are_well_formed(
    text: str, asked: str | None
) -> None:
    for item in extract(text, BOOKING, Context(asked, ("time",), WEDNESDAY)):
        assert 0 <= item.start <= item.start + item.length <= len(text)
        if item.target == "date":
            date.fromisoformat(str(item.value))
        elif item.target == "time":
            hour, minute = map(int, str(item.value).split(":"))
            assert (0 <= hour < 24, 0 <= minute < 60) == (True, True), item
