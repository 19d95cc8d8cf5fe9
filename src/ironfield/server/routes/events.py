"""Events: alarm transitions (the journal), audits, commands, app events."""

from __future__ import annotations

import asyncio
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from ironfield.core.timeutil import now_ns
from ironfield.server.convert import time_range
from ironfield.server.deps import Principal, ServerContext, get_ctx, require
from ironfield.server.schemas import EventOut, Problem

router = APIRouter(prefix="/api", tags=["events"])
Ctx = Annotated[ServerContext, Depends(get_ctx)]
Viewer = Annotated[Principal, Depends(require("viewer"))]


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


@router.get("/events", response_model=list[EventOut], responses={422: {"model": Problem}})
async def events(
    ctx: Ctx, _: Viewer,
    start: Annotated[str, Query(max_length=64)] = "now-1d",
    end: Annotated[str, Query(max_length=64)] = "now",
    type: Annotated[list[str] | None, Query(max_length=20)] = None,
    asset: Annotated[str | None, Query(max_length=300, description="asset or below")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    newest_first: bool = True,
) -> list[EventOut]:
    """Stored events in ``[start, end)``; ``newest_first`` returns the latest ``limit``."""
    s, e = time_range(start, end, now_ns())
    h = ctx.historian
    if newest_first:
        # The historian returns the oldest first; walk back in widening windows until
        # enough are found so that "the latest 500" does not read a year of events.
        found: list[Any] = []
        span = max(1, min(e - s, 3_600_000_000_000))
        lo = e
        while lo > s and len(found) < limit:
            hi, lo = lo, max(s, lo - span)
            chunk = await asyncio.to_thread(h.events, lo, hi, type, asset, 1_000_000)
            found = chunk + found
            span *= 4
        evs = found[-limit:][::-1]
    else:
        evs = await asyncio.to_thread(h.events, s, e, type, asset, limit)
    return [EventOut(id=ev.id, type=ev.type, asset=ev.asset, ts=ev.ts,
                     payload=_clean(dict(ev.payload))) for ev in evs]
