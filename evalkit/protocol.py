"""The wire model of the Interactive Form Sessions API: every request, response and chunk.

Names follow the REST (proto3-JSON) spelling: camelCase on the wire, `id` rather than `_id`.
Python attributes are snake_case; `model_dump(by_alias=True)` gives the wire form back.

Two rules make the models safe to parse anything a real service sends:

* A missing field takes its proto3 default (`""`, `0`, `False`, empty list), because proto3-JSON
  leaves defaults out.
* An unknown field is kept (`extra="allow"`), and an unknown `chunkType` is kept as its string, so a
  newer service never crashes an older evalkit; the chunk is simply not interpreted.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "TRACE_HEADER",
    "ChunkType",
    "ClientTime",
    "CreateSessionRequest",
    "CreateSessionResponse",
    "CustomValue",
    "DebugDetails",
    "EndOfResponseDetails",
    "ErrorDetails",
    "FileUploadDetails",
    "Framing",
    "GenerateFormSummaryRequest",
    "GenerateFormSummaryResponse",
    "ImportantTextDetails",
    "InteractiveFormSession",
    "MeaningfulInput",
    "MultiSelectInputDetails",
    "NumberInputDetails",
    "NumberRangeLimit",
    "Option",
    "ResponseChunk",
    "SendMessageRequest",
    "SendMessageResponse",
    "SeparatorDetails",
    "SignatureDetails",
    "SingleSelectInputDetails",
    "StreamedMessage",
    "SubmissionDetails",
    "TextDataDetails",
    "TextDetails",
    "WixErrorBody",
]


Framing = Literal["sse", "ndjson", "json-array", "json", "unknown"]
"""How a response body was framed; `json` is a unary (non-streamed) body."""

TRACE_HEADER = "X-Evalkit-Trace"
"""evalkit's own request header, never sent to Wix: `<digest>.<session>.<exchange>.<attempt>`.

The digest is 16 hex digits of a hash of the conversation's key (suite, id, repeat), so it names
nothing; the numbers say which session of the conversation (1, then one more per restart), which
exchange of it (0 is the creation) and which attempt of that request. The emulator keys its seeded
faults, delays and noise on it, which makes a run reproducible at any concurrency.
"""


class WireModel(BaseModel):
    """Base of the wire models: camelCase aliases, unknown fields kept, missing ones defaulted."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=False
    )

    def wire(self) -> dict[str, Any]:
        """Return the JSON-ready wire form: camelCase keys, unset optional fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class ChunkType(StrEnum):
    """The documented chunk types (SDK 1.0.88), plus the proto zero value."""

    UNKNOWN_CHUNK_TYPE = "UNKNOWN_CHUNK_TYPE"
    TEXT = "TEXT"
    TEXT_DATA = "TEXT_DATA"
    MULTI_SELECT_INPUT = "MULTI_SELECT_INPUT"
    NUMBER_INPUT = "NUMBER_INPUT"
    SEPARATOR = "SEPARATOR"
    SINGLE_SELECT_INPUT = "SINGLE_SELECT_INPUT"
    ERROR = "ERROR"
    SUBMISSION = "SUBMISSION"
    IMPORTANT_TEXT = "IMPORTANT_TEXT"
    DEBUG = "DEBUG"
    END_OF_RESPONSE = "END_OF_RESPONSE"
    FILE_UPLOAD = "FILE_UPLOAD"
    SIGNATURE = "SIGNATURE"


# ----------------------------------------------------------------------------- chunk details


class TextDetails(WireModel):
    """Assistant text to show (greeting, next question)."""

    text: str = ""
    """The text, 1–10,000 characters."""
    style: str = "NORMAL"
    """`NORMAL` or `BOLD` (older services: `UNKNOWN_STYLE`)."""


class TextDataDetails(WireModel):
    """A value extracted from the user's input and assigned to one form field."""

    field_target: str = ""
    """The form field's `target` (its key)."""
    text: str = ""
    """A readable version of what was extracted."""
    value: Any = None
    """The value that gets submitted: any JSON value (`google.protobuf.Value`)."""
    display_value: str = ""
    """A user-friendly rendering, e.g. "Yes" for `true`."""


