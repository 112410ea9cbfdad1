"""Pacing against a real rate limit: wall time over the ideal, and the share of requests refused.

The emulator enforces a limit like the service's (`--rate-limit`, requests per minute per
credential, 429 with `Retry-After` over it), scaled up from Wix's 200 a minute to 6,000 so the
benchmark takes about a minute. `evalkit run --target custom` (a child process, as users run it)
drives a generated suite of the contact form against it, in two cases:

- `known`: evalkit's `--rate-limit` equals the server's. Goal: at most 1.03x the ideal, no 429.
- `unknown`: evalkit is not told (no `--rate-limit`); it has only the 429s, their `Retry-After`
  and its adaptive concurrency. Goal: at most 1.25x the ideal, at most 2% of requests refused.

In both, every conversation must also finish without error (one that gave up after its retries
did not do its work, so the ratio would flatter the run).

The ideal is the requests the run needed (those the emulator let through) divided by the limit;
the run's time is `run.json`'s start to finish (the conversations, without start-up and reports;
the whole command's wall time is shown too). The emulator runs in this process, in a thread
(`EmulatorServer`), so its counters (`stats.requests`, `stats.rate_limited`) are read directly;
each case gets a fresh emulator, so a fresh budget.

Run: `.venv/bin/python bench/bench_ratelimit.py [--limit 6000] [--conversations 1000]
[--turns 2] [--concurrency 16] [--latency 0] [--cases known,unknown]`
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import FORMS, PYTHON, load_average, print_table, run_child, write_suites

from evalkit.emulator import EmulatorServer, Knobs, Latency

GOALS = {"known": (1.03, 0.0), "unknown": (1.25, 0.02)}
"""Per case: the most wall time over the ideal, the largest share of requests answered 429."""


def run_case(case: str, args: argparse.Namespace, suites: Path, out: Path) -> dict[str, Any]:
    """One `evalkit run` against a fresh rate-limited emulator; what it cost and what it met."""
    knobs = Knobs(rate_limit=args.limit, rate_burst=args.burst, latency=Latency(turn=args.latency))
    with EmulatorServer(FORMS, knobs) as server:
        cmd = [PYTHON, "-m", "evalkit", "run", str(suites), "--target", "custom"]
        cmd += ["--base-url", server.base_url, "--concurrency", str(args.concurrency)]
        cmd += ["--out", str(out / case), "--max-error-rate", "1"]
        if case == "known":
            cmd += ["--rate-limit", f"{args.limit:g}"]
        load = load_average()
        child = run_child(cmd)
        received, refused = server.stats.requests, server.stats.rate_limited
    if child.returncode not in (0, 1):
        raise SystemExit(f"evalkit run exited {child.returncode}:\n{child.stdout}")
    found = sorted((out / case).glob("*/run.json"))
    if len(found) != 1:
        raise SystemExit(f"no run.json under {out / case}; evalkit run said:\n{child.stdout}")
    info = json.loads(found[0].read_text(encoding="utf-8"))
    span = (
        datetime.fromisoformat(info["finished_at"]) - datetime.fromisoformat(info["started_at"])
    ).total_seconds()
    admitted = received - refused
    ideal = admitted / (args.limit / 60)
    ratio = span / ideal
    share = refused / received if received else 0.0
    most_ratio, most_share = GOALS[case]
    errors = info["summary"]["errors"]
    # A conversation that ended in error did not do its work: the ratio would flatter the run.
    met = ratio <= most_ratio and share <= most_share and errors == 0
    return {
        "case": case,
        "evalkit --rate-limit": f"{args.limit:g}" if case == "known" else "none",
        "requests": admitted,
        "429s": refused,
        "429 share": f"{share:.2%}",
        "ideal s": ideal,
        "run s": span,
        "run / ideal": ratio,
        "command s": child.wall_s,
        "errors": errors,
        "goal": f"<= {most_ratio}x, <= {most_share:.0%} 429",
        "met": "yes" if met else "NO",
        "load": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=6000.0, help="requests per minute")
    parser.add_argument("--burst", type=int, default=None, help="server burst (default: 1 s)")
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=2, help="user turns per conversation")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.0, help="emulator seconds per answer")
    parser.add_argument("--cases", default="known,unknown", help="known, unknown or both")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if unknown := set(cases) - set(GOALS):
        raise SystemExit(f"unknown case(s): {', '.join(sorted(unknown))}")
    requests = args.conversations * (args.turns + 1)
    print(
        f"{args.conversations} conversations x (create + {args.turns} turns) = {requests} "
        f"requests against {args.limit:g} a minute: about {requests / (args.limit / 60):.0f} s "
        f"a case; concurrency {args.concurrency}, emulator latency {args.latency:g} s",
        file=sys.stderr,
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        suites = write_suites(Path(tmp) / "suites", args.conversations, args.turns)
        for case in cases:
            rows.append(run_case(case, args, suites, Path(tmp) / "runs"))
    headers = list(rows[0]) if rows else []
    print_table(
        f"Pacing against a rate limit of {args.limit:g} a minute (bench_ratelimit.py)",
        headers,
        [list(row.values()) for row in rows],
    )


if __name__ == "__main__":
    main()
