"""All of the emulator's knobs in one model, and a YAML profile file to keep them in.

A profile is a small YAML file whose keys mirror `evalkit emulator`'s flags::

    seed: 7
    framing: ndjson
    latency: {turn: 0.05, chunk: 0.01, distribution: exponential}
    faults: {rate: 0.1, kinds: ["429", "503", cut], retry_after: 0.05}
    noise: {rate: 0.2, kinds: [drop]}
    auth: {token: test-key, site_id: test-site}
    debug: true
    session_ttl: 600

`seed` seeds every knob that does not name a seed of its own, and the session and request ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalkit.emulator.app import DEFAULT_SESSION_TTL
from evalkit.emulator.faults import Auth, Faults, Latency, Noise
from evalkit.emulator.formfiles import line_of, read_yaml
from evalkit.emulator.wire import Framing
from evalkit.errors import Problem, SuiteError

__all__ = ["Knobs", "load_knobs"]


class Knobs(BaseModel):
    """Everything that makes the emulator misbehave on purpose; the defaults change nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    framing: Framing = "sse"
    """The streamed framing when a request's `Accept` does not choose one."""
    seed: int = 0
    """The seed of every knob without its own, and of session and request ids."""
    latency: Latency = Field(default_factory=Latency)
    """Delays before responses and between streamed messages."""
    faults: Faults = Field(default_factory=Faults)
    """Fault injection."""
    noise: Noise = Field(default_factory=Noise)
    """Extraction noise."""
    auth: Auth | None = None
    """Credentials every request must carry (none by default)."""
    debug: bool = False
    """Add DEBUG chunks to every response."""
    session_ttl: float = Field(default=DEFAULT_SESSION_TTL, gt=0)
    """Seconds a session may sit idle before it expires."""

    def app_options(self) -> dict[str, Any]:
        """Keyword arguments for `create_app`, `EmulatorServer` and `serve`."""
        seeded = {
            name: knob
            if "seed" in knob.model_fields_set
            else knob.model_copy(update={"seed": self.seed})
            for name, knob in (
                ("latency", self.latency),
                ("faults", self.faults),
                ("noise", self.noise),
            )
        }
        return {
            "framing": self.framing,
            "seed": self.seed,
            **seeded,
            "auth": self.auth,
            "debug": self.debug,
            "session_ttl": self.session_ttl,
        }


def load_knobs(path: Path) -> Knobs:
    """Load a YAML profile of knobs.

    Args:
        path: The file.

    Returns:
        The knobs.

    Raises:
        SuiteError: The file cannot be read or is not a valid profile; every problem has a line.
    """
    where = str(path)
    try:
        node, data = read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError([Problem(where, 0, f"cannot read the file: {exc}")]) from exc
    except ValueError as exc:
        raise SuiteError([Problem(where, getattr(exc, "line", 0), str(exc))]) from exc
    if data is None:
        return Knobs()
    if not isinstance(data, dict):
        raise SuiteError([Problem(where, 1, "a profile must be a mapping (seed, faults, ...)")])
    try:
        return Knobs.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            label = ".".join(str(p) for p in loc) or "profile"
            problems.append(Problem(where, line_of(node, loc), f"{label}: {err['msg']}"))
        raise SuiteError(problems) from exc
