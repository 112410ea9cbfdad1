"""The emulator's conversation policy: greeting, acknowledgement, questions, validation, submission.

A `Session` holds one conversation's state; `open_session` and `reply` turn a request into the list
of response chunks, deterministically (the same form, values, messages and noise seed give the same
chunks).

The shape of a turn's response::

    TEXT_DATA ...        one per field extracted from the message (with `meaningfulInput`)
    IMPORTANT_TEXT ...   one per value that failed validation (not stored)
    TEXT                 acknowledgement ("Thanks! I've noted your email.")
    SEPARATOR
    TEXT                 the next question: the first required field without a value
    *_INPUT              a select or number prompt, when the field calls for one
    DEBUG                what was extracted, rejected and disturbed (only when asked for)
    END_OF_RESPONSE      success: true (false after an ERROR)

Once every required field has a value, the question is replaced by a closing TEXT and a SUBMISSION
chunk; in a dry run the submission id (and the checkout id of a form with products) is all zeros,
so it cannot be mistaken for a real one.

With `Noise`, an extracted field may be dropped (no TEXT_DATA, not stored) or garbled (a wrong
value, stored as if it were right), decided by the session's number, the turn and the field.

Under `shuffled` (asking like a language model) a complete form is summed up and confirmed before
it is submitted ("yes" submits; a correction is applied and summed up again; "no" asks what to
change), so a correction of the last answer still counts. Planted defects (`defects.py`) change
what is stored, what is asked again and whether it submits.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from evalkit.emulator import chunks as make
from evalkit.emulator.chunks import display_value, number
from evalkit.emulator.defects import Planted
from evalkit.emulator.extract import Context, Extraction, extract
from evalkit.emulator.faults import Noise, garble, unit
from evalkit.emulator.finders import find_yes_no, is_declining
from evalkit.emulator.forms import Form, FormField
from evalkit.protocol import ClientTime, ResponseChunk

__all__ = [
    "DRY_RUN_SUBMISSION_ID",
    "AskOrder",
    "Session",
    "display_value",
    "open_session",
    "reply",
    "validate",
]

DRY_RUN_SUBMISSION_ID = "00000000-0000-0000-0000-000000000000"
"""The submission (and checkout) id of a dry run: visibly not a real one."""

_SUBMISSION_NAMESPACE = uuid.UUID("6f1d3c2e-7a4b-4c5d-8e9f-0a1b2c3d4e5f")

AskOrder = Literal["form", "shuffled"]
"""The order the assistant asks the missing fields in: the form's, or a seeded one per session."""

# The other ways a shuffled session phrases a question ({label}: the field's label, lowercased).
_PHRASINGS = (
    "Could you tell me your {label}?",
    "And what's your {label}?",
    "Next, I'll need your {label}. What is it?",
)
_CONFIRMATIONS = ("Shall I send it?", "Is that all correct? Shall I submit it?", "Can I send it?")


@dataclass
class Session:
    """One conversation's state.

    Attributes:
        id: The session id.
        form: The form being filled in.
        dry_run: No real submission is made; the submission id is all zeros.
        client_time: The caller's clock, for relative dates.
        values: Field values so far, by target (prefill, `currentValues`, extractions).
        asked: The target of the field asked for last, or None.
        recent: Targets extracted in the last turn that extracted anything (for corrections).
        submitted: Whether the SUBMISSION chunk has been sent.
        number: The session's 0-based number in creation order.
        key: What its noise is keyed on: its creation trace, or its number as text.
        turns: User messages answered so far.
        noise: Extraction noise, or None.
        debug: Add a DEBUG chunk before END_OF_RESPONSE.
        ask_order: `form` (the form's order and questions) or `shuffled` (a seeded order per
            session, several phrasings per question).
        seed: The seed of the shuffled order and phrasings.
        planted: The defects planted in this emulator (none by default).
        re_asked: Fields asked again by the `re-ask` defect (each once).
        confirming: The assistant has summed up and waits for a confirmation (`shuffled`).
        confirmed: The user confirmed: the next step submits.
        last_seen: When the session was last used (monotonic seconds), for expiry.
    """

    id: str
    form: Form
    dry_run: bool = False
    client_time: ClientTime | None = None
    values: dict[str, Any] = field(default_factory=dict)
    asked: str | None = None
    recent: tuple[str, ...] = ()
    submitted: bool = False
    number: int = 0
    key: str = "0"
    turns: int = 0
    noise: Noise | None = None
    debug: bool = False
    ask_order: AskOrder = "form"
    seed: int = 0
    planted: Planted = field(default_factory=Planted)
    re_asked: list[str] = field(default_factory=list)
    confirming: bool = False
    confirmed: bool = False
    last_seen: float = 0.0

    @property
    def today(self) -> date | None:
        """The user's date from `clientTime` (in its time zone), or None without a clock."""
        if self.client_time is None:
            return None
        try:
            moment = datetime.fromisoformat(self.client_time.current_time.replace("Z", "+00:00"))
        except ValueError:
            return None
        try:
            zone = ZoneInfo(self.client_time.time_zone) if self.client_time.time_zone else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        return (moment.astimezone(zone) if zone and moment.tzinfo else moment).date()

    def apply(self, current_values: dict[str, Any] | None) -> list[str]:
        """Store `currentValues` for the form's fields, ignoring other keys; return the targets."""
        known = [k for k in current_values or {} if self.form.field(k) is not None]
        for target in known:
            self.values[target] = (current_values or {})[target]
        return known


