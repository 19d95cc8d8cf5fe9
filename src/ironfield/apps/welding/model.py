"""Shared vocabulary of the welding app: stack-ups, schedules and nugget acceptance.

Units are SI-ish as the shop floor uses them: thickness [mm], current [kA], force [kN],
time [s], resistance [µΩ], energy [J].

Nugget acceptance follows the usual automotive rule of thumb (the issue's target band,
common in OEM specifications): a nugget of at least ``4·√t`` mm, ``5·√t`` mm nominal, with
``t`` the governing (thinnest) sheet thickness in mm. The process window itself (sheet,
current, time, force ranges) is that of BS EN ISO 14373.
"""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Coating(StrEnum):
    UNCOATED = "uncoated"
    GALVANISED = "galvanised"  # hot-dip zinc (GI) or electro-galvanised (EG)


class StackUp(BaseModel):
    """Two sheets of low-carbon steel between the electrodes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    t1_mm: float = Field(gt=0.3, le=4.0, description="upper sheet thickness [mm]")
    t2_mm: float = Field(gt=0.3, le=4.0, description="lower sheet thickness [mm]")
    coating: Coating = Coating.UNCOATED

    @property
    def total_mm(self) -> float:
        return self.t1_mm + self.t2_mm

    @property
    def governing_mm(self) -> float:
        """The thinner sheet: nugget acceptance is set on it."""
        return min(self.t1_mm, self.t2_mm)

    @property
    def d_min_mm(self) -> float:
        """Smallest acceptable nugget diameter, 4·√t [mm]."""
        return 4.0 * math.sqrt(self.governing_mm)

    @property
    def d_nominal_mm(self) -> float:
        """Nominal nugget diameter, 5·√t [mm]."""
        return 5.0 * math.sqrt(self.governing_mm)

    @property
    def galvanised(self) -> bool:
        return self.coating is Coating.GALVANISED

    def label(self) -> str:
        c = "GI" if self.galvanised else "uncoated"
        return f"{self.t1_mm:g}+{self.t2_mm:g} mm {c}"


class Schedule(BaseModel):
    """A spot's weld schedule as the weld timer holds it.

    ``weld_time_s`` is the fixed weld time (and the adaptive timer's fallback);
    ``min_time_s`` and ``max_time_s`` bound what the adaptive timer may choose.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    current_ka: float = Field(gt=0.0, le=30.0)
    weld_time_s: float = Field(gt=0.0, le=2.0)
    force_kn: float = Field(gt=0.0, le=10.0)
    min_time_s: float | None = Field(default=None, gt=0.0)
    max_time_s: float | None = Field(default=None, gt=0.0)
    adaptive: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> Schedule:
        lo = self.min_time_s if self.min_time_s is not None else 0.0
        hi = self.max_time_s if self.max_time_s is not None else math.inf
        if not lo <= self.weld_time_s <= hi:
            raise ValueError(
                f"weld time {self.weld_time_s} s outside its bounds [{lo}, {hi}] s"
            )
        return self

    @property
    def cycles_50hz(self) -> float:
        """Weld time in 50 Hz mains cycles, the unit schedules are often written in."""
        return self.weld_time_s * 50.0
