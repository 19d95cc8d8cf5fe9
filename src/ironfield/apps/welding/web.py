"""The welding app's pages and REST routes (``/apps/welding/...``, ``/api/apps/welding/...``).

Pages: the shop floor (one tile per robot: state, last weld's verdict, electrode life),
a robot (recent welds, each weld's curves from the historian on its spot's reference
band) and a spot (X-bar/R chart of the weld time, capability, reference). QA results
come in by ``POST /api/apps/welding/qa`` (engineer).
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ironfield.apps.welding.live import WeldingProcessor
from ironfield.apps.welding.reference import UnknownWeldError
from ironfield.apps.welding.shop import CURVES, QUALITY_STATES, parse_weld_id
from ironfield.core.events import Event
from ironfield.core.timeutil import now_ns
from ironfield.server.appweb import AppWeb, render_page
from ironfield.server.deps import Principal, ctx_of, require

if TYPE_CHECKING:
    from ironfield.apps.welding.app import WeldingApp

HERE = Path(__file__).resolve().parent / "web"
HOME = "/apps/welding"


def _num(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), 4)


class QAIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weld_id: str = Field(min_length=3, max_length=300)
    method: str = Field(pattern="^(chisel|ultrasonic)$")
    nugget_mm: float = Field(ge=0.0, le=20.0)
    expelled: bool = False
    note: str = Field("", max_length=500)


def make_web(app: WeldingApp) -> AppWeb:
    router = APIRouter()

    def proc() -> WeldingProcessor:
        p = app.processor
        if p is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the welding app is not running")
        return p

    def robot_of(p: WeldingProcessor, path: str) -> Any:
        r = p.by_path.get(path)
        if r is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no robot {path!r} in the shop")
        return r

    # -- pages --------------------------------------------------------------------------

    @router.get(HOME, include_in_schema=False)
    async def shop_page(request: Request) -> Response:
        return render_page(request, "welding-shop.html", HOME, title="Welding shop")

    @router.get(HOME + "/robot", include_in_schema=False)
    async def robot_page(request: Request, path: Annotated[str, Query(max_length=300)]) -> Response:
        return render_page(request, "welding-robot.html", HOME, title=path.rsplit("/", 1)[-1], robot=path)

    @router.get(HOME + "/spot", include_in_schema=False)
    async def spot_page(request: Request, id: Annotated[str, Query(max_length=300)]) -> Response:
        return render_page(request, "welding-spot.html", HOME, title="Spot " + id.rsplit("/", 2)[-2:][-1], spot=id)

    # -- API ----------------------------------------------------------------------------

    @router.get("/api/apps/welding/shop")
    async def shop(_: Annotated[Principal, Depends(require("viewer"))]) -> dict[str, Any]:
        """Every robot in compact columns (680 tiles in one small answer) and shop KPIs."""
        p = proc()
        rs = p.robots
        q = p.recent_quality
        n = len(q) or 1
        lat = sorted(p.latency_ns)[-max(1, len(p.latency_ns) // 100):] if p.latency_ns else []
        return {
            "robots": [r.path.rsplit("/", 1)[-1] for r in rs],
            "paths": [r.path for r in rs],
            "lines": [r.line for r in rs],
            "state": [r.state for r in rs],
            "quality": [r.quality for r in rs],
            "life": [r.life_pct for r in rs],
            "streak": [r.streak for r in rs],
            "due": [1 if r.dress_due else 0 for r in rs],
            "curves": [1 if r.curves else 0 for r in rs],
            "quality_states": QUALITY_STATES,
            "kpi": {
                "welds": p.welds_total, "rejected": p.rejected_total, "flagged": p.flagged_total,
                "defect_pct": round(100.0 * sum(1 for c in q if c in (1, 2)) / n, 2),
                "expulsion_pct": round(100.0 * sum(1 for c in q if c == 2) / n, 2),
                "dress_due": sum(1 for r in rs if r.dress_due),
                "welds_per_min": len(p.minute),
                "line_rate_per_min": round(60 * p.shop.weld_rate_hz(), 1),
                "latency_p99_ms": round(lat[0] / 1e6, 1) if lat else None,
                "lagged": app.lagged,
                "commands_sent": app.commands_sent, "commands_pending": len(app.pending),
            },
        }

    @router.get("/api/apps/welding/robot")
    async def robot(request: Request, _: Annotated[Principal, Depends(require("viewer"))],
                    path: Annotated[str, Query(max_length=300)]) -> dict[str, Any]:
        p = proc()
        r = robot_of(p, path)
        t = now_ns()
        # weld time per spot over the last hour (the last 300 welds), from the historian
        ms_sid, spot_sid = p.registry.id(f"{path}/weld_time_ms"), p.registry.id(f"{path}/spot_no")
        b = ctx_of(request).historian.raw([ms_sid, spot_sid], t - 3_600_000_000_000, t + 1)
        ms, sp = b.take(b.signal == ms_sid), b.take(b.signal == spot_sid)
        ms = ms.take(np.arange(max(0, len(ms) - 300), len(ms)))
        spot_at = dict(zip(sp.ts.tolist(), sp.value.tolist(), strict=True))
        trend = {"t": [round(x / 1e9, 3) for x in ms.ts.tolist()], "ms": [_num(v) for v in ms.value.tolist()],
                 "spot": [int(spot_at.get(x, 0)) for x in ms.ts.tolist()]}
        spots = []
        for k in range(1, p.cfg.spots_per_robot + 1):
            s = p.spots[p.shop.spot_id(r.path, k)]
            ref = s.reference
            spots.append({"id": s.spot_id, "no": k, "family": s.family.name, "welds": s.welds,
                          "schedule_ms": s.schedule_ms, "reference": None if ref is None else ref.mode,
                          "t_fixed_ms": None if ref is None else round(ref.t_fixed_s * 1000, 1),
                          "violations": s.violations})
        wear = [{"family": name, "welds": m.welds, "face_mm": round(m.face_est_mm(), 3),
                 "limit_mm": round(m.face_limit_mm, 3), "life_used": round(m.advice().life_used, 3)}
                for name, m in r.wear.items()]
        return {"path": r.path, "line": r.line, "state": r.state, "quality": r.quality,
                "life_pct": r.life_pct, "streak": r.streak, "dress_due": r.dress_due,
                "welds_since_dress": r.welds_since_dress, "step_pct": r.step_pct, "welds": r.welds,
                "curves": r.curves, "spots": spots, "wear": wear, "trend": trend,
                "recent": [{k: (_num(v) if isinstance(v, float) else v) for k, v in w.items()} for w in r.recent]}

    @router.get("/api/apps/welding/weld")
    async def weld(request: Request, _: Annotated[Principal, Depends(require("viewer"))],
                   id: Annotated[str, Query(max_length=300)]) -> dict[str, Any]:
        """One weld's curves (from the historian) and its spot's reference band."""
        p = proc()
        parsed = parse_weld_id(id)
        if parsed is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"bad weld id {id!r}: expected <robot>@<start ns>")
        path, start = parsed
        r = robot_of(p, path)
        h = ctx_of(request).historian
        reg = p.registry
        sids = [reg.id(f"{path}/{c}") for c in CURVES]
        b = h.raw(sids, start, start + 2_000_000_000)
        out: dict[str, Any] = {"weld_id": id, "robot": path, "start_ns": start, "curves": {}}
        known = p.welds.get(id)
        spot = p.spots.get(known[0]) if known else None
        for c, sid in zip(CURVES, sids, strict=True):
            sel = b.signal == sid
            ts = b.ts[sel]
            # the curve ends where the robot's next weld would begin (gap > 50 ms)
            gaps = np.flatnonzero(np.diff(ts) > 50_000_000)
            end = int(gaps[0]) + 1 if len(gaps) else len(ts)
            out["curves"][c] = {"t_ms": ((ts[:end] - start) / 1e6).round(3).tolist(),
                                "v": [_num(v) for v in b.value[sel][:end].tolist()]}
        i = np.asarray(out["curves"]["curve_current_ka"]["v"], dtype=float)
        u = np.asarray(out["curves"]["curve_voltage_v"]["v"], dtype=float)
        if len(i) and len(i) == len(u):
            with np.errstate(divide="ignore", invalid="ignore"):
                res = np.where(i > 1.0, 1000.0 * u / i, np.nan)
            out["resistance_uohm"] = [_num(v) for v in res.tolist()]
        if spot is not None:
            out["spot"] = spot.spot_id
            out["quality"] = QUALITY_STATES.get(known[1]) if known else None
            band = spot.reference.band if spot.reference is not None else None
            if band is not None:
                out["band"] = {"t_ms": [round(t * 1000, 2) for t in band.t_s], "p10": list(band.p10_uohm),
                               "p50": list(band.p50_uohm), "p90": list(band.p90_uohm)}
        if not r.curves and not out["curves"]["curve_current_ka"]["t_ms"]:
            out["note"] = "this robot sends summaries only (no curves)"
        return out

    @router.get("/api/apps/welding/spot")
    async def spot(_: Annotated[Principal, Depends(require("viewer"))],
                   id: Annotated[str, Query(max_length=300)]) -> dict[str, Any]:
        """X-bar/R chart of the spot's weld time, capability, its reference and recent welds."""
        p = proc()
        s = p.spots.get(id)
        if s is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no spot {id!r}")
        groups = s.chart.subgroups[-60:]
        lim = s.chart.limits
        sched = s.family.schedule
        try:
            cap = s.chart.capability(sched.min_time_s * 1000 if sched.min_time_s else None,
                                     sched.max_time_s * 1000 if sched.max_time_s else None)
        except ValueError:  # no spread at all (sigma 0): capability is undefined
            cap = None
        ref = s.reference
        return {
            "id": s.spot_id, "family": s.family.name, "stackup": s.family.stackup.label(),
            "schedule": sched.model_dump(), "schedule_ms": s.schedule_ms, "welds": s.welds,
            "xbar": [round(statistics.fmean(g), 3) for g in groups],
            "range": [round(max(g) - min(g), 3) for g in groups],
            "limits": None if lim is None else {k: round(getattr(lim, k), 4) for k in (
                "center_x", "ucl_x", "lcl_x", "center_r", "ucl_r", "lcl_r", "sigma")},
            "capability": None if cap is None else {"cp": _num(cap.cp), "cpk": _num(cap.cpk)},
            "violations": s.violations,
            "reference": None if ref is None else {k: v for k, v in ref.to_dict().items() if k not in ("band", "config")},
            "recent": list(s.recent),
        }

    @router.post("/api/apps/welding/qa")
    async def qa(request: Request, body: QAIn,
                 who: Annotated[Principal, Depends(require("engineer"))]) -> dict[str, Any]:
        """A chisel or ultrasonic result for a weld the app analysed (404 for any other)."""
        p = proc()
        if parse_weld_id(body.weld_id) is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                                f"bad weld id {body.weld_id!r}: expected <robot>@<start ns>")
        ts = now_ns()
        try:
            out = p.qa(body.weld_id, nugget_mm=body.nugget_mm, expelled=body.expelled, ts_ns=ts)
        except UnknownWeldError as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
        ctx = app.ctx
        if ctx is not None:
            ctx.emit(Event.make("welding.qa", body.weld_id.rpartition("@")[0], {
                **body.model_dump(), "user": who.name, "nugget_ok": out["nugget_ok"],
                "reference_update": out["reference_update"]}, ts=ts))
        return out

    return AppWeb("welding", router, nav=[("Welding", HOME)], templates=HERE / "templates",
                  static=HERE / "static")
