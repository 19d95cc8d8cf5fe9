"""The demo site: a ~6 Mt/a open pit whose ore goes downhill from the benches to the crusher.

Three electric loaders on benches at 1,460 / 1,430 / 1,400 m dig ore of different grade;
ten unmanned 90 t battery-electric trucks haul it down a 4-5 km ramp to the primary
crusher at 1,250 m (1,000 t/h, blend window 30-33 % Fe) or to a small ROM stockpile;
chargers and parking sit by the crusher, at the bottom, where trucks arrive having
regenerated on the way down and before the empty climb. 6 Mt/a at ~7,000 effective hours
a year is ~850 t/h, the plan target.
"""

from __future__ import annotations

import math

from ironfield.apps.haulage.config import (
    HaulageConfig,
    NodeConfig,
    NodeKind,
    PlanConfig,
    SegmentConfig,
    TruckConfig,
    TruckModelConfig,
)

# (id, kind, x, y, z, extra)
_NODES: list[tuple[str, NodeKind, float, float, float, dict[str, float | int]]] = [
    ("bench-1460", NodeKind.LOADER, 0.0, 2600.0, 1460.0, {"rate_tph": 420, "grade_pct": 33.5}),
    ("bench-1430", NodeKind.LOADER, 600.0, 2300.0, 1430.0, {"rate_tph": 380, "grade_pct": 29.0}),
    ("bench-1400", NodeKind.LOADER, 300.0, 1900.0, 1400.0, {"rate_tph": 340, "grade_pct": 31.5}),
    ("pit-exit", NodeKind.JUNCTION, 800.0, 1700.0, 1390.0, {}),
    ("ramp-mid", NodeKind.JUNCTION, 1800.0, 1000.0, 1320.0, {}),
    ("crusher", NodeKind.CRUSHER, 2600.0, 200.0, 1250.0,
     {"rate_tph": 1000, "spots": 1, "blend_min_pct": 30.0, "blend_max_pct": 33.0}),
    ("rom-pad", NodeKind.DUMP, 2300.0, 500.0, 1255.0, {"rate_tph": 250, "spots": 2}),
    ("charger", NodeKind.CHARGER, 2450.0, 0.0, 1250.0, {"power_kw": 600, "spots": 2}),
    ("parking", NodeKind.PARKING, 2200.0, 0.0, 1250.0, {}),
]

_ROADS = [
    ("bench-1460", "pit-exit", 40.0, 30.0), ("bench-1430", "pit-exit", 40.0, 30.0),
    ("bench-1400", "pit-exit", 40.0, 30.0), ("pit-exit", "ramp-mid", 30.0, 35.0),
    ("ramp-mid", "crusher", 30.0, 35.0), ("ramp-mid", "rom-pad", 30.0, 35.0),
    ("crusher", "charger", 20.0, 20.0), ("rom-pad", "charger", 20.0, 20.0),
    ("charger", "parking", 15.0, 15.0), ("rom-pad", "crusher", 20.0, 20.0),
]

#: a 90 t battery-electric haul truck; power limits and efficiencies as assumed in
#: :mod:`ironfield.apps.haulage.energy` (tare ~ payload x 0.75 is typical of rigid trucks)
DEMO_TRUCK = TruckModelConfig(name="BEV-90", empty_mass_t=68.0, payload_t=90.0, battery_kwh=420.0,
                              motor_power_kw=900.0, regen_power_kw=900.0, aux_kw=15.0,
                              soc_reserve=0.2)


def demo_mine(n_trucks: int = 10) -> HaulageConfig:
    """The demo site's road network and fleet as a validated config."""
    nodes = [NodeConfig(id=i, kind=k, x_m=x, y_m=y, z_m=z, radius_m=60.0, **extra)
             for i, k, x, y, z, extra in _NODES]
    by = {n.id: n for n in nodes}
    segs = []
    for a, b, v_loaded, v_empty in _ROADS:
        na, nb = by[a], by[b]
        run = math.hypot(nb.x_m - na.x_m, nb.y_m - na.y_m) * 1.15  # roads wind
        rise = nb.z_m - na.z_m
        segs.append(SegmentConfig(a=a, b=b, length_m=round(math.hypot(run, rise), 1),
                                  grade_pct=round(100.0 * rise / run, 2),
                                  speed_loaded_kmh=v_loaded, speed_empty_kmh=v_empty,
                                  rolling_resistance=0.025))
    trucks = [TruckConfig(id=f"truck-{i + 1:02d}", model=DEMO_TRUCK.name, home="parking")
              for i in range(n_trucks)]
    return HaulageConfig(nodes=nodes, segments=segs, truck_models=[DEMO_TRUCK], trucks=trucks,
                         plan=PlanConfig(target_tph=850.0))