def open_session(session: Session, current_values: dict[str, Any] | None) -> list[ResponseChunk]:
    """Start a conversation: greeting, the pre-filled values echoed back, the first question.

    Args:
        session: A new session.
        current_values: Values to pre-fill (`currentValues` of the create request).

    Returns:
        The chunks of the create response, ending with END_OF_RESPONSE.
    """
    chunks = [make.text(session.form.greeting)]
    prefilled = session.apply(current_values)
    for target in prefilled:
        form_field = session.form.field(target)
        if form_field is not None:
            chunks.append(make.text_data(form_field, session.values[target], None))
    chunks = [*chunks, make.separator(), *_next_step(session, None)]
    return _with_debug(session, chunks, {"prefilled": prefilled})


def reply(
    session: Session, text: str | None, current_values: dict[str, Any] | None
) -> list[ResponseChunk]:
    """Answer one user message.

    Args:
        session: The session; its state is updated.
        text: The user's message (None when only `currentValues` were sent).
        current_values: Values that replace existing ones before the message is read.

    Returns:
        The chunks of the response, ending with END_OF_RESPONSE.
    """
    session.turns += 1
    if session.submitted:
        closed = make.text("This form has already been submitted. Thanks again!")
        return [closed, make.end(success=True)]
    session.apply(current_values)
    if text is not None and not text.strip() and not current_values:
        error = make.error("I didn't receive a message. Could you try again?")
        return [error, make.end(success=False)]
    found = extract(text, session.form, _context(session)) if text else []
    found, disturbed = _disturb(session, found)
    if session.confirming and text and not found:
        return _with_debug(session, _confirmation(session, text), {"confirmation": text})
    chunks: list[ResponseChunk] = []
    rejected: list[FormField] = []
    noted: list[str] = []
    stored: list[str] = []
    for item in found:
        form_field = session.form.field(item.target)
        if form_field is None:
            continue
        value = _typed(form_field, item.value)
        problem = item.problem or validate(form_field, value)
        if problem is not None:
            rejected.append(form_field)
            chunks.append(make.important(form_field, f"{problem}. {make.rule(form_field)}".strip()))
            continue
        value = session.planted.stored(form_field.type, value)
        session.values[form_field.target] = value
        stored.append(form_field.target)
        noted.append(form_field.label[:1].lower() + form_field.label[1:])
        chunks.append(make.text_data(form_field, value, item))
    if found:
        session.recent = tuple(e.target for e in found)
    if noted:
        chunks.append(make.text(f"Thanks! I've noted your {make.join(noted)}."))
    elif text and not rejected and is_declining(text):
        chunks.append(make.text("No problem."))
    elif text and not rejected:
        asked = session.form.field(session.asked) if session.asked else None
        chunks.append(make.text("Sorry, I didn't quite catch that."))
        if asked is not None and asked.options:
            chunks.append(make.important(asked, make.rule(asked)))
    if chunks:
        chunks.append(make.separator())
    chunks += _next_step(session, rejected[0] if rejected else _re_ask(session, stored))
    info = {
        "extracted": {e.target: e.value for e in found if not e.problem},
        "rejected": [f.target for f in rejected],
        "noise": disturbed,
    }
    return _with_debug(session, chunks, info)


def validate(form_field: FormField, value: Any) -> str | None:
    """Check a value against its field's rules; return why it fails, or None when it is valid."""
    if form_field.type == "number":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return f"{value!r} is not a number"
        low, high, step = form_field.min, form_field.max, form_field.multiple_of
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{number(value)} is out of range"
        if step is not None and abs(value / step - round(value / step)) > 1e-9:
            return f"{number(value)} is not a multiple of {number(step)}"
    elif form_field.type in ("single_select", "multi_select") and not form_field.custom_option:
        chosen = value if isinstance(value, list) else [value]
        unknown = [str(v) for v in chosen if form_field.option(str(v)) is None]
        if unknown:
            return f"{', '.join(unknown)} is not one of the choices"
    return None


# ----------------------------------------------------------------------------- steps


def _context(session: Session) -> Context:
    return Context(asked=session.asked, recent=session.recent, today=session.today)


