"""`evalkit view`: a read-only web application over a run history (Starlette, on loopback).

It lists the runs with filters (suite, target, branch, status, days), draws a suite's pass rate
and per-field accuracy over time, compares any two runs exactly as `evalkit compare --html`
renders it, and goes down to a run's conversations and transcripts when its run directory is
reachable (where the history recorded it, or under a folder given with `--runs`). It never
writes: every route is GET, and a PostgreSQL history is read in a read-only session.
Everything the target said is escaped: the pages are autoescaped templates with no script,
and the report pages it serves are the reports' own, under their Content-Security-Policy.

Usage::

    settings = ViewSettings(history_location("postgresql://viewer@db/evalkit"))
    with ViewServer(settings) as server:
        print(server.url)
"""

from evalkit.view.app import ViewServer, create_app, is_loopback, serve
from evalkit.view.pages import ViewSettings

__all__ = ["ViewServer", "ViewSettings", "create_app", "is_loopback", "serve"]
