"""A run directory is written by one process at a time.

`RunLock` takes an exclusive, non-blocking lock (`flock`) on `<run-dir>/.evalkit.lock` and writes
the holder's process id into it. A second process (two `--resume`s of one run, a `report` while
the run is still finishing) is refused at once, told which process holds the directory. The lock
goes with the process: a killed run leaves the file, but not the lock, so the next resume takes it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from evalkit.errors import UsageError

__all__ = ["LOCK_FILE", "RunLock"]

LOCK_FILE = ".evalkit.lock"
"""The lock file in a run directory."""


class RunLock:
    """Hold a run directory for the duration of a `with` block.

    Args:
        run_dir: The run directory (it must exist).

    Raises:
        UsageError: On entry, when another process holds the directory (the message names it).
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._file: IO[str] | None = None

    def __enter__(self) -> RunLock:
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise UsageError(
                f"{self.path.parent} is being written by another evalkit (process {holder}); "
                "wait for it to finish, or stop it, and try again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
