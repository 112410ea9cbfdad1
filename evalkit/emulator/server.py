"""Run the emulator as a real HTTP server on loopback: in a background thread, or blocking.

`EmulatorServer` is what tests and the runner's "emulator" target use::

    with EmulatorServer(Path("suites/forms"), Knobs(faults=Faults(rate=0.1))) as server:
        url = server.base_url                 # http://127.0.0.1:54321 (the API root)
        form_id = server.form_ids["contact"]  # the form's GUID

It binds the socket itself (port 0 picks a free port, so the real port is known before uvicorn
starts), waits until uvicorn accepts connections, and on exit stops it and joins its thread.
`serve` runs the same server in the foreground for the `evalkit emulator` command.

Both take the forms (a directory of form files, or forms already loaded) and one `Knobs` (latency,
faults, noise, auth, rate limit, debug, session TTL, framing, seed), and serve with uvicorn's h11
protocol extended so that a request can close its connection at once, which `reset` and `cut`
faults need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from evalkit.emulator.app import create_app
from evalkit.emulator.faults import EmulatorStats
from evalkit.emulator.formfiles import load_forms
from evalkit.emulator.forms import Form
from evalkit.emulator.knobs import Knobs
from evalkit.emulator.wire import ABORT_SCOPE_KEY
from evalkit.errors import UsageError
from evalkit.serving import LoopbackServer, serve_forever

__all__ = ["EmulatorServer", "serve"]

Forms = Path | str | Mapping[str, Form]
"""A directory of `*.form.yaml` / `*.form.json` files, or forms already loaded, keyed by key."""


def _forms(forms: Forms | None) -> dict[str, Form]:
    if isinstance(forms, Path | str):
        return load_forms(Path(forms))
    if isinstance(forms, Mapping):
        return dict(forms)
    raise UsageError(
        f"the emulator needs forms: a forms_dir or forms keyed by form key, not {forms!r}"
    )


class EmulatorServer:
    """The emulator served by uvicorn in a background thread; a context manager.

    Args:
        forms: A directory of form files, or forms already loaded, keyed by form key.
        knobs: How the emulator misbehaves (latency, faults, noise, auth, ...); by default, not.
        host: The address to bind; loopback by default.
        port: The port; 0 picks a free one.

    Raises:
        UsageError: `forms` is neither a directory nor a mapping of forms.
        SuiteError: A form file has a problem.
    """

    def __init__(
        self,
        forms: Forms,
        knobs: Knobs | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.forms = _forms(forms)
        self.host = host
        self._app = create_app(self.forms, knobs)
        self._served = LoopbackServer(
            self._app, host=host, port=port, name="emulator", http=_AbortableH11
        )

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        return self._served.port

    @property
    def base_url(self) -> str:
        """The API root, e.g. `http://127.0.0.1:54321`; endpoints are under `/forms/ai/v1/...`."""
        return self._served.root

    @property
    def form_ids(self) -> dict[str, str]:
        """Form key → form GUID."""
        return {key: form.id for key, form in self.forms.items()}

    @property
    def stats(self) -> EmulatorStats:
        """Requests received and faults injected so far."""
        stats: EmulatorStats = self._app.state.stats
        return stats

    @property
    def fault_counts(self) -> dict[str, int]:
        """Faults injected so far, per kind, e.g. `{"429": 12, "cut": 9}`."""
        return self.stats.fault_counts

    def start(self) -> None:
        """Bind the socket, start uvicorn in a thread, and wait until it accepts connections.

        Raises:
            EvalkitError: The server is already running, or did not start in time.
            OSError: The address cannot be bound.
        """
        self._served.start()

    def stop(self) -> None:
        """Stop the server, wait for its thread, and release the socket; safe to call twice."""
        self._served.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    forms: Forms,
    knobs: Knobs | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    on_ready: Callable[[str, dict[str, str]], None] | None = None,
) -> None:
    """Serve the emulator in the foreground until Ctrl-C or SIGTERM, then stop cleanly.

    Args:
        forms: A directory of form files, or forms already loaded, keyed by form key.
        knobs: How the emulator misbehaves (latency, faults, noise, auth, ...); by default, not.
        host: The address to bind.
        port: The port; 0 picks a free one.
        on_ready: Called once the server accepts connections, with the base URL and the
            form key → GUID map (so the caller can print them; this module prints nothing).

    Raises:
        UsageError: `forms` is neither a directory nor a mapping of forms.
        SuiteError: A form file has a problem.
        OSError: The address cannot be bound.
    """
    loaded = _forms(forms)
    ids = {key: form.id for key, form in loaded.items()}
    ready = (lambda root: on_ready(root, ids)) if on_ready is not None else None
    serve_forever(
        create_app(loaded, knobs),
        host=host,
        port=port,
        name="emulator",
        on_ready=ready,
        http=_AbortableH11,
    )


class _AbortableH11(H11Protocol):
    """uvicorn's h11 protocol; each request's scope can close its connection at once.

    ASGI has no way for an app to drop a connection without a response (a reset) or in the middle
    of a body (a cut); this puts the transport's `abort` into `scope["extensions"]`.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        app = self.app

        async def with_abort(scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("extensions", {})[ABORT_SCOPE_KEY] = transport.abort
            await app(scope, receive, send)

        self.app = with_abort
