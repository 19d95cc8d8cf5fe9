"""The ASGI application: REST (OpenAPI at /openapi.json), the live WebSocket, the web UI.

Nothing is fetched from the internet: FastAPI's Swagger/ReDoc pages load their scripts
from a CDN, so they are switched off; ``/docs`` is a plain server-rendered listing of the
published OpenAPI document instead (no script at all).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from ironfield.core.errors import IronfieldError, UnknownSignalError
from ironfield.runtime.platform import Platform
from ironfield.server.appweb import WebApp
from ironfield.server.auth import Auth
from ironfield.server.deps import ServerContext
from ironfield.server.live import live_endpoint
from ironfield.server.routes import alarms, assets, control, events, history, oee, pages
from ironfield.server.routes import auth as auth_routes

log = logging.getLogger("ironfield.server")
WEB = Path(__file__).resolve().parent / "web"

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'self'")


def create_app(
    platform: Platform,
    *,
    auth: Auth | None = None,
    manage_platform: bool = False,
    live_max_hz: float = 10.0,
    routers: Sequence[APIRouter] = (),
    nav: Sequence[tuple[str, str]] = (),
) -> FastAPI:
    """The server for ``platform``.

    auth : users, sessions, tokens; default: users in ``<platform.data_dir>/users.json``.
    manage_platform : start the platform when the app starts and stop it when it stops
        (for ``uvicorn``-driven runs); leave False when the caller runs the platform.
    live_max_hz : the highest update rate a live client may ask for.
    routers : extra routes (an app plug-in's REST routes and pages); they can use the
        dependencies of :mod:`ironfield.server.deps` (``require("operator")``, ``audit``).
    nav : extra (label, href) links in the page header, e.g. ``("Welding", "/apps/welding")``.

    Apps of ``platform`` that implement :class:`ironfield.server.appweb.WebApp` add their
    routers, links, templates and static files by themselves.
    """
    if auth is None:
        auth = Auth.in_data_dir(platform.data_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_platform:
            await platform.start()
        try:
            yield
        finally:
            if manage_platform:
                await platform.stop()

    app = FastAPI(
        title="ironfield",
        version="0.1.0",
        description="Central control room API: assets, history, live values, alarms, commands.",
        docs_url=None, redoc_url=None, openapi_url="/openapi.json", lifespan=lifespan,
    )
    webs = [a.web() for a in platform.apps.values() if isinstance(a, WebApp)]
    nav = [*nav, *(link for w in webs for link in w.nav)]
    app.state.ctx = ServerContext(platform=platform, auth=auth, live_max_hz=live_max_hz,
                                  settings={"nav": list(nav)})
    for r in (auth_routes.router, assets.router, history.router, events.router, alarms.router,
              control.router, oee.router, pages.router, *routers, *(w.router for w in webs)):
        app.include_router(r)
    app.add_api_websocket_route("/api/live", live_endpoint)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    for w in webs:
        if w.templates is not None:
            pages.add_template_dir(w.templates)
        if w.static is not None:
            app.mount(f"/apps/{w.name}/static", StaticFiles(directory=w.static), name=f"app-{w.name}-static")

    @app.exception_handler(UnknownSignalError)
    async def unknown_signal(_: Request, exc: UnknownSignalError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(IronfieldError)
    async def ironfield_error(_: Request, exc: IronfieldError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        resp = await call_next(request)
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if request.url.path.startswith("/api/"):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    return app
