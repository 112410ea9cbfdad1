"""The emulator's conversation policy: greeting, acknowledgement, questions, validation, submission.

A `Session` holds one conversation's state; `open_session` and `reply` turn a request into the list
of response chunks, deterministically (the same form, values and messages give the same chunks).

The shape of a turn's response::

    TEXT_DATA ...        one per field extracted from the message (with `meaningfulInput`)
    IMPORTANT_TEXT ...   one per value that failed validation (not stored)
    TEXT                 acknowledgement ("Thanks! I've noted your email.")
    SEPARATOR
    TEXT                 the next question: the first required field without a value
    *_INPUT              a select or number prompt, when the field calls for one
    END_OF_RESPONSE      success: true (false after an ERROR)

Once every required field has a value, the question is replaced by a closing TEXT and a SUBMISSION
chunk; in a dry run the submission id is all zeros, so it cannot be mistaken for a real one.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from evalkit.emulator.extract import Context, Extraction, extract
from evalkit.emulator.forms import Form, FormField
from evalkit.protocol import (
    ChunkType,
    ClientTime,
    CustomValue,
    EndOfResponseDetails,
    ErrorDetails,
    ImportantTextDetails,
    MeaningfulInput,
    MultiSelectInputDetails,
    NumberInputDetails,
    NumberRangeLimit,
    Option,
    ResponseChunk,
    SeparatorDetails,
    SingleSelectInputDetails,
    SubmissionDetails,
    TextDataDetails,
    TextDetails,
)

__all__ = ["DRY_RUN_SUBMISSION_ID", "Session", "display_value", "open_session", "reply", "validate"]

DRY_RUN_SUBMISSION_ID = "00000000-0000-0000-0000-000000000000"
"""The submission id of a dry run: visibly not a real submission."""

_SUBMISSION_NAMESPACE = uuid.UUID("6f1d3c2e-7a4b-4c5d-8e9f-0a1b2c3d4e5f")


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
    """

    id: str
    form: Form
    dry_run: bool = False
    client_time: ClientTime | None = None
    values: dict[str, Any] = field(default_factory=dict)
    asked: str | None = None
    recent: tuple[str, ...] = ()
    submitted: bool = False

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
    chunks = [_text(session.form.greeting)]
    for target in session.apply(current_values):
        form_field = session.form.field(target)
        if form_field is not None:
            chunks.append(_text_data(form_field, session.values[target], None))
    return [*chunks, _separator(), *_next_step(session, None)]


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
    if session.submitted:
        return [_text("This form has already been submitted. Thanks again!"), _end(success=True)]
    session.apply(current_values)
    if text is not None and not text.strip() and not current_values:
        error = ResponseChunk(
            chunk_type=ChunkType.ERROR,
            error_details=ErrorDetails(
                message_text="I didn't receive a message. Could you try again?"
            ),
        )
        return [error, _end(success=False)]
    found = extract(text, session.form, _context(session)) if text else []
    chunks: list[ResponseChunk] = []
    rejected: list[FormField] = []
    noted: list[str] = []
    for item in found:
        form_field = session.form.field(item.target)
        if form_field is None:
            continue
        value = _typed(form_field, item.value)
        problem = item.problem or validate(form_field, value)
        if problem is not None:
            rejected.append(form_field)
            chunks.append(_important(form_field, f"{problem}. {_rule(form_field)}".strip()))
            continue
        session.values[form_field.target] = value
        noted.append(form_field.label[:1].lower() + form_field.label[1:])
        chunks.append(_text_data(form_field, value, item))
    if found:
        session.recent = tuple(e.target for e in found)
    if noted:
        chunks.append(_text(f"Thanks! I've noted your {_join(noted)}."))
    elif text and not rejected:
        asked = session.form.field(session.asked) if session.asked else None
        chunks.append(_text("Sorry, I didn't quite catch that."))
        if asked is not None and asked.options:
            chunks.append(_important(asked, _rule(asked)))
    if chunks:
        chunks.append(_separator())
    return chunks + _next_step(session, rejected[0] if rejected else None)


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
            return f"{_number(value)} is out of range"
        if step is not None and abs(value / step - round(value / step)) > 1e-9:
            return f"{_number(value)} is not a multiple of {_number(step)}"
    elif form_field.type in ("single_select", "multi_select") and not form_field.custom_option:
        chosen = value if isinstance(value, list) else [value]
        unknown = [str(v) for v in chosen if form_field.option(str(v)) is None]
        if unknown:
            return f"{', '.join(unknown)} is not one of the choices"
    return None


