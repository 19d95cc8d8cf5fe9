"""The energy app's pages (Energy, Carbon) and its REST routes under /api/apps/energy."""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from ironfield.apps.energy import report
from ironfield.apps.energy.carbonlive import month_of
from ironfield.core.timeutil import now_ns
from ironfield.server.appweb import AppWeb, render_page
from ironfield.server.deps import Principal, ctx_of, require

if TYPE_CHECKING:
    from ironfield.apps.energy.app import EnergyApp

HERE = Path(__file__).resolve().parent / "web"
Viewer = Annotated[Principal, Depends(require("viewer"))]
RECENT_NS = 5 * 60 * 1_000_000_000  # flows "now": the newest value of the last 5 min
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def js(a: Any, nd: int = 3) -> Any:
    """numpy/float to JSON: NaN and inf become null."""
    if isinstance(a, np.ndarray):
        return [None if not math.isfinite(float(x)) else round(float(x), nd) for x in a]
    if isinstance(a, float):
        return None if not math.isfinite(a) else round(a, nd)
    if isinstance(a, dict):
        return {k: js(v, nd) for k, v in a.items()}
    if isinstance(a, list):
        return [js(v, nd) for v in a]
    return a


def series_json(d: dict[str, Any]) -> dict[str, Any]:
    """A forecast dict to JSON: ``ts`` as int ns, power arrays [kW] to 0.1, the rest as is."""
    return {k: (v.tolist() if k == "ts" else js(v, 1)) if isinstance(v, np.ndarray) else js(v, 3)
            for k, v in d.items()}


def make_web(app: EnergyApp) -> AppWeb:
    router = APIRouter()

    def ready() -> Any:
        if app.cfg is None or app.carbon is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the energy app has not started yet")
        return app.cfg

    @router.get("/apps/energy", include_in_schema=False)
    async def energy_page(request: Request) -> Response:
        return render_page(request, "energy-energy.html", "/apps/energy", title="Energy")

    @router.get("/apps/energy/carbon", include_in_schema=False)
    async def carbon_page(request: Request) -> Response:
        cfg = app.cfg
        month = month_of(now_ns(), cfg.site.timezone) if cfg else ""
        return render_page(request, "energy-carbon.html", "/apps/energy/carbon", title="Carbon", month=month)

    @router.get("/api/apps/energy/now")
    async def now(_: Viewer) -> dict[str, Any]:
        """Power flows now (last settled minute) and today's balance."""
        cfg = ready()
        s = app.state
        f = s.frame
        if f is None or not len(f.ts):
            return {"at_ns": s.at_ns, "ts": None, "flows": {}, "today": {}, "shifts": [], "errors": s.errors,
                    "last_error": s.last_error, "flags": {}}

        recent = f.ts >= f.ts[-1] - RECENT_NS

        def last(v: Any) -> float | None:
            """The newest value of the last few minutes (devices publish at their own pace)."""
            if v is None:
                return None
            a = np.asarray(v, np.float64)[recent]
            ok = np.flatnonzero(np.isfinite(a))
            return js(float(a[ok[-1]]), 1) if len(ok) else None

        flows = {"pv_kw": last(f.pv_kw), "pv_expected_kw": last(f.expected_kw),
                 "grid_import_kw": last(f.imp), "grid_export_kw": last(f.exp), "load_kw": last(f.load_kw),
                 "truck_charging_kw": last(f.charging_kw), "poa_wm2": last(f.poa), "module_temp_c": last(f.tmod),
                 "fixed_kw": {k: last(v) for k, v in f.fixed.items()},
                 "inverters_kw": {k: last(v) for k, v in f.inverters.items()}}
        pr = f.pr[f.ts >= f.day_start]
        today = js(dict(f.summary), 4) | {"performance_ratio": js(float(pr[np.isfinite(pr)][-1]), 4)
                                          if np.isfinite(pr).any() else None}
        return {"at_ns": s.at_ns, "ts": int(f.ts[-1]), "flows": flows, "today": today, "shifts": js(f.shifts, 2),
                "site": cfg.site.name, "rated_kw": round(app.rated_kw, 1),
                "errors": s.errors, "last_error": s.last_error, "cpu_s": round(s.cpu_s, 3),
                "flags": f.flags}

    @router.get("/api/apps/energy/pv")
    async def pv(_: Viewer) -> dict[str, Any]:
        """The window's PV actual vs expected (1 min), the intraday forecast with its band
        (15 min, ``forecast``), the day-ahead forecast for today and tomorrow with its band
        (15 min, ``dayahead``: ``available`` false and a ``note`` until there is enough PV
        history), and the loss events found in the window."""
        ready()
        s = app.state
        f, fc = s.frame, s.forecast
        out: dict[str, Any] = {"ts": [], "actual_kw": [], "expected_kw": [], "poa_wm2": [], "losses": []}
        if f is not None:
            out |= {"ts": f.ts.tolist(), "actual_kw": js(f.pv_kw, 1), "expected_kw": js(f.expected_kw, 1),
                    "poa_wm2": js(f.poa, 1), "grid_import_kw": js(f.imp, 1), "grid_export_kw": js(f.exp, 1),
                    "load_kw": js(f.load_kw, 1), "losses": f.losses}
        if fc is not None:
            out["forecast"] = series_json(fc)
        da = s.dayahead
        out["dayahead"] = series_json({k: v for k, v in da.items() if k != "coef"}) if da is not None else None
        return out

    @router.get("/api/apps/energy/plan")
    async def plan(_: Viewer) -> dict[str, Any]:
        """The last charging plan sent to the dispatcher, with charge-when-low beside it."""
        ready()
        return {"plan": app.state.plan}

    @router.get("/api/apps/energy/carbon")
    async def carbon(_: Viewer) -> dict[str, Any]:
        ready()
        return {"carbon": app.state.carbon}

    @router.get("/api/apps/energy/report", response_model=None)
    async def monthly_report(
        request: Request, _: Viewer,
        month: Annotated[str, Query(description="YYYY-MM (site local)")],
        format: Annotated[str, Query(description="csv or html")] = "csv",
    ) -> Response:
        """The monthly carbon report as a download (CSV or a self-contained HTML page)."""
        ready()
        tracker = app.carbon
        assert tracker is not None
        if not MONTH.match(month):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"month must be YYYY-MM, got {month!r}")
        if format not in ("csv", "html"):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"format must be csv or html, got {format!r}")
        _ = ctx_of(request).historian  # 503 when the historian is closed
        mc, _trend, _ore = await asyncio.to_thread(tracker.account, month, now_ns())
        name = f"carbon-{month}.{format}"
        headers = {"content-disposition": f'attachment; filename="{name}"'}
        if format == "csv":
            return Response(report.to_csv([mc]), media_type="text/csv; charset=utf-8", headers=headers)
        return HTMLResponse(report.to_html([mc], title=f"Carbon report {month}"), headers=headers)

    return AppWeb("energy", router, nav=[("Energy", "/apps/energy"), ("Carbon", "/apps/energy/carbon")],
                  templates=HERE / "templates", static=HERE / "static")

