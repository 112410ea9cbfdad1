"""`evalkit probe`'s library part: probe a target and say, line by line, what each answer was.

The lines are meant to be pasted into a bug report or an issue, so every byte of what the target
answered (content type, body, error text) goes through the target's redaction first: a key or
token the target echoed shows as `[REDACTED]`, whole, even where the quoted bytes stop in it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from evalkit.client import RetryPolicy
from evalkit.client.probe import ProbeAnswer, ProbeReport, probe
from evalkit.results import Redactor
from evalkit.runner.settings import RunSettings, client_for, redactor_for
from evalkit.runner.target import Target
from evalkit.stream import preview
from evalkit.version import __version__

__all__ = ["SHOWN_BYTES", "ProbeLines", "probe_target", "probe_target_async"]

SHOWN_BYTES = 120
"""Characters of a body quoted on a line."""


@dataclass(frozen=True)
class ProbeLines:
    """What `evalkit probe` prints: a header, then one line per way of asking.

    Attributes:
        header: The target, the form and the session (or why there is none).
        lines: One per entry of `evalkit.client.probe.PROBES`, in order (none without a session).
        created: Whether a session was created.
    """

    header: str
    lines: list[str]
    created: bool


def _quoted(body: bytes, redactor: Redactor) -> str:
    """The start of a body, redacted whole first, then cut and escaped."""
    text = redactor.text(body.decode("utf-8", "backslashreplace"))
    return preview(text.encode("utf-8"), SHOWN_BYTES)


def _line(answer: ProbeAnswer, redactor: Redactor) -> str:
    probe = answer.probe
    asked = f"{probe.label:<10} POST …/{answer.endpoint} Accept: {probe.accept}"
    if answer.status is None:
        return f"{asked} -> no answer: {redactor.text(answer.problem)}"
    content_type = redactor.text(answer.content_type) or "no content type"
    got = f"HTTP {answer.status} {content_type}, {len(answer.body):,} bytes"
    if answer.chunk_types:
        read = f"evalkit read {answer.framing}: {' '.join(answer.chunk_types)}"
    else:
        read = f"evalkit read {answer.framing}: no chunk"
    verdict = f"PROBLEM: {redactor.text(answer.problem)}" if answer.problem else "ok"
    return f"{asked} -> {got}; {read}; {verdict}; first bytes {_quoted(answer.body, redactor)}"


def _lines(target: Target, form: str, report: ProbeReport, redactor: Redactor) -> ProbeLines:
    where = f"{target.name} {target.base_url}"
    about = f"evalkit {__version__} probe of {where}, form {form!r} (id {report.form_id})"
    if not report.session_id:
        return ProbeLines(
            header=f"{about}: no dry-run session: {_line(report.created, redactor)}",
            lines=[],
            created=False,
        )
    header = f"{about}, dry-run session {report.session_id}"
    return ProbeLines(
        header=redactor.text(header),
        lines=[_line(answer, redactor) for answer in report.answers],
        created=True,
    )


async def probe_target_async(target: Target, form: str, text: str = "Hello") -> ProbeLines:
    """Probe `target` with one dry-run session of `form` (a key of its form ids, or an id).

    Args:
        target: What to probe.
        form: A form key (mapped by the target's form ids) or a form id.
        text: The user message sent once per way of asking.
    """
    settings = RunSettings(concurrency=1, retry=RetryPolicy(retries=0))
    async with client_for(target, settings) as client:
        report = await probe(client, target.form_ids.get(form, form), text)
        return _lines(target, form, report, redactor_for(target, client))


def probe_target(target: Target, form: str, text: str = "Hello") -> ProbeLines:
    """`probe_target_async` for callers without an event loop."""
    return asyncio.run(probe_target_async(target, form, text))
