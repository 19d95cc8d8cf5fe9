"""Carbon accounting for the mine, GHG Protocol scopes 1 and 2, and avoided emissions.

- Scope 1: fuel burnt on site: ``diesel [L] * 2.70 kg CO2/L`` [1]_ [4]_.
- Scope 2, location-based: grid import [kWh] times the grid's average factor (China 2022:
  national 0.5366, Northeast 0.5564 kg CO2/kWh [2]_).
- Scope 2, market-based: grid import not covered by retired green electricity
  certificates (1 GEC = 1 MWh) times the residual-mix factor; covered kWh count zero.
  Own PV used on site is not grid import and is zero in both methods; PV exported is
  reported but never netted against imports [1]_ (ch. 6-7).
- Avoided emissions: a diesel fleet hauling the *same* cycles (payload, distances, lifts)
  against the electric fleet's charging energy. Diesel use per cycle comes from tractive
  work (rolling + grade resistance, Caterpillar Performance Handbook [3]_) through a
  drivetrain efficiency and a brake-specific fuel consumption; descents need no fuel in
  that model (the engine idles while the retarder holds the truck), so with
  ``idle_l_per_h = 0`` the baseline, and the avoided figure, are conservative.

.. [1] WRI/WBCSD 2015, GHG Protocol Scope 2 Guidance, ch. 4-7; WRI/WBCSD 2004, GHG
   Protocol Corporate Standard (revised), ch. 4.
.. [2] MEE & NBS 2024, 关于发布2022年电力二氧化碳排放因子的公告 (Announcement No. 33).
.. [3] Caterpillar 2018, Caterpillar Performance Handbook, ed. 48, "Mining and
   Earthmoving": total resistance = rolling resistance + grade resistance, 10 kg/t per
   percent; rolling resistance 2 % for a hard, well-maintained haul road.
.. [4] IPCC 2006, Guidelines for National GHG Inventories, vol. 2 ch. 3 table 3.3.1:
   diesel 74,100 kg CO2/TJ at NCV 43.0 TJ/Gg and 0.84 kg/L gives 2.68 kg CO2/L, in line
   with the 2.70 used here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ironfield.apps.energy.balance import SiteFlows, interval_balance
from ironfield.apps.energy.checks import EnergyInputError, FloatArray
from ironfield.apps.energy.config import CarbonConfig

G = 9.80665  # standard gravity [m/s2]
DIESEL_DENSITY_G_PER_L = 835.0  # EN 590 density range 820-845 kg/m3, mid value
# Large turbocharged DI diesels reach ~200 g/kWh at best; 215 allows for load away from
# the optimum (Heywood 1988, Internal Combustion Engine Fundamentals, ch. 15).
BSFC_G_PER_KWH = 215.0
DRIVETRAIN_EFFICIENCY = 0.85  # engine shaft to wheel, mechanical drive [-]
ROLLING_RESISTANCE = 0.02  # [-] [3]_


def scope1_t(diesel_l: float, kg_per_l: float = 2.70) -> float:
    """Scope 1 emissions from diesel [t CO2]."""
    return diesel_l * kg_per_l / 1000.0


def scope2_location_t(grid_import_kwh: float, factor_kg_per_kwh: float) -> float:
    """Location-based scope 2 [t CO2]."""
    return grid_import_kwh * factor_kg_per_kwh / 1000.0


def scope2_market_t(grid_import_kwh: float, certificates_kwh: float,
                    residual_kg_per_kwh: float) -> float:
    """Market-based scope 2 [t CO2]: imports not covered by certificates at the residual
    mix; certificates beyond the imports cover nothing more."""
    if certificates_kwh < 0:
        raise EnergyInputError("certificates cannot be negative")
    return max(0.0, grid_import_kwh - certificates_kwh) * residual_kg_per_kwh / 1000.0


def diesel_litres_per_cycle(payload_t: FloatArray, empty_mass_t: FloatArray,
                            loaded_km: FloatArray, empty_km: FloatArray,
                            loaded_rise_m: FloatArray, empty_rise_m: FloatArray,
                            cycle_h: FloatArray | None = None, *,
                            rolling_resistance: float = ROLLING_RESISTANCE,
                            bsfc_g_per_kwh: float = BSFC_G_PER_KWH,
                            drivetrain_efficiency: float = DRIVETRAIN_EFFICIENCY,
                            idle_l_per_h: float = 0.0) -> FloatArray:
    """Diesel a conventional truck would burn on each haul cycle [L].

    payload_t, empty_mass_t : ore carried and the truck's empty mass [t]
    loaded_km, empty_km : haul and return distances [km]
    loaded_rise_m, empty_rise_m : net elevation gain of each leg [m] (negative = descent)
    cycle_h : cycle time [h], only for idle fuel
    idle_l_per_h : fuel while idling, queueing or descending on the retarder [L/h]

    Tractive work per leg ``W = m g (C_rr d + dz)``, counted only where positive [3]_;
    fuel ``= W / eta_drivetrain * bsfc / rho``.
    """
    pay = np.asarray(payload_t, np.float64)
    empty = np.asarray(empty_mass_t, np.float64)

    def leg(mass_t: FloatArray, km: FloatArray, rise: FloatArray) -> FloatArray:
        work_j = mass_t * 1000.0 * G * (rolling_resistance * np.asarray(km) * 1000.0
                                         + np.asarray(rise, np.float64))
        return np.asarray(np.clip(work_j, 0.0, None) / 3.6e6, np.float64)  # [kWh]

    wheel_kwh = leg(empty + pay, loaded_km, loaded_rise_m) + leg(empty, empty_km, empty_rise_m)
    litres = wheel_kwh / drivetrain_efficiency * bsfc_g_per_kwh / DIESEL_DENSITY_G_PER_L
    if cycle_h is not None:
        litres = litres + idle_l_per_h * np.asarray(cycle_h, np.float64)
    return np.asarray(litres, np.float64)


def grid_share_of(load_kw: FloatArray, grid_import_kw: FloatArray,
                  consumption_kw: FloatArray) -> float:
    """Share of a load's energy that came from the grid [-], attributing each interval's
    import pro rata to everything consumed in it (intervals with gaps are left out)."""
    load = np.asarray(load_kw, np.float64)
    imp = np.asarray(grid_import_kw, np.float64)
    cons = np.asarray(consumption_kw, np.float64)
    ok = np.isfinite(load) & np.isfinite(imp) & np.isfinite(cons) & (cons > 0)
    total = float(load[ok].sum())
    if total <= 0:
        return 0.0
    share = np.clip(imp[ok] / cons[ok], 0.0, 1.0)
    return float((load[ok] * share).sum() / total)


@dataclass(frozen=True, slots=True)
class MonthInputs:
    """What a month's carbon account needs; energies [kWh], diesel [L], ore [t]."""

    month: str  # YYYY-MM
    ore_t: float
    diesel_l: float  # all site diesel (scope 1)
    grid_import_kwh: float
    grid_export_kwh: float
    pv_kwh: float
    certificates_kwh: float  # green electricity certificates retired for this month
    truck_charging_kwh: float
    truck_regen_kwh: float  # inside the trucks; informative
    truck_grid_share: float  # share of truck charging met by the grid [-]
    diesel_baseline_l: float  # the same haul cycles by diesel trucks
    coverage: float = 1.0  # share of metered intervals without a gap [-]


