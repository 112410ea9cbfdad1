"""A local stand-in for the Wix Interactive Form Sessions service.

A real HTTP server (Starlette served by uvicorn on loopback) with the five endpoints, the
documented request and response shapes, Wix error bodies, and deterministic, rule-based extraction,
so evalkit runs, demos and tests need no credentials and no network. evalkit's client talks to it
exactly as to Wix. Knobs make what evalkit measures happen on purpose: seeded latency, faults
and extraction noise, auth, a real rate limit (requests per minute per credential), and per-form
behaviour (see `docs/emulator.md`), all held by one `Knobs`::

    with EmulatorServer(Path("suites/forms"), Knobs(seed=7, faults=Faults(rate=0.1))) as server:
        ...
"""

from __future__ import annotations

from evalkit.emulator.app import create_app
from evalkit.emulator.faults import ALL_FAULTS, Auth, Faults, Latency, Noise
from evalkit.emulator.flags import Flag, KnobFlag, knob_flags, with_flags
from evalkit.emulator.formfiles import load_form, load_forms
from evalkit.emulator.forms import Behaviour, Form
from evalkit.emulator.knobs import Knobs, load_knobs
from evalkit.emulator.server import EmulatorServer, serve
from evalkit.emulator.wixform import form_from_wix

__all__ = [
    "ALL_FAULTS",
    "Auth",
    "Behaviour",
    "EmulatorServer",
    "Faults",
    "Flag",
    "Form",
    "KnobFlag",
    "Knobs",
    "Latency",
    "Noise",
    "create_app",
    "form_from_wix",
    "knob_flags",
    "load_form",
    "load_forms",
    "load_knobs",
    "serve",
    "with_flags",
]