def _disturb(session: Session, found: list[Extraction]) -> tuple[list[Extraction], dict[str, str]]:
    """Apply the session's noise: drop or garble extracted fields."""
    noise = session.noise
    if noise is None or noise.rate <= 0:
        return found, {}
    kept: list[Extraction] = []
    disturbed: dict[str, str] = {}
    for item in found:
        kind = None if item.problem else noise.decide(session.key, session.turns, item.target)
        if kind is not None:
            disturbed[item.target] = kind
        if kind == "garble":
            kept.append(replace(item, value=garble(item.value)))
        elif kind is None:
            kept.append(item)
    return kept, disturbed


def _with_debug(
    session: Session, chunks: list[ResponseChunk], info: dict[str, Any]
) -> list[ResponseChunk]:
    """Put a DEBUG chunk before END_OF_RESPONSE when the session asks for them."""
    if not session.debug:
        return chunks
    data = {
        "form": session.form.key,
        "turn": session.turns,
        "asked": session.asked,
        "values": len(session.values),
        **info,
    }
    return [*chunks[:-1], make.debug(data), chunks[-1]]


def _re_ask(session: Session, stored: list[str]) -> FormField | None:
    """The field the `re-ask` defect asks again now (just extracted for the first time)."""
    target = session.planted.to_re_ask(stored, session.re_asked)
    if target is None:
        return None
    session.re_asked.append(target)
    return session.form.field(target)


def _confirmation(session: Session, text: str) -> list[ResponseChunk]:
    """Answer a message that gives no value while the assistant waits for a confirmation."""
    answers = find_yes_no(text)
    if answers and answers[0].value is True:
        session.confirming, session.confirmed = False, True
        return _next_step(session, None)
    if answers:
        words = "Of course. What would you like to change?"
        return [make.text(words), make.end(success=True)]
    return [make.text("Sorry, I didn't quite catch that."), make.separator(), *_confirm(session)]


def _confirm(session: Session) -> list[ResponseChunk]:
    """Sum up the values so far and ask whether to send them (`shuffled`, before submitting)."""
    session.confirming, session.asked = True, None
    shown = [
        f"{f.label}: {display_value(f, session.values[f.target])}"
        for f in session.form.fields
        if session.values.get(f.target) not in (None, "", [])
    ]
    pick = unit(session.seed, "confirm", session.key, session.turns)
    question = _CONFIRMATIONS[int(pick * len(_CONFIRMATIONS))]
    return [
        make.text("Here's what I have: " + "; ".join(shown) + "."),
        make.separator(),
        make.text(question),
        make.end(success=True),
    ]


def _missing(session: Session) -> FormField | None:
    missing = [
        form_field
        for form_field in session.form.fields
        if form_field.required and session.values.get(form_field.target) in (None, "", [])
    ]
    if session.ask_order == "shuffled":
        missing.sort(key=lambda f: unit(session.seed, "ask-order", session.key, f.target))
    return missing[0] if missing else None


def _question(session: Session, form_field: FormField) -> str:
    """The form's question, or under `shuffled` one of several phrasings, seeded per turn."""
    if session.ask_order != "shuffled":
        return form_field.ask()
    choices = (form_field.ask(), *_PHRASINGS)
    pick = unit(session.seed, "phrasing", session.key, session.turns, form_field.target)
    label = form_field.label[:1].lower() + form_field.label[1:]
    return choices[int(pick * len(choices))].format(label=label)


def _next_step(session: Session, again: FormField | None) -> list[ResponseChunk]:
    """Ask for `again` (a rejected value), else the first missing required field, else submit."""
    ask = again or _missing(session)
    if ask is not None:
        session.asked, session.confirming = ask.target, False
        return [make.text(_question(session, ask)), *make.prompt(ask), make.end(success=True)]
    if session.ask_order == "shuffled" and not session.confirmed:
        return _confirm(session)
    closing = "That's everything I need, thank you! Your details have been sent."
    if session.planted.holds_submission(session.values):
        session.asked = None  # the planted defect: it says it is done, and sends nothing
        return [make.text(closing), make.end(success=True)]
    session.submitted, session.asked = True, None
    bought = any(f.products and session.values.get(f.target) for f in session.form.fields)
    submission_id = DRY_RUN_SUBMISSION_ID
    checkout_id = DRY_RUN_SUBMISSION_ID if bought else None
    if session.dry_run:
        closing += " (This was a test run, so nothing was actually submitted.)"
    else:
        submission_id = str(uuid.uuid5(_SUBMISSION_NAMESPACE, session.id))
        if bought:
            checkout_id = str(uuid.uuid5(_SUBMISSION_NAMESPACE, f"checkout:{session.id}"))
    if bought:
        closing += " You'll be taken to checkout to pay for your selection."
    return [
        make.text(closing),
        make.submission(submission_id, checkout_id),
        make.end(success=True),
    ]


def _typed(form_field: FormField, value: Any) -> Any:
    """Give whole numbers of integer-step fields as ints (25, not 25.0)."""
    step = form_field.multiple_of
    whole_steps = step is None or float(step).is_integer()
    if (
        isinstance(value, float)
        and value.is_integer()
        and whole_steps
        and form_field.type == "number"
    ):
        return int(value)
    return value
