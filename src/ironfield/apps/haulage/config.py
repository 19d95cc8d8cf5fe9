"""Plant-file models of the haul road network and the truck fleet.

A plant file section ``apps: {haulage: {...}}`` validates with :class:`HaulageConfig`. The
model checks more than field types: the road graph must be connected, every loader must
reach a dump or the crusher loaded and be reachable empty from one, every truck must name a
declared truck model. Each error names the node, segment or truck at fault.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # the network module imports this one
    from ironfield.apps.haulage.network import RoadNetwork


class NodeKind(StrEnum):
    LOADER = "loader"
    DUMP = "dump"
    CRUSHER = "crusher"
    CHARGER = "charger"
    PARKING = "parking"
    JUNCTION = "junction"


#: node kinds that receive loaded trucks
DESTINATIONS = frozenset({NodeKind.DUMP, NodeKind.CRUSHER})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeConfig(_Strict):
    """A place on the road network.

    x_m, y_m, z_m : float — position in the mine grid [m]; z is elevation.
    rate_tph : loaders: digging rate [t/h]; dumps/crusher: acceptance capacity [t/h].
    spots : how many trucks are served at once (crusher pockets, charger bays, dump spots).
    power_kw : chargers: power per bay [kW].
    grade_pct : loaders: grade of the material dug (e.g. % Fe) for blend targets.
    radius_m : zone radius used by tracking to decide a truck is "at" this node [m].
    """

    id: str = Field(min_length=1)
    kind: NodeKind
    x_m: float
    y_m: float
    z_m: float = 0.0
    rate_tph: float | None = Field(default=None, gt=0)
    spots: int = Field(default=1, ge=1)
    power_kw: float | None = Field(default=None, gt=0)
    grade_pct: float | None = None
    radius_m: float = Field(default=40.0, gt=0)
    min_feed_tph: float | None = Field(default=None, ge=0)
    blend_min_pct: float | None = None
    blend_max_pct: float | None = None

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        if self.kind in (NodeKind.LOADER, NodeKind.DUMP, NodeKind.CRUSHER) and self.rate_tph is None:
            raise ValueError(f"node {self.id!r} ({self.kind}) needs rate_tph")
        if self.kind == NodeKind.CHARGER and self.power_kw is None:
            raise ValueError(f"charger {self.id!r} needs power_kw")
        return self


class SegmentConfig(_Strict):
    """A road segment between two nodes.

    length_m : float — length along the road [m].
    grade_pct : float — grade in the a->b direction [%], positive uphill (rise/run x 100).
    speed_loaded_kmh, speed_empty_kmh : float — speed limits [km/h].
    rolling_resistance : float — rolling resistance coefficient [-]; 0.02 is a hard,
        well-maintained haul road, 0.03-0.04 a rutted or soft one [1]_.
    two_way : bool — whether trucks may also drive b->a (grade then changes sign).

    .. [1] Caterpillar Performance Handbook, Edition 48 (2018), "Rolling resistance factors".
    """

    id: str | None = None
    a: str
    b: str
    length_m: float = Field(gt=0)
    grade_pct: float = Field(default=0.0, ge=-25, le=25)
    speed_loaded_kmh: float = Field(default=30.0, gt=0, le=80)
    speed_empty_kmh: float = Field(default=40.0, gt=0, le=80)
    rolling_resistance: float = Field(default=0.02, ge=0, le=0.2)
    two_way: bool = True

    @property
    def name(self) -> str:
        return self.id or f"{self.a}->{self.b}"


class TruckModelConfig(_Strict):
    """A truck model.

    empty_mass_t, payload_t : float — tare and rated payload [t].
    battery_kwh : float — usable battery capacity [kWh].
    motor_power_kw, regen_power_kw : float — traction and regenerative power limits at the
        wheel [kW]; braking beyond the regen limit goes to the friction brakes.
    drivetrain_eff : float — battery-to-wheel efficiency in traction [-].
    regen_eff : float — wheel-to-battery efficiency in regeneration [-].
    aux_kw : float — auxiliary load (cooling, hydraulics, autonomy kit) [kW].
    soc_reserve : float — state of charge never planned below [-].
    """

    name: str
    empty_mass_t: float = Field(gt=0)
    payload_t: float = Field(gt=0)
    battery_kwh: float = Field(gt=0)
    motor_power_kw: float = Field(gt=0)
    regen_power_kw: float = Field(ge=0)
    drivetrain_eff: float = Field(default=0.90, gt=0, le=1)
    regen_eff: float = Field(default=0.85, gt=0, le=1)
    aux_kw: float = Field(default=10.0, ge=0)
    soc_reserve: float = Field(default=0.2, ge=0, lt=1)
    charge_kw: float | None = Field(default=None, gt=0)


class TruckConfig(_Strict):
    id: str = Field(min_length=1)
    model: str
    home: str | None = None


class PlanConfig(_Strict):
    """Production plan: target throughput and truck availability used by the LP."""

    target_tph: float | None = Field(default=None, gt=0)
    truck_availability: float = Field(default=0.85, gt=0, le=1)
    loader_availability: float = Field(default=0.9, gt=0, le=1)
    dump_time_s: float = Field(default=60.0, ge=0)
    spot_time_s: float = Field(default=30.0, ge=0)


class HaulageConfig(_Strict):
    """The ``apps.haulage`` section of a plant file."""

    nodes: list[NodeConfig]
    segments: list[SegmentConfig]
    truck_models: list[TruckModelConfig]
    trucks: list[TruckConfig]
    plan: PlanConfig = PlanConfig()

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[str] = []
        ids = [n.id for n in self.nodes]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            problems.append(f"duplicate node ids: {', '.join(dup)}")
        known = set(ids)
        for s in self.segments:
            for end in (s.a, s.b):
                if end not in known:
                    problems.append(f"segment {s.name!r} joins unknown node {end!r}")
            if s.a == s.b:
                problems.append(f"segment {s.name!r} joins node {s.a!r} to itself")
        models = {m.name for m in self.truck_models}
        tids = [t.id for t in self.trucks]
        tdup = sorted({i for i in tids if tids.count(i) > 1})
        if tdup:
            problems.append(f"duplicate truck ids: {', '.join(tdup)}")
        for t in self.trucks:
            if t.model not in models:
                problems.append(f"truck {t.id!r} names unknown truck model {t.model!r}")
            if t.home is not None and t.home not in known:
                problems.append(f"truck {t.id!r} has unknown home node {t.home!r}")
        if not any(n.kind == NodeKind.LOADER for n in self.nodes):
            problems.append("no loader declared")
        if not any(n.kind in DESTINATIONS for n in self.nodes):
            problems.append("no dump or crusher declared")
        if problems:
            raise ValueError("; ".join(problems))
        # graph checks need a consistent node/segment set, so they come second
        from ironfield.apps.haulage.network import RoadNetwork

        problems.extend(RoadNetwork(self.nodes, self.segments).problems())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def network(self) -> RoadNetwork:
        from ironfield.apps.haulage.network import RoadNetwork

        return RoadNetwork(self.nodes, self.segments)

    def truck_model(self, truck_id: str) -> TruckModelConfig:
        for t in self.trucks:
            if t.id == truck_id:
                return next(m for m in self.truck_models if m.name == t.model)
        raise KeyError(truck_id)
