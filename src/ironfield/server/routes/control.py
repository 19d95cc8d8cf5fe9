"""Write-back commands (journaled by the platform, audited here) and pipeline health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from ironfield.core.plugins import Command
from ironfield.server.deps import Principal, ServerContext, audit, get_ctx, require
from ironfield.server.routes.alarms import engine_of
from ironfield.server.schemas import CommandIn, CommandOut, HealthOut, Problem

router = APIRouter(prefix="/api", tags=["control"])
Ctx = Annotated[ServerContext, Depends(get_ctx)]


@router.post("/commands", response_model=CommandOut,
             responses={403: {"model": Problem}, 404: {"model": Problem}})
async def command(body: CommandIn, ctx: Ctx,
                  who: Annotated[Principal, Depends(require("operator"))]) -> CommandOut:
    """Write a value down to the device that owns a writable signal (operator). The
    platform journals the command and its outcome as a ``command`` event."""
    reg = ctx.platform.registry
    if body.signal not in reg:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown signal {body.signal!r}")
    if not reg.definition(body.signal).writable:
        audit(ctx, who, "command_refused", body.signal.rsplit("/", 1)[0],
              {"signal": body.signal, "why": "not writable"})
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"signal {body.signal!r} is not writable")
    cmd = Command(signal=body.signal, value=body.value, user=who.name, reason=body.reason,
                  timeout_s=body.timeout_s)
    res = await ctx.platform.command(cmd)
    audit(ctx, who, "command", body.signal.rsplit("/", 1)[0],
          {"signal": body.signal, "value": body.value, "reason": body.reason,
           "status": res.status})
    return CommandOut(status=res.status, old_value=res.old_value, new_value=res.new_value,
                      message=res.message)


@router.get("/health", response_model=HealthOut)
async def health(ctx: Ctx, _: Annotated[Principal, Depends(require("viewer"))]) -> HealthOut:
    """The pipeline's counters, supervised tasks, bus subscribers, alarm counts."""
    h = dict(ctx.platform.health())
    e = engine_of(ctx)
    h.setdefault("alarms", None if e is None else e.summary())
    h["live_clients"] = int(ctx.settings.get("live_clients", 0))
    # Figures the platform adds later land in ``extra`` instead of breaking the model.
    known = set(HealthOut.model_fields)
    h["extra"] = {k: v for k, v in h.items() if k not in known}
    return HealthOut.model_validate({k: v for k, v in h.items() if k in known or k == "extra"})