def display_value(form_field: FormField, value: Any) -> str:
    """Render a value for people: option labels, "Yes"/"No", numbers without a trailing ".0"."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, list):
        return ", ".join(display_value(form_field, v) for v in value) or "(none)"
    option = form_field.option(str(value)) if form_field.options else None
    return option.label if option is not None else str(value) or "(empty)"


# ----------------------------------------------------------------------------- steps


def _context(session: Session) -> Context:
    return Context(asked=session.asked, recent=session.recent, today=session.today)


def _missing(session: Session) -> FormField | None:
    for form_field in session.form.fields:
        value = session.values.get(form_field.target)
        if form_field.required and (value is None or value == "" or value == []):
            return form_field
    return None


def _next_step(session: Session, again: FormField | None) -> list[ResponseChunk]:
    """Ask for `again` (a rejected value), else the first missing required field, else submit."""
    ask = again or _missing(session)
    if ask is None:
        session.submitted, session.asked = True, None
        submission_id = DRY_RUN_SUBMISSION_ID
        closing = "That's everything I need, thank you! Your details have been sent."
        if session.dry_run:
            closing += " (This was a test run, so nothing was actually submitted.)"
        else:
            submission_id = str(uuid.uuid5(_SUBMISSION_NAMESPACE, session.id))
        submission = ResponseChunk(
            chunk_type=ChunkType.SUBMISSION,
            submission_details=SubmissionDetails(submission_id=submission_id),
        )
        return [_text(closing), submission, _end(success=True)]
    session.asked = ask.target
    return [_text(ask.ask()), *_prompt(ask), _end(success=True)]


def _prompt(form_field: FormField) -> list[ResponseChunk]:
    options = [Option(value=o.value, label=o.label) for o in form_field.options]
    custom = CustomValue(description="Or type your own.") if form_field.custom_option else None
    if form_field.type == "single_select":
        details = SingleSelectInputDetails(
            field_target=form_field.target, options=options, allowed_custom_value=custom
        )
        return [
            ResponseChunk(
                chunk_type=ChunkType.SINGLE_SELECT_INPUT, single_select_input_details=details
            )
        ]
    if form_field.type == "multi_select":
        multi = MultiSelectInputDetails(
            field_target=form_field.target, options=options, allowed_custom_value=custom
        )
        return [
            ResponseChunk(chunk_type=ChunkType.MULTI_SELECT_INPUT, multi_select_input_details=multi)
        ]
    if form_field.type == "number":
        limit = None
        if form_field.min is not None or form_field.max is not None:
            limit = NumberRangeLimit(
                min_inclusive_value=form_field.min, max_inclusive_value=form_field.max
            )
        number = NumberInputDetails(
            field_target=form_field.target, range_limit=limit, multiple_of=form_field.multiple_of
        )
        return [ResponseChunk(chunk_type=ChunkType.NUMBER_INPUT, number_input_details=number)]
    return []


def _rule(form_field: FormField) -> str:
    """What a valid answer looks like, for IMPORTANT_TEXT."""
    if form_field.type == "number" and (form_field.min is not None or form_field.max is not None):
        low = _number(form_field.min) if form_field.min is not None else "any"
        high = _number(form_field.max) if form_field.max is not None else "any"
        return f"{form_field.label} must be between {low} and {high}."
    if form_field.options:
        return f"Please choose {'any' if form_field.type == 'multi_select' else 'one'} of: " + (
            ", ".join(o.label for o in form_field.options) + "."
        )
    if form_field.type == "email":
        return "Please use a full address, like name@example.com."
    if form_field.type == "phone":
        return "Please give 7 to 15 digits, with the country code if you have one."
    return ""


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


# ----------------------------------------------------------------------------- chunks


def _text(text: str) -> ResponseChunk:
    return ResponseChunk(
        chunk_type=ChunkType.TEXT, text_details=TextDetails(text=text, style="NORMAL")
    )


def _separator() -> ResponseChunk:
    return ResponseChunk(
        chunk_type=ChunkType.SEPARATOR, separator_details=SeparatorDetails(type="PARAGRAPH")
    )


def _end(*, success: bool) -> ResponseChunk:
    return ResponseChunk(
        chunk_type=ChunkType.END_OF_RESPONSE,
        end_of_response_details=EndOfResponseDetails(success=success),
    )


def _important(form_field: FormField, text: str) -> ResponseChunk:
    details = ImportantTextDetails(field_target=form_field.target, text=text)
    return ResponseChunk(chunk_type=ChunkType.IMPORTANT_TEXT, important_text_details=details)


def _text_data(form_field: FormField, value: Any, item: Extraction | None) -> ResponseChunk:
    shown = display_value(form_field, value)
    details = TextDataDetails(
        field_target=form_field.target,
        text=f"{form_field.label}: {shown}",
        value=value,
        display_value=shown,
    )
    meaningful = MeaningfulInput(start_offset=item.start, length=item.length) if item else None
    return ResponseChunk(
        chunk_type=ChunkType.TEXT_DATA, text_data_details=details, meaningful_input=meaningful
    )


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
