"""The view as an ASGI app (Starlette), and a server for it (uvicorn on loopback by default).

Routes, all GET (and HEAD); anything else is 405, so the view cannot change the history:

    /                           runs, latest first, with filters and a form to compare two
    /run?id=RUN                 one run: numbers, fields, conversations, links to transcripts
    /report?id=RUN              the run's HTML report (needs its run directory)
    /trend?suite=SUITE          a suite's pass rate and field accuracy over time, one target
    /compare?base=A&candidate=B two runs compared, as `evalkit compare --html` renders it

Runs are named in the query, never in the path: a run id is whatever a writer recorded.

Every response carries a Content-Security-Policy (no script in the view's own pages; a report
page keeps the report's one hashed script), `nosniff`, no referrer and no framing. Requests for
another host name than the one served are refused (no DNS rebinding of a loopback view).
Database reads run in Starlette's thread pool, never on the event loop.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from evalkit.errors import EvalkitError
from evalkit.serving import LoopbackServer, serve_forever
from evalkit.view.pages import (
    REPORT_CSP,
    NotFound,
    ViewSettings,
    compare_page,
    error_page,
    report_page,
    run_page,
    runs_page,
    trend_page,
    view_csp,
)

__all__ = ["ViewServer", "create_app", "is_loopback", "serve"]

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address or `localhost`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _page(html: str, *, report: bool = False, status: int = 200) -> HTMLResponse:
    headers = {**_HEADERS, "Content-Security-Policy": REPORT_CSP if report else view_csp()}
    return HTMLResponse(html, status_code=status, headers=headers)


def create_app(settings: ViewSettings, *, allowed_hosts: Sequence[str] | None = None) -> Starlette:
    """The view's ASGI app over one history.

    Args:
        settings: The history, and where else to look for run directories.
        allowed_hosts: Host names requests may name; None: the loopback names only.

    Returns:
        The app (GET only).
    """

    def guarded(
        make: Callable[[Request], str], *, report: bool = False
    ) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            try:
                return _page(make(request), report=report)
            except NotFound as exc:
                text = settings.history.scrub(str(exc))
                return _page(error_page(settings, 404, text), status=404)
            except EvalkitError as exc:
                text = settings.history.scrub(str(exc))
                return _page(error_page(settings, 400, text), status=400)

        return endpoint

    def params(request: Request) -> dict[str, str]:
        return {key: value for key, value in request.query_params.items()}

    routes = [
        Route("/", guarded(lambda r: runs_page(settings, params(r))), methods=["GET"]),
        Route(
            "/run",
            guarded(lambda r: run_page(settings, r.query_params.get("id", ""))),
            methods=["GET"],
        ),
        Route(
            "/report",
            guarded(lambda r: report_page(settings, r.query_params.get("id", "")), report=True),
            methods=["GET"],
        ),
        Route("/trend", guarded(lambda r: trend_page(settings, params(r))), methods=["GET"]),
        Route("/favicon.ico", lambda r: Response(status_code=204, headers=_HEADERS)),
        Route(
            "/compare",
            guarded(
                lambda r: compare_page(
                    settings,
                    r.query_params.get("base", ""),
                    r.query_params.get("candidate", ""),
                ),
                report=True,
            ),
            methods=["GET"],
        ),
    ]
    hosts = list(allowed_hosts or ["127.0.0.1", "localhost", "[::1]", "::1"])

    async def not_found(request: Request, exc: Exception) -> Response:
        return _page(error_page(settings, 404, "no such page"), status=404)

    async def failed(request: Request, exc: Exception) -> Response:
        return _page(error_page(settings, 500, "the view failed on this page"), status=500)

    handlers: dict[int | type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
        404: not_found,
        500: failed,
    }
    return Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
        exception_handlers=handlers,
    )


def _hosts(host: str) -> list[str] | None:
    """The host names a view bound to `host` answers: loopback names, or any when told so."""
    if is_loopback(host):
        return None
    return ["*"]  # bound beyond loopback on purpose: reachable by whatever name


class ViewServer(LoopbackServer):
    """The view served by uvicorn in a background thread; a context manager (for tests).

    Args:
        settings: What the view shows.
        host: The address to bind; loopback by default.
        port: The port; 0 picks a free one.
    """

    def __init__(self, settings: ViewSettings, *, host: str = "127.0.0.1", port: int = 0) -> None:
        app = create_app(settings, allowed_hosts=_hosts(host))
        super().__init__(app, host=host, port=port, name="view")

    @property
    def url(self) -> str:
        """The view's address, e.g. `http://127.0.0.1:54321/` (only while running)."""
        return self.root + "/"


def serve(
    settings: ViewSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8400,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the view in the foreground until Ctrl-C or SIGTERM.

    Args:
        settings: What the view shows.
        host: The address to bind (loopback unless told otherwise).
        port: The port; 0 picks a free one.
        on_ready: Called with the view's address once it accepts connections.

    Raises:
        OSError: The address cannot be bound.
    """
    ready = (lambda root: on_ready(root + "/")) if on_ready is not None else None
    app = create_app(settings, allowed_hosts=_hosts(host))
    serve_forever(app, host=host, port=port, name="view", on_ready=ready)
