"""`evalkit emulator`: serve the built-in stand-in for the Interactive Form Sessions API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from evalkit.emulator import ALL_FAULTS, Auth, Knobs, load_forms, load_knobs, serve
from evalkit.errors import UsageError

__all__ = ["emulator"]

FAULT_KINDS = ("429", "500", "503", "reset", "cut", "truncate", "malformed", "stall")


def _kinds(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(FAULT_KINDS) - {"drop", "garble"})
    if unknown or not kinds:
        raise UsageError(f"unknown kind(s): {', '.join(unknown) or '(none given)'}")
    return kinds


def _knobs(profile: Path | None, flags: dict[str, Any]) -> Knobs:
    """The profile's knobs (or the defaults) with every flag given on the command line on top."""
    knobs = load_knobs(profile) if profile is not None else Knobs()
    data = knobs.model_dump(exclude_unset=True)
    groups = {
        "latency": {"turn": "turn_latency", "chunk": "chunk_latency", "distribution": "latency"},
        "faults": {
            "rate": "fault_rate",
            "kinds": "fault_kinds",
            "retry_after": "retry_after",
            "stall_seconds": "stall_seconds",
        },
        "noise": {"rate": "noise_rate", "kinds": "noise_kinds", "fields": "noise_fields"},
    }
    for group, names in groups.items():
        for key, flag in names.items():
            if flags[flag] is not None:
                data.setdefault(group, {})[key] = flags[flag]
    for key in ("framing", "seed", "session_ttl"):
        if flags[key] is not None:
            data[key] = flags[key]
    if flags["debug"]:
        data["debug"] = True
    if flags["auth_token"] is not None:
        data["auth"] = Auth(token=flags["auth_token"], site_id=flags["auth_site_id"])
    elif flags["auth_site_id"] is not None:
        raise UsageError("--auth-site-id needs --auth-token")
    try:
        return Knobs.model_validate(data)
    except ValueError as exc:
        raise UsageError(f"bad emulator option: {exc}") from exc


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port; 0: any."
)
@click.option(
    "--forms",
    "forms_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("suites/forms"),
    show_default=True,
    help="Directory of *.form.yaml (evalkit) and *.form.json (Wix Form Schemas) files.",
)
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="YAML file of knobs (keys as below, e.g. faults: {rate: 0.1}); flags override it.",
)
@click.option(
    "--framing",
    type=click.Choice(["sse", "ndjson", "json-array"]),
    default=None,
    help="Framing of streamed responses when the client's Accept does not choose one [sse].",
)
@click.option("--seed", type=int, default=None, help="Seed of faults, noise, latency and ids [0].")
@click.option(
    "--chunk-delay",
    "--chunk-latency",
    "chunk_latency",
    type=click.FloatRange(min=0),
    default=None,
    help="Mean seconds between streamed chunks [0].",
)
@click.option(
    "--turn-latency",
    type=click.FloatRange(min=0),
    default=None,
    help="Mean seconds before each response starts [0].",
)
@click.option(
    "--latency",
    type=click.Choice(["fixed", "uniform", "exponential"]),
    default=None,
    help="Distribution of both latencies around their mean [fixed].",
)
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1),
    default=None,
    help="Probability that a request gets a fault [0].",
)
@click.option(
    "--fault-kinds",
    default=None,
    metavar="K1,K2",
    help=f"Faults to pick from: {', '.join(FAULT_KINDS)} [{','.join(ALL_FAULTS)}].",
)
@click.option(
    "--retry-after",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds in the Retry-After header of a 429 [1].",
)
@click.option(
    "--stall-seconds",
    type=click.FloatRange(min=0),
    default=None,
    help="How long a stalled response hangs before its connection closes [30].",
)
@click.option(
    "--noise-rate",
    type=click.FloatRange(0, 1),
    default=None,
    help="Probability that an extracted field is dropped or garbled [0].",
)
@click.option(
    "--noise-kinds", default=None, metavar="drop,garble", help="What noise does [drop,garble]."
)
@click.option(
    "--noise-field",
    "noise_fields",
    multiple=True,
    metavar="TARGET",
    help="Only disturb this field (repeatable; default: every field).",
)
@click.option(
    "--auth-token",
    default=None,
    help="Require this Authorization header (401 otherwise) [no auth].",
)
@click.option(
    "--auth-site-id",
    default=None,
    help="Also require this wix-site-id header (403 otherwise).",
)
@click.option("--debug", is_flag=True, default=False, help="Add DEBUG chunks to every response.")
@click.option(
    "--session-ttl",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds a session may sit idle before it expires (then 404) [1800].",
)
def emulator(host: str, port: int, forms_dir: Path, profile: Path | None, **flags: Any) -> None:
    """Serve the built-in emulator of the Interactive Form Sessions API.

    Every knob is seeded: the same seed gives evalkit's runs the same faults and noise at any
    concurrency (keyed on its X-Evalkit-Trace header); other clients get the same bytes for the
    same order of requests.
    Faults: 429 (with Retry-After), 500, 503 and reset happen before a request is applied; cut,
    truncate, malformed and stall break the response after it. See docs/emulator.md.
    """
    flags["fault_kinds"] = _kinds(flags["fault_kinds"])
    flags["noise_kinds"] = _kinds(flags["noise_kinds"])
    flags["noise_fields"] = tuple(flags["noise_fields"]) or None
    knobs = _knobs(profile, flags)
    forms = load_forms(forms_dir)

    def ready(base_url: str, form_ids: dict[str, str]) -> None:
        click.echo(f"emulator listening on {base_url} (forms from {forms_dir}); Ctrl-C stops it")
        for key, form_id in sorted(form_ids.items()):
            click.echo(f"  form {key}: formId {form_id}")
            for note in forms[key].notes:
                click.echo(f"    note: {note}")
        if knobs.faults.rate or knobs.noise.rate or knobs.auth or knobs.latency != Knobs().latency:
            shown = knobs.model_dump(exclude_defaults=True, exclude={"auth"})
            click.echo(f"  knobs: {shown}" + (" (auth required)" if knobs.auth else ""))

    serve(forms=forms, host=host, port=port, on_ready=ready, **knobs.app_options())
