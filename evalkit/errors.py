"""The one exception tree of evalkit.

Every exception evalkit raises on purpose derives from `EvalkitError`, so a caller can catch at the
granularity it needs::

    EvalkitError
    ├── SuiteError          a suite (or a form definition) cannot be loaded; carries every Problem
    ├── TargetError         the target could not give an answer (transport, HTTP status, stream)
    │   ├── WixApiError     the target answered with a non-2xx status and a Wix error body
    │   └── StreamError     a response body that cannot be decoded, or ends too early
    ├── SimulatorError      the LLM persona simulator got no usable answer (not the target's)
    ├── RunFileError        a run directory that cannot be read (missing, or of an unknown version)
    └── UsageError          options that contradict each other

A `TargetError` never escapes a run: the runner stores it on the conversation's result as an
`error`. A field that does not match is not an exception either: it is a failed `FieldResult`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ErrorKind",
    "EvalkitError",
    "Problem",
    "RunFileError",
    "SimulatorError",
    "StreamError",
    "SuiteError",
    "TargetError",
    "UsageError",
    "WixApiError",
]

ErrorKind = Literal[
    "transport", "http", "timeout", "truncated", "protocol", "internal", "simulator"
]
"""Why the harness could not get an answer: the closed set stored as `error.kind` in results.
`simulator` is the persona simulator's own trouble (its endpoint failed), never the target's."""


class EvalkitError(Exception):
    """Base of every exception evalkit raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in an input file.

    Attributes:
        path: The file, as the user named it.
        line: 1-based line number, or 0 when the problem concerns the whole file.
        message: What is wrong and what to do about it.
    """

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.message}"
            if self.line
            else f"{self.path}: {self.message}"
        )


class SuiteError(EvalkitError):
    """One or more suites (or forms) could not be loaded; `problems` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found:\n{lines}")


class TargetError(EvalkitError):
    """The target gave no usable answer; stored on its result as an `error`, never raised.

    Attributes:
        kind: Which of the closed set of error kinds this is.
        partial: What the turn produced before it failed (a `TurnTranscript`), attached by the
            client so that nothing already received is lost; None when nothing arrived.
    """

    kind: ErrorKind = "transport"

    def __init__(self, message: str, *, kind: ErrorKind | None = None) -> None:
        super().__init__(message)
        self.partial: Any = None
        if kind is not None:
            self.kind = kind


class WixApiError(TargetError):
    """The target answered with a non-2xx status; the Wix error body is parsed when present.

    Attributes:
        status: The HTTP status code.
        code: `details.applicationError.code` (e.g. `EMPTY_REQUEST`), or "" when absent.
        description: `details.applicationError.description`, or "".
        request_id: The `X-Wix-Request-Id` response header, or "".
        details: The whole `details` object of the body.
    """

    kind: ErrorKind = "http"

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        description: str = "",
        request_id: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.description = description
        self.request_id = request_id
        self.details = details or {}
        label = f"HTTP {status}" + (f" {code}" if code else "")
        super().__init__(f"{label}: {message}" if message else label)


class StreamError(TargetError):
    """A response body that cannot be decoded (`protocol`) or that ends too early (`truncated`)."""

    kind: ErrorKind = "protocol"


class SimulatorError(EvalkitError):
    """The LLM-backed persona simulator got no usable answer from its chat endpoint.

    Stored on the conversation's result as an `error` of kind `simulator`: the target was not
    at fault, so it is never a failure and never counts toward the target's circuit breaker.
    """

    kind: ErrorKind = "simulator"


class RunFileError(EvalkitError):
    """A run directory or one of its files cannot be read."""


class UsageError(EvalkitError):
    """Options or arguments that cannot work together; the message says which and why."""
