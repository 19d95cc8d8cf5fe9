"""The energy app inside a real Platform, fed through Mosquitto like the real plant:
expected vs actual PV and PR against pvlib computed here, an inverter trip as an event,
a meter gap left a gap, a feasible charging plan for the dispatcher, carbon per tonne
against a hand computation, and the monthly report."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from apps.energy.energy_rig import (
    INVERTERS,
    NORTHEAST,
    P_STC_W,
    RESIDUAL_MIX,
    HaulageStub,
    Publisher,
    clear_sky_poa,
    expected_plant_w,
    plant_yaml,
    sunny_minutes,
    until,
)
from ironfield.apps.energy.app import EnergyApp
from ironfield.apps.energy.carbonlive import month_bounds, month_of
from ironfield.apps.energy.events import CHARGING_PLAN, PV_LOSS
from ironfield.core.batch import Batch
from ironfield.core.plant import parse_plant
from ironfield.core.timeutil import NS_PER_MIN, now_ns
from ironfield.runtime.platform import Platform
from ironfield.server.app import create_app
from server.server_rig import PASSWORD, make_auth, stop_platform

TZ = "Asia/Harbin"


def raw(p: Platform, path: str) -> tuple[np.ndarray, np.ndarray]:
    assert p.historian is not None
    b = p.historian.raw([p.registry.id(path)], 0, 2**62)
    return b.ts, b.value


async def start(tmp_path: Path, unique: str, haulage: bool = False) -> Platform:
    factories: dict[str, Any] = {"energy": EnergyApp}
    yaml = plant_yaml(unique)
    if haulage:
        factories["haulage"] = HaulageStub
        yaml += "  haulage: {}\n"
    p = Platform(plant=parse_plant(yaml), data_dir=tmp_path, app_factories=factories)
    p.open()
    await p.start()
    conn = p.connectors["site-mqtt"]
    await asyncio.to_thread(conn.connected.wait, 10)  # type: ignore[attr-defined]
    await asyncio.sleep(0.5)  # subscription granted
    return p


async def test_pv_expected_actual_pr_and_a_trip(tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> None:
    p = await start(tmp_path, unique)
    pub = Publisher(*mosquitto, unique)
    try:
        ts = sunny_minutes(now_ns())
        n = len(ts)
        poa = np.round(clear_sky_poa(ts) * 0.9, 2)
        tmod = np.round(12.0 + 10.0 * np.sin(np.linspace(0, np.pi, n)), 2)
        plant_w = expected_plant_w(poa, tmod)
        per_inv_kw = plant_w / 1000.0 / INVERTERS * 0.95
        trip = (ts >= ts[60]) & (ts < ts[70])  # inverter-02 trips for 10 minutes
        inv2 = np.where(trip, 0.0, per_inv_kw)
        # three more minutes with an impossible irradiance: flagged with the reason, left out
        bad_ts = ts[-1] + np.arange(1, 4, dtype=np.int64) * NS_PER_MIN
        pub.send("pv/weather-station", np.concatenate([ts, bad_ts]), poa_wm2=np.concatenate([poa, [2500.0] * 3]),
                 module_temp_c=np.concatenate([tmod, [20.0] * 3]))
        pub.send("pv/inverter-01", ts, ac_power_kw=np.round(per_inv_kw, 4), status=np.full(n, 4.0))
        pub.send("pv/inverter-02", ts, ac_power_kw=np.round(inv2, 4), status=np.where(trip, 7.0, 4.0))

        await until(lambda: len(raw(p, "luobei/energy/pv_expected_kw")[0]) == n
                    and len(raw(p, "luobei/energy/pv_actual_kw")[0]) == n, "expected and actual PV for every minute")
        t, v = raw(p, "luobei/energy/pv_expected_kw")
        assert np.array_equal(t, ts)
        assert np.allclose(v, plant_w / 1000.0, rtol=1e-6, atol=1e-6)
        t, v = raw(p, "luobei/energy/pv_actual_kw")
        assert np.allclose(v, np.round(per_inv_kw, 4) + np.round(inv2, 4), atol=1e-6)

        # PR of the local day so far at the last minute: IEC 61724-1, computed here
        actual_w = (np.round(per_inv_kw, 4) + np.round(inv2, 4)) * 1000.0
        pr = (actual_w.sum() / P_STC_W) / (poa.sum() / 1000.0)
        await until(lambda: len(raw(p, "luobei/energy/performance_ratio")[0]) == n, "PR for every minute")
        t, v = raw(p, "luobei/energy/performance_ratio")
        assert v[-1] == pytest.approx(pr, rel=1e-6)
        assert 0.6 < v[-1] < 0.95

        assert p.historian is not None
        ev = await until(lambda: p.historian.events(0, 2**62, types=[PV_LOSS]) if p.historian else None, "a loss event")
        assert [(e.asset, e.payload["kind"], e.payload["start_ns"], e.payload["intervals"]) for e in ev] == [
            ("luobei/pv/inverter-02", "inverter_trip", int(ts[60]), 10)]
        lost = (plant_w[trip] / INVERTERS / 1000.0).sum() / 60.0  # expected energy of the tripped inverter
        assert ev[0].payload["energy_lost_kwh"] == pytest.approx(lost, rel=1e-3)

        # no haulage app: per-tonne intensities are absent, not 0; scope totals are there
        await until(lambda: len(raw(p, "luobei/energy/scope2_location_t")[0]) > 0, "scope 2")
        assert len(raw(p, "luobei/energy/co2_location_kg_per_t")[0]) == 0
        assert len(raw(p, "luobei/energy/co2_market_kg_per_t")[0]) == 0
        app = p.apps["energy"]
        assert isinstance(app, EnergyApp)
        flags = await until(lambda: app.state.frame.flags if app.state.frame else None, "the flags on the page")
        assert flags == {"luobei/pv/weather-station/poa_wm2 above 1600 W/m2 (above enhanced extraterrestrial)": 3}
        assert p.tasks["app/energy"].running and app.state.errors == 0
    finally:
        pub.close()
        await stop_platform(p)

    # a restart on the same data emits nothing twice
    again = await start(tmp_path, unique)
    try:
        app2 = again.apps["energy"]
        assert isinstance(app2, EnergyApp)
        t0 = now_ns()
        await until(lambda: app2.state.at_ns > t0 and app2.state.frame is not None and app2.state.carbon is not None,
                    "a full tick after the restart")
        assert again.historian is not None
        assert again.pipeline is not None
        await again.pipeline.flush()  # events emitted by that tick are stored
        assert len(again.historian.events(0, 2**62, types=[PV_LOSS])) == 1  # the trip, still once
        assert app2.state.frame is not None and app2.state.frame.losses  # it was seen again
    finally:
        await stop_platform(again)


async def test_balance_gap_plan_carbon_and_report(tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> None:
    p = await start(tmp_path, unique, haulage=True)
    pub = Publisher(*mosquitto, unique)
    assert p.pipeline is not None
    try:
        now = now_ns()
        end = now // NS_PER_MIN * NS_PER_MIN - 5 * NS_PER_MIN
        m0, _ = month_bounds(month_of(now, TZ), TZ)
        if end - 80 * NS_PER_MIN < m0:  # keep the data inside one site-local month
            end = m0 - 5 * NS_PER_MIN
        ts = end - np.arange(80, 0, -1, dtype=np.int64) * NS_PER_MIN
        n = len(ts)
        gap = (ts >= ts[30]) & (ts < ts[40])  # the meter is silent for 10 minutes
        imp = np.where(gap, np.nan, 800.0 + 5.0 * (np.arange(n) % 7))
        exp = np.where(gap, np.nan, 0.0)
        zero = np.zeros(n)
        pub.send("pv/weather-station", ts, poa_wm2=zero, module_temp_c=zero - 5.0)
        pub.send("pv/inverter-01", ts, ac_power_kw=zero, status=zero + 2)
        pub.send("pv/inverter-02", ts, ac_power_kw=zero, status=zero + 2)
        pub.send("energy/grid-meter", ts, import_kw=imp, export_kw=exp)
        pub.send("pit/truck-01", ts[-1:], soc_pct=[50.0])
        pub.send("pit/truck-02", ts[-1:], soc_pct=[35.0])
        pub.send("pit/truck-03", ts[-1:], soc_pct=[80.0])
        # the haulage app's ore counter, through the pipeline as that app writes it
        tonnes = 10_000.0 + 90.0 * np.arange(n)
        await p.pipeline.submit(Batch.build(p.registry.id("luobei/haulage/tonnes_total"), ts, tonnes))

        # the gap stays a gap: no balance rows in it, nothing interpolated
        ok = ~gap
        await until(lambda: len(raw(p, "luobei/energy/grid_import_kw")[0]) == ok.sum(), "import rows")
        await until(lambda: len(raw(p, "luobei/energy/load_kw")[0]) == ok.sum(), "load rows")
        t, v = raw(p, "luobei/energy/grid_import_kw")
        assert np.array_equal(t, ts[ok]) and np.allclose(v, imp[ok])
        t, _ = raw(p, "luobei/energy/load_kw")
        assert not np.isin(ts[gap], t).any()

        # a charging plan for the dispatcher, feasible: no charger or truck double-booked
        assert p.historian is not None
        plans = await until(lambda: p.historian.events(0, 2**62, types=[CHARGING_PLAN]) if p.historian else None,
                            "a charging plan")
        windows = plans[-1].payload["windows"]
        assert plans[-1].payload.keys() == {"plan_id", "windows"} and windows
        assert {w["charger"] for w in windows} <= {"charger-1", "charger-2"}
        assert {w["truck"] for w in windows} <= {"truck-01", "truck-02", "truck-03"}
        for key in ("charger", "truck"):
            for k in {w[key] for w in windows}:
                mine = sorted((w["start_ns"], w["end_ns"]) for w in windows if w[key] == k)
                assert all(a[1] <= b[0] for a, b in zip(mine, mine[1:], strict=False)), f"{key} {k} double-booked"
        for w in windows:
            assert w["end_ns"] - w["start_ns"] > 0 and w["kwh"] <= 300.0 * (w["end_ns"] - w["start_ns"]) / 3.6e12 + 0.01
            assert w["start_ns"] >= now - NS_PER_MIN
        app = p.apps["energy"]
        assert isinstance(app, EnergyApp)
        view = await until(lambda: app.state.plan if app.state.plan and "optimised" in app.state.plan else None,
                           "the plan on the page")
        assert view["optimised"]["feasible"] and view["optimised"]["problems"] == []
        assert view["charge_when_low"]["grid_kwh"] >= 0 and view["windows"]
        # no PV history for a day-ahead forecast: the plan ends with the intraday horizon (4 h)
        assert app.state.dayahead is not None and not app.state.dayahead["available"]
        assert view["pv_source"] == {"intraday_periods": 16, "dayahead_periods": 0} and len(view["ts"]) == 16

        # carbon per tonne, by hand: scope 1 is 0 (no diesel), scope 2 = import kWh x factor
        import_kwh = float(np.nansum(imp)) / 60.0
        ore = tonnes[-1] - tonnes[0]
        loc_kg_t = import_kwh * NORTHEAST / ore
        mkt_kg_t = import_kwh * RESIDUAL_MIX / ore
        live = month_of(int(ts[-1]), TZ) == month_of(now_ns(), TZ)
        if live:
            def latest(path: str) -> float | None:
                _, v = raw(p, path)
                return float(v[-1]) if len(v) else None
            await until(lambda: (x := latest("luobei/energy/co2_location_kg_per_t")) is not None
                        and abs(x - loc_kg_t) < 1e-9 * loc_kg_t, "carbon per tonne, location-based")
            assert latest("luobei/energy/co2_market_kg_per_t") == pytest.approx(mkt_kg_t, rel=1e-9)
            assert latest("luobei/energy/ore_t_month") == pytest.approx(ore)

        # the monthly report, CSV and HTML
        month = month_of(int(ts[-1]), TZ)
        api = create_app(p, auth=make_auth(tmp_path))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as c:
            assert (await c.get(f"/api/apps/energy/report?month={month}")).status_code == 401
            r = await c.post("/api/auth/login", json={"username": "vic", "password": PASSWORD})
            assert r.status_code == 200
            r = await c.get(f"/api/apps/energy/report?month={month}&format=csv")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            assert f"carbon-{month}.csv" in r.headers["content-disposition"]
            row = next(csv.DictReader(io.StringIO(r.text)))
            assert row["month"] == month
            assert float(row["grid_import_kwh"]) == pytest.approx(import_kwh, rel=1e-9)
            assert float(row["ore_t"]) == pytest.approx(ore)
            assert float(row["intensity_location_kg_per_t"]) == pytest.approx(loc_kg_t, rel=1e-9)
            assert float(row["coverage"]) < 1.0  # the gap lowers coverage
            r = await c.get(f"/api/apps/energy/report?month={month}&format=html")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert "<table" in r.text and month in r.text
            r = await c.get("/api/apps/energy/report?month=2026-13&format=csv")
            assert r.status_code == 400 and "YYYY-MM" in r.json()["detail"]
            r = await c.get(f"/api/apps/energy/report?month={month}&format=pdf")
            assert r.status_code == 400 and "csv or html" in r.json()["detail"]
            now_view = (await c.get("/api/apps/energy/now")).json()
            shifts = [s for s in now_view["shifts"] if s["coverage"] < 1]
            assert shifts and all(s["grid_import"] is None for s in shifts)  # a gap is not a number
    finally:
        pub.close()
        await stop_platform(p)
