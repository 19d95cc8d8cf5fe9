"""History: raw rows, aggregates, plot-ready downsampling, and CSV/Parquet exports.

Series answers are built as plain JSON (columns, not row objects) and returned without a
second pydantic pass: a trend of 1,500 points or a raw export of millions should cost
the encoding and nothing else. The declared response models still document them.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask

from ironfield.core.batch import Batch
from ironfield.core.signals import SignalRegistry
from ironfield.core.timeutil import NS_PER_DAY, now_ns
from ironfield.server.convert import (
    bad_request,
    duration_param,
    floats,
    resolve_signals,
    split_rows,
    time_range,
)
from ironfield.server.deps import Principal, ServerContext, get_ctx, require
from ironfield.server.plot import plot as plot_rows
from ironfield.server.schemas import AggOut, Problem, SeriesOut

router = APIRouter(prefix="/api", tags=["history"])
Ctx = Annotated[ServerContext, Depends(get_ctx)]
Viewer = Annotated[Principal, Depends(require("viewer"))]
Signals = Annotated[list[str] | None, Query(max_length=50, description="signal path; repeat")]
Asset = Annotated[str | None, Query(max_length=300, description="every signal at or below")]
Start = Annotated[str, Query(max_length=64, description="ns, 'now-1h' or ISO 8601 with zone")]
End = Annotated[str, Query(max_length=64)]
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": Problem}, 422: {"model": Problem}}
MAX_BUCKETS = 200_000


def series_json(reg: SignalRegistry, b: Batch, paths: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """One column set per signal (signals without rows included, empty)."""
    by_id: dict[int, dict[str, Any]] = {}
    for sid, s, e in split_rows(b.signal):
        by_id[sid] = {"ts": b.ts[s:e].tolist(), "value": floats(b.value[s:e]),
                      "quality": b.quality[s:e].tolist()}
    out = []
    for p, sid in paths:
        cols = by_id.get(sid, {"ts": [], "value": [], "quality": []})
        out.append({"signal": p, "unit": reg.definition(p).unit, **cols})
    return out


@router.get("/history/raw", response_model=SeriesOut, responses=ERRORS)
async def raw(ctx: Ctx, _: Viewer, signal: Signals = None, asset: Asset = None,
              start: Start = "now-1h", end: End = "now",
              limit: Annotated[int, Query(ge=1, le=50_000_000)] = 100_000) -> JSONResponse:
    """Stored rows in ``[start, end)``; ``truncated`` says the limit cut them off."""
    reg = ctx.platform.registry
    pairs = resolve_signals(reg, signal, asset)
    s, e = time_range(start, end, now_ns())
    b = await asyncio.to_thread(ctx.historian.raw, [sid for _, sid in pairs], s, e, limit)
    body = {"start": s, "end": e, "series": series_json(reg, b, pairs),
            "truncated": len(b) >= limit, "method": "raw"}
    return JSONResponse(body)


@router.get("/history/plot", response_model=SeriesOut, responses=ERRORS)
async def plot(ctx: Ctx, _: Viewer, signal: Signals = None, asset: Asset = None,
               start: Start = "now-1h", end: End = "now",
               points: Annotated[int, Query(ge=2, le=10_000)] = 1500,
               method: Literal["minmax", "lttb"] = "minmax") -> JSONResponse:
    """Plot-ready rows: per signal at most ``2 * points`` (minmax: each bucket's extremes,
    so peaks survive) or ``points`` (LTTB). Recomputed on every call: wide ranges from the
    1 h / 1 min rollups, narrow ones from raw rows, so a zoom gets full detail and a
    year-wide view stays small and fast."""
    reg = ctx.platform.registry
    pairs = resolve_signals(reg, signal, asset, limit=20)
    s, e = time_range(start, end, now_ns())
    h = ctx.historian

    def run() -> Batch:
        return Batch.concat([plot_rows(h, sid, s, e, points, method) for _, sid in pairs])

    b = await asyncio.to_thread(run)
    b = b.take(np.lexsort((b.ts, b.signal))) if len(b) else b
    return JSONResponse({"start": s, "end": e, "series": series_json(reg, b, pairs),
                         "truncated": False, "method": method})


@router.get("/history/aggregate", response_model=AggOut, responses=ERRORS)
async def aggregate(ctx: Ctx, _: Viewer, signal: Signals = None, asset: Asset = None,
                    start: Start = "now-1d", end: End = "now",
                    interval: Annotated[str, Query(max_length=20)] = "1h") -> JSONResponse:
    """Per signal and epoch-aligned bucket: min, max, mean, count, first, last."""
    reg = ctx.platform.registry
    pairs = resolve_signals(reg, signal, asset)
    s, e = time_range(start, end, now_ns())
    iv = duration_param(interval, "interval", min_ns=1_000_000, max_ns=366 * NS_PER_DAY)
    if (e - s) // iv > MAX_BUCKETS:
        raise bad_request(f"{(e - s) // iv} buckets asked; at most {MAX_BUCKETS}")
    t = await asyncio.to_thread(ctx.historian.aggregate, [sid for _, sid in pairs], s, e, iv)
    t = t.sort_by([("signal_id", "ascending"), ("bucket", "ascending")])
    cols = {c: t.column(c).to_numpy(zero_copy_only=False) for c in t.column_names}
    sig = np.asarray(cols["signal_id"], dtype=np.int32)
    by_id: dict[int, dict[str, Any]] = {}
    for sid, a, z in split_rows(sig):
        d: dict[str, Any] = {"bucket": cols["bucket"][a:z].astype(np.int64).tolist(),
                             "count": cols["count"][a:z].astype(np.int64).tolist()}
        for c in ("min", "max", "mean", "first", "last"):
            d[c] = floats(np.asarray(cols[c][a:z], dtype=np.float64))
        by_id[sid] = d
    empty: dict[str, list[Any]] = {k: [] for k in ("bucket", "count", "min", "max", "mean",
                                                    "first", "last")}
    series = [{"signal": p, "unit": reg.definition(p).unit, **by_id.get(sid, empty)}
              for p, sid in pairs]
    return JSONResponse({"start": s, "end": e, "interval_ns": iv, "series": series})


@router.get("/exports", response_class=FileResponse,
            responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}},
                       **ERRORS})
async def export(ctx: Ctx, _: Viewer, signal: Signals = None, asset: Asset = None,
                 start: Start = "now-1d", end: End = "now",
                 format: Literal["csv", "parquet"] = "csv",
                 interval: Annotated[str | None, Query(max_length=20,
                                                       description="aggregate; raw if absent")] = None,
                 ) -> FileResponse:
    """Download a range as CSV or Parquet (signal paths, ISO 8601 UTC times)."""
    reg = ctx.platform.registry
    pairs = resolve_signals(reg, signal, asset, limit=500)
    s, e = time_range(start, end, now_ns())
    kind: Literal["raw"] | int = "raw"
    if interval is not None:
        kind = duration_param(interval, "interval", min_ns=1_000_000, max_ns=366 * NS_PER_DAY)
        if (e - s) // kind > 10 * MAX_BUCKETS:
            raise bad_request("too many buckets for one export; widen the interval")
    h = ctx.historian

    def run() -> Path:
        fd, name = tempfile.mkstemp(prefix="ironfield-export-", suffix=f".{format}")
        os.close(fd)
        path = Path(name)
        try:
            h.export([sid for _, sid in pairs], s, e, path, format, kind)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    path = await asyncio.to_thread(run)
    media = "text/csv" if format == "csv" else "application/vnd.apache.parquet"
    return FileResponse(path, media_type=media, filename=f"ironfield-export.{format}",
                        background=BackgroundTask(path.unlink, missing_ok=True))
