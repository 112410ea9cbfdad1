"""Run identity: when two runs ran the same suites against the same target.

The keys are what the history indexes runs by (`--baseline last` looks for the same keys) and
what `evalkit merge` checks shards by.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from evalkit.results.models import SuiteInfo, TargetInfo

__all__ = ["suite_key", "target_identity", "target_key"]


def suite_key(suites: Iterable[SuiteInfo]) -> str:
    """A stable key of a set of suites at their versions: sorted names and sha256, hashed.

    Two runs with the same key ran byte-identical suite files, whatever their paths or order.
    """
    pairs = sorted({(suite.name, suite.sha256) for suite in suites})
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16]


def target_identity(target: TargetInfo) -> dict[str, object]:
    """What makes two targets the same target: name, base URL (not the emulator's), form ids."""
    # The emulator listens on a random loopback port each run: its URL says nothing about what
    # was tested, its forms do.
    base_url = "" if target.name == "emulator" else target.base_url.rstrip("/")
    return {
        "name": target.name,
        "base_url": base_url,
        "form_ids": dict(sorted(target.form_ids.items())),
    }


def target_key(target: TargetInfo) -> str:
    """A stable key of a target: its name, base URL (not the emulator's port) and form ids.

    The framing is left out: it is how the answers were carried, not what was tested.
    """
    return hashlib.sha256(json.dumps(target_identity(target), sort_keys=True).encode()).hexdigest()[
        :16
    ]