class Option(WireModel):
    """One choice of a select prompt."""

    value: str = ""
    """The technical value that gets submitted."""
    label: str = ""
    """The text shown to the user."""


class CustomValue(WireModel):
    """Present on a select prompt when the user may type a value that is not an option."""

    description: str = ""
    """What kind of custom value is expected."""


class MultiSelectInputDetails(WireModel):
    """Prompt to pick several options."""

    field_target: str = ""
    """The field the prompt is for."""
    options: list[Option] = Field(default_factory=list)
    """1–100 options."""
    allowed_custom_value: CustomValue | None = None
    """Set when a value outside the list is accepted."""


class SingleSelectInputDetails(MultiSelectInputDetails):
    """Prompt to pick exactly one option."""


class NumberRangeLimit(WireModel):
    """Inclusive lower bound and an inclusive or exclusive upper bound."""

    min_inclusive_value: float | None = None
    """Smallest accepted value."""
    max_inclusive_value: float | None = None
    """Largest accepted value (one-of with `max_exclusive_value`)."""
    max_exclusive_value: float | None = None
    """Exclusive upper bound (one-of with `max_inclusive_value`)."""


class NumberInputDetails(WireModel):
    """Prompt for a number."""

    field_target: str = ""
    """The field the prompt is for."""
    range_limit: NumberRangeLimit | None = None
    """Accepted range, when limited."""
    multiple_of: float | None = None
    """Accepted values are multiples of this."""


class SeparatorDetails(WireModel):
    """A visual break."""

    type: str = "PARAGRAPH"
    """`PARAGRAPH` (older services: `UNKNOWN_TYPE`)."""


class ErrorDetails(WireModel):
    """Processing failed, or a value failed validation."""

    message_text: str = ""
    """Text meant for the user, 1–1,000 characters."""


class SubmissionDetails(WireModel):
    """The form was submitted (in a dry run: would have been)."""

    submission_id: str = ""
    """The Form Submission's id."""
    checkout_id: str | None = None
    """An eCommerce checkout id, for forms with products."""


class ImportantTextDetails(WireModel):
    """Highlighted information about one field: a format rule or a clarifying question."""

    field_target: str = ""
    """The field the note concerns."""
    text: str = ""
    """The note."""


class DebugDetails(WireModel):
    """Free-form diagnostics."""

    data: dict[str, Any] | None = None
    """Tools called, timings, internal state."""


class EndOfResponseDetails(WireModel):
    """Last chunk of a response."""

    success: bool = False
    """False when there may have been processing errors or an interruption."""


class FileUploadDetails(WireModel):
    """Ask for a file (not supported by the service)."""

    field_target: str = ""
    """The file field."""


class SignatureDetails(WireModel):
    """Ask for a signature (not supported by the service)."""

    field_target: str = ""
    """The signature field."""


class MeaningfulInput(WireModel):
    """The slice of the user's message that a chunk was derived from."""

    start_offset: int = 0
    """0-based start in the user's input."""
    length: int = 0
    """Number of characters covered."""


