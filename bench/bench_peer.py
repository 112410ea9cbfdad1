"""Peer: the same single-turn workload through promptfoo's HTTP provider and through evalkit.

Workload: N cases, each one user message ("Hi, I'm Jane Doe, jane.7@example.com") whose extracted
`first_name` and `email` are checked, against the emulator (its own process, no added latency),
both at the same concurrency, unary endpoints (promptfoo's HTTP provider reads a whole JSON body).

- promptfoo: installed by this script from the npm registry into a temporary folder
  (`npm install --prefix <tmp> promptfoo`). Its HTTP provider makes one request per test case and
  cannot chain two, so the script first creates one session per case with httpx2 (not timed) and
  each test case POSTs its message to that session's `send-user-message`; `transformResponse`
  turns the TEXT_DATA chunks into an object and a `javascript` assertion checks both fields.
  It runs as users run it: `promptfoo eval --no-cache -j C -o results.json` (results stored in its
  SQLite database, in a temporary PROMPTFOO_CONFIG_DIR, and in the JSON file).
- evalkit: `evalkit run --target custom --framing unary --concurrency C`, which creates the
  session itself: two requests per case where promptfoo makes one. It also writes its run
  directory and both reports.

Wall time and peak RSS (of the whole process tree, from `wait4`) side by side.

Run: `.venv/bin/python bench/bench_peer.py [--cases 1000] [--concurrency 20]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx2
from _common import PYTHON, emulator, load_average, person, print_table, run_child, write_suites

API = "/forms/ai/v1/interactive-form-sessions"
TRANSFORM = (
    "Object.fromEntries(json.responseChunks.filter(c => c.chunkType === 'TEXT_DATA')"
    ".map(c => [c.textDataDetails.fieldTarget, c.textDataDetails.value]))"
)


async def create_sessions(base_url: str, count: int, concurrency: int) -> list[str]:
    slots = asyncio.Semaphore(concurrency)
    async with httpx2.AsyncClient(base_url=base_url + API, timeout=60) as client:

        async def one() -> str:
            async with slots:
                response = await client.post("", json={"formId": "contact", "dryRun": True})
                response.raise_for_status()
                return str(response.json()["interactiveFormSession"]["id"])

        return list(await asyncio.gather(*(one() for _ in range(count))))


def promptfoo_config(base_url: str, sessions: list[str]) -> dict[str, object]:
    tests = []
    for k, session in enumerate(sessions):
        who = person(k)
        check = f"output.first_name === {who['first']!r} && output.email === {who['email']!r}"
        message = f"Hi, I'm {who['first']} {who['last']}, {who['email']}"
        tests.append(
            {
                "vars": {"message": message, "session": session},
                "assert": [{"type": "javascript", "value": check}],
            }
        )
    return {
        "prompts": ["{{message}}"],
        "providers": [
            {
                "id": "http",
                "config": {
                    "url": f"{base_url}{API}/{{{{session}}}}/send-user-message",
                    "method": "POST",
                    "headers": {"Content-Type": "application/json"},
                    "body": {"input": "{{prompt}}"},
                    "transformResponse": TRANSFORM,
                },
            }
        ],
        "tests": tests,
    }


def install_promptfoo(prefix: Path) -> tuple[Path | None, str]:
    """`npm install --prefix` into `prefix`; the CLI's path, or None and the error."""
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not installed"
    done = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "promptfoo"],
        capture_output=True,
        text=True,
        check=False,
    )
    cli = prefix / "node_modules" / ".bin" / "promptfoo"
    if done.returncode != 0 or not cli.exists():
        return None, f"npm install failed ({done.returncode}): {done.stderr[-2000:]}"
    version = json.loads((prefix / "node_modules" / "promptfoo" / "package.json").read_text())
    return cli, f"promptfoo {version['version']}, node {node_version()}"


def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "?"
    return subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, emulator() as server:
        root = Path(tmp)
        cli, note = install_promptfoo(root / "npm")
        print(f"peer: {note}")
        suites = write_suites(root / "suites", args.cases, 1)
        load = load_average()
        child = run_child(
            [
                PYTHON,
                "-m",
                "evalkit",
                "run",
                str(suites),
                "--target",
                "custom",
                "--base-url",
                server.base_url,
                "--framing",
                "unary",
                "--concurrency",
                str(args.concurrency),
                "--out",
                str(root / "runs"),
            ]
        )
        outcome = child.stdout.strip().splitlines()[-1]
        rows.append(
            ["evalkit", 2 * args.cases, child.wall_s, child.cpu_s, child.peak_rss_mb, outcome, load]
        )
        if cli is not None:
            sessions = asyncio.run(create_sessions(server.base_url, args.cases, args.concurrency))
            config = root / "promptfooconfig.json"
            config.write_text(json.dumps(promptfoo_config(server.base_url, sessions)))
            env = {
                "PROMPTFOO_CONFIG_DIR": str(root / "promptfoo-home"),
                "PROMPTFOO_DISABLE_TELEMETRY": "1",
                "PROMPTFOO_DISABLE_UPDATE": "1",
                "NO_COLOR": "1",
            }
            load = load_average()
            child = run_child(
                [
                    str(cli),
                    "eval",
                    "-c",
                    str(config),
                    "--no-cache",
                    "--no-table",
                    "--no-progress-bar",
                    "-j",
                    str(args.concurrency),
                    "-o",
                    str(root / "results.json"),
                ],
                env={**env, "PATH": os.environ.get("PATH", "")},
            )
            try:
                stats = json.loads((root / "results.json").read_text())["results"]["stats"]
                outcome = f"{stats['successes']} passed, {stats['failures']} failed"
            except (OSError, KeyError, ValueError):
                outcome = f"exit {child.returncode}: {child.stdout.strip()[-300:]}"
            rows.append(
                [
                    "promptfoo",
                    args.cases,
                    child.wall_s,
                    child.cpu_s,
                    child.peak_rss_mb,
                    outcome,
                    load,
                ]
            )
    headers = ["tool", "requests", "wall s", "CPU s", "peak RSS MB", "outcome", "load (1/5/15)"]
    title = (
        f"Peer: {args.cases} single-turn cases, concurrency {args.concurrency}, unary endpoints "
        f"({note})"
    )
    print_table(title, headers, rows)


if __name__ == "__main__":
    sys.exit(main())
