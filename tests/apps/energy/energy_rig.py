"""A small Luobei plant for the energy app's platform tests, data through the real paths,
and pvlib computed directly (not through the app's modules) for the expectations."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import paho.mqtt.client as mqtt
import pandas as pd
import pvlib
from paho.mqtt.enums import CallbackAPIVersion

from ironfield.core.plant import PlantSpec
from ironfield.core.signals import SignalDef
from ironfield.core.timeutil import NS_PER_MIN, NS_PER_MS

TZ = "Asia/Harbin"
MODULE_W, PER_STRING, STRINGS, INVERTERS = 400.0, 20, 20, 2
GAMMA, DC_LOSS, PAC0, ETA = -0.0037, 0.03, 75_000.0, 0.96
P_STC_W = MODULE_W * PER_STRING * STRINGS
RESIDUAL_MIX = 0.61  # market-based factor [kg/kWh] in the test plant
NORTHEAST = 0.5564

ENERGY = """
  energy:
    site: {{name: luobei, latitude: 47.6, longitude: 130.8, altitude_m: 200, timezone: {tz}}}
    pv:
      arrays:
        - name: array-a
          surface_tilt_deg: 45
          module: {{pdc0_w: {mw}, gamma_pdc_per_k: {gamma}}}
          modules_per_string: {mps}
          strings: {strings}
          inverter: {{pac0_w: {pac0}, eta_inv_nom: {eta}}}
          inverters: {inv}
          dc_loss_fraction: {loss}
    tariff:
      periods:
        - {{name: valley, start: "23:00", end: "07:00", price_per_kwh: 0.30}}
        - {{name: peak, start: "07:00", end: "23:00", price_per_kwh: 0.95}}
      demand_charge_per_kw_month: 30
    carbon: {{grid_factor: northeast_2022, residual_mix_factor: {rm}}}
    charging: {{chargers: 2, charger_kw: 300, soc_min: 0.2, soc_max: 0.9, low_soc_trigger: 0.3}}
    live:
      fixed_loads: {{conveyors: "luobei/energy/conveyor-*/power_kw"}}
      truck_soc: "luobei/pit/truck-*/soc_pct"
      tick_s: 1
      settle_s: 0
      window_h: 48
      forecast_every_s: 1
      plan_every_s: 1
      forecast_horizon_h: 4
      dayahead_every_s: 2
      dayahead_history_days: 10
      trucks_required: 1
"""


def plant_yaml(unique: str | None, port: int = 1883) -> str:
    """The plant; with ``unique`` an MQTT connector maps ``<unique>/<area>/<equipment>``
    (columnar JSON) onto ``luobei/<area>/<equipment>/<key>``."""
    conn = "" if unique is None else f"""
connectors:
  - id: site-mqtt
    type: mqtt
    url: mqtt://127.0.0.1:{port}
    client_id: energy-test-{unique}
    topics:
      - {{topic: "{unique}/{{area}}/{{equipment}}", format: columnar, signal: "luobei/{{area}}/{{equipment}}/{{key}}"}}
"""
    return f"""
plant: energy-test
sites:
  - id: luobei
    timezone: {TZ}
    areas:
      - id: pv
        equipment:
          - ids: "inverter-{{01..02}}"
            signals:
              - {{name: ac_power_kw, unit: kW}}
              - {{name: status, type: state, states: {{2: sleeping, 4: mppt, 7: fault}}}}
          - id: weather-station
            signals:
              - {{name: poa_wm2, unit: W/m2}}
              - {{name: module_temp_c, unit: degC}}
      - id: energy
        equipment:
          - id: grid-meter
            signals:
              - {{name: import_kw, unit: kW}}
              - {{name: export_kw, unit: kW}}
          - id: conveyor-01
            signals:
              - {{name: power_kw, unit: kW}}
      - id: pit
        equipment:
          - ids: "truck-{{01..03}}"
            signals:
              - {{name: soc_pct, unit: "%"}}
