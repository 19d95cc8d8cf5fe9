"""The body shop as the welding app sees it: its settings, robots, spots and families.

The plant file declares the robots (equipment of the ``weld_robot`` type under the shop's
area); the app's section (``apps: welding:``) says how many spots each robot welds per
body, the line rate, and which spot families (stack-up and nominal schedule) they weld.
Spot ``k`` (1-based) of robot number ``r`` (its position among the shop's robots) welds
family ``(r + k) mod len(families)``: every family appears on every line.

The four default families are those of the adaptive-vs-fixed benchmark
(``bench/welding_adaptive_vs_fixed.py``), inside BS EN ISO 14373's window; cap faces
per ISO 5821.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ironfield.apps.welding.model import Coating, Schedule, StackUp
from ironfield.core.errors import PlantFileError

# Signals a weld robot publishes with every weld (one message: summary rows at the weld
# start, curve rows at 1 kHz after it).
SUMMARY = ("spot_no", "weld_time_ms", "weld_current_ka", "electrode_force_kn", "energy_j",
           "r_beta_uohm", "expulsion", "welds_since_dress", "state")
CURVES = ("curve_current_ka", "curve_voltage_v", "curve_force_kn", "curve_displacement_mm")
# Derived per robot by the app.
DERIVED = ("quality", "electrode_life_pct", "expulsion_streak", "dress_due")
QUALITY_STATES = {0: "ok", 1: "undersized", 2: "expulsion", 3: "rejected"}
QUALITY_CODE = {v: k for k, v in QUALITY_STATES.items()}
# Derived for the whole shop (under the shop's area).
SHOP_SIGNALS = (
    ("welds_total", "1", "welds analysed since start"),
    ("welds_per_min", "1/min", "welds analysed in the last minute"),
    ("defect_pct", "%", "undersized or expelled, last 1000 welds"),
    ("expulsion_pct", "%", "expelled, last 1000 welds"),
    ("rejected_total", "1", "weld records rejected since start"),
    ("robots_dress_due", "1", "robots whose electrodes are due for dressing"),
)


class FamilySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    t_mm: float = Field(gt=0.3, le=4.0)
    coating: Coating = Coating.UNCOATED
    current_ka: float = Field(gt=0, le=30)
    weld_time_ms: float = Field(gt=20, le=2000)
    force_kn: float = Field(gt=0, le=10)
    face_mm: float = Field(gt=2, le=12)
    dress_every: int = Field(400, ge=10)

    @property
    def stackup(self) -> StackUp:
        return StackUp(t1_mm=self.t_mm, t2_mm=self.t_mm, coating=self.coating)

    @property
    def schedule(self) -> Schedule:
        t = self.weld_time_ms / 1000
        return Schedule(current_ka=self.current_ka, weld_time_s=t, force_kn=self.force_kn,
                        min_time_s=0.5 * t, max_time_s=1.5 * t, adaptive=True)


DEFAULT_FAMILIES = (
    FamilySpec(name="0.8 uncoated", t_mm=0.8, current_ka=9.74, weld_time_ms=160, force_kn=2.2, face_mm=6.0),
    FamilySpec(name="1.0 GI", t_mm=1.0, coating=Coating.GALVANISED, current_ka=10.16, weld_time_ms=240,
               force_kn=2.7, face_mm=6.0, dress_every=200),
    FamilySpec(name="1.5 uncoated", t_mm=1.5, current_ka=10.12, weld_time_ms=300, force_kn=3.5, face_mm=7.0),
    FamilySpec(name="2.0 GI", t_mm=2.0, coating=Coating.GALVANISED, current_ka=13.26, weld_time_ms=440,
               force_kn=4.8, face_mm=8.0, dress_every=200),
)


class SimSpec(BaseModel):
    """The demo's simulated shop (``WeldingApp.simulate``)."""

    model_config = ConfigDict(extra="forbid")
    curve_lines: list[str] | None = None  # lines whose robots send full curves (None: all)
    speed: float = Field(1.0, gt=0, le=50)  # x line rate
    expulsion_p: float = Field(0.01, ge=0, le=1)  # share of welds with a sheet gap
    shunt_p: float = Field(0.02, ge=0, le=1)  # share of welds next to a shunting neighbour


class WeldingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    area: str = "hongqi/body-shop"
    takt_s: float = Field(54.0, gt=1)  # a body every takt_s
    spots_per_robot: int = Field(6, ge=1, le=40)
    families: list[FamilySpec] = Field(default_factory=lambda: list(DEFAULT_FAMILIES))
    reference_welds: int = Field(10, ge=5, le=200)  # passing welds a spot learns from first
    dress_at_life_pct: float = Field(10.0, ge=0, le=100)
    sim: SimSpec = Field(default_factory=SimSpec)

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> WeldingConfig:
        from pydantic import ValidationError

        try:
            return cls.model_validate(dict(raw or {}))
        except ValidationError as e:
            raise PlantFileError("<plant>", [
                (None, ".".join(["apps", "welding", *(str(x) for x in err["loc"])]), err["msg"])
                for err in e.errors()]) from None


@dataclass(frozen=True)
class Shop:
    """The shop's robots (asset paths, in plant order) and their spots."""

    config: WeldingConfig
    robots: tuple[str, ...]

    @classmethod
    def from_paths(cls, config: WeldingConfig, paths: list[str]) -> Shop:
        """Robots: assets under the area with a ``spot_no`` signal, in the order of
        ``paths`` (give the plant's order: a robot's number decides its spots' families)."""
        root = config.area.rstrip("/") + "/"
        robots = [p.rsplit("/", 1)[0] for p in paths if p.startswith(root) and p.endswith("/spot_no")]
        return cls(config, tuple(dict.fromkeys(robots)))

    def line_of(self, robot: str) -> str:
        return robot.rsplit("/", 2)[-2]

    def family(self, robot_index: int, spot_no: int) -> FamilySpec:
        fams = self.config.families
        return fams[(robot_index + spot_no) % len(fams)]

    def spot_id(self, robot: str, spot_no: int) -> str:
        return f"{robot}/spot-{spot_no:02d}"

    def weld_rate_hz(self) -> float:
        """Welds per second at line rate."""
        return len(self.robots) * self.config.spots_per_robot / self.config.takt_s


def weld_id(robot: str, start_ns: int) -> str:
    return f"{robot}@{start_ns}"


def parse_weld_id(wid: str) -> tuple[str, int] | None:
    robot, sep, ts = wid.rpartition("@")
    if not sep or not robot or not ts.isdigit():
        return None
    return robot, int(ts)
