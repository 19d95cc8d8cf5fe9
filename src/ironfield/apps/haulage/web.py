"""The app's pages and REST routes: the mine map and the production page.

``/apps/haulage/map`` draws the road network and the trucks (SVG) from
``/api/apps/haulage/state`` polled every second; ``/apps/haulage/production`` shows t/h
against plan from the historian (``/api/apps/haulage/trend``) and the live KPIs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response

from ironfield.core.timeutil import NS_PER_S, now_ns
from ironfield.server.appweb import AppWeb, render_page
from ironfield.server.deps import Principal, ctx_of, require

if TYPE_CHECKING:
    from ironfield.apps.haulage.runner import Runner

HERE = Path(__file__).resolve().parent / "web"
MAP, PRODUCTION = "/apps/haulage/map", "/apps/haulage/production"
Viewer = Annotated[Principal, Depends(require("viewer"))]


def _runner(request: Request) -> Runner:
    app = ctx_of(request).platform.apps.get("haulage")
    runner = getattr(app, "runner", None)
    if runner is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the haulage app is not running")
    r: Runner = runner
    return r


def build_web() -> AppWeb:
    router = APIRouter()

    @router.get(MAP, include_in_schema=False)
    async def map_page(request: Request) -> Response:
        return render_page(request, "haulage-map.html", MAP, title="Mine map")

    @router.get(PRODUCTION, include_in_schema=False)
    async def production_page(request: Request) -> Response:
        return render_page(request, "haulage-production.html", PRODUCTION, title="Production")

    @router.get("/api/apps/haulage/layout", tags=["haulage"])
    async def layout(request: Request, _: Viewer) -> dict[str, Any]:
        """Road network: nodes (loaders, crusher, dumps, chargers, junctions) and segments."""
        return _runner(request).layout()

    @router.get("/api/apps/haulage/state", tags=["haulage"])
    async def state(request: Request, _: Viewer) -> dict[str, Any]:
        """Trucks now (position, phase, SoC, payload, destination), the latest dispatch
        decisions and cycles, the live KPIs and the LP plan."""
        return _runner(request).state()

    @router.get("/api/apps/haulage/trend", tags=["haulage"])
    async def trend(request: Request, _: Viewer,
                    hours: Annotated[float, Query(gt=0, le=24 * 31)] = 8.0,
                    points: Annotated[int, Query(ge=10, le=2000)] = 400) -> dict[str, Any]:
        """t/h and plan t/h from the historian over the last ``hours`` (downsampled)."""
        r = _runner(request)
        h = ctx_of(request).platform.historian
        if h is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "historian is not open")
        end = r.fleet.clock(now_ns())
        start = end - int(hours * 3600 * NS_PER_S)
        out: dict[str, Any] = {"start": start, "end": end}
        for name in ("tph", "plan_tph"):
            sid = r.ctx.registry.id(f"{r.root}/{name}")
            b = await asyncio.to_thread(h.downsample, sid, start, end + 1, points, "lttb")
            keep = np.isfinite(b.value)
            out[name] = {"ts": [int(t) for t in b.ts[keep]],
                         "v": [round(float(v), 2) for v in b.value[keep]]}
        return out

    return AppWeb("haulage", router, nav=[("Mine map", MAP), ("Production", PRODUCTION)],
                  templates=HERE / "templates", static=HERE / "static")
