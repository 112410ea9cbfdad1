"""`evalkit emulator`'s flags come from the knobs' declaration, and reach the server as `Knobs`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from click.testing import CliRunner
from pydantic import Field

import evalkit.cli.emulator_cmd as emulator_cmd
from evalkit.cli import main
from evalkit.emulator import Auth, Faults, Flag, Knobs, Latency, Noise, knob_flags, with_flags
from evalkit.errors import UsageError


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Knobs]:
    """The knobs `evalkit emulator` would serve with (nothing is served)."""
    seen: list[Knobs] = []

    def serve(forms: Any, knobs: Knobs, **options: Any) -> None:
        seen.append(knobs)

    monkeypatch.setattr(emulator_cmd, "serve", serve)
    return seen


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, ["emulator", "--port", "0", *args])


def test_every_declared_knob_has_its_flag_and_its_help() -> None:
    result = CliRunner().invoke(main, ["emulator", "--help"])
    assert result.exit_code == 0
    flags = knob_flags(Knobs)
    assert [f.flag.name for f in flags] == [
        "--framing", "--seed", "--turn-latency", "--chunk-delay", "--latency", "--fault-rate",
        "--fault-kinds", "--retry-after", "--stall-seconds", "--noise-rate", "--noise-kinds",
        "--noise-field", "--auth-token", "--auth-site-id", "--debug", "--ask-order",
        "--defects", "--session-ttl", "--rate-limit", "--rate-burst",
    ]  # fmt: skip
    text = " ".join(result.output.split()).replace("- ", "-")  # click wraps after a hyphen
    for flag in flags:
        assert flag.flag.name in text
        assert " ".join(flag.help.split()) in text, flag.help
    by_name = {f.flag.name: f.help for f in flags}
    assert by_name["--fault-rate"] == "The probability that a request gets a fault. [0]"
    assert by_name["--session-ttl"].endswith("[1800]")
    assert by_name["--auth-token"].endswith("[no auth]")
    assert "[429,500,503,reset,cut,malformed,stall]" in by_name["--fault-kinds"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param([], Knobs(), id="nothing"),
        pytest.param(
            ["--seed", "5", "--fault-rate", "0.3", "--fault-kinds", "429, reset"],
            Knobs(seed=5, faults=Faults(rate=0.3, kinds=("429", "reset"))),
            id="faults",
        ),
        pytest.param(
            ["--chunk-delay", "0.1", "--turn-latency", "0", "--latency", "uniform"],
            Knobs(latency=Latency(chunk=0.1, turn=0, distribution="uniform")),
            id="latency",
        ),
        pytest.param(
            ["--chunk-latency", "0.2", "--framing", "ndjson", "--debug", "--session-ttl", "5"],
            Knobs(latency=Latency(chunk=0.2), framing="ndjson", debug=True, session_ttl=5),
            id="alias, switch",
        ),
        pytest.param(
            [
                "--noise-rate",
                "0.5",
                "--noise-kinds",
                "drop",
                "--noise-field",
                "a",
                "--noise-field",
                "b",
            ],
            Knobs(noise=Noise(rate=0.5, kinds=("drop",), fields=("a", "b"))),
            id="noise",
        ),
        pytest.param(
            ["--auth-token", "t", "--auth-site-id", "s"],
            Knobs(auth=Auth(token="t", site_id="s")),
            id="auth",
        ),
        pytest.param(
            ["--rate-limit", "6000", "--rate-burst", "5"],
            Knobs(rate_limit=6000, rate_burst=5),
            id="rate limit",
        ),
    ],
)
def test_flags_set_their_knobs(served: list[Knobs], args: list[str], expected: Knobs) -> None:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert served == [expected]


def test_flags_override_a_profile_key_by_key(served: list[Knobs], tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "seed: 7\nfaults: {rate: 0.1, kinds: ['429', cut]}\nnoise: {rate: 0.2, seed: 3}\n"
        "auth: {token: k, site_id: s}\n",
        encoding="utf-8",
    )
    assert invoke("--profile", str(profile), "--seed", "9", "--fault-rate", "0").exit_code == 0
    assert invoke("--profile", str(profile), "--auth-token", "x").exit_code == 0
    first, second = (knobs.seeded() for knobs in served)
    assert (first.faults.rate, first.faults.kinds, first.faults.seed) == (0, ("429", "cut"), 9)
    assert (first.noise.rate, first.noise.seed, first.latency.seed) == (0.2, 3, 9)
    # A knob that is off by default (auth) is set by its flags as a whole.
    assert second.auth == Auth(token="x")
    result = invoke("--profile", str(profile), "--auth-site-id", "other")
    assert result.exit_code == 2
    assert "--auth-site-id needs --auth-token" in result.output


def test_a_knob_added_to_the_declaration_is_a_flag_with_no_other_edit() -> None:
    class More(Knobs):
        slowness: Annotated[float, Flag("--slowness")] = Field(default=0.5, ge=0, le=9)
        """How slow everything is."""

    (added,) = [f for f in knob_flags(More) if f.flag.name == "--slowness"]
    assert (added.dest, added.help) == ("slowness", "How slow everything is. [0.5]")
    assert (added.bounds.min, added.bounds.max) == (0, 9)
    assert with_flags(More(), {"slowness": 2.0, "seed": 0}) == More(slowness=2.0, seed=0)
    with pytest.raises(UsageError, match="--slowness"):
        with_flags(More(), {"slowness": 10.0})


def test_the_seed_reaches_every_knob_without_its_own() -> None:
    knobs = Knobs(seed=4, faults=Faults(rate=0.5), noise=Noise(seed=1)).seeded()
    assert (knobs.faults.seed, knobs.latency.seed, knobs.noise.seed) == (4, 4, 1)
    assert knobs.seeded() == knobs
