"""The demo's PV plant and site meters, publishing over MQTT as the real devices would.

Every ``STEP_S`` seconds: clear-sky irradiance at the site for the current UTC time
(pvlib Ineichen, transposed to the array's plane with Hay-Davies) dimmed by passing
clouds; module temperature (Sandia module model from air temperature); each inverter's AC
power from the plant model with a small extra loss, and now and then a trip (zero output,
SunSpec state 7 = FAULT) for a few minutes; the grid meter as site load minus PV, where the
site load is the crusher and the chargers as heard on the wire (the fleet's ``state`` and
``battery_power_kw`` topics), conveyors and the camp. Topics follow the demo route
``luobei/{area}/{equipment}/{signal}``. It never touches platform objects.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pandas as pd
import pvlib
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from ironfield.apps.energy.config import EnergyConfig
from ironfield.apps.energy.pvmodel import (
    build_plant,
    cell_temperature,
    expected_ac_power,
    location,
)
from ironfield.core.plugins import SimulationContext
from ironfield.core.timeutil import NS_PER_S

STEP_S = 5.0
TABLE_S = 3600  # clear-sky table span, refreshed every hour [s]


def bare_value(payload: bytes) -> float | None:
    """A bare number or ``{"v": x, ...}`` (the demo route's two value forms)."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return None
    if isinstance(doc, dict):
        doc = doc.get("v")
    return float(doc) if isinstance(doc, int | float) and not isinstance(doc, bool) else None


def charging_code(plant: Any) -> int:
    """The haul truck ``state`` code named charge/charging in the plant file (the fleet's
    simulation and the plant file agree on it); 8 if none is named so."""
    for et in (getattr(plant, "equipment_types", None) or {}).values():
        for sig in getattr(et, "signals", []):
            if getattr(sig, "name", "") == "state":
                for code, name in (getattr(sig, "states", None) or {}).items():
                    if str(name) in ("charge", "charging"):
                        return int(code)
    return 8


def clouds(t: float) -> float:
    """Transmission of passing clouds [-]: mostly clear, a shadow every so often."""
    s = math.sin(2 * math.pi * t / 1800.0) + 0.6 * math.sin(2 * math.pi * t / 420.0 + 1.3)
    return 1.0 - 0.65 * min(1.0, max(0.0, (s - 0.7) / 0.8))


def air_temp_c(t: float, lon: float) -> float:
    """A plausible air temperature for the site: seasonal (Heilongjiang) plus diurnal [degC]."""
    doy = time.gmtime(t).tm_yday
    hour = (t / 3600.0 + lon / 15.0) % 24
    return 3.0 - 22.0 * math.cos(2 * math.pi * (doy - 15) / 365.0) + 5.0 * math.sin(2 * math.pi * (hour - 9) / 24)


class PvPlantSim:
    def __init__(self, ctx: SimulationContext) -> None:
        self.cfg = EnergyConfig.model_validate(dict(ctx.config))
        self.ctx = ctx
        self.rng = random.Random(ctx.seed + 60)
        self.models = build_plant(list(self.cfg.pv.arrays), self.cfg.site)
        self.arr = self.cfg.pv.arrays[0]
        self.inverters = [f"inverter-{i + 1:02d}" for i in range(sum(a.inverters for a in self.cfg.pv.arrays))]
        self.trip_until = dict.fromkeys(self.inverters, 0.0)
        self.energy = dict.fromkeys(self.inverters, 0.0)
        self.import_kwh = self.export_kwh = 0.0
        self.table: tuple[float, np.ndarray, np.ndarray] | None = None
        self.heard: dict[str, float] = {}
        self.truck_state: dict[str, int] = {}
        self.truck_power: dict[str, float] = {}
        proto = MQTTProtocolVersion.MQTTv5 if ctx.mqtt_protocol == "5" else MQTTProtocolVersion.MQTTv311
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"ironfield-energy-sim-{ctx.seed}",
                                  protocol=proto)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.published = 0
        self.charging_state = charging_code(ctx.plant)

    # -- what the meter hears on the wire ------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        client.subscribe([("luobei/crusher/primary-crusher/power_kw", 0), ("luobei/pit/+/state", 0),
                          ("luobei/pit/+/battery_power_kw", 0)])

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        v = bare_value(msg.payload)
        if v is None:
            return  # not a number: not something this meter reads
        parts = msg.topic.split("/")
        if parts[-1] == "state":
            self.truck_state[parts[2]] = round(v)
        elif parts[-1] == "battery_power_kw":
            self.truck_power[parts[2]] = v
        else:
            self.heard["crusher"] = v

    def charging_kw(self) -> float:
        return sum(max(0.0, -self.truck_power.get(t, 0.0)) for t, s in self.truck_state.items()
                   if s == self.charging_state)

    # -- the plant ---------------------------------------------------------------------
    def _clear_sky(self, t: float) -> tuple[float, float]:
        """(POA, GHI) under clear sky at ``t`` [W/m2], from an hourly 1-min table."""
        if self.table is None or t >= self.table[0] + TABLE_S - 60 or t < self.table[0]:
            t0 = t - t % 60
            idx = pd.date_range(pd.Timestamp(t0, unit="s", tz="UTC"), periods=TABLE_S // 60 + 1, freq="1min")
            loc = location(self.cfg.site)
            cs = loc.get_clearsky(idx, model="ineichen")
            sp = loc.get_solarposition(idx)
            poa = pvlib.irradiance.get_total_irradiance(
                self.arr.surface_tilt_deg, self.arr.surface_azimuth_deg, sp["apparent_zenith"], sp["azimuth"],
                cs["dni"], cs["ghi"], cs["dhi"], dni_extra=pvlib.irradiance.get_extra_radiation(idx),
                model="haydavies", albedo=self.arr.albedo)
            self.table = (t0, np.nan_to_num(np.asarray(poa["poa_global"], np.float64)),
                          np.asarray(cs["ghi"], np.float64))
        t0, poa_t, ghi_t = self.table
        x = (t - t0) / 60.0
        grid = np.arange(len(poa_t), dtype=np.float64)
        return float(np.interp(x, grid, poa_t)), float(np.interp(x, grid, ghi_t))

    def step(self, t: float) -> None:
        site = self.cfg.site
        poa_cs, ghi_cs = self._clear_sky(t)
        k = clouds(t)
        poa, ghi = max(0.0, poa_cs * k), max(0.0, ghi_cs * k)
        air = air_temp_c(t, site.longitude)
        tmod = float(pvlib.temperature.sapm_module(poa, air, 2.0, -3.56, -0.075))
        ts = np.array([int(t * NS_PER_S)], np.int64)
        tc = cell_temperature(np.array([poa]), module_temp_c=np.array([tmod]), model=self.arr.temperature_model)
        plant_w = sum(float(np.nan_to_num(expected_ac_power(m, ts, np.array([poa]), tc))[0]) for m in self.models)
        per_inv_kw = plant_w / 1000.0 / len(self.inverters) * 0.975  # a small loss the model does not know
        pv_kw = 0.0
        for inv in self.inverters:
            if per_inv_kw > 0 and t >= self.trip_until[inv] and self.rng.random() < STEP_S / (4 * 3600.0):
                self.trip_until[inv] = t + self.rng.uniform(6, 14) * 60  # a trip, reset after some minutes
            tripped = t < self.trip_until[inv]
            ac = 0.0 if tripped or per_inv_kw <= 0 else per_inv_kw * (1 + self.rng.gauss(0, 0.004))
            self.energy[inv] += ac * STEP_S / 3600.0
            state = 7 if tripped else (4 if ac > 0 else 2)
            pv_kw += ac
            for sig, v in (("ac_power_kw", ac), ("status", state), ("ac_energy_kwh", self.energy[inv])):
                self._pub(f"luobei/pv/{inv}/{sig}", v)
        for sig, v in (("poa_wm2", poa), ("ghi_wm2", ghi), ("module_temp_c", tmod), ("air_temp_c", air)):
            self._pub(f"luobei/pv/weather-station/{sig}", v)
        hour = (t / 3600.0 + site.longitude / 15.0) % 24
        conveyors = [180.0 + 15 * math.sin(t / 97.0 + i) + self.rng.gauss(0, 3) for i in range(2)]
        camp = 110.0 + 40.0 * math.sin(2 * math.pi * (hour - 13) / 24) + self.rng.gauss(0, 2)
        for i, v in enumerate(conveyors):
            self._pub(f"luobei/energy/conveyor-{i + 1:02d}/power_kw", v)
        self._pub("luobei/energy/camp/power_kw", camp)
        load = self.heard.get("crusher", 560.0) + sum(conveyors) + camp + self.charging_kw()
        net = load - pv_kw
        imp, exp = max(net, 0.0), max(-net, 0.0)
        self.import_kwh += imp * STEP_S / 3600.0
        self.export_kwh += exp * STEP_S / 3600.0
        for sig, v in (("import_kw", imp), ("export_kw", exp), ("import_kwh", self.import_kwh),
                       ("export_kwh", self.export_kwh)):
            self._pub(f"luobei/energy/grid-meter/{sig}", v)

    def _pub(self, topic: str, v: float) -> None:
        self.client.publish(topic, f"{v:.3f}", qos=0)
        self.published += 1

    async def run(self) -> None:
        self.client.connect_async(self.ctx.mqtt_host, self.ctx.mqtt_port)
        self.client.loop_start()
        try:
            while True:
                await asyncio.to_thread(self.step, time.time())
                await asyncio.sleep(STEP_S)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
