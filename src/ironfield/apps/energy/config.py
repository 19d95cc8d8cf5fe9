"""The ``apps: {energy: {...}}`` section of a plant file, as pydantic models.

Example (YAML)::

    apps:
      energy:
        site: {name: luobei, latitude: 47.6, longitude: 130.8, altitude_m: 200,
               timezone: Asia/Shanghai}
        pv:
          arrays:
            - name: array-a
              surface_tilt_deg: 45
              surface_azimuth_deg: 180
              module: {cec_name: Jinko_Solar__Co___Ltd_JKM400M_72L}
              modules_per_string: 20
              strings: 260
              inverter: {cec_name: Huawei_Technologies_Co___Ltd___SUN2000_100KTL_USH0__800V_}
              inverters: 20
        tariff:
          periods:
            - {name: valley, start: "23:00", end: "07:00", price_per_kwh: 0.30}
            - {name: flat, start: "07:00", end: "08:00", price_per_kwh: 0.60}
            - {name: peak, start: "08:00", end: "23:00", price_per_kwh: 0.95}
        carbon: {grid_factor: northeast_2022}

Every field has a unit in its name or its description; angles follow pvlib (azimuth
clockwise from north, 180 = south).
"""

from __future__ import annotations

from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# kg CO2 per kWh of grid electricity, 2022, as published jointly by the Ministry of Ecology
# and Environment and the National Bureau of Statistics of China (MEE/NBS announcement
# 2024 No. 33, "2022年电力二氧化碳排放因子").
CHINA_GRID_FACTORS_2022: dict[str, float] = {
    "national_2022": 0.5366,
    "northeast_2022": 0.5564,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteConfig(_Model):
    name: str = "luobei"
    latitude: float = Field(47.6, ge=-90, le=90, description="[deg N]")
    longitude: float = Field(130.8, ge=-180, le=180, description="[deg E]")
    altitude_m: float = Field(200.0, description="site altitude [m]")
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown IANA time zone {v!r}") from e
        return v


class CecModule(_Model):
    """A module from pvlib's CEC library (``pvlib.pvsystem.retrieve_sam('CECMod')``)."""

    cec_name: str


class PvwattsModule(_Model):
    """PVWatts DC model: nameplate at STC and power temperature coefficient."""

    pdc0_w: float = Field(gt=0, description="DC rating of one module at STC [W]")
    gamma_pdc_per_k: float = Field(-0.0037, le=0, description="[1/K]")


class CecInverter(_Model):
    """An inverter from pvlib's CEC library (``retrieve_sam('cecinverter')``)."""

    cec_name: str


class PvwattsInverter(_Model):
    pac0_w: float = Field(gt=0, description="AC rating of one inverter [W]")
    eta_inv_nom: float = Field(0.96, gt=0, le=1, description="nominal efficiency [-]")


class ArrayConfig(_Model):
    name: str
    surface_tilt_deg: float = Field(ge=0, le=90)
    surface_azimuth_deg: float = Field(180.0, ge=0, lt=360)
    module: CecModule | PvwattsModule
    modules_per_string: int = Field(ge=1)
    strings: int = Field(ge=1)
    inverter: CecInverter | PvwattsInverter
    inverters: int = Field(1, ge=1, description="identical inverters sharing the strings")
    temperature_model: Literal[
        "open_rack_glass_glass", "close_mount_glass_glass",
        "open_rack_glass_polymer", "insulated_back_glass_polymer",
    ] = "open_rack_glass_polymer"
    albedo: float = Field(0.25, ge=0, le=1, description="ground albedo [-] (snow ~0.8)")
    dc_loss_fraction: float = Field(0.03, ge=0, lt=1, description="wiring, mismatch [-]")


class PvConfig(_Model):
    arrays: list[ArrayConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> PvConfig:
        names = [a.name for a in self.arrays]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"array names must be unique; repeated: {sorted(dup)}")
        return self


class TariffPeriod(_Model):
    """A time-of-use band in local time; ``end`` <= ``start`` wraps past midnight."""

    name: str
    start: time
    end: time
    price_per_kwh: float = Field(ge=0, description="energy price [currency/kWh]")


class TariffConfig(_Model):
    currency: str = "CNY"
    periods: list[TariffPeriod] = Field(min_length=1)
    export_price_per_kwh: float = Field(0.0, ge=0, description="[currency/kWh]")
    demand_charge_per_kw_month: float = Field(
        0.0, ge=0, description="two-part tariff demand charge [currency/kW/month]")
    demand_window_min: int = Field(15, ge=1, description="demand averaging window [min]")

    def price_at_minute(self, minute_of_day: int) -> float:
        """Energy price in force at a local minute of the day [currency/kWh]."""
        for p in self.periods:
            s = p.start.hour * 60 + p.start.minute
            e = p.end.hour * 60 + p.end.minute
            inside = s <= minute_of_day < e if s < e else (minute_of_day >= s or minute_of_day < e)
            if inside:
                return p.price_per_kwh
        raise ValueError(f"no tariff period covers minute {minute_of_day} of the day")

    @model_validator(mode="after")
    def _covers_day(self) -> TariffConfig:
        for m in range(0, 24 * 60, 15):
            self.price_at_minute(m)
        return self


class ShiftConfig(_Model):
    name: str
    start: time
    end: time


class CarbonConfig(_Model):
    grid_factor: str | float = Field(
        "northeast_2022",
        description="a key of grid_factors, or a number [kg CO2/kWh] (location-based scope 2)")
    grid_factors: dict[str, float] = Field(default_factory=lambda: dict(CHINA_GRID_FACTORS_2022))
    residual_mix_factor: float | None = Field(
        None, ge=0,
        description="market-based factor for uncovered grid kWh [kg CO2/kWh]; None = "
                    "fall back to the location factor (GHG Protocol Scope 2 Guidance 2015, "
                    "sec. 6.11, when no residual mix is published)")
    diesel_kg_co2_per_l: float = Field(2.70, gt=0, description="[kg CO2/L]")

    def location_factor(self) -> float:
        """Location-based grid emission factor [kg CO2/kWh]."""
        if isinstance(self.grid_factor, float | int):
            return float(self.grid_factor)
        try:
            return self.grid_factors[self.grid_factor]
        except KeyError:
            raise ValueError(
                f"grid_factor {self.grid_factor!r} is not one of {sorted(self.grid_factors)}"
            ) from None

    def market_factor(self) -> float:
        return self.location_factor() if self.residual_mix_factor is None else (
            self.residual_mix_factor)

    @model_validator(mode="after")
    def _factor_known(self) -> CarbonConfig:
        self.location_factor()
        return self


class ChargingConfig(_Model):
    chargers: int = Field(4, ge=0)
    charger_kw: float = Field(600.0, gt=0, description="power of one charger [kW]")
    charge_efficiency: float = Field(0.95, gt=0, le=1, description="grid to battery [-]")
    soc_min: float = Field(0.2, ge=0, le=1, description="[-]")
    soc_max: float = Field(0.9, ge=0, le=1, description="[-]")
    low_soc_trigger: float = Field(0.3, ge=0, le=1,
                                   description="charge-when-low: go to charger below [-]")
    period_min: int = Field(15, ge=1, description="planning period [min]")


class LiveConfig(_Model):
    """Where the running app finds its inputs and how often it works (``apps: {energy:
    {live: ...}}``). Signal entries are paths or ``fnmatch`` globs over the plant's signals;
    power in W or kW (by the signal's unit)."""

    inverter_power: str = Field("luobei/pv/inverter-*/ac_power_kw",
                                description="AC power of each inverter (glob)")
    inverter_status: str = Field("luobei/pv/inverter-*/status",
                                 description="SunSpec operating state (St; 7 = fault) (glob)")
    poa_irradiance: str = "luobei/pv/weather-station/poa_wm2"
    module_temp: str = "luobei/pv/weather-station/module_temp_c"
    grid_import: str = "luobei/energy/grid-meter/import_kw"
    grid_export: str = "luobei/energy/grid-meter/export_kw"
    fixed_loads: dict[str, str] = Field(
        default_factory=lambda: {"crusher": "luobei/crusher/primary-crusher/power_kw",
                                 "conveyors": "luobei/energy/conveyor-*/power_kw",
                                 "camp and workshop": "luobei/energy/camp/power_kw"},
        description="name -> signal glob [kW]; shown in the flows, not needed for the balance")
    haulage: str = Field("luobei/haulage", description="prefix of the haulage app's signals")
    truck_soc: str = Field("luobei/pit/*/soc_pct", description="truck state of charge [%] (glob)")
    out: str = Field("luobei/energy", description="prefix of the signals this app writes")
    tick_s: float = Field(30.0, gt=0, description="how often the live processing runs [s]")
    settle_s: float = Field(10.0, ge=0, description="a minute is processed this long after it ends [s]")
    window_h: float = Field(24.0, gt=0, le=24 * 14, description="live window [h]")
    forecast_every_s: float = Field(300.0, gt=0)
    forecast_horizon_h: float = Field(8.0, gt=0, le=48)
    plan_every_s: float = Field(900.0, gt=0)
    plan_horizon_h: float = Field(
        12.0, gt=0, le=48,
        description="charging plan horizon [h]: the intraday forecast for its first "
                    "forecast_horizon_h, the day-ahead forecast beyond (the plan stops at the "
                    "intraday horizon while there is no day-ahead forecast)")
    dayahead_every_s: float = Field(3600.0, gt=0, description="day-ahead forecast refit and issue [s]")
    dayahead_history_days: int = Field(30, ge=3, le=365,
                                       description="PV history the day-ahead model is fitted on [days]")
    truck_capacity_kwh: float = Field(420.0, gt=0, description="usable battery [kWh]")
    truck_haul_kw: float = Field(180.0, ge=0, description="net drain while hauling [kW]")
    truck_tonnes_per_h: float = Field(270.0, ge=0, description="ore per hour hauling [t/h]")
    trucks_required: int = Field(4, ge=0, description="trucks that must haul in each period")
    charger_ids: list[str] = Field(
        default_factory=list,
        description="the dispatcher's id of each of charging.chargers (repeat an id for a "
                    "charger with several spots); default charger-1, charger-2, ...")
    value_per_tonne: float = Field(5.0, ge=0, description="[currency/t]")
    diesel_l_per_day: float = Field(0.0, ge=0, description="other site diesel (scope 1) [L/day]")
    # haul cycle geometry for the diesel baseline (per cycle of the haulage app's events)
    empty_mass_t: float = Field(65.0, gt=0, description="empty truck [t]")
    loaded_km: float = Field(2.4, ge=0)
    empty_km: float = Field(2.4, ge=0)
    loaded_rise_m: float = Field(-90.0, description="loaded leg net rise [m] (< 0 downhill)")
    empty_rise_m: float = Field(90.0)


class EnergyConfig(_Model):
    """The energy app's plant-file section."""

    site: SiteConfig = Field(default_factory=SiteConfig)
    pv: PvConfig
    tariff: TariffConfig
    carbon: CarbonConfig = Field(default_factory=CarbonConfig)
    charging: ChargingConfig = Field(default_factory=ChargingConfig)
    shifts: list[ShiftConfig] = Field(
        default_factory=lambda: [ShiftConfig(name="day", start=time(8), end=time(20)),
                                 ShiftConfig(name="night", start=time(20), end=time(8))])
    live: LiveConfig = Field(default_factory=LiveConfig)


def demo_config() -> EnergyConfig:
    """A plausible plant for the Luobei mine: 2.08 MWp DC, 2 MW AC, fixed tilt facing south.

    Tilt 45 deg is close to latitude, the usual choice for annual yield at 47.6 N; the
    tariff is an illustrative three-band time-of-use schedule, not a published price list.
    """
    return EnergyConfig.model_validate({
        "pv": {"arrays": [{
            "name": "array-a", "surface_tilt_deg": 45, "surface_azimuth_deg": 180,
            "module": {"cec_name": "Jinko_Solar__Co___Ltd_JKM400M_72L"},
            "modules_per_string": 20, "strings": 260,
            "inverter": {"cec_name": "Huawei_Technologies_Co___Ltd___SUN2000_100KTL_USH0__800V_"},
            "inverters": 20,
        }]},
        "tariff": {"periods": [
            {"name": "valley", "start": "23:00", "end": "07:00", "price_per_kwh": 0.30},
            {"name": "flat", "start": "07:00", "end": "08:00", "price_per_kwh": 0.60},
            {"name": "peak", "start": "08:00", "end": "23:00", "price_per_kwh": 0.95},
        ], "demand_charge_per_kw_month": 30.0},
    })
