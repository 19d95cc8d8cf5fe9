"""The survey app's section of the plant file (``apps: {survey: ...}``), validated.

Lengths [m], densities [t/m3], sizes [MB]. Stockpile and pit polygons are rings in the
survey's projected frame [m] (``ring``, ``pit``) or GeoJSON files (``polygon``,
``pit_polygon``, see :mod:`.polygon`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ironfield.apps.survey.errors import SurveyError

_ID = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")


class StockpileConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    ring: list[tuple[float, float]] | None = None  # [m], survey frame
    polygon: str | None = None  # GeoJSON file (relative to data_dir)
    base: Literal["lowest", "plane", "triangulated", "elevation"] = "lowest"
    elevation: float | None = None  # [m], for base: elevation
    density_t_m3: float | None = Field(default=None, gt=0)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"stockpile id {v!r}: use lower-case letters, digits and _")
        return v

    @model_validator(mode="after")
    def _shape(self) -> StockpileConfig:
        if (self.ring is None) == (self.polygon is None):
            raise ValueError(f"stockpile {self.id!r}: give exactly one of ring or polygon")
        if self.ring is not None and len(self.ring) < 3:
            raise ValueError(f"stockpile {self.id!r}: ring needs at least 3 vertices")
        if self.base == "elevation" and self.elevation is None:
            raise ValueError(f"stockpile {self.id!r}: base elevation needs elevation [m]")
        return self


class SimConfig(BaseModel):
    """The demo's simulated drone (``ironfield demo`` only)."""

    model_config = ConfigDict(extra="forbid")

    interval_s: float = Field(default=180.0, gt=0)  # one flight every ...
    spacing_m: float = Field(default=0.5, gt=0.05)  # point spacing of the flight
    noise_m: float = Field(default=0.03, ge=0)
    plan_tph: float = Field(default=2000.0, ge=0)  # used when no truck telemetry arrives
    telemetry: bool = True  # count tonnes from luobei/pit/+/payload_t
    start_m3: float = Field(default=30_000.0, ge=0)  # already mined when the demo starts


class SurveyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str = "luobei"
    inbox: str | None = None  # default <data_dir>/survey/inbox
    poll_s: float = Field(default=2.0, gt=0)
    cell_m: float = Field(default=1.0, gt=0)
    min_change_m: float = Field(default=0.1, ge=0)
    lod_k: float = Field(default=1.96, ge=0)
    density_t_m3: float = Field(default=2.6, gt=0)  # in-situ density of what is mined
    stockpile_density_t_m3: float = Field(default=1.8, gt=0)  # loose, broken material
    max_upload_mb: float = Field(default=2048.0, gt=0)
    haulage_tonnes: str | None = None  # default <site>/haulage/tonnes_total
    stockpiles: list[StockpileConfig] = Field(default_factory=list)
    # where mining happens [m, survey frame]; mined = cut - fill inside it (default: the
    # whole compared area outside the stockpile polygons)
    pit: list[tuple[float, float]] | None = Field(default=None, min_length=3)
    pit_polygon: str | None = None  # or the pit as a GeoJSON file (relative to data_dir)
    simulation: SimConfig = Field(default_factory=SimConfig)

    @model_validator(mode="after")
    def _one_pit(self) -> SurveyConfig:
        if self.pit is not None and self.pit_polygon is not None:
            raise ValueError("give the pit as pit (a ring [m]) or pit_polygon (a GeoJSON file), not both")
        return self

    @field_validator("stockpiles")
    @classmethod
    def _unique(cls, v: list[StockpileConfig]) -> list[StockpileConfig]:
        ids = [s.id for s in v]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"stockpile ids repeat: {', '.join(dup)}")
        return v

    @property
    def asset(self) -> str:
        return f"{self.site}/survey"

    @property
    def tonnes_signal(self) -> str:
        return self.haulage_tonnes or f"{self.site}/haulage/tonnes_total"

    def inbox_dir(self, data_dir: Path) -> Path:
        p = Path(self.inbox) if self.inbox else Path("survey") / "inbox"
        return p if p.is_absolute() else data_dir / p

    def work_dir(self, data_dir: Path) -> Path:
        return data_dir / "survey"


def load_config(section: Mapping[str, Any] | None) -> SurveyConfig:
    """Validate the plant file's ``apps.survey`` section; errors name the field."""
    try:
        return SurveyConfig.model_validate(dict(section or {}))
    except ValidationError as e:
        problems = "; ".join(
            f"apps.survey.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise SurveyError(f"survey settings: {problems}") from None
