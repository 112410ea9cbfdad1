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
    rate_limit: 200          # requests per minute per credential (429 + Retry-After over it)
    rate_burst: 3
    defects: [drop-country-code, "re-ask:age"]   # see defects.py

`seed` seeds every knob that does not name a seed of its own, and the session and request ids.

A knob is declared once, as a field of `Knobs` or of a knob model in it (`Faults`, `Latency`,
`Noise`, `Auth`): its type, bounds and default are the field's, its docstring is its help, and a
`Flag` in its annotation makes it an option of `evalkit emulator` (see `flags.py`). The app, the
server and the command line all take the one `Knobs` object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from evalkit.emulator.defects import Defect
from evalkit.emulator.dialogue import AskOrder
from evalkit.emulator.faults import Auth, Faults, Latency, Noise
from evalkit.emulator.flags import Flag
from evalkit.emulator.ratelimit import RateLimiter
from evalkit.emulator.wire import Framing
from evalkit.errors import SuiteError
from evalkit.yamlfile import FileKind, read_file

__all__ = ["DEFAULT_SESSION_TTL", "PROFILE", "Knobs", "load_knobs"]

DEFAULT_SESSION_TTL = 1800.0
"""Seconds a session may sit idle before it is forgotten (Wix documents no lifetime)."""

PROFILE = FileKind(
    name="profile", plural="profiles", keys="seed, faults, ...", syntax="invalid YAML"
)
"""How messages name a profile file."""


class Knobs(BaseModel):
    """The emulator's settings: everything that makes it misbehave on purpose, in one object.

    Each field is a knob, a key of a profile and (with its `Flag`) an option of `evalkit
    emulator`, whose help is the field's docstring. The defaults change nothing. `create_app`,
    `EmulatorServer` and `serve` take one `Knobs`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    framing: Annotated[Framing, Flag("--framing")] = "json-array"
    """Framing of streamed responses when `Accept` does not choose one (`*/*`, none)."""
    seed: Annotated[int, Flag("--seed")] = 0
    """The seed of every knob without its own, and of session and request ids."""
    latency: Latency = Field(default_factory=Latency)
    """Delays before responses and between streamed messages."""
    faults: Faults = Field(default_factory=Faults)
    """Fault injection."""
    noise: Noise = Field(default_factory=Noise)
    """Extraction noise."""
    auth: Auth | None = None
    """Credentials every request must carry (none by default)."""
    debug: Annotated[bool, Flag("--debug")] = False
    """Add DEBUG chunks to every response."""
    ask_order: Annotated[AskOrder, Flag("--ask-order")] = "form"
    """`form`: ask the missing required fields in the form's order, with the form's questions;
    `shuffled`: like a language model, each session asks them in its own seeded order, each
    question phrased one of several ways, and before submitting it sums up what it has and asks
    the user to confirm (a correction then still counts)."""
    defects: Annotated[tuple[Defect, ...], Flag("--defects", metavar="D1,D2")] = ()
    """Planted defects, comma-separated: `drop-country-code` (phone numbers lose their country
    code), `no-submit-when-false:FIELD` (no SUBMISSION while the boolean FIELD is false),
    `re-ask:FIELD` (FIELD is asked again right after it is first extracted)."""
    session_ttl: Annotated[float, Flag("--session-ttl")] = Field(default=DEFAULT_SESSION_TTL, gt=0)
    """Seconds a session may sit idle before it expires (then 404)."""
    rate_limit: Annotated[float | None, Flag("--rate-limit", default_text="none")] = Field(
        default=None, gt=0
    )
    """Requests per minute allowed to each credential (`Authorization` value, or none), like
    the service's limit per app instance; over it, 429 with `Retry-After`."""
    rate_burst: Annotated[
        int | None, Flag("--rate-burst", default_text="a second's worth, at least 1")
    ] = Field(default=None, ge=1)
    """Requests a credential may send at once under `--rate-limit` (the size of its bucket)."""

    @field_validator("rate_burst")
    @classmethod
    def _burst_needs_limit(cls, burst: int | None, info: ValidationInfo) -> int | None:
        if burst is not None and "rate_limit" in info.data and info.data["rate_limit"] is None:
            raise ValueError("needs a rate limit (--rate-limit)")
        return burst

    def limiter(self) -> RateLimiter | None:
        """The rate limiter these knobs ask for, or None (no limit)."""
        if self.rate_limit is None:
            return None
        burst = self.rate_burst or max(1, int(self.rate_limit / 60))
        return RateLimiter(self.rate_limit, burst)

    def seeded(self) -> Knobs:
        """These knobs with `seed` given to every knob that has a seed but names none itself."""
        update = {
            name: knob.model_copy(update={"seed": self.seed})
            for name, knob in self
            if isinstance(knob, BaseModel)
            and "seed" in type(knob).model_fields
            and "seed" not in knob.model_fields_set
        }
        return self.model_copy(update=update)


def load_knobs(path: Path) -> Knobs:
    """Load a YAML profile of knobs (read as strictly as a suite: see `evalkit.yamlfile`).

    Args:
        path: The file.

    Returns:
        The knobs; an empty file gives the defaults.

    Raises:
        SuiteError: The file cannot be read or is not a valid profile; every problem has a line.
    """
    doc = read_file(str(path), PROFILE)
    if not doc.present and not doc.problems:
        return Knobs()
    knobs = doc.validate(Knobs)
    if knobs is None:
        raise SuiteError(doc.problems)
    return knobs
