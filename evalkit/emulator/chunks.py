"""The emulator's response chunks, built from form fields and values (no conversation state)."""

from __future__ import annotations

from typing import Any

from evalkit.emulator.extract import Extraction
from evalkit.emulator.forms import FormField
from evalkit.protocol import (
    ChunkType,
    CustomValue,
    DebugDetails,
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

__all__ = [
    "debug",
    "display_value",
    "end",
    "error",
    "important",
    "join",
    "number",
    "prompt",
    "rule",
    "separator",
    "submission",
    "text",
    "text_data",
]


def display_value(form_field: FormField, value: Any) -> str:
    """Render a value for people: option labels, "Yes"/"No", numbers without a trailing ".0"."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, list):
        return ", ".join(display_value(form_field, v) for v in value) or "(none)"
    option = form_field.option(str(value)) if form_field.options else None
    return option.label if option is not None else str(value) or "(empty)"


def prompt(form_field: FormField) -> list[ResponseChunk]:
    """The input prompt a field calls for: a select's options or a number's limits (or none)."""
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


def rule(form_field: FormField) -> str:
    """Say what a valid answer looks like, for IMPORTANT_TEXT."""
    if form_field.type == "number" and (form_field.min is not None or form_field.max is not None):
        low = number(form_field.min) if form_field.min is not None else "any"
        high = number(form_field.max) if form_field.max is not None else "any"
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


def text(text: str) -> ResponseChunk:
    """A TEXT chunk."""
    return ResponseChunk(
        chunk_type=ChunkType.TEXT, text_details=TextDetails(text=text, style="NORMAL")
    )


def separator() -> ResponseChunk:
    """A paragraph SEPARATOR."""
    return ResponseChunk(
        chunk_type=ChunkType.SEPARATOR, separator_details=SeparatorDetails(type="PARAGRAPH")
    )


def end(*, success: bool) -> ResponseChunk:
    """END_OF_RESPONSE."""
    return ResponseChunk(
        chunk_type=ChunkType.END_OF_RESPONSE,
        end_of_response_details=EndOfResponseDetails(success=success),
    )


def important(form_field: FormField, text: str) -> ResponseChunk:
    """IMPORTANT_TEXT about a field (a rule, or why a value was refused)."""
    details = ImportantTextDetails(field_target=form_field.target, text=text)
    return ResponseChunk(chunk_type=ChunkType.IMPORTANT_TEXT, important_text_details=details)


def text_data(form_field: FormField, value: Any, item: Extraction | None) -> ResponseChunk:
    """TEXT_DATA for a value; `item` gives its span in the message (`meaningfulInput`)."""
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


def join(words: list[str]) -> str:
    """Join words for a sentence: a; a and b; a, b and c."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def number(value: float) -> str:
    """A number for people: no trailing ".0"."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def error(message: str) -> ResponseChunk:
    """An ERROR chunk: processing failed."""
    return ResponseChunk(
        chunk_type=ChunkType.ERROR, error_details=ErrorDetails(message_text=message)
    )


def debug(data: dict[str, Any]) -> ResponseChunk:
    """A DEBUG chunk with diagnostics."""
    return ResponseChunk(chunk_type=ChunkType.DEBUG, debug_details=DebugDetails(data=data))


def submission(submission_id: str, checkout_id: str | None) -> ResponseChunk:
    """A SUBMISSION chunk."""
    details = SubmissionDetails(submission_id=submission_id, checkout_id=checkout_id)
    return ResponseChunk(chunk_type=ChunkType.SUBMISSION, submission_details=details)
