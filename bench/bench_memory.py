"""Memory: peak RSS of `evalkit run` for 1,000 and 10,000 conversations.

The whole command as a user runs it (load the suites, run, write `results.jsonl` and `run.json`,
render the HTML and Markdown reports, print the summary), against the emulator in its own process
(`--target custom --base-url ...`), so the emulator's sessions are not counted. Peak RSS is the
child's `ru_maxrss` from `wait4`. Goal: <= 200 MB at 10,000 and <= 1.2x the 1,000 figure.

With `--phases`, each size also runs the same work in one process (`run_sync`, then the report
writers) and prints RSS and peak RSS after each phase, from `/proc/self/status`: where the memory
goes.

Run: `.venv/bin/python bench/bench_memory.py [SIZES...] [--turns 2] [--concurrency 100] [--phases]`
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from _common import PYTHON, emulator, load_average, print_table, run_child, write_suites


def _rss() -> tuple[float, float]:
    """This process's RSS and peak RSS, in MB."""
    values = {}
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(value.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def phases_child(suites: str, base_url: str, out: str, concurrency: int) -> None:
    """Run the suites in this process and print the RSS after each phase, one JSON line each."""

    def phase(name: str) -> None:
        rss, peak = _rss()
        print(json.dumps({"phase": name, "rss": rss, "peak": peak}), flush=True)

    from rich.console import Console

    from evalkit.cli.common import print_summary
    from evalkit.junit import write_junit
    from evalkit.loader import index_suites
    from evalkit.report import write_reports
    from evalkit.runner import RunSettings, Target, run_sync

    phase("imports")
    files = index_suites([suites])
    phase("validate the suites (`loader.index_suites`)")
    target = Target(name="custom", base_url=base_url, mode="sse")
    outcome = run_sync(
        files, target, out_root=Path(out), settings=RunSettings(concurrency=concurrency)
    )
    phase("run, `results.jsonl`, summary")
    write_reports(outcome.run_dir, outcome.info, outcome.results)
    phase("`report.html` and `report.md`")
    write_junit(outcome.run_dir, outcome.info, outcome.results)
    with open(os.devnull, "w") as devnull:
        print_summary(Console(file=devnull), outcome.info, outcome.results)
    phase("`junit.xml`, terminal summary")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--turns", type=int, default=2, help="user turns per conversation")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--phases", action="store_true", help="also show RSS phase by phase")
    parser.add_argument("--phases-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phases_child:
        suites, base_url, out = args.phases_child
        phases_child(suites, base_url, out, concurrency=args.concurrency)
        return
    phase_rows: dict[str, list[str]] = {}
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
            if args.phases:
                measured = run_child(
                    [
                        PYTHON,
                        __file__,
                        "--phases-child",
                        str(suites),
                        server.base_url,
                        str(Path(tmp) / f"phases{size}"),
                        "--concurrency",
                        str(args.concurrency),
                    ]
                )
                for line in measured.stdout.splitlines():
                    if line.startswith("{"):
                        point = json.loads(line)
                        cells = phase_rows.setdefault(point["phase"], [point["phase"]])
                        cells.append(f"{point['rss']:.0f} / {point['peak']:.0f}")
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
    if phase_rows:
        print_table(
            "RSS / peak RSS (MB) after each phase, in one process",
            ["phase", *(f"{size} conversations" for size in args.sizes)],
            list(phase_rows.values()),
        )
    if len(peaks) >= 2:
        small, large = min(peaks), max(peaks)
        print(
            f"\npeak RSS {large}: {peaks[large]:.0f} MB (goal <= 200); "
            f"{large} / {small}: {peaks[large] / peaks[small]:.2f}x (goal <= 1.2x)"
        )


if __name__ == "__main__":
    sys.exit(main())
