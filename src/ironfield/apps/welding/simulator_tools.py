"""Simulator helpers: the physical electrode's wear, and weldability-lobe sweeps.

``Electrode`` is the *true* electrode of a simulated gun (what the shop's wear model in
:mod:`ironfield.apps.welding.electrode` tries to estimate); ``weldability_lobe`` sweeps the
current at a fixed time as a lobe test (cf. ISO 14327) would, on fresh electrodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ironfield.apps.welding.model import StackUp
from ironfield.apps.welding.simulator import (
    DEFAULT_PHYSICS,
    F64,
    Physics,
    WeldConditions,
    integrate,
)


class Electrode:
    """The physical electrode pair of a gun: face diameter grows with wear, dressing restores.

    Face growth ("mushrooming") is modelled as contact area growing linearly with the
    weld count, weighted by each weld's energy relative to nominal and a penalty for
    expulsions, about 3-4 times faster on zinc-coated sheet where zinc alloys with the
    copper (the usual reason galvanised lines dress every 100-300 welds).
    """

    __slots__ = ("face0_mm", "face_mm", "galvanised", "rate", "wear_units", "welds")

    def __init__(self, face0_mm: float, *, galvanised: bool, rate: float | None = None) -> None:
        self.face0_mm = face0_mm
        self.galvanised = galvanised
        self.rate = rate if rate is not None else (5e-4 if galvanised else 1.5e-4)
        self.face_mm = face0_mm
        self.wear_units = 0.0
        self.welds = 0

    def record(self, energy_j: float, nominal_energy_j: float, expelled: bool) -> None:
        """Wear from one weld."""
        self.welds += 1
        self.wear_units += energy_j / nominal_energy_j + (2.0 if expelled else 0.0)
        self.face_mm = self.face0_mm * math.sqrt(1.0 + self.rate * self.wear_units)

    def dress(self) -> None:
        """Tip dressing cuts the face back to its nominal geometry."""
        self.face_mm = self.face0_mm
        self.wear_units = 0.0
        self.welds = 0


@dataclass(frozen=True, slots=True)
class Lobe:
    """A weldability-lobe cut at one weld time (fresh electrodes, no disturbance)."""

    i_min_ka: float  # smallest current giving a nugget of 4·√t
    i_nominal_ka: float  # smallest current giving 5·√t
    i_expulsion_ka: float  # smallest current that expels within the weld time
    currents_ka: F64
    nugget_mm: F64
    expelled: npt.NDArray[np.bool_]

    @property
    def width_ka(self) -> float:
        return self.i_expulsion_ka - self.i_min_ka


def weldability_lobe(
    stackup: StackUp,
    *,
    face_mm: float,
    force_kn: float,
    weld_time_s: float,
    currents_ka: npt.ArrayLike | None = None,
    physics: Physics = DEFAULT_PHYSICS,
) -> Lobe:
    """Sweep the current at a fixed time, as a lobe test (cf. ISO 14327) would."""
    cur = np.asarray(
        np.arange(4.0, 20.0, 0.1) if currents_ka is None else currents_ka, dtype=np.float64
    )
    conds = [
        WeldConditions(stackup, float(i), force_kn, face_mm, seed=k) for k, i in enumerate(cur)
    ]
    tr = integrate(conds, weld_time_s, physics=physics)
    d = tr.nugget_mm[:, -1]
    ex = tr.expulsion_index < len(tr.t_s)

    def first(mask: npt.NDArray[np.bool_]) -> float:
        return float(cur[int(np.argmax(mask))]) if mask.any() else math.nan

    return Lobe(
        i_min_ka=first((d >= stackup.d_min_mm) & ~ex),
        i_nominal_ka=first(d >= stackup.d_nominal_mm),
        i_expulsion_ka=first(ex),
        currents_ka=cur,
        nugget_mm=d,
        expelled=ex,
    )
