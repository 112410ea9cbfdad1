"""A real HTTP server for an ASGI app: uvicorn on a socket bound first, in a thread or blocking.

The emulator (`evalkit.emulator.EmulatorServer`, `evalkit emulator`) and the history browser
(`evalkit view`) are both served this way. The socket is bound before uvicorn starts (port 0 picks
a free port, so the real one is known at once); the threaded server waits until uvicorn accepts
connections, and on exit stops it and joins its thread. uvicorn is imported here only, and only by
the code that serves.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from evalkit.errors import EvalkitError

__all__ = ["LoopbackServer", "bind", "serve_forever"]

START_TIMEOUT = 10.0
"""Seconds to wait for uvicorn to start accepting connections."""
STOP_TIMEOUT = 10.0
"""Seconds to wait for the server thread to finish (then open streams are cut)."""


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` (port 0: a free one), not yet listening."""
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


def _root(host: str, sock: socket.socket) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{sock.getsockname()[1]}"


def _server(app: Any, host: str, http: Any) -> Any:
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        log_level="warning",
        log_config=None,  # leave the host program's logging configuration alone
        access_log=False,
        lifespan="off",
        ws="none",
        http=http or "h11",
        loop="asyncio",
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


class LoopbackServer:
    """An ASGI app served by uvicorn in a background thread; a context manager.

    Args:
        app: The ASGI app.
        host: The address to bind; loopback by default.
        port: The port; 0 picks a free one.
        name: What is served, for the thread's name and for messages (`emulator`, `view`).
        http: uvicorn's HTTP protocol class (default: its h11 protocol).
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "server",
        http: Any = None,
    ) -> None:
        self.app, self.host, self.name, self._http = app, host, name, http
        self._requested_port = port
        self._socket: socket.socket | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._socket is None:
            raise EvalkitError(f"the {self.name} is not running")
        return int(self._socket.getsockname()[1])

    @property
    def root(self) -> str:
        """`http://host:port` (only while running)."""
        if self._socket is None:
            raise EvalkitError(f"the {self.name} is not running")
        return _root(self.host, self._socket)

    def start(self) -> None:
        """Bind the socket, start uvicorn in a thread, and wait until it accepts connections.

        Raises:
            EvalkitError: The server is already running, or did not start in time.
            OSError: The address cannot be bound.
        """
        if self._thread is not None:
            raise EvalkitError(f"the {self.name} is already running")
        sock = bind(self.host, self._requested_port)
        server = _server(self.app, self.host, self._http)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"evalkit-{self.name}", daemon=True
        )
        self._socket, self._server, self._thread = sock, server, thread
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise EvalkitError(f"the {self.name} did not start on {self.host}")
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


def serve_forever(
    app: Any,
    *,
    host: str,
    port: int,
    name: str,
    on_ready: Callable[[str], None] | None = None,
    http: Any = None,
) -> None:
    """Serve `app` in the foreground until Ctrl-C or SIGTERM, then stop cleanly.

    Args:
        app: The ASGI app.
        host: The address to bind.
        port: The port; 0 picks a free one.
        name: What is served (the ready-watcher thread's name).
        on_ready: Called with `http://host:port` once the server accepts connections.
        http: uvicorn's HTTP protocol class (default: its h11 protocol).

    Raises:
        OSError: The address cannot be bound.
    """
    sock = bind(host, port)
    server = _server(app, host, http)
    root = _root(host, sock)
    watcher = None
    if on_ready is not None:
        callback = on_ready

        def notify() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.02)
            if server.started:
                callback(root)

        watcher = threading.Thread(target=notify, name=f"evalkit-{name}-ready", daemon=True)
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
