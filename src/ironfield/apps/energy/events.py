"""Typed payloads of the energy app's events, registered with :mod:`ironfield.core.events`.

``energy.charging_plan`` is a cross-app contract: the haulage dispatcher honours it, so its
payload is exactly ``{"plan_id", "windows": [{truck, charger, start_ns, end_ns, kwh}]}``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ironfield.core.events import register_event_type

PV_LOSS = "energy.pv_loss"
CHARGING_PLAN = "energy.charging_plan"


class PvLossPayload(BaseModel):
    """``energy.pv_loss``: a run of intervals an inverter produced less than expected.
    Times [ns], energy [kWh]."""

    model_config = ConfigDict(extra="forbid")
    kind: str  # inverter_trip | snow | underperformance | soiling
    inverter: str  # the AC power signal's asset
    start_ns: int
    end_ns: int
    intervals: int
    energy_lost_kwh: float
    reason: str


class ChargingWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    truck: str
    charger: str
    start_ns: int
    end_ns: int
    kwh: float  # grid side [kWh]


class ChargingPlanPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_id: str
    windows: list[ChargingWindow]


register_event_type(PV_LOSS, PvLossPayload)
register_event_type(CHARGING_PLAN, ChargingPlanPayload)
