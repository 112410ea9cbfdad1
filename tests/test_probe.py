"""`evalkit probe`: one line per framing, what each answer really was, with no secret shown."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from evalkit.cli import main
from evalkit.client import Credentials
from evalkit.client.probe import PROBES, ProbeAnswer, ProbeReport
from evalkit.results import Redactor
from evalkit.runner.probe import SHOWN_BYTES, _lines
from evalkit.runner.target import Target

ROOT = Path(__file__).resolve().parent.parent
SECRET = "IST.probe-secret-key-0123456789"


def test_probe_against_the_emulator_prints_one_line_per_framing() -> None:
    result = CliRunner().invoke(
        main, ["probe", "--form", "contact", "--forms", str(ROOT / "suites" / "forms")]
    )
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert "dry-run session" in header
    assert [line.split()[0] for line in lines] == [p.label for p in PROBES]
    for line in lines:
        assert "HTTP 200" in line
        assert line.rstrip().endswith("…")
        assert "; ok;" in line
    by_label = {line.split()[0]: line for line in lines}
    assert "evalkit read sse:" in by_label["sse"]
    assert "evalkit read ndjson:" in by_label["ndjson"]
    assert "evalkit read json-array:" in by_label["json-array"]
    assert "evalkit read json:" in by_label["unary"]
    # What the official SDK asks for: one JSON array, which its single res.json() reads.
    assert "HTTP 200 application/json" in by_label["*/*"]
    assert "evalkit read json-array: TEXT" in by_label["*/*"]


def test_probe_of_an_unknown_form_says_so_and_exits_3() -> None:
    result = CliRunner().invoke(
        main, ["probe", "--form", "no-such-form", "--forms", str(ROOT / "suites" / "forms")]
    )
    assert result.exit_code == 3
    assert "no dry-run session" in result.output
    assert "HTTP 404" in result.output


def test_every_byte_the_target_answered_is_redacted_before_it_is_printed() -> None:
    credentials = Credentials.from_env({"WIX_API_KEY": SECRET, "WIX_SITE_ID": "site-0042"})
    target = Target(name="wix", credentials=credentials)
    # The secret straddles the cut of the quoted bytes: it must not show even in part.
    body = b"x" * (SHOWN_BYTES - 10) + SECRET.encode() + b" and site-0042"
    answers = [
        ProbeAnswer(
            probe=probe,
            endpoint="send-user-message-streamed",
            status=200,
            content_type=f"text/plain; echo={SECRET}",
            body=body,
            problem=f"not a stream: {SECRET}",
        )
        for probe in PROBES
    ]
    report = ProbeReport(form_id="f-1", created=answers[0], session_id="s-1", answers=answers)
    lines = _lines(target, "contact", report, Redactor(credentials.secrets()))
    printed = "\n".join([lines.header, *lines.lines])
    assert len(lines.lines) == len(PROBES)
    for fragment in (SECRET, SECRET[:12], SECRET[-12:], "site-0042"):
        assert fragment not in printed
    assert re.search(r"x+\[REDACTED\]", printed)


def test_the_readme_says_to_probe_first_when_running_against_the_real_service() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### 4. Run against the real service", 1)[1].split("\n### ", 1)[0]
    assert "evalkit probe --target wix" in section
    assert section.index("evalkit probe") < section.index("evalkit run")


def test_what_a_target_answers_reaches_the_terminal_inert() -> None:
    """A target's bytes are quoted by probe: its escape codes and bidi marks are shown, not run."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from evalkit.serving import LoopbackServer

    hostile = "\x1b[2J\x1b]0;pwned\x07\u202egnp.exe\x9b31m"

    async def answer(request: Request) -> Response:
        return Response(f'{{"message": "{hostile}"}}', status_code=500, media_type="text/plain")

    app = Starlette(routes=[Route("/{path:path}", answer, methods=["POST"])])
    with LoopbackServer(app, name="hostile") as server:
        args = ["probe", "--form", "contact", "--target", "custom", "--base-url", server.root]
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output
    for raw in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert raw not in result.output
    assert "\\x1b[2J" in result.output or "\\u001b[2J" in result.output
