"""Write this fixture again: run `suite/` against the emulator (shuffled order, seed 7).

Run from the repository root: `.venv/bin/python tests/data/run_fixture_personas/make.py`. It
replaces `results.jsonl` and `run.json` with those of a real run; review the diff, then the
goldens that render it (tests/test_report_personas.py --update-goldens).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from evalkit.loader import load_suites
from evalkit.runner import RunSettings, emulator_target, run_sync

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def main() -> None:
    """Run the suite and copy its run directory here."""
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        shutil.copytree(ROOT / "suites" / "forms", work / "suites" / "forms")
        suite = work / "suites" / "personas-fixture.eval.yaml"
        shutil.copy(HERE / "suite" / "personas-fixture.eval.yaml", suite)
        suites = load_suites([suite])
        with emulator_target(suites, ask_order="shuffled", seed=7) as target:
            outcome = run_sync(suites, target, out_root=work / "runs", settings=RunSettings())
        for name in ("results.jsonl", "run.json"):  # the suite's path as in this repository
            text = (outcome.run_dir / name).read_text(encoding="utf-8")
            text = text.replace(str(suite), f"tests/data/run_fixture_personas/suite/{suite.name}")
            text = text.replace(str(work / "suites" / "forms"), "suites/forms")  # as here
            (HERE / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
