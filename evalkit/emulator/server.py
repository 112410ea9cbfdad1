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
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

import uvicorn
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from evalkit.emulator.app import create_app
from evalkit.emulator.faults import EmulatorStats
from evalkit.emulator.formfiles import load_forms
from evalkit.emulator.forms import Form
from evalkit.emulator.knobs import Knobs
from evalkit.emulator.wire import ABORT_SCOPE_KEY
from evalkit.errors import EvalkitError, UsageError

__all__ = ["EmulatorServer", "serve"]

START_TIMEOUT = 10.0
"""Seconds to wait for uvicorn to start accepting connections."""

STOP_TIMEOUT = 10.0
"""Seconds to wait for the server thread to finish."""


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
        self._requested_port = port
        self._app = create_app(self.forms, knobs)
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._socket is None:
            raise EvalkitError("the emulator is not running")
        return int(self._socket.getsockname()[1])

    @property
    def base_url(self) -> str:
        """The API root, e.g. `http://127.0.0.1:54321`; endpoints are under `/forms/ai/v1/...`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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
        if self._thread is not None:
            raise EvalkitError("the emulator is already running")
        sock = _bind(self.host, self._requested_port)
        server = uvicorn.Server(_config(self._app, self.host))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="evalkit-emulator", daemon=True
        )
        self._socket, self._server, self._thread = sock, server, thread
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise EvalkitError(f"the emulator did not start on {self.host}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop the server, wait for its thread, and release the socket; safe to call twice."""
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(STOP_TIMEOUT)
            if thread.is_alive() and server is not None:
                server.force_exit = True  # open streams did not finish: cut them
                thread.join(STOP_TIMEOUT)
        if sock is not None:
            sock.close()

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
    app = create_app(loaded, knobs)
    sock = _bind(host, port)
    server = uvicorn.Server(_config(app, host))
    bound = f"[{host}]" if ":" in host else host
    base_url = f"http://{bound}:{sock.getsockname()[1]}"
    watcher = None
    if on_ready is not None:
        callback = on_ready
        ids = {key: form.id for key, form in loaded.items()}

        def notify() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.02)
            if server.started:
                callback(base_url, ids)

        watcher = threading.Thread(target=notify, name="evalkit-emulator-ready", daemon=True)
        watcher.start()
    try:
        server.run(sockets=[sock])  # handles SIGINT/SIGTERM itself, then re-raises them
    except KeyboardInterrupt:
        pass  # the server has already shut down cleanly
    finally:
        server.should_exit = True
        sock.close()
        if watcher is not None:
            watcher.join(STOP_TIMEOUT)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says TCP; without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _config(app: Starlette, host: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        log_level="warning",
        log_config=None,  # leave the host program's logging configuration alone
        access_log=False,
        lifespan="off",
        ws="none",
        http=_AbortableH11,
        loop="asyncio",
        timeout_graceful_shutdown=5,
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
