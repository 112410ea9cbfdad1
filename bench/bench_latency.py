"""Latency-bound efficiency: wall time of a run over the ideal, when the target is slow.

1,000 conversations at concurrency 100 against the emulator (its own process) answering every
request after a fixed 0.5 s. The emulator delays session creation too, so a conversation of one
user message is two 0.5 s exchanges, and its ideal is 1,000 x 2 x 0.5 / 100 = 10 s: the issue's
"1,000 conversations x 2 turns". The table also shows two user messages (three exchanges, ideal
15 s) and, as a reference for what the emulator and the loopback allow, the raw httpx2 script of
`bench_overhead.py` on the first workload. Efficiency = wall / ideal; goal <= 1.10.

evalkit runs in this process (`run_async`, custom target at the emulator), writing its run
directory as usual; the wall time is that of `run_async` alone.

Run: `.venv/bin/python bench/bench_latency.py [--conversations 1000] [--concurrency 100]`
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from _common import emulator, load_average, print_table, write_suites
from _raw import run_raw

from evalkit.loader import load_suites
from evalkit.runner import RunSettings, Target, run_async


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, emulator(turn_latency=args.latency) as server:
        for client, user_turns in (("evalkit", 1), ("raw httpx2", 1), ("evalkit", 2)):
            suites = load_suites(
                [write_suites(Path(tmp) / f"s{user_turns}", args.conversations, user_turns)]
            )
            exchanges = args.conversations * (1 + user_turns)
            ideal = exchanges * args.latency / args.concurrency
            load, server_cpu = load_average(), server.cpu()
            wall = time.perf_counter()
            if client == "evalkit":
                outcome = asyncio.run(
                    run_async(
                        suites,
                        Target(name="custom", base_url=server.base_url, mode="sse"),
                        out_root=Path(tmp) / "runs",
                        settings=RunSettings(concurrency=args.concurrency),
                    )
                )
                statuses = "/".join(sorted({r.status for r in outcome.results}))
            else:
                utterances = [
                    [t.user or "" for t in c.turns] for s in suites for c in s.suite.conversations
                ]
                asyncio.run(run_raw(server.base_url, "contact", utterances, args.concurrency))
                statuses = "-"
            wall = time.perf_counter() - wall
            rows.append(
                [
                    client,
                    f"{args.conversations} x (create + {user_turns})",
                    ideal,
                    wall,
                    wall / ideal,
                    server.cpu() - server_cpu,
                    statuses,
                    load,
                ]
            )
    headers = [
        "client",
        "exchanges",
        "ideal s",
        "wall s",
        "efficiency",
        "emulator CPU s",
        "statuses",
        "load (1/5/15)",
    ]
    title = (
        f"Latency-bound: {args.latency} s per exchange, concurrency {args.concurrency} "
        "(goal: efficiency <= 1.10)"
    )
    print_table(title, headers, rows)


if __name__ == "__main__":
    sys.exit(main())