historian:
  backend: duckdb
  path: energy.duckdb
  flush_interval: 50ms
{conn}
apps:
{ENERGY.format(tz=TZ, mw=MODULE_W, gamma=GAMMA, mps=PER_STRING, strings=STRINGS, pac0=PAC0, eta=ETA,
               inv=INVERTERS, loss=DC_LOSS, rm=RESIDUAL_MIX)}"""


class HaulageStub:
    """Stands in for the haulage app: declares the signals it writes (which the test then
    writes through the pipeline, as the haulage app would) and does nothing else."""

    name = "haulage"

    def signals(self, config: Mapping[str, Any], plant: PlantSpec) -> list[SignalDef]:
        return [SignalDef("luobei/haulage/tonnes_total", unit="t"), SignalDef("luobei/haulage/charging_kw", unit="kW"),
                SignalDef("luobei/haulage/regen_kwh_total", unit="kWh")]

    async def run(self, ctx: Any) -> None:
        return None


def sunny_minutes(now_ns: int, minutes: int = 180) -> npt.NDArray[np.int64]:
    """``minutes`` minutes from 02:00 UTC (10:00 at the site) on the latest day on which
    they are over at least 10 min before ``now``."""
    day = dt.datetime.fromtimestamp(now_ns / 1e9, dt.UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    start = int(day.timestamp()) * 1_000_000_000
    if start + (minutes + 10) * NS_PER_MIN > now_ns:
        start -= 24 * 60 * NS_PER_MIN
    return start + np.arange(minutes, dtype=np.int64) * NS_PER_MIN


def clear_sky_poa(ts: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Clear-sky POA on the test array's plane (pvlib directly) [W/m2]."""
    idx = pd.DatetimeIndex(pd.to_datetime(ts, unit="ns", utc=True))
    loc = pvlib.location.Location(47.6, 130.8, altitude=200)
    cs = loc.get_clearsky(idx, model="ineichen")
    sp = loc.get_solarposition(idx)
    poa = pvlib.irradiance.get_total_irradiance(45, 180, sp["apparent_zenith"], sp["azimuth"], cs["dni"],
                                                cs["ghi"], cs["dhi"], model="isotropic")
    return np.asarray(poa["poa_global"], np.float64)


def expected_plant_w(poa: npt.NDArray[np.float64], tmod: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """What the plant should make [W]: SAPM cell temperature from module temperature,
    PVWatts DC with the DC loss, PVWatts inverter, times the inverters (pvlib directly)."""
    delta_t = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]["deltaT"]
    tc = pvlib.temperature.sapm_cell_from_module(tmod, poa, delta_t)
    dc = pvlib.pvsystem.pvwatts_dc(poa, tc, pdc0=P_STC_W / INVERTERS, gamma_pdc=GAMMA) * (1 - DC_LOSS)
    ac = pvlib.inverter.pvwatts(dc, pdc0=PAC0 / ETA, eta_inv_nom=ETA)
    return np.clip(np.asarray(ac, np.float64), 0.0, None) * INVERTERS


class Publisher:
    """Publishes columnar JSON to ``<unique>/<area>/<equipment>`` on the broker, QoS 1."""

    def __init__(self, host: str, port: int, unique: str) -> None:
        self.unique = unique
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"energy-pub-{unique}")
        self.client.connect(host, port)
        self.client.loop_start()

    def send(self, area_equipment: str, ts: npt.NDArray[np.int64], **values: Any) -> None:
        doc = {"ts": [int(t // NS_PER_MS) for t in ts],
               "values": {k: [None if v is None or not np.isfinite(v) else float(v) for v in vs] for k, vs in values.items()}}
        self.client.publish(f"{self.unique}/{area_equipment}", json.dumps(doc), qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def until(cond: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"not in time: {what}")
        await asyncio.sleep(0.1)


DAY_FACTORS = (1.0, 0.55, 0.9, 0.35, 0.8, 1.0, 0.5, 0.7, 0.95, 0.6)  # daily cloudiness, by day


def pv_history(end_ns: int, days: int = 8) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Minutes from the local midnight ``days`` days before ``end_ns``'s to ``end_ns`` and the
    per-inverter AC power [kW] of a plant under clouds that change from day to day (and
    within the day), from pvlib directly."""
    local = dt.datetime.fromtimestamp(end_ns / 1e9, ZoneInfo(TZ))
    first = int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()) * 1_000_000_000
    first -= days * 24 * 60 * NS_PER_MIN
    ts = np.arange(first, end_ns // NS_PER_MIN * NS_PER_MIN, NS_PER_MIN, dtype=np.int64)
    day = (ts - first) // (24 * 60 * NS_PER_MIN)
    i = np.arange(len(ts))
    cloud = np.asarray(DAY_FACTORS, np.float64)[day % len(DAY_FACTORS)] * (1.0 - 0.25 * np.sin(i / 17.0) ** 2)
    poa = clear_sky_poa(ts) * cloud
    return ts, np.round(expected_plant_w(poa, 5.0 + 0.02 * poa) / 1000.0 / INVERTERS, 4)
