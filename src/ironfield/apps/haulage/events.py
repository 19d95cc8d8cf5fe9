"""Typed payloads of the haulage events, registered with :mod:`ironfield.core.events`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ironfield.core.events import register_event_type


class CyclePayload(BaseModel):
    """``haulage.cycle``: one haul cycle. Times [ns], tonnes [t], durations [s], energy [kWh]
    (net_kwh < 0 is a surplus)."""

    model_config = ConfigDict(extra="forbid")
    start_ts: int
    end_ts: int
    loader: str | None
    dump: str | None
    tonnes: float
    durations_s: dict[str, float]
    net_kwh: float
    regen_kwh: float
    charged_kwh: float


register_event_type("haulage.cycle", CyclePayload)


class DispatchPayload(BaseModel):
    """``haulage.dispatch``: where a truck was sent. ``to`` is a node id; ``kind`` load,
    dump or charge; ``status`` the write-back's outcome (confirmed, rejected, ...)."""

    model_config = ConfigDict(extra="forbid")
    truck: str
    to: str
    reason: str
    kind: str
    status: str
    message: str = ""


register_event_type("haulage.dispatch", DispatchPayload)


class LoaderStatusPayload(BaseModel):
    """``haulage.loader_down`` / ``haulage.loader_up``: a loader's status signal changed.
    ``plan_tph`` is the re-solved plan's total [t/h]; ``redirected`` the trucks that were
    heading or queued there and were sent elsewhere (down only)."""

    model_config = ConfigDict(extra="forbid")
    loader: str
    signal: str
    plan_tph: float
    loaders_down: list[str]
    redirected: list[str] = []


register_event_type("haulage.loader_down", LoaderStatusPayload)
register_event_type("haulage.loader_up", LoaderStatusPayload)
