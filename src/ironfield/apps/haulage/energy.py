"""Battery energy of an electric haul truck, leg by leg, and state of charge along a cycle.

Quasi-steady longitudinal dynamics [1]_: at constant speed the wheels must supply

    F = m g (sin θ + C_rr cos θ),    θ = atan(grade)

F > 0 is traction, drawn from the battery through the drivetrain (efficiency η_d) and
capped by the motor power limit (the truck slows down on a steep climb: v = P_motor / F).
F < 0 is braking: up to the regen power limit it goes back to the battery through
η_r, the rest is burnt in the friction brakes. Auxiliaries draw a constant power.
Acceleration and aerodynamic drag are neglected: at haul-road speeds (< 40 km/h) and
with stop-start losses second-order, grade and rolling resistance dominate [1]_ [2]_.

Parameter sources
-----------------
- rolling resistance 0.02 (hard, maintained haul road) to 0.04 (rutted): Caterpillar
  Performance Handbook, Ed. 48 (2018), "Rolling resistance factors" [2]_.
- drivetrain efficiency battery->wheel 0.90 (PM traction motor ~0.95, inverter ~0.98,
  reduction gears ~0.97) and regeneration wheel->battery 0.85 (the same chain backwards
  times ~0.95 battery charge efficiency); component figures as used for
  battery-electric mining trucks in [3]_ and [1]_ ch. 4.
- eDumper (Kuhn Schweiz / eMining AG, Empa-monitored): Komatsu HD605-7 conversion, 45 t
  tare (58 t quoted with the 4.5 t battery and conversion), 65 t payload, 600 kWh
  battery, 13 % grade, ~180 m descent loaded per trip, ~20 trips/day, >200 kWh/day
  surplus i.e. ~10 kWh per cycle [4]_ [5]_.

.. [1] Guzzella & Sciarretta 2013, Vehicle Propulsion Systems, 3rd ed., ch. 2.
.. [2] Caterpillar Performance Handbook, Edition 48, 2018.
.. [3] Mazumdar 2013, "Performance improvement of mining haul trucks operating on
   trolley systems through dynamic modelling", Mining Technology 122(1).
.. [4] Empa press release, 2018, "World's largest electric vehicle: eDumper" (Kuhn
   Schweiz AG, Lithium Storage GmbH, Ciments Vigier SA).
.. [5] CNN Sport, 16 July 2019, "eDumper: the world's largest electric vehicle".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ironfield.apps.haulage.config import TruckModelConfig
from ironfield.apps.haulage.network import Leg, Route

G = 9.80665  # standard gravity [m/s2]
J_PER_KWH = 3.6e6

FloatArray = NDArray[np.float64]


def wheel_force_n(mass_t: ArrayLike, grade: ArrayLike, rolling_resistance: ArrayLike) -> FloatArray:
    """Force the wheels must supply at constant speed [N]; negative means braking.

    mass_t : gross mass [t]; grade : rise/run [-] (positive uphill);
    rolling_resistance : C_rr [-]. See [1]_ of the module.
    """
    m = np.asarray(mass_t, dtype=np.float64) * 1000.0
    th = np.arctan(np.asarray(grade, dtype=np.float64))
    crr = np.asarray(rolling_resistance, dtype=np.float64)
    return np.asarray(m * G * (np.sin(th) + crr * np.cos(th)), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class LegEnergy:
    """Energy flows of one leg [kWh] and its duration [s].

    net_kwh is what the battery loses (negative: the leg charged it).
    """

    time_s: float
    traction_kwh: float  # at the wheel
    braking_kwh: float  # at the wheel, regen + friction
    regen_kwh: float  # into the battery
    friction_kwh: float  # burnt in the friction brakes
    aux_kwh: float
    battery_out_kwh: float  # traction draw incl. drivetrain losses

    @property
    def net_kwh(self) -> float:
        return self.battery_out_kwh + self.aux_kwh - self.regen_kwh

    def __add__(self, o: LegEnergy) -> LegEnergy:
        return LegEnergy(self.time_s + o.time_s, self.traction_kwh + o.traction_kwh,
                         self.braking_kwh + o.braking_kwh, self.regen_kwh + o.regen_kwh,
                         self.friction_kwh + o.friction_kwh, self.aux_kwh + o.aux_kwh,
                         self.battery_out_kwh + o.battery_out_kwh)


ZERO = LegEnergy(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def leg_energy(
    mass_t: float,
    length_m: float,
    grade: float,
    rolling_resistance: float,
    speed_mps: float,
    *,
    drivetrain_eff: float,
    regen_eff: float,
    motor_power_kw: float,
    regen_power_kw: float,
    aux_kw: float,
) -> LegEnergy:
    """Energy of driving ``length_m`` at constant speed on a constant grade.

    mass_t : gross mass [t]; length_m : [m]; grade : [-]; speed_mps : speed limit [m/s];
    power limits [kW] at the wheel; efficiencies [-]; aux_kw : auxiliary load [kW].
    """
    f = float(wheel_force_n(mass_t, grade, rolling_resistance))
    v = speed_mps
    if f > 0 and f * v > motor_power_kw * 1000.0:
        v = motor_power_kw * 1000.0 / f  # power-limited climb
    t = length_m / v
    aux = aux_kw * t / 3600.0
    if f >= 0:
        wheel = f * length_m / J_PER_KWH
        return LegEnergy(t, wheel, 0.0, 0.0, 0.0, aux, wheel / drivetrain_eff)
    brake = -f * length_m / J_PER_KWH
    regen_wheel = min(brake, regen_power_kw * t / 3600.0)
    return LegEnergy(t, 0.0, brake, regen_wheel * regen_eff, brake - regen_wheel, aux, 0.0)


def legs_energy(model: TruckModelConfig, legs: Sequence[Leg], payload_t: float) -> list[LegEnergy]:
    """:func:`leg_energy` for each leg of a route, at the leg's loaded/empty speed limit."""
    loaded = payload_t > 0
    mass = model.empty_mass_t + payload_t
    return [leg_energy(mass, leg.length_m, leg.grade, leg.rolling_resistance,
                       leg.speed_mps(loaded), drivetrain_eff=model.drivetrain_eff,
                       regen_eff=model.regen_eff, motor_power_kw=model.motor_power_kw,
                       regen_power_kw=model.regen_power_kw, aux_kw=model.aux_kw) for leg in legs]


