"""Memory: peak RSS of `evalkit run` for 1,000 and 10,000 conversations.

The whole command as a user runs it (load the suites, run, write `results.jsonl` and `run.json`,
render the HTML and Markdown reports, print the summary), against the emulator in its own process
(`--target custom --base-url ...`), so the emulator's sessions are not counted. Peak RSS is the
child's `ru_maxrss` from `wait4`. Goal: <= 200 MB at 10,000 and <= 1.2x the 1,000 figure.

Run: `.venv/bin/python bench/bench_memory.py [SIZES...] [--turns 2] [--concurrency 100]`
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _common import PYTHON, emulator, load_average, print_table, run_child, write_suites


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--turns", type=int, default=2, help="user turns per conversation")
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    rows = []
    peaks: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, emulator() as server:
        for size in args.sizes:
            suites = write_suites(Path(tmp) / f"s{size}", size, args.turns)
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
                    "--concurrency",
                    str(args.concurrency),
                    "--out",
                    str(Path(tmp) / "runs"),
                ]
            )
            if child.returncode not in (0, 1):
                raise SystemExit(f"evalkit run exited {child.returncode}:\n{child.stdout}")
            runs = sorted(p.parent for p in (Path(tmp) / "runs").glob("*/run.json"))
            run_dir = max(runs, key=lambda p: p.stat().st_mtime)
            results_mb = (run_dir / "results.jsonl").stat().st_size / 2**20
            html_mb = (run_dir / "report.html").stat().st_size / 2**20
            peaks[size] = child.peak_rss_mb
            rows.append(
                [
                    size,
                    args.turns,
                    child.wall_s,
                    child.cpu_s,
                    child.peak_rss_mb,
                    results_mb,
                    html_mb,
                    f"exit {child.returncode}",
                    load,
                ]
            )
    headers = [
        "conversations",
        "user turns",
        "wall s",
        "CPU s",
        "peak RSS MB",
        "results.jsonl MB",
        "report.html MB",
        "outcome",
        "load (1/5/15)",
    ]
    print_table(
        f"Memory of `evalkit run` (concurrency {args.concurrency}; emulator in its own process)",
        headers,
        rows,
    )
    if len(peaks) >= 2:
        small, large = min(peaks), max(peaks)
        print(
            f"\npeak RSS {large}: {peaks[large]:.0f} MB (goal <= 200); "
            f"{large} / {small}: {peaks[large] / peaks[small]:.2f}x (goal <= 1.2x)"
        )


if __name__ == "__main__":
    sys.exit(main())
