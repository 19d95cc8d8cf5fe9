"""Alarms over REST: the list, the banner counts, acknowledge / shelve / unshelve (with
comments), out of service, and the journal. The engine is ``platform.services["alarms"]``;
its own methods journal each transition, and every operator action is audited here too.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status

from ironfield.alarms import (
    PRIORITIES,
    AlarmEngine,
    AlarmRecord,
    AlarmStateError,
    UnknownAlarmError,
)
from ironfield.core.signals import in_subtree
from ironfield.core.timeutil import NS_PER_DAY, NS_PER_MIN, now_ns
from ironfield.server.convert import duration_param, opt_float
from ironfield.server.deps import Principal, ServerContext, audit, get_ctx, require
from ironfield.server.schemas import (
    AckIn,
    AlarmList,
    AlarmOut,
    AlarmSummary,
    Problem,
    ServiceIn,
    ShelveIn,
)

router = APIRouter(prefix="/api/alarms", tags=["alarms"])
Ctx = Annotated[ServerContext, Depends(get_ctx)]
Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Engineer = Annotated[Principal, Depends(require("engineer"))]
ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem}, 404: {"model": Problem}, 409: {"model": Problem},
    503: {"model": Problem},
}
MAX_SHELVE_NS = 7 * NS_PER_DAY


def engine_of(ctx: ServerContext) -> AlarmEngine | None:
    e = ctx.platform.services.get("alarms")
    return e if isinstance(e, AlarmEngine) else None


def need_engine(ctx: ServerContext) -> AlarmEngine:
    e = engine_of(ctx)
    if e is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no alarm engine is running")
    return e


def alarm_out(r: AlarmRecord) -> AlarmOut:
    return AlarmOut(
        alarm_id=r.alarm_id, rule_id=r.rule_id, kind=r.kind, level=r.level, asset=r.asset,
        signal=r.signal, priority=r.priority, state=r.state.value, active=r.active,
        value=opt_float(r.value), limit=opt_float(r.limit), message=r.message, since=r.since,
        active_since=r.active_since, shelved_until=r.shelved_until, shelved_by=r.shelved_by,
        acked_by=r.acked_by, comment=r.comment,
    )


def summary_of(engine: AlarmEngine | None) -> AlarmSummary:
    if engine is None:
        return AlarmSummary(enabled=False, counts=dict.fromkeys(PRIORITIES, 0),
                            unacknowledged=0, shelved=0, total=0)
    s = engine.summary()
    return AlarmSummary(enabled=True, counts={k: int(v) for k, v in s["by_priority"].items()},
                        unacknowledged=int(s["unacknowledged"]),
                        shelved=int(s["by_state"].get("shelved", 0)), total=int(s["total"]))


@router.get("", response_model=AlarmList)
async def list_alarms(
    ctx: Ctx, _: Viewer,
    all: Annotated[bool, Query(description="every alarm, not only announced ones")] = False,
    asset: Annotated[str | None, Query(max_length=300)] = None,
    priority: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> AlarmList:
    """Announced alarms (unack, acked, rtn_unack), priority first then newest; ``all``
    lists every configured alarm (shelved, suppressed, out of service, normal too)."""
    e = engine_of(ctx)
    recs = [] if e is None else (e.alarms() if all else e.active())
    if asset:
        recs = [r for r in recs if in_subtree(r.asset, asset)]
    if priority:
        recs = [r for r in recs if r.priority == priority]
    return AlarmList(summary=summary_of(e), alarms=[alarm_out(r) for r in recs[:limit]])


@router.get("/summary", response_model=AlarmSummary)
async def alarm_summary(ctx: Ctx, _: Viewer) -> AlarmSummary:
    """Counts for the banner shown on every page."""
    return summary_of(engine_of(ctx))


def _act(ctx: ServerContext, who: Principal, alarm_id: str, action: str, comment: str,
         **extra: Any) -> AlarmOut:
    e = need_engine(ctx)
    try:
        if action == "acknowledge":
            e.acknowledge(alarm_id, who.name, comment)
        elif action == "shelve":
            e.shelve(alarm_id, who.name, int(extra["duration_ns"]), comment)
        else:
            e.unshelve(alarm_id, who.name, comment)
        rec = e.record(alarm_id)
    except UnknownAlarmError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown alarm {alarm_id!r}") from None
    except AlarmStateError as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
    audit(ctx, who, f"alarm_{action}", rec.asset,
          {"alarm": alarm_id, "comment": comment, **extra})
    return alarm_out(dataclasses.replace(rec))


@router.post("/{alarm_id}/ack", response_model=AlarmOut, responses=ERRORS)
async def acknowledge(alarm_id: str, body: AckIn, ctx: Ctx, who: Operator) -> AlarmOut:
    """Acknowledge an unacknowledged alarm (operator)."""
    return _act(ctx, who, alarm_id, "acknowledge", body.comment)


@router.post("/{alarm_id}/shelve", response_model=AlarmOut, responses=ERRORS)
async def shelve(alarm_id: str, body: ShelveIn, ctx: Ctx, who: Operator) -> AlarmOut:
    """Shelve an alarm for a while (operator; at most 7 days); it returns by itself."""
    d = duration_param(body.duration, "duration", min_ns=NS_PER_MIN, max_ns=MAX_SHELVE_NS)
    return _act(ctx, who, alarm_id, "shelve", body.comment, duration_ns=d)


@router.post("/{alarm_id}/unshelve", response_model=AlarmOut, responses=ERRORS)
async def unshelve(alarm_id: str, body: AckIn, ctx: Ctx, who: Operator) -> AlarmOut:
    return _act(ctx, who, alarm_id, "unshelve", body.comment)


@router.post("/service", response_model=list[AlarmOut], responses=ERRORS)
async def out_of_service(body: ServiceIn, ctx: Ctx, who: Engineer) -> list[AlarmOut]:
    """Take every alarm at or below an asset out of service, or back (engineer)."""
    e = need_engine(ctx)
    e.set_out_of_service(body.asset, body.out_of_service, who.name, body.comment)
    audit(ctx, who, "alarm_out_of_service" if body.out_of_service else "alarm_in_service",
          body.asset, {"comment": body.comment})
    return [alarm_out(r) for r in e.alarms() if in_subtree(r.asset, body.asset)]


@router.get("/health", response_model=dict[str, Any], responses=ERRORS)
async def health(ctx: Ctx, _: Viewer) -> dict[str, Any]:
    """The engine's counts now (ISA-18.2 rate figures come from the journal)."""
    e = need_engine(ctx)
    s = e.summary()
    return {"now": now_ns(), **s, "evaluations": int(getattr(e, "evaluations", 0))}
