"""What a target really sends for each framing evalkit knows: the HTTP part of `evalkit probe`.

Wix documents no wire framing for the streamed methods (spec §6), and its official SDK sends
`Accept: */*` and reads one JSON value. `probe` settles it for one account: it creates one dry-run
session (the unary create, whose format is documented), then sends the same user message once per
way evalkit can ask for an answer (SSE, NDJSON, a JSON array, the unary endpoint, and `*/*` as the
SDK asks), each once and never retried, and keeps what each answer really was: status, content
type, the bytes, and what evalkit's decoder made of them.

Nothing here is redacted or printed: `evalkit.runner.probe` redacts, the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from evalkit.client.session import FormsClient, RawAnswer
from evalkit.errors import StreamError, TargetError
from evalkit.protocol import ChunkType, ClientTime, CreateSessionRequest, Framing
from evalkit.stream import StreamDecoder

__all__ = ["PROBES", "Probe", "ProbeAnswer", "ProbeReport", "probe"]


@dataclass(frozen=True)
class Probe:
    """One way of asking for an answer."""

    label: str
    """How the line is named: the framing asked for, `unary`, or `*/*`."""
    streamed: bool
    """The streamed endpoint, or the unary one."""
    accept: str
    """The `Accept` header sent."""


PROBES: tuple[Probe, ...] = (
    Probe("sse", True, "text/event-stream"),
    Probe("ndjson", True, "application/x-ndjson"),
    Probe("json-array", True, "application/json"),
    Probe("unary", False, "application/json"),
    Probe("*/*", True, "*/*"),
)
"""Every framing evalkit can ask for, the unary endpoint, and what the official SDK sends."""


@dataclass
class ProbeAnswer:
    """What one request got back, and what evalkit made of it.

    Attributes:
        probe: How it was asked.
        endpoint: The endpoint's last path segment.
        status: The HTTP status (None: no answer at all).
        content_type: The `Content-Type` ("" without one).
        body: The body as read (up to the client's response limit).
        framing: The framing evalkit's decoder saw (`unknown` when it saw none).
        chunk_types: The `chunkType` of every message decoded, in order.
        problem: What evalkit would have said of it ("" for an answer it reads completely).
    """

    probe: Probe
    endpoint: str
    status: int | None = None
    content_type: str = ""
    body: bytes = b""
    framing: Framing = "unknown"
    chunk_types: list[str] = field(default_factory=list)
    problem: str = ""


@dataclass
class ProbeReport:
    """The session the probe opened, and one answer per probe.

    Attributes:
        form_id: The form id sent.
        created: The answer to the unary create (its `probe` is the unary one).
        session_id: The session created ("" when none was: then `answers` is empty).
        answers: One per entry of `PROBES`, in order.
    """

    form_id: str
    created: ProbeAnswer
    session_id: str = ""
    answers: list[ProbeAnswer] = field(default_factory=list)


def _read(answer: ProbeAnswer, raw: RawAnswer) -> list[dict[str, Any]]:
    """Fill `answer` from a raw response; return the messages decoded."""
    answer.status, answer.content_type, answer.body = raw.status, raw.content_type, raw.body
    if not 200 <= raw.status < 300:
        answer.problem = f"HTTP {raw.status}"
        return []
    decoder = StreamDecoder(raw.content_type or None)
    messages: list[dict[str, Any]] = []
    try:
        messages += decoder.feed(raw.body)
        messages += decoder.close()
        decoder.check()
    except StreamError as exc:
        answer.problem = str(exc)
    answer.framing = decoder.framing
    answer.chunk_types = [
        str(m["responseChunk"].get("chunkType", "?"))
        for m in messages
        if isinstance(m.get("responseChunk"), dict)
    ]
    if answer.problem:
        return messages
    if not raw.complete:
        answer.problem = "longer than the response limit; read in part"
    elif decoder.framing == "unknown":
        answer.problem = "an empty body"
    elif not any("responseChunk" in m or "interactiveFormSession" in m for m in messages):
        answer.problem = "no message carries a responseChunk or an interactiveFormSession"
    elif answer.probe.streamed and ChunkType.END_OF_RESPONSE not in answer.chunk_types:
        answer.problem = "no END_OF_RESPONSE: evalkit would call the turn truncated"
    return messages


async def _ask(
    client: FormsClient, probe: Probe, path: str, body: dict[str, Any], endpoint: str
) -> tuple[ProbeAnswer, list[dict[str, Any]]]:
    answer = ProbeAnswer(probe=probe, endpoint=endpoint)
    try:
        raw = await client.post_raw(path, body, accept=probe.accept)
    except TargetError as exc:
        answer.problem = f"{exc.kind}: {exc}"
        return answer, []
    return answer, _read(answer, raw)


async def probe(client: FormsClient, form_id: str, text: str = "Hello") -> ProbeReport:
    """Open a dry-run session on `client`'s target and send `text` once per entry of `PROBES`.

    Args:
        client: The target's client (its credentials; its mode does not matter).
        form_id: The form to open a session of.
        text: The user message sent each time.

    Returns:
        The report; without a session (the create failed), no message is sent.
    """
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    create = CreateSessionRequest(
        form_id=form_id, dry_run=True, client_time=ClientTime(current_time=now)
    )
    unary = next(p for p in PROBES if not p.streamed)
    created, messages = await _ask(client, unary, "", create.wire(), "create")
    report = ProbeReport(form_id=form_id, created=created)
    session = next(
        (m["interactiveFormSession"] for m in messages if "interactiveFormSession" in m), None
    )
    if created.status != 200 or not isinstance(session, dict) or not session.get("id"):
        if not created.problem:
            created.problem = "no session id in the answer"
        return report
    report.session_id = str(session["id"])
    for entry in PROBES:
        endpoint = "send-user-message-streamed" if entry.streamed else "send-user-message"
        path = f"/{quote(report.session_id, safe='')}/{endpoint}"
        answer, _ = await _ask(client, entry, path, {"input": text}, endpoint)
        report.answers.append(answer)
    return report
