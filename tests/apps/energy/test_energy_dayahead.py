"""The day-ahead PV forecast in the running app: on eight days of PV history fed through the
pipeline its values are forecast.DayAhead's on the same history (computed here), the
charging plan uses it beyond the intraday horizon; without history it says so and
issues no numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np

from apps.energy.energy_rig import INVERTERS, plant_yaml, pv_history, until
from ironfield.apps.energy import forecast as fc
from ironfield.apps.energy.app import EnergyApp, parse_config
from ironfield.apps.energy.dayahead import dayahead
from ironfield.apps.energy.pvmodel import build_plant, plant_clear_sky_ac_power
from ironfield.core.plant import parse_plant
from ironfield.core.timeutil import NS_PER_MIN, now_ns
from ironfield.runtime.platform import Platform
from ironfield.server.app import create_app
from server.server_rig import PASSWORD, batch, feed, make_auth, stop_platform

STEP = 15 * NS_PER_MIN


async def start(tmp_path: Path) -> tuple[Platform, EnergyApp]:
    p = Platform(plant=parse_plant(plant_yaml(None)), data_dir=tmp_path, app_factories={"energy": EnergyApp})
    p.open()
    await p.start()
    app = p.apps["energy"]
    assert isinstance(app, EnergyApp)
    return p, app


async def pv_json(p: Platform, tmp_path: Path) -> dict[str, Any]:
    api = create_app(p, auth=make_auth(tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as c:
        r = await c.post("/api/auth/login", json={"username": "vic", "password": PASSWORD})
        assert r.status_code == 200
        out: dict[str, Any] = (await c.get("/api/apps/energy/pv")).json()
        return out


async def test_dayahead_equals_forecast_py_and_feeds_the_plan(tmp_path: Path) -> None:
    p, app = await start(tmp_path)
    try:
        end = now_ns() // STEP * STEP - STEP  # history ends on a step boundary
        ts, per_inv = pv_history(end)
        for k in range(INVERTERS):
            await feed(p, batch(p, f"luobei/pv/inverter-{k + 1:02d}/ac_power_kw", ts, per_inv))
        for k, soc in enumerate((55.0, 32.0, 78.0)):
            await feed(p, batch(p, f"luobei/pit/truck-{k + 1:02d}/soc_pct", ts[-1:], [soc]))
        fed = now_ns()
        da = await until(lambda: app.state.dayahead if app.state.dayahead and app.state.dayahead["made_ns"] > fed
                         and app.state.dayahead["available"] else None, "a day-ahead forecast on the history", 90)

        # the same history through forecast.py here: 15-min means of the plant's power,
        # clear-sky AC power at mid-step, days from the grid's first (local) midnight
        cfg = parse_config(p.plant.apps["energy"])
        days = cfg.live.dayahead_history_days
        grid = da["grid_start_ns"] + np.arange((days + 2) * 96, dtype=np.int64) * STEP
        plant_kw = per_inv * INVERTERS
        k = (ts - grid[0]) // STEP
        ok = k >= 0
        s = np.bincount(k[ok], plant_kw[ok], len(grid))
        n = np.bincount(k[ok], None, len(grid))
        power_w = np.where(n == 15, s / np.maximum(n, 1), np.nan) * 1000.0
        models = build_plant(list(cfg.pv.arrays), cfg.site)
        cs = plant_clear_sky_ac_power(models, grid + STEP // 2)
        min_cs = 0.05 * sum(m.ac_rating_w for m in models)
        model = fc.DayAhead(per_day=96, min_clear_sky_w=min_cs, first_offset=0)
        model.fit(power_w, cs, np.isfinite(power_w) & (cs >= min_cs))
        mean, q = model.predict(power_w, cs)
        today = days * 96
        if not (np.isfinite(power_w[today:today + 96]) & (cs[today:today + 96] >= min_cs)).any():
            # run before today's sunrise (site time): tomorrow from today's own forecast
            stand_in = power_w.copy()
            stand_in[today:today + 96] = np.where(cs[today:today + 96] >= min_cs, mean[today:today + 96], np.nan)
            mean2, q2 = model.predict(stand_in, cs)
            mean[today + 96:], q[today + 96:] = mean2[today + 96:], q2[today + 96:]
        assert np.array_equal(da["ts"], grid[today:])
        lit = cs[today:] >= min_cs  # daytime: the model's values
        assert lit.sum() > 20
        assert np.allclose(da["mean_kw"][lit], mean[today:][lit] / 1000.0, rtol=1e-9, atol=1e-9)
        for j, name in enumerate(("q10_kw", "q50_kw", "q90_kw")):
            assert np.allclose(da[name][lit], q[today:, j][lit] / 1000.0, rtol=1e-9, atol=1e-9)
        # night and twilight (clear sky < 5 % of the rating, no index): 0 .. clear sky
        dark_cs = cs[today:][~lit] / 1000.0
        assert np.allclose(da["q10_kw"][~lit], 0.0) and np.allclose(da["q90_kw"][~lit], dark_cs)
        assert np.allclose(da["mean_kw"][~lit], dark_cs / 2) and np.all(np.isfinite(da["mean_kw"]))
        assert np.allclose(da["coef"], model.coef, rtol=1e-9)
        tomorrow = grid[today:] >= grid[today] + 96 * STEP
        assert np.nanmax(da["mean_kw"][tomorrow]) > 10.0  # a day of sun tomorrow, with a band
        assert np.all(da["q10_kw"] <= da["q90_kw"]) and np.nanmax(da["q90_kw"] - da["q10_kw"]) > 1.0
        assert da["days_with_data"] >= 8 and "near zero" in da["skill"]

        # published: the REST route gives both forecasts with their bands
        body = await pv_json(p, tmp_path)
        assert body["dayahead"]["available"] and body["dayahead"]["ts"][0] == int(grid[today])
        assert {"mean_kw", "q10_kw", "q50_kw", "q90_kw"} <= body["dayahead"].keys()
        assert {"p50_kw", "q10_kw", "q90_kw"} <= body["forecast"].keys()

        # the plan: the intraday forecast for 4 h, the day-ahead mean beyond, to 12 h
        plan = await until(lambda: app.state.plan if app.state.plan and app.state.plan.get("made_ns", 0) > fed
                           and app.state.plan["pv_source"]["dayahead_periods"] else None, "a plan on the day-ahead")
        assert plan["pv_source"] == {"intraday_periods": 16, "dayahead_periods": 32}
        cur = app.state.dayahead
        assert cur is not None
        mid = np.asarray(plan["ts"][16:], np.int64) + STEP // 2
        pv = np.interp(mid, np.asarray(cur["ts"]) + STEP // 2, cur["mean_kw"])
        assert np.allclose(plan["pv_surplus_kw"][16:], pv - plan["other_load_kw"], atol=0.11)
    finally:
        await stop_platform(p)


async def test_no_history_no_dayahead_numbers(tmp_path: Path) -> None:
    p, app = await start(tmp_path)
    try:
        da = await until(lambda: app.state.dayahead, "the day-ahead step")
        assert da["available"] is False and len(da["ts"]) == 0 and "mean_kw" not in da
        assert "needs PV history" in da["note"] and da["days_with_data"] == 0
        assert app.state.errors == 0
        body = await pv_json(p, tmp_path)
        assert body["dayahead"]["available"] is False and body["dayahead"]["ts"] == []
        assert "needs PV history" in body["dayahead"]["note"]
    finally:
        await stop_platform(p)


async def test_short_history_says_so(tmp_path: Path) -> None:
    """Yesterday and today so far: too few days to fit on, no numbers, a note saying so."""
    p, app = await start(tmp_path)
    try:
        end = now_ns() // STEP * STEP - STEP
        ts, per_inv = pv_history(end, days=1)
        for k in range(INVERTERS):
            await feed(p, batch(p, f"luobei/pv/inverter-{k + 1:02d}/ac_power_kw", ts, per_inv))
        fed = now_ns()
        da = await until(lambda: app.state.dayahead if app.state.dayahead and app.state.dayahead["made_ns"] > fed
                         else None, "the day-ahead step on the short history")
        assert da["available"] is False and "needs PV history" in da["note"] and "mean_kw" not in da
        assert app.state.errors == 0
    finally:
        await stop_platform(p)


def test_no_pv_yesterday_or_today_no_numbers() -> None:
    """A week of PV, then two silent days: the model fits, but has nothing to start from."""
    days = 10
    grid = np.arange((days + 2) * 96, dtype=np.int64) * STEP
    slot = np.arange(len(grid)) % 96
    cs = np.clip(np.sin((slot - 28) / 40.0 * np.pi), 0.0, None) * 100_000.0  # [W]
    rng = np.random.default_rng(3)
    pv = cs / 1000.0 * np.repeat(rng.uniform(0.3, 1.0, days + 2), 96)  # [kW]
    pv[(days - 1) * 96:] = np.nan  # nothing yesterday, today or (of course) tomorrow
    out = dayahead(grid, pv, cs, days * 96, 100_000.0, int(grid[days * 96 + 40]))
    assert out["available"] is False and "no PV data yesterday or today" in out["note"]
    assert "mean_kw" not in out and len(out["ts"]) == 0
    pv[(days - 1) * 96:days * 96] = cs[(days - 1) * 96:days * 96] / 1000.0 * 0.8  # yesterday back
    out = dayahead(grid, pv, cs, days * 96, 100_000.0, int(grid[days * 96 + 40]))
    assert out["available"] and np.isfinite(out["mean_kw"][:96]).all()


def test_before_todays_sunrise_tomorrow_is_forecast_from_todays_forecast() -> None:
    """At any hour of the run: a grid whose today has no data yet (just after midnight)."""
    per_day, days = 96, 9
    grid = np.arange((days + 2) * per_day, dtype=np.int64) * STEP
    hour = (np.arange(len(grid)) % per_day) / 4.0
    cs = np.clip(np.sin(np.pi * (hour - 6.0) / 12.0), 0.0, None) * 100_000.0  # [W], 100 kW plant
    day = np.arange(len(grid)) // per_day
    index = np.where(day % 2 == 0, 0.9, 0.6)  # sunny and cloudy days in turn
    today = days * per_day
    pv_kw = np.where(day < days, index * cs / 1000.0, np.nan)  # nothing measured today yet
    da = dayahead(grid, pv_kw, cs, today, 100_000.0, int(grid[today]) + 10 * NS_PER_MIN)
    assert da["available"] and np.all(np.isfinite(da["mean_kw"]))
    lit = cs[today:] >= 0.05 * 100_000.0
    tomorrow = np.arange(len(grid))[today:] >= today + per_day
    # tomorrow's index comes from today's forecast, itself from the history's: between the
    # two kinds of day, not NaN
    k = da["mean_kw"][lit & tomorrow] * 1000.0 / cs[today:][lit & tomorrow]
    assert np.all((k > 0.5) & (k < 1.0))
    assert np.all(da["q10_kw"] <= da["q90_kw"])
