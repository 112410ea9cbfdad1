"""Overhead vs the limit: CPU seconds per turn of evalkit against a raw httpx2 script.

The same conversations (3 user turns each, SSE-streamed, after a streamed session creation) are
driven against the emulator with no added latency, at the same concurrency, by:

- (a) evalkit: `run_async` with a custom target at the emulator: decoding and timing every chunk,
  scoring, writing `results.jsonl` and `run.json`;
- (b) a minimal script using httpx2 directly (`bench/_raw.py`): same requests, `data:` lines
  parsed as JSON, nothing else.

Each client runs in its own process (the emulator in a third), and reports the CPU time
(`time.process_time`) of the work only, imports and suite loading excluded. Rounds alternate
a, b, a, b... so both see the same load; the table shows every round and the median ratio a/b.
Goal: <= 1.3.

Run: `.venv/bin/python bench/bench_overhead.py [--conversations 300] [--concurrency 16]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import PYTHON, emulator, load_average, print_table, run_child, write_suites

TURNS = 3


def client_main(kind: str, base_url: str, suites: Path, concurrency: int) -> None:
    from evalkit.loader import load_suites
    from evalkit.runner import RunSettings, Target, run_async

    loaded = load_suites([suites])
    if kind == "evalkit":
        target = Target(name="custom", base_url=base_url, mode="sse")
        with tempfile.TemporaryDirectory() as out:
            cpu, wall = time.process_time(), time.perf_counter()
            outcome = asyncio.run(
                run_async(
                    loaded,
                    target,
                    out_root=Path(out),
                    settings=RunSettings(concurrency=concurrency),
                )
            )
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            # The results are read from the run directory: count them before it goes.
            turns = sum(len(r.transcript) - 1 for r in outcome.results)
            statuses = sorted({r.status for r in outcome.results})
    else:
        from _raw import run_raw

        conversations = [
            [t.user or "" for t in c.turns] for s in loaded for c in s.suite.conversations
        ]
        cpu, wall = time.process_time(), time.perf_counter()
        turns = asyncio.run(run_raw(base_url, "contact", conversations, concurrency))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        statuses = ["-"]
    print(json.dumps({"cpu": cpu, "wall": wall, "turns": turns, "statuses": statuses}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--client", choices=["evalkit", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--suites", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args.client, args.base_url, args.suites, args.concurrency)
        return
    rows = []
    per_turn: dict[str, list[float]] = {"evalkit": [], "raw": []}
    with tempfile.TemporaryDirectory() as tmp, emulator() as server:
        suites = write_suites(Path(tmp) / "suites", args.conversations, TURNS)
        for round_number in range(1, args.rounds + 1):
            for kind in ("evalkit", "raw"):
                load = load_average()
                child = run_child(
                    [
                        PYTHON,
                        __file__,
                        "--client",
                        kind,
                        "--base-url",
                        server.base_url,
                        "--suites",
                        str(suites),
                        "--concurrency",
                        str(args.concurrency),
                    ]
                )
                data = child.last_json()
                per_turn[kind].append(data["cpu"] / data["turns"])
                rows.append(
                    [
                        round_number,
                        kind,
                        data["turns"],
                        data["cpu"],
                        data["cpu"] / data["turns"] * 1000,
                        data["wall"],
                        data["turns"] / data["wall"],
                        child.peak_rss_mb,
                        "/".join(data["statuses"]),
                        load,
                    ]
                )
    headers = [
        "round",
        "client",
        "user turns",
        "CPU s",
        "CPU ms/turn",
        "wall s",
        "turns/s",
        "peak RSS MB",
        "statuses",
        "load (1/5/15)",
    ]
    title = (
        f"Overhead: {args.conversations} conversations x {TURNS} streamed turns, "
        f"concurrency {args.concurrency}, emulator without latency"
    )
    print_table(title, headers, rows)
    a, b = statistics.median(per_turn["evalkit"]), statistics.median(per_turn["raw"])
    print(
        f"\nmedian CPU per user turn: evalkit {a * 1000:.2f} ms, raw httpx2 {b * 1000:.2f} ms; "
        f"ratio a/b = {a / b:.2f} (goal <= 1.3)"
    )


if __name__ == "__main__":
    sys.exit(main())
