"""The plug-in's settings in the plant file, beside the domain config.

``apps: {haulage: {...}}`` holds the road network and fleet (:class:`HaulageConfig`) plus
what the platform needs to run it: where the trucks' telemetry lives (``site``/``area``),
how often KPIs are computed, the rolling window, whether dispatch writes back, and the
demo simulation's settings (``sim``). :func:`split` separates the two and names what is
wrong in either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ironfield.apps.haulage.config import HaulageConfig, NodeKind
from ironfield.core.errors import IronfieldError
from ironfield.core.signals import SignalDef

#: telemetry signals of each truck, by role (the haul_truck equipment type declares them)
TELEMETRY = {"x": "x_m", "y": "y_m", "speed": "speed_kmh", "payload": "payload_t",
             "soc": "soc_pct", "state": "state", "dest": "dispatch_to"}
#: phases a truck state signal may name, besides the tracker's own Phase values
DOWN = "down"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SimConfig(_Strict):
    """The demo simulation. ``time_scale`` > 1 runs simulated time faster than the wall
    clock (tests); timestamps are then simulated time and run ahead of the wall clock, so
    t/h stays true on the data's own clock. ``warmup_min`` is simulated before publishing,
    so trucks are spread over their cycle when the demo starts."""

    telemetry_s: float = Field(default=5.0, gt=0)
    warmup_min: float = Field(default=90.0, ge=0)
    time_scale: float = Field(default=1.0, gt=0, le=1000)
    seed: int = 7
    mtbf_h: float = Field(default=40.0, gt=0)
    mttr_h: float = Field(default=1.5, gt=0)
    loader_mtbf_h: float = Field(default=0.0, ge=0)  # loaders: 0 never fail
    loader_mttr_h: float = Field(default=1.0, gt=0)


class AppSettings(_Strict):
    """site/area : where the trucks are (``<site>/<area>/<truck>/<signal>``); derived
    signals go to ``<site>/haulage/``. kpi_period_s : KPI cadence [s]; window_min : rolling
    window of t/h, kWh/t and cycle KPIs [min]; dispatch : send assignments down; quiet_s :
    a truck silent this long [s, wall clock] has its buffered samples released."""

    site: str = "luobei"
    area: str = "pit"
    kpi_period_s: float = Field(default=5.0, gt=0)
    window_min: float = Field(default=60.0, gt=0)
    dispatch: bool = True
    quiet_s: float = Field(default=10.0, gt=0)
    #: loader id -> a plant signal that is 1 while the loader can load and 0 while it is
    #: down (a shovel's "ready" bit, a fleet system's status); a loader without one, or
    #: before its first good value, counts as available
    loader_status: dict[str, str] = Field(default_factory=dict)
    sim: SimConfig = SimConfig()


_OWN = set(AppSettings.model_fields)


def split(section: Mapping[str, Any]) -> tuple[AppSettings, HaulageConfig]:
    """The plug-in settings and the domain config of ``apps.haulage``."""
    own = {k: v for k, v in section.items() if k in _OWN}
    rest = {k: v for k, v in section.items() if k not in _OWN}
    try:
        settings = AppSettings.model_validate(own)
    except ValidationError as e:
        raise IronfieldError(f"apps.haulage: {_errors(e)}") from None
    try:
        cfg = HaulageConfig.model_validate(rest)
    except ValidationError as e:
        raise IronfieldError(f"apps.haulage: {_errors(e)}") from None
    loaders = [n.id for n in cfg.nodes if n.kind == NodeKind.LOADER]
    wrong = [k for k in settings.loader_status if k not in loaders]
    if wrong:
        raise IronfieldError(f"apps.haulage.loader_status: {', '.join(map(repr, wrong))} "
                             f"is not a loader (loaders: {', '.join(loaders)})")
    return settings, cfg


def _errors(e: ValidationError) -> str:
    out = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"])
        out.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
    return "; ".join(out)


#: derived signals: (name, unit, description)
KPI_SIGNALS: list[tuple[str, str, str]] = [
    ("tonnes_total", "t", "cumulative ore delivered (counter, booked when a truck has tipped)"),
    ("tph", "t/h", "rolling throughput over the window"),
    ("plan_tph", "t/h", "planned throughput (upper-stage LP)"),
    ("kwh_per_t", "kWh/t", "net battery energy per tonne over the window"),
    ("traction_kwh_total", "kWh", "cumulative battery energy drawn for driving (counter)"),
    ("regen_kwh_total", "kWh", "cumulative energy regenerated into the batteries (counter)"),
    ("regen_share", "1", "regenerated / drawn energy over the window"),
    ("charging_kw", "kW", "fleet power drawn from chargers now"),
    ("match_factor", "1", "Douglas match factor over the window"),
    ("availability", "1", "share of trucks not down (time-weighted since start)"),
    ("utilisation", "1", "productive share of available truck time since start"),
    ("queue_min_per_cycle", "min", "mean queue time per cycle over the window"),
    ("hang_min", "min", "loader hang time (no truck under a loader that is up) since start"),
    ("loaders_down", "1", "loaders reported down by their status signal now"),
    ("cycle_min", "min", "mean cycle time over the window"),
    ("cycles_total", "1", "completed cycles (counter)"),
]
STATE_NAMES = ["queue_load", "spot", "load", "haul", "queue_dump", "dump", "return", "charge",
               "idle", DOWN]


def derived_signals(s: AppSettings) -> list[SignalDef]:
    root = f"{s.site}/haulage"
    defs = [SignalDef(f"{root}/{n}", unit=u, description=d) for n, u, d in KPI_SIGNALS]
    defs += [SignalDef(f"{root}/trucks_{st}", unit="1", description=f"trucks in state {st}")
             for st in STATE_NAMES]
    return defs
