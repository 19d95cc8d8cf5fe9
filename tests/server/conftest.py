"""Fixtures of the server tests: a real Platform per test and an httpx client over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from ironfield.runtime.platform import Platform
from ironfield.server.app import create_app
from ironfield.server.auth import Auth
from server.server_rig import (
    PASSWORD,
    LiveServer,
    Login,
    make_auth,
    make_platform,
    stop_platform,
)


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    p = make_platform(tmp_path)
    await p.start()
    try:
        yield p
    finally:
        await stop_platform(p)


@pytest.fixture
def auth(tmp_path: Path) -> Auth:
    return make_auth(tmp_path)


@pytest.fixture
async def client_for(platform: Platform, auth: Auth) -> AsyncIterator[Login]:
    """``await client_for("otto")``: an httpx client logged in (session + CSRF header)."""
    app = create_app(platform, auth=auth)
    clients: list[httpx.AsyncClient] = []

    async def make(user: str | None) -> httpx.AsyncClient:  # None: not logged in
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        clients.append(c)
        if user is not None:
            r = await c.post("/api/auth/login", json={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    yield make
    for c in clients:
        await c.aclose()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    s = LiveServer(tmp_path).start()
    try:
        yield s
    finally:
        s.stop()
