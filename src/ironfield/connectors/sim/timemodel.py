"""Time models that drive the simulated devices: plain functions of time, so a test can
fix the clock and compute the value the device must report.

These are test shapes, not physics: the energy app has the real PV model.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Clock = Callable[[], float]  # seconds since the Unix epoch


def wave(t_s: float, period_s: float, amplitude: float, mean: float, phase: float = 0.0) -> float:
    """A sine of ``period_s`` [s] around ``mean``; ``phase`` [rad]."""
    return mean + amplitude * math.sin(2.0 * math.pi * t_s / period_s + phase)


def bulk_values(t_s: float, n: int) -> npt.NDArray[np.float64]:
    """Values of ``n`` bulk tags at ``t_s`` [s]: all differ from the previous second's."""
    k = np.arange(n, dtype=np.float64)
    out: npt.NDArray[np.float64] = np.floor(t_s) + k * 1e-3
    return out


def solar_fraction(t_s: float, longitude_deg: float = 0.0) -> float:
    """Share of the rated power a clear day gives at ``t_s`` [-, 0..1].

    A half-sine between 06:00 and 18:00 local solar time (longitude/15 h from UTC), the
    shape of a clear day's irradiance on a fixed plane without its atmospheric detail;
    cf. Duffie & Beckman 2013, "Solar Engineering of Thermal Processes", 4th ed., sec. 2.13.
    """
    hour = ((t_s / 3600.0) + longitude_deg / 15.0) % 24.0
    if hour <= 6.0 or hour >= 18.0:
        return 0.0
    return math.sin(math.pi * (hour - 6.0) / 12.0)


def inverter_state(t_s: float, rated_w: float, limit_pct: float, longitude_deg: float,
                   efficiency: float = 0.97, dc_voltage_v: float = 620.0,
                   mppt: int = 2) -> dict[str, float]:
    """A PV inverter's operating point at ``t_s`` [s].

    ``rated_w`` [W] AC rating, ``limit_pct`` [%] active power limit (a setpoint),
    ``efficiency`` [-] DC→AC, ``dc_voltage_v`` [V]. Returns AC power [W], DC power [W],
    DC voltage [V] and current [A], per-MPPT power [W], frequency [Hz], state (SunSpec St).
    """
    avail = rated_w * solar_fraction(t_s, longitude_deg)
    cap = rated_w * max(0.0, min(limit_pct, 100.0)) / 100.0
    ac = min(avail, cap)
    dc = ac / efficiency
    if ac <= 0.0:
        state = 2.0  # sleeping
    elif avail > cap:
        state = 5.0  # throttled
    else:
        state = 4.0  # mppt
    return {
        "ac_w": ac, "dc_w": dc, "dc_v": dc_voltage_v if ac > 0 else 0.0,
        "dc_a": dc / dc_voltage_v if ac > 0 else 0.0,
        "mppt_w": dc / mppt, "hz": 50.0, "state": state,
    }
