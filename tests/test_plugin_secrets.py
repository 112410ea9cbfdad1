"""The pytest plugin keeps every credential out of what it prints and writes.

The target here is hostile on purpose: it echoes the `Authorization` header, the site id, the
OAuth access token and the app secret (which it learns from the token request) in TEXT chunks,
TEXT_DATA values, error bodies and response headers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evalkit.cli import main

pytest_plugins = ["pytester"]

API_KEY = "IST.plugin-leak-canary-0123456789"
SITE_ID = "site-leak-canary-4567"
APP_SECRET = "app-secret-leak-canary-89ab"
TOKEN = "oauth-token-leak-canary-cdef"

SUITE = """\
suite: leaky
form: contact
conversations:
  - id: echoed
    turns:
      - user: "Hi, I'm Jane"
        expect: {first_name: Janet}
        reply: {contains: "never said"}
  - id: broken
    turns:
      - user: "please fail"
"""


class EchoTarget:
    """A target that repeats every secret it sees, everywhere it can."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.requests: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/oauth2/token", self.token, methods=["POST"]),
                Route("/{path:path}", self.api, methods=["POST"]),
            ]
        )

    def _learn(self, request: Request) -> str:
        for name in ("authorization", "wix-site-id"):
            if request.headers.get(name):
                self.secrets.add(request.headers[name])
        return " | ".join(sorted(self.secrets))

    async def token(self, request: Request) -> Response:
        body = await request.json()
        self.secrets.add(str(body.get("client_secret")))
        return JSONResponse({"access_token": TOKEN, "expires_in": 14400})

    async def api(self, request: Request) -> Response:
        echoed = self._learn(request)
        self.requests.append(request.url.path)
        headers = {"x-echo": echoed.replace("|", ","), "content-type": "text/event-stream"}
        body = await request.json()
        if "please fail" in json.dumps(body):
            error = {
                "message": f"denied for {echoed}",
                "details": {"applicationError": {"code": "DENIED", "description": echoed}},
            }
            return JSONResponse(error, status_code=403, headers={"x-echo": headers["x-echo"]})
        # Each secret again, split over two chunks: a text joined from them must not rebuild it.
        halves = [
            {"chunkType": "TEXT", "textDetails": {"text": part}}
            for secret in sorted(self.secrets)
            for part in (secret[: len(secret) // 2], secret[len(secret) // 2 :])
        ]
        chunks = [
            {"chunkType": "TEXT", "textDetails": {"text": f"You sent {echoed}"}},
            *halves,
            {
                "chunkType": "TEXT_DATA",
                "textDataDetails": {"fieldTarget": "first_name", "value": echoed, "text": echoed},
            },
            {"chunkType": "END_OF_RESPONSE", "endOfResponseDetails": {"success": True}},
        ]
        session = {"id": f"s-{len(self.requests)}", "formId": "contact"}
        messages = [{"responseChunk": c, "interactiveFormSession": session} for c in chunks]
        text = "".join(f"data: {json.dumps(m)}\n\n" for m in messages)
        return Response(text, headers=headers)


@pytest.fixture
def echo_target() -> Iterator[tuple[EchoTarget, str]]:
    target = EchoTarget()
    config = uvicorn.Config(target.app, host="127.0.0.1", port=0, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the echo target did not start")
        threading.Event().wait(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield target, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize(
    ("env", "secrets"),
    [
        pytest.param(
            {"WIX_API_KEY": API_KEY, "WIX_SITE_ID": SITE_ID}, [API_KEY, SITE_ID], id="api-key"
        ),
        pytest.param(
            {"WIX_APP_ID": "app-1", "WIX_APP_SECRET": APP_SECRET, "WIX_INSTANCE_ID": "inst-1"},
            [APP_SECRET, TOKEN],
            id="oauth",
        ),
    ],
)
def test_no_secret_reaches_the_terminal_junit_or_any_file(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    echo_target: tuple[EchoTarget, str],
    env: dict[str, str],
    secrets: list[str],
) -> None:
    target, url = echo_target
    for name in ("WIX_API_KEY", "WIX_SITE_ID", "WIX_APP_ID", "WIX_APP_SECRET", "WIX_INSTANCE_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pytester.makefile(".eval.yaml", leaky=SUITE)

    result = pytester.runpytest_subprocess(
        "--evalkit-target", "wix", "--evalkit-base-url", url, "--junitxml=j.xml", "-rA", "-v"
    )

    result.assert_outcomes(failed=1, errors=1)
    assert target.requests  # the target was really talked to, and heard the secrets
    assert set(secrets) <= target.secrets
    written = [p for p in pytester.path.rglob("*") if p.is_file()]
    assert pytester.path / "j.xml" in written
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str()}
    outputs |= {str(p): p.read_text(encoding="utf-8", errors="replace") for p in written}
    assert_no_secret(outputs, secrets)
    assert "[REDACTED]" in outputs["stdout"]


def assert_no_secret(outputs: dict[str, str], secrets: list[str]) -> None:
    """No secret in any output, whole, or rebuilt from two halves joined by a space."""
    for secret in secrets:
        half = len(secret) // 2
        for spelling in (secret, f"{secret[:half]} {secret[half:]}"):
            leaks = [name for name, text in outputs.items() if spelling in text]
            assert not leaks, f"{spelling!r} leaked into {leaks}"


def test_evalkit_run_redacts_a_secret_split_over_two_chunks(
    tmp_path: Path, echo_target: tuple[EchoTarget, str]
) -> None:
    target, url = echo_target
    suite = tmp_path / "leaky.eval.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    env = {"WIX_API_KEY": API_KEY, "WIX_SITE_ID": SITE_ID}
    args = ["--target", "custom", "--base-url", url, "--out", str(tmp_path / "out")]

    result = CliRunner().invoke(main, ["run", str(suite), *args], env=env)

    assert result.exit_code in (1, 3), result.output
    assert {API_KEY, SITE_ID} <= target.secrets
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert {"results.jsonl", "junit.xml", "report.html", "report.md"} <= {p.name for p in written}
    outputs = {"output": result.output}
    outputs |= {str(p): p.read_bytes().decode("utf-8", "replace") for p in written}
    assert_no_secret(outputs, [API_KEY, SITE_ID])
    assert "no such words" not in outputs["output"]
