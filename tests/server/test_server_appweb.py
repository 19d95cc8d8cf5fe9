"""App plug-ins bring their own pages, REST routes, templates and static files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ironfield.core.plant import PlantSpec, parse_plant
from ironfield.core.plugins import AppContext
from ironfield.core.signals import SignalDef
from ironfield.runtime.platform import Platform
from ironfield.server.app import create_app
from ironfield.server.appweb import AppWeb, WebApp, render_page
from server.server_rig import PASSWORD, PLANT, make_auth, stop_platform

HERE = Path(__file__).resolve().parent / "appweb_fixture"


class CounterApp:
    name = "counter"

    def signals(self, config: Mapping[str, Any], plant: PlantSpec) -> list[SignalDef]:
        return []

    async def run(self, ctx: AppContext) -> None:
        return None

    def web(self) -> AppWeb:
        router = APIRouter()

        @router.get("/apps/counter", include_in_schema=False)
        async def page(request: Request) -> Response:
            return render_page(request, "counter.html", "/apps/counter", count=42, title="Counter")

        @router.get("/api/apps/counter/count")
        async def count() -> dict[str, int]:
            return {"count": 42}

        return AppWeb("counter", router, nav=[("Counter", "/apps/counter")], templates=HERE, static=HERE)


async def test_an_app_brings_its_page_nav_link_route_and_static_files(tmp_path: Path) -> None:
    assert isinstance(CounterApp(), WebApp)
    plant = parse_plant(PLANT + "\napps:\n  counter: {}\n")
    p = Platform(plant=plant, data_dir=tmp_path, app_factories={"counter": CounterApp})
    p.open()
    auth = make_auth(tmp_path)
    await p.start()
    try:
        app = create_app(p, auth=auth)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.get("/apps/counter")
            assert r.status_code == 303 and "/login" in r.headers["location"]  # login first
            r = await c.post("/api/auth/login", json={"username": "vic", "password": PASSWORD})
            assert r.status_code == 200
            r = await c.get("/apps/counter")
            assert r.status_code == 200
            assert '<p id="counter-count">42</p>' in r.text
            assert '<a href="/apps/counter" class="on">Counter</a>' in r.text
            home = await c.get("/")
            assert '<a href="/apps/counter" class="">Counter</a>' in home.text
            assert (await c.get("/api/apps/counter/count")).json() == {"count": 42}
            js = await c.get("/apps/counter/static/counter.js")
            assert js.status_code == 200 and "counter" in js.text
    finally:
        await stop_platform(p)
