"""OEE by shift for equipment that reports a state signal."""

from __future__ import annotations

import asyncio
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, status

from ironfield.core.batch import Batch
from ironfield.core.signals import SignalRegistry
from ironfield.core.timeutil import NS_PER_DAY, now_ns
from ironfield.server.convert import bad_request, time_range
from ironfield.server.deps import Principal, ServerContext, get_ctx, require
from ironfield.server.oee import (
    PLANNED_STOP,
    RUNNING,
    counter_increase,
    oee_factors,
    shift_windows,
    state_times,
)
from ironfield.server.schemas import OeeOut, Problem, ShiftOee

router = APIRouter(prefix="/api", tags=["oee"])
Ctx = Annotated[ServerContext, Depends(get_ctx)]


def state_signal(reg: SignalRegistry, asset: str) -> str | None:
    """The asset's own state signal (type ``state``), if it has one."""
    for p in sorted(reg):
        if p.rsplit("/", 1)[0] == asset and reg.definition(p).type == "state":
            return p
    return None


def site_tz(ctx: ServerContext, asset: str) -> str:
    site = asset.split("/", 1)[0]
    for s in ctx.platform.plant.sites:
        if s.id == site:
            return s.timezone
    return "UTC"


def _series(h: object, sid: int, start: int, end: int) -> Batch:
    # One sample before the window gives the state (or the counter) at its start.
    raw = h.raw  # type: ignore[attr-defined]
    before: Batch = raw([sid], start - 7 * NS_PER_DAY, start)
    inside: Batch = raw([sid], start, end)
    if len(before):
        return Batch.concat([before.take(np.array([len(before) - 1])), inside])
    return inside


@router.get("/oee", response_model=OeeOut,
            responses={404: {"model": Problem}, 422: {"model": Problem}})
async def oee(
    ctx: Ctx, _: Annotated[Principal, Depends(require("viewer"))],
    asset: Annotated[str, Query(min_length=1, max_length=300)],
    start: Annotated[str, Query(max_length=64)] = "now-1d",
    end: Annotated[str, Query(max_length=64)] = "now",
    total: Annotated[str | None, Query(max_length=300, description="cumulative part counter")] = None,
    good: Annotated[str | None, Query(max_length=300, description="cumulative good-part counter")] = None,
    ideal_cycle_s: Annotated[float | None, Query(gt=0, le=86_400)] = None,
    shifts: Annotated[str, Query(max_length=100, description="local shift starts")] = "06:00,14:00,22:00",
) -> OeeOut:
    """Availability x performance x quality per shift (site-local shift times). Running and
    planned-stop states are recognised by name (e.g. running/welding/hauling; parked/break)."""
    reg = ctx.platform.registry
    st = state_signal(reg, asset)
    if st is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{asset!r} has no state signal")
    for p in (total, good):
        if p is not None and p not in reg:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown signal {p!r}")
    s, e = time_range(start, end, now_ns())
    if e - s > 93 * NS_PER_DAY:
        raise bad_request("at most 93 days per OEE query")
    try:
        windows = shift_windows(s, e, site_tz(ctx, asset), [x.strip() for x in shifts.split(",")])
    except ValueError as err:
        raise bad_request(f"shifts: {err}") from None
    states = reg.definition(st).states
    running = {k for k, v in states.items() if v.lower() in RUNNING}
    stops = {k for k, v in states.items() if v.lower() in PLANNED_STOP}
    h = ctx.historian

    def load() -> tuple[Batch, Batch | None, Batch | None]:
        return (_series(h, reg.id(st), s, e),
                _series(h, reg.id(total), s, e) if total else None,
                _series(h, reg.id(good), s, e) if good else None)

    sb, tb, gb = await asyncio.to_thread(load)

    def figures(name: str, a: int, z: int) -> ShiftOee:
        planned, run = state_times(sb.ts, sb.value, a, z, running, stops)
        tc = counter_increase(tb.ts, tb.value, a, z) if tb is not None else None
        gc = counter_increase(gb.ts, gb.value, a, z) if gb is not None else None
        f = oee_factors(planned, run, tc, gc, ideal_cycle_s)
        return ShiftOee(shift=name, start=a, end=z, planned_s=f.planned_s, run_s=f.run_s,
                        total_count=f.total_count, good_count=f.good_count,
                        availability=f.availability, performance=f.performance,
                        quality=f.quality, oee=f.oee)

    rows = [figures(n, a, z) for n, a, z in windows]
    return OeeOut(asset=asset, state_signal=st, total_signal=total, good_signal=good,
                  ideal_cycle_s=ideal_cycle_s, shifts=rows, overall=figures("all", s, e))
