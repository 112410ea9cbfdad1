"""Start-up cost: what evalkit costs a process that only imports it, asks for help, or runs pytest.

- `import evalkit` against a bare interpreter (`python -c pass`);
- `evalkit --help`;
- pytest on a one-test project (no `*.eval.yaml`) with the plugin installed, against the same
  run with `-p no:evalkit`: the plugin's cost when it collects no suite file.

Each pair is run alternately (A, B, A, B, ...) so that a change in the machine's load hits both,
and the table gives medians, with bytecode cached as on a user's machine (a warm-up run fills the
caches). Budgets (design §8): import ≤ 150 ms, `--help` ≤ 250 ms, the plugin
≤ 50 ms. Run: `.venv/bin/python bench/bench_startup.py [--runs N]`
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _common import print_table

BIN = Path(sys.executable).parent
BUDGETS_MS = {"import evalkit": 150.0, "evalkit --help": 250.0, "pytest plugin": 50.0}


# Start-up as users meet it: with bytecode cached. A PYTHONDONTWRITEBYTECODE in the environment
# (this VM sets one) makes every run compile, and pytest rewrite, every module it imports again.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd: Sequence[str], cwd: Path | None = None) -> float:
    """Seconds one run of `cmd` takes, start to exit (it must succeed)."""
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - started


def alternated(
    first: Sequence[str], second: Sequence[str], runs: int, cwd: Path | None = None
) -> tuple[float, float]:
    """Medians of `first` and `second`, run one after the other `runs` times (after a warm-up)."""
    wall(first, cwd)
    wall(second, cwd)
    a, b = [], []
    for _ in range(runs):
        a.append(wall(first, cwd))
        b.append(wall(second, cwd))
    return statistics.median(a), statistics.median(b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs of each command (median)")
    runs = parser.parse_args().runs
    python = sys.executable
    rows = []
    bare, imported = alternated([python, "-c", "pass"], [python, "-c", "import evalkit"], runs)
    rows.append(("import evalkit", bare, imported))
    help_bare, help_s = alternated([python, "-c", "pass"], [str(BIN / "evalkit"), "--help"], runs)
    rows.append(("evalkit --help", help_bare, help_s))
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "test_one.py").write_text("def test_one():\n    assert True\n")
        pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        without, with_plugin = alternated([*pytest, "-p", "no:evalkit"], pytest, runs, project)
        rows.append(("pytest plugin", without, with_plugin))
    table, failed = [], []
    for name, base, measured in rows:
        cost_ms = 1000 * (measured - base)
        shown_ms = 1000 * measured if name != "pytest plugin" else cost_ms
        met = shown_ms <= BUDGETS_MS[name]
        failed += [] if met else [name]
        table.append(
            (name, 1000 * base, 1000 * measured, cost_ms, BUDGETS_MS[name], "yes" if met else "NO")
        )
    print_table(
        f"Start-up: medians of {runs} alternated runs (ms)",
        ["what", "baseline", "measured", "cost", "budget", "met"],
        table,
    )
    print(
        "\nbaseline: `python -c pass` for the first two, pytest with `-p no:evalkit` for the "
        "plugin; the budget applies to the measured time, and to the cost for the plugin."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