def route_energy(model: TruckModelConfig, route: Route, payload_t: float) -> LegEnergy:
    """Summed :class:`LegEnergy` of a route."""
    total = ZERO
    for e in legs_energy(model, route.legs, payload_t):
        total = total + e
    return total


def soc_profile(model: TruckModelConfig, soc0: float,
                steps: Sequence[tuple[Sequence[Leg], float] | float]) -> FloatArray:
    """State of charge [-] after each step of a cycle.

    steps : each either ``(legs, payload_t)`` driven, or a float: a stationary period [s]
        (queue, load, dump) drawing only auxiliary power.
    Returns soc0 followed by the SoC after each step; clipped to [0, 1].
    """
    soc = [soc0]
    s = soc0
    for step in steps:
        if isinstance(step, float | int):
            kwh = model.aux_kw * float(step) / 3600.0
        else:
            kwh = sum(e.net_kwh for e in legs_energy(model, step[0], step[1]))
        s = min(1.0, max(0.0, s - kwh / model.battery_kwh))
        soc.append(s)
    return np.asarray(soc, dtype=np.float64)


def break_even_payload_ratio(grade: ArrayLike, rolling_resistance: ArrayLike,
                             drivetrain_eff: float, regen_eff: float) -> FloatArray:
    """Payload/tare ratio above which a truck hauling downhill gains energy per cycle.

    Loaded down and empty up the same road (grade g = tan θ, C_rr = r), no regen limit,
    no auxiliaries. Regen down equals traction up when

        η_r (m_e + m_p) g L (sin θ - r cos θ) = m_e g L (sin θ + r cos θ) / η_d

    so   m_p / m_e = (sin θ + r cos θ) / (η_d η_r (sin θ - r cos θ)) - 1.

    Where sin θ <= r cos θ (grade not steeper than rolling resistance) the loaded truck
    must drive downhill too and no payload breaks even: +inf is returned.
    grade : [-]; rolling_resistance : [-]; efficiencies [-]. Returns m_p/m_e [-].
    """
    th = np.arctan(np.asarray(grade, dtype=np.float64))
    r = np.asarray(rolling_resistance, dtype=np.float64)
    up = np.sin(th) + r * np.cos(th)
    down = np.sin(th) - r * np.cos(th)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = up / (drivetrain_eff * regen_eff * down) - 1.0
    return np.asarray(np.where(down > 0, ratio, math.inf), dtype=np.float64)


def cycle_net_kwh(model: TruckModelConfig, haul: Route, back: Route, payload_t: float,
                  stationary_s: float = 0.0) -> float:
    """Net battery energy of one cycle [kWh]: haul loaded, return empty, stand still.

    Negative is a surplus (the eDumper case).
    """
    return (route_energy(model, haul, payload_t).net_kwh
            + route_energy(model, back, 0.0).net_kwh
            + model.aux_kw * stationary_s / 3600.0)