@dataclass(frozen=True, slots=True)
class MonthlyCarbon:
    month: str
    ore_t: float
    diesel_l: float
    grid_import_kwh: float
    grid_export_kwh: float
    pv_kwh: float
    pv_on_site_kwh: float
    certificates_kwh: float
    truck_charging_kwh: float
    truck_regen_kwh: float
    location_factor: float
    market_factor: float
    scope1_t: float
    scope2_location_t: float
    scope2_market_t: float
    total_location_t: float
    total_market_t: float
    intensity_location_kg_per_t: float
    intensity_market_kg_per_t: float
    electricity_kwh_per_t: float
    diesel_baseline_t: float
    avoided_location_t: float
    avoided_market_t: float
    coverage: float

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


def monthly_account(m: MonthInputs, cfg: CarbonConfig) -> MonthlyCarbon:
    """One month's scopes, intensities and avoided emissions [t CO2, kg CO2/t]."""
    if m.ore_t < 0 or m.grid_import_kwh < 0 or m.diesel_l < 0:
        raise EnergyInputError(f"{m.month}: ore, grid import and diesel must be >= 0")
    loc, mkt = cfg.location_factor(), cfg.market_factor()
    s1 = scope1_t(m.diesel_l, cfg.diesel_kg_co2_per_l)
    s2l = scope2_location_t(m.grid_import_kwh, loc)
    s2m = scope2_market_t(m.grid_import_kwh, m.certificates_kwh, mkt)
    covered = min(1.0, m.certificates_kwh / m.grid_import_kwh) if m.grid_import_kwh else 1.0
    trucks_grid = m.truck_charging_kwh * m.truck_grid_share
    baseline = scope1_t(m.diesel_baseline_l, cfg.diesel_kg_co2_per_l)
    on_site = max(0.0, m.pv_kwh - m.grid_export_kwh)
    consumed = m.grid_import_kwh + on_site
    per_t = (lambda x: x / m.ore_t) if m.ore_t > 0 else (lambda x: float("nan"))
    return MonthlyCarbon(
        month=m.month, ore_t=m.ore_t, diesel_l=m.diesel_l, grid_import_kwh=m.grid_import_kwh,
        grid_export_kwh=m.grid_export_kwh, pv_kwh=m.pv_kwh, pv_on_site_kwh=on_site,
        certificates_kwh=m.certificates_kwh, truck_charging_kwh=m.truck_charging_kwh,
        truck_regen_kwh=m.truck_regen_kwh, location_factor=loc, market_factor=mkt,
        scope1_t=s1, scope2_location_t=s2l, scope2_market_t=s2m,
        total_location_t=s1 + s2l, total_market_t=s1 + s2m,
        intensity_location_kg_per_t=per_t((s1 + s2l) * 1000.0),
        intensity_market_kg_per_t=per_t((s1 + s2m) * 1000.0),
        electricity_kwh_per_t=per_t(consumed),
        diesel_baseline_t=baseline,
        avoided_location_t=baseline - trucks_grid * loc / 1000.0,
        avoided_market_t=baseline - trucks_grid * (1.0 - covered) * mkt / 1000.0,
        coverage=m.coverage,
    )


