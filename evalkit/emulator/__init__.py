"""A local stand-in for the Wix Interactive Form Sessions service.

A real HTTP server (Starlette served by uvicorn on loopback) with the five endpoints, the
documented request and response shapes, Wix error bodies, and deterministic, rule-based extraction,
so evalkit runs, demos and tests need no credentials and no network. evalkit's client talks to it
exactly as to Wix. Seeded knobs make what evalkit measures happen on purpose: latency, faults,
extraction noise, auth, and per-form behaviour (see `docs/emulator.md`).
"""

from __future__ import annotations

from evalkit.emulator.app import create_app
from evalkit.emulator.faults import ALL_FAULTS, Auth, Faults, Latency, Noise
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
    "Form",
    "Knobs",
    "Latency",
    "Noise",
    "create_app",
    "form_from_wix",
    "load_form",
    "load_forms",
    "load_knobs",
    "serve",
]
