"""Hostile targets: wall time and peak RSS of `evalkit run` against bodies nobody planned for.

A small hostile server (stdlib `http.server`, in a thread of this process, on loopback) answers
session creation well, naming the scenario as the session id, and the user turn with the
scenario's body: an endless stream of valid TEXT chunks, a 500 with an endless body, one 200 MB
message, an endless run of SSE comments, a slow endless drip, JSON nested 100,000 deep, an HTML
page, invalid UTF-8. Each runs as a user would: `evalkit run` in its own process, on a suite of
one one-turn conversation, `--target custom --base-url <server> --form-id contact=<scenario>`,
with `--turn-timeout` (5 s by default) and the default retries and restarts, the reports written.
Endless bodies stop when the client goes away (or after 4 GB, so a run without limits ends too).

Peak RSS is the child's own high-water mark (`VmHWM` in `/proc/<pid>/status`, polled every 10 ms
until it exits: its `ru_maxrss` would also count what this process held when it forked). Goals:
peak RSS <= 150 MB in every case, and wall time <= (turn timeout + 1 s) x the sessions the
conversation used (1 + its restarts).

Run: `.venv/bin/python bench/bench_hostile.py [SCENARIO...] [--turn-timeout 5] [--restarts N]`
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _common import PYTHON, Child, load_average, print_table

ENDLESS_CAP = 4 * 2**30
EOR = {"chunkType": "END_OF_RESPONSE", "endOfResponseDetails": {"success": True}}
SUITE = """suite: hostile
form: contact
conversations:
  - id: only
    turns: [{user: "I'm Jane", expect: {first_name: Jane}}]