@dataclass(frozen=True)
class HaulCycles:
    """The month's haul cycles, one element per cycle (from the haulage app's events)."""

    payload_t: FloatArray
    empty_mass_t: FloatArray
    loaded_km: FloatArray
    empty_km: FloatArray
    loaded_rise_m: FloatArray  # net elevation gain of the loaded leg [m], < 0 downhill
    empty_rise_m: FloatArray
    cycle_h: FloatArray

    def ore_t(self) -> float:
        return float(np.sum(self.payload_t))

    def diesel_baseline_l(self, idle_l_per_h: float = 0.0) -> float:
        """Diesel the same cycles would take with conventional trucks [L]."""
        return float(np.sum(diesel_litres_per_cycle(
            self.payload_t, self.empty_mass_t, self.loaded_km, self.empty_km,
            self.loaded_rise_m, self.empty_rise_m, self.cycle_h, idle_l_per_h=idle_l_per_h)))


def month_inputs(month: str, flows: SiteFlows, cycles: HaulCycles, *, diesel_l: float,
                 certificates_kwh: float = 0.0, idle_l_per_h: float = 0.0) -> MonthInputs:
    """A month's carbon inputs from metered flows [kW] and haul cycles.

    Energies are sums over the intervals present; a gap is not filled but lowers
    ``coverage``, which the report prints next to the figures.
    """
    ib = interval_balance(flows)
    dt = flows.step_h

    def kwh(x: FloatArray) -> float:
        return float(np.nansum(np.asarray(x, np.float64)) * dt)

    return MonthInputs(
        month=month, ore_t=cycles.ore_t(), diesel_l=diesel_l,
        grid_import_kwh=kwh(flows.grid_import_kw), grid_export_kwh=kwh(flows.grid_export_kw),
        pv_kwh=kwh(flows.pv_kw), certificates_kwh=certificates_kwh,
        truck_charging_kwh=kwh(flows.truck_charging_kw),
        truck_regen_kwh=kwh(flows.truck_regen_kw),
        truck_grid_share=grid_share_of(flows.truck_charging_kw, flows.grid_import_kw,
                                       ib.consumption_kw),
        diesel_baseline_l=cycles.diesel_baseline_l(idle_l_per_h),
        coverage=float(np.mean(~ib.gap)) if len(ib.gap) else 0.0,
    )
