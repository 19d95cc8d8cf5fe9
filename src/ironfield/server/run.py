"""Run the server in the caller's event loop, next to an already running platform.

The bus hands batches to WebSocket subscribers through asyncio primitives, so the server
must run in the same event loop as the platform's pipeline: ``serve`` does exactly that.
"""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from ironfield.runtime.platform import Platform
from ironfield.server.app import create_app
from ironfield.server.auth import Auth


class _QuietAccess(logging.Filter):
    """Never log query strings (they may hold time ranges, but a token in a URL must not
    reach a log either); uvicorn's access log is kept to method, path and status."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = str(args[2]).split("?", 1)[0]
            record.args = tuple(args)
        return True


def make_server(platform: Platform, *, host: str = "127.0.0.1", port: int = 8600,
                auth: Auth | None = None, manage_platform: bool = False,
                log_level: str = "warning") -> uvicorn.Server:
    app = create_app(platform, auth=auth, manage_platform=manage_platform)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on",
                            ws="websockets-sansio", ws_per_message_deflate=False,
                            proxy_headers=False, server_header=False)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _QuietAccess) for f in access.filters):
        access.addFilter(_QuietAccess())
    return uvicorn.Server(config)


async def serve(platform: Platform, *, host: str = "127.0.0.1", port: int = 8600,
                auth: Auth | None = None, started: asyncio.Event | None = None) -> None:
    """Serve until cancelled. ``platform`` must already be started by the caller."""
    server = make_server(platform, host=host, port=port, auth=auth)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if started is not None:
            started.set()
        # Shielded: cancelling serve() asks uvicorn to shut down cleanly (closing its
        # sockets and the open WebSockets) instead of cancelling it half-way.
        await asyncio.shield(task)
    finally:
        server.should_exit = True
        if not task.done():
            await asyncio.wait([task], timeout=10)