"""
Writer = Callable[[bytes], object]


def event(message: dict[str, Any]) -> bytes:
    """One SSE event carrying one message."""
    return b"data: " + json.dumps(message).encode() + b"\n\n"


def endless(piece: bytes, pause: float = 0.0) -> Callable[[Writer], None]:
    """A body that repeats `piece` until the client leaves (or `ENDLESS_CAP` bytes)."""

    def write(out: Writer) -> None:
        sent = 0
        while sent < ENDLESS_CAP:
            out(piece)
            sent += len(piece)
            if pause:
                time.sleep(pause)

    return write


def huge_message(out: Writer) -> None:
    """One SSE event whose TEXT is 200 MB long."""
    out(b'data: {"responseChunk": {"chunkType": "TEXT", "textDetails": {"text": "')
    block = b"a" * 2**16
    for _ in range(200 * 2**20 // len(block)):
        out(block)
    out(b'"}}}\n\n' + event({"responseChunk": EOR}))


TEXT = event({"responseChunk": {"chunkType": "TEXT", "textDetails": {"text": "Hello there!"}}})
SCENARIOS: dict[str, tuple[int, str, Callable[[Writer], None], str]] = {
    "endless-text": (200, "text/event-stream", endless(TEXT * 200), "valid TEXT chunks, forever"),
    "error-500-endless": (500, "text/plain", endless(b"x" * 2**16), "a 500 whose body never ends"),
    "one-200MB-message": (200, "text/event-stream", huge_message, "one 200 MB TEXT message"),
    "endless-comments": (
        200,
        "text/event-stream",
        endless(b": keep-alive\n" * 5000),
        "SSE comments, forever",
    ),
    "slow-drip": (
        200,
        "text/event-stream",
        endless(TEXT, pause=0.05),
        "one TEXT chunk every 50 ms, forever",
    ),
    "deep-json": (
        200,
        "application/x-ndjson",
        endless(b"[" * 2**16),
        "JSON arrays opened, never closed",
    ),
    "html-200": (
        200,
        "text/html",
        endless(b"<html><body>" + b"<p>Sign in</p>" * 4000 + b"</body></html>\n"),
        "an endless HTML page",
    ),
    "invalid-utf8": (
        200,
        "text/event-stream",
        lambda out: out(
            b'data: {"responseChunk": {"chunkType": "TEXT", "textDetails": {"text": "caf\xe9"}}}'
            b"\n\n" + event({"responseChunk": EOR})
        ),
        "a TEXT chunk with a byte that is not UTF-8",
    ),
}


class Hostile(BaseHTTPRequestHandler):
    """Session creation answered well; the user turn answered with the scenario's body."""

    protocol_version = "HTTP/1.0"  # the body ends when the connection closes

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the table readable."""

    def do_POST(self) -> None:
        """Answer one request."""
        length = int(self.headers.get("content-length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if self.path.endswith("/create-streamed"):
            session = {"id": request["formId"], "formId": request["formId"]}
            greeting = event({"responseChunk": EOR, "interactiveFormSession": session})
            self._answer(200, "text/event-stream", lambda out: out(greeting))
            return
        status, content_type, write, _ = SCENARIOS[self.path.split("/")[-2]]
        self._answer(status, content_type, write)

    def _answer(self, status: int, content_type: str, write: Callable[[Writer], None]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped
            write(self.wfile.write)


def run_measured(cmd: list[str]) -> Child:
    """Run a command to its end, polling its peak RSS (`VmHWM`) from /proc until it exits."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        peak_kb = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            try:
                with open(f"/proc/{process.pid}/status") as handle:
                    for line in handle:
                        if line.startswith("VmHWM:"):
                            peak_kb = max(peak_kb, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
            time.sleep(0.01)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    return Child(
        returncode=process.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=peak_kb / 1024,
        stdout=text,
    )


def outcome(run_dir: Path) -> tuple[str, int, int]:
    """The conversation's status or error kind, its sessions, and its retries."""
    rows = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    if not rows:
        return "no result", 1, 0
    (row,) = rows
    error = row.get("error") or {}
    sessions = 1 + len(row.get("restarts") or [])
    retries = sum(len(turn.get("retries") or []) for turn in row.get("transcript") or [])
    label = f"{row['status']}: {error['kind']}" if error else row["status"]
    return label, sessions, retries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", choices=[[], *SCENARIOS], default=[])
    parser.add_argument("--turn-timeout", type=float, default=5.0)
    parser.add_argument("--restarts", type=int, help="default: evalkit's own (2)")
    parser.add_argument("--rss-goal", type=float, default=150.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    rows = []
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "hostile.eval.yaml"
        suite.write_text(SUITE)
        for name in args.scenarios or list(SCENARIOS):
            out = Path(tmp) / name
            cmd = [PYTHON, "-m", "evalkit", "run", str(suite), "--target", "custom"]
            cmd += ["--base-url", base_url, "--form-id", f"contact={name}", "--out", str(out)]
            cmd += ["--turn-timeout", str(args.turn_timeout)]
            if args.restarts is not None:
                cmd += ["--restarts", str(args.restarts)]
            load = load_average()
            child = run_measured(cmd)
            runs = sorted(out.glob("*/run.json"))
            if runs:
                label, sessions, retries = outcome(runs[0].parent)
                results_mb = (runs[0].parent / "results.jsonl").stat().st_size / 2**20
            else:
                label, sessions, retries, results_mb = "no run directory", 1, 0, 0.0
                print(f"{name}: evalkit run exited {child.returncode}:\n{child.stdout[-2000:]}")
            budget = sessions * (args.turn_timeout + 1.0)
            ok = child.peak_rss_mb <= args.rss_goal and child.wall_s <= budget
            met = met and ok
            rows.append(
                [
                    name,
                    SCENARIOS[name][3],
                    f"exit {child.returncode}, {label}",
                    sessions,
                    retries,
                    child.wall_s,
                    budget,
                    child.peak_rss_mb,
                    results_mb,
                    "yes" if ok else "NO",
                    load,
                ]
            )
    server.shutdown()
    headers = [
        "scenario",
        "body",
        "outcome",
        "sessions",
        "retries",
        "wall s",
        "budget s",
        "peak RSS MB",
        "results.jsonl MB",
        "goal met",
        "load (1/5/15)",
    ]
    print_table(
        f"`evalkit run` against hostile bodies (--turn-timeout {args.turn_timeout:g}; "
        f"goal: peak RSS <= {args.rss_goal:g} MB, wall <= (timeout + 1 s) x sessions)",
        headers,
        rows,
    )
    print("\nall goals met" if met else "\nsome goal NOT met")


if __name__ == "__main__":
    sys.exit(main())
