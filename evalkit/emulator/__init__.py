"""A local stand-in for the Wix Interactive Form Sessions service.

A real HTTP server (Starlette served by uvicorn on loopback) with the five endpoints, the
documented request and response shapes, Wix error bodies, and deterministic, rule-based extraction,
so evalkit runs, demos and tests need no credentials and no network. evalkit's client talks to it
exactly as to Wix.
"""

from __future__ import annotations

from evalkit.emulator.app import create_app
from evalkit.emulator.forms import Form, load_forms
from evalkit.emulator.server import EmulatorServer, serve

__all__ = ["EmulatorServer", "Form", "create_app", "load_forms", "serve"]