class ResponseChunk(WireModel):
    """One piece of assistant output; exactly one details field matches `chunk_type`."""

    chunk_type: str = ChunkType.UNKNOWN_CHUNK_TYPE.value
    """How to interpret the chunk; unknown types are kept as strings."""
    text_details: TextDetails | None = None
    """Set for `TEXT`."""
    text_data_details: TextDataDetails | None = None
    """Set for `TEXT_DATA`."""
    multi_select_input_details: MultiSelectInputDetails | None = None
    """Set for `MULTI_SELECT_INPUT`."""
    number_input_details: NumberInputDetails | None = None
    """Set for `NUMBER_INPUT`."""
    separator_details: SeparatorDetails | None = None
    """Set for `SEPARATOR`."""
    single_select_input_details: SingleSelectInputDetails | None = None
    """Set for `SINGLE_SELECT_INPUT`."""
    error_details: ErrorDetails | None = None
    """Set for `ERROR`."""
    submission_details: SubmissionDetails | None = None
    """Set for `SUBMISSION`."""
    important_text_details: ImportantTextDetails | None = None
    """Set for `IMPORTANT_TEXT`."""
    debug_details: DebugDetails | None = None
    """Set for `DEBUG`."""
    end_of_response_details: EndOfResponseDetails | None = None
    """Set for `END_OF_RESPONSE`."""
    file_upload_details: FileUploadDetails | None = None
    """Set for `FILE_UPLOAD`."""
    signature_details: SignatureDetails | None = None
    """Set for `SIGNATURE`."""
    meaningful_input: MeaningfulInput | None = None
    """The slice of the user's message this chunk came from, when given."""

    @property
    def known_type(self) -> ChunkType | None:
        """The chunk type as an enum member, or None for a type this evalkit does not know."""
        try:
            return ChunkType(self.chunk_type)
        except ValueError:
            return None


# ----------------------------------------------------------------------------- sessions


class InteractiveFormSession(WireModel):
    """A session: its id and the form it completes."""

    id: str = ""
    """The session id (GUID)."""
    form_id: str = ""
    """The form id (GUID)."""


class ClientTime(WireModel):
    """The caller's clock, used to resolve relative dates."""

    current_time: str
    """ISO-8601 UTC time, e.g. `2026-11-25T10:00:00Z`."""
    time_zone: str | None = None
    """IANA zone name, e.g. `Europe/Vilnius`."""


class CreateSessionRequest(WireModel):
    """Body of Create Interactive Form Session (unary and streamed)."""

    form_id: str
    """The form to complete."""
    current_values: dict[str, Any] | None = None
    """Values to pre-fill, keyed by field target."""
    dry_run: bool = True
    """evalkit's default is a dry run: no real submission is ever created unless a suite asks."""
    client_time: ClientTime | None = None
    """The caller's clock."""


class CreateSessionResponse(WireModel):
    """Response of the unary create call."""

    interactive_form_session: InteractiveFormSession = Field(default_factory=InteractiveFormSession)
    """The new session."""
    response_chunks: list[ResponseChunk] = Field(default_factory=list)
    """The greeting (and TEXT_DATA for pre-filled values)."""


class SendMessageRequest(WireModel):
    """Body of Send User Message (unary and streamed)."""

    input: str | None = None
    """The user's message, at most 10,000 characters."""
    current_values: dict[str, Any] | None = None
    """Values that replace existing ones for the same keys."""


class SendMessageResponse(CreateSessionResponse):
    """Response of the unary send call."""


class StreamedMessage(WireModel):
    """One message of a streamed response: one chunk, and the session in the first message."""

    response_chunk: ResponseChunk = Field(default_factory=ResponseChunk)
    """The chunk this message carries."""
    interactive_form_session: InteractiveFormSession | None = None
    """Only in the first message of a stream."""


class GenerateFormSummaryRequest(WireModel):
    """Body of Generate Form Summary: a whole Form Schemas `Form` object."""

    form: dict[str, Any]
    """The form, with its fields and configuration."""


class GenerateFormSummaryResponse(WireModel):
    """A plain-language summary of the form, at most 255 characters."""

    form_summary: str | None = None
    """The summary."""


class WixErrorBody(WireModel):
    """The Wix error body: `{message, details: {applicationError | validationError}}`."""

    message: str = ""
    """Human-readable message."""
    details: dict[str, Any] = Field(default_factory=dict)
    """`applicationError` `{code, description, data}` or `validationError` `{fieldViolations}`."""

    @property
    def code(self) -> str:
        """The application error code, or "" when the body carries none."""
        app = self.details.get("applicationError")
        return str(app.get("code", "")) if isinstance(app, dict) else ""

    @property
    def description(self) -> str:
        """The application error description, or ""."""
        app = self.details.get("applicationError")
        return str(app.get("description", "")) if isinstance(app, dict) else ""
