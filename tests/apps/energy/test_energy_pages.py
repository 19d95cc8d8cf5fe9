"""The Energy and Carbon pages in a real browser (Chromium), with the app running in the
served platform on a day of PV, meter, fleet and ore data after a week of PV history (the
day-ahead forecast's); screenshots for the docs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from playwright.sync_api import expect

from apps.energy.energy_rig import (
    INVERTERS,
    TZ,
    HaulageStub,
    clear_sky_poa,
    expected_plant_w,
    plant_yaml,
    pv_history,
    sunny_minutes,
)
from ironfield.apps.energy.app import EnergyApp
from ironfield.apps.energy.live import local_midnight
from ironfield.core.events import Event
from ironfield.core.plant import parse_plant
from ironfield.core.timeutil import NS_PER_MIN, now_ns
from ironfield.runtime.platform import Platform
from server.server_rig import LiveServer, browser_login

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def feed_day(server: LiveServer) -> dict[str, Any]:
    """From 10:00 site time on the latest sunny window to a minute ago: PV with passing
    clouds and a trip, the grid meter (with a 20-min gap), conveyors, fleet charging,
    regeneration, ore and haul cycles."""
    now = now_ns()
    first = int(sunny_minutes(now)[0])
    ts = np.arange(first, now // NS_PER_MIN * NS_PER_MIN - NS_PER_MIN, NS_PER_MIN, dtype=np.int64)
    n = len(ts)
    i = np.arange(n)
    cloud = 1.0 - 0.5 * np.clip(np.sin(i / 9.0) - 0.6, 0, None)
    poa = clear_sky_poa(ts) * cloud
    tmod = 5.0 + 0.02 * poa
    plant_kw = expected_plant_w(poa, tmod) / 1000.0 * 0.96
    per_inv = plant_kw / INVERTERS
    trip = (i >= 70) & (i < 85)
    conveyor = 180.0 + 10 * np.sin(i / 13.0)
    charging = np.where((i % 90) < 25, 300.0, 0.0)
    load = 45.0 + conveyor + charging + 10 * np.sin(i / 30.0)
    pv = per_inv + np.where(trip, 0.0, per_inv)
    gap = (i >= 200) & (i < 220)
    imp = np.where(gap, np.nan, np.clip(load - pv, 0, None))
    exp = np.where(gap, np.nan, np.clip(pv - load, 0, None))
    feed = server.feed
    hts, hkw = pv_history(first, days=8)  # the week before: PV only (the day-ahead's history)
    for k in range(INVERTERS):
        feed(f"luobei/pv/inverter-{k + 1:02d}/ac_power_kw", hts, hkw)
    feed("luobei/pv/weather-station/poa_wm2", ts, poa)
    feed("luobei/pv/weather-station/module_temp_c", ts, tmod)
    feed("luobei/pv/inverter-01/ac_power_kw", ts, per_inv)
    feed("luobei/pv/inverter-01/status", ts, np.where(per_inv > 0, 4.0, 2.0))
    feed("luobei/pv/inverter-02/ac_power_kw", ts, np.where(trip, 0.0, per_inv))
    feed("luobei/pv/inverter-02/status", ts, np.where(trip, 7.0, np.where(per_inv > 0, 4.0, 2.0)))
    feed("luobei/energy/conveyor-01/power_kw", ts, conveyor)
    ok = ~gap
    feed("luobei/energy/grid-meter/import_kw", ts[ok], imp[ok])
    feed("luobei/energy/grid-meter/export_kw", ts[ok], exp[ok])
    feed("luobei/haulage/charging_kw", ts, charging)
    feed("luobei/haulage/regen_kwh_total", ts, 5000.0 + 0.8 * i)
    feed("luobei/haulage/tonnes_total", ts, 20_000.0 + 14.0 * i)
    for k, soc in enumerate((62.0, 34.0, 81.0)):
        feed(f"luobei/pit/truck-{k + 1:02d}/soc_pct", ts[-1:], [soc])
    assert server.platform.pipeline is not None
    for j in range(0, n - 20, 20):
        a, b = int(ts[j]), int(ts[j + 18])
        server.call(server.platform.pipeline.emit(Event.make("haulage.cycle", "luobei/pit/truck-01", {
            "start_ts": a, "end_ts": b, "loader": "shovel-1", "dump": "crusher", "tonnes": 280.0,
            "durations_s": {"haul": 600.0}, "net_kwh": 40.0, "regen_kwh": 15.0, "charged_kwh": 0.0}, ts=b)))
    return {"ts": ts}


def test_energy_and_carbon_pages(tmp_path: Path, browser: Any) -> None:
    yaml = plant_yaml(None) + "  haulage: {}\n"
    p = Platform(plant=parse_plant(yaml), data_dir=tmp_path,
                 app_factories={"energy": EnergyApp, "haulage": HaulageStub})
    p.open()
    server = LiveServer(tmp_path, platform=p).start()
    try:
        app = p.apps["energy"]
        assert isinstance(app, EnergyApp)
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # no PV history yet: the page says why there is no day-ahead forecast, no numbers
        deadline = time.monotonic() + 60
        while app.state.dayahead is None:
            assert time.monotonic() < deadline, "no day-ahead step"
            time.sleep(0.1)
        browser_login(page, server, "vic", "/apps/energy")
        expect(page.locator("#en-da-note")).to_contain_text("needs PV history")
        assert page.locator("#en-pv-chart").get_attribute("data-dayahead-points") == "0"

        fed = now_ns()
        fed_ts = feed_day(server)["ts"]
        deadline = time.monotonic() + 90
        while not (app.state.plan and app.state.carbon and app.state.carbon["ore_known"]
                   and app.state.frame is not None and app.state.frame.losses
                   and app.state.dayahead and app.state.dayahead["available"]
                   and app.state.plan.get("made_ns", 0) > app.state.dayahead["made_ns"] > fed):
            assert time.monotonic() < deadline, "the app did not process the day in time"
            time.sleep(0.2)
        page.reload()
        # PR is the site's local day so far: between site midnight and sunrise the day has had
        # no sun yet (the data fed run from yesterday's window to now), so no figure
        fed_today = fed_ts[fed_ts >= local_midnight(fed, TZ)]
        sun_today = bool(len(fed_today)) and bool((clear_sky_poa(fed_today) > 40.0).any())
        expect(page.locator("#en-kpi-pr b")).to_contain_text("%" if sun_today else "–")
        page.locator("#en-plan .en-win").first.wait_for()
        page.wait_for_selector("#en-pv-chart .uplot")
        assert page.locator("nav a.on").inner_text() == "Energy"
        assert "inverter-02" in page.locator("#en-losses").inner_text()
        assert "inverter trip" in page.locator("#en-losses").inner_text()
        assert "(" in page.locator("#en-shifts").inner_text()  # the gap's partial sum, in brackets
        assert "optimised (LP)" in page.locator("#en-cmp").inner_text()
        assert page.locator("#en-flows text").count() > 6
        # both forecasts on the PV chart, told apart by the legend, the day-ahead's honesty
        legend = page.locator("#en-pv-chart .u-legend").inner_text()
        assert "intraday forecast p50" in legend and "day-ahead forecast" in legend and "day-ahead q90" in legend
        expect(page.locator("#en-da-note")).to_contain_text("Day-ahead forecast (violet")
        assert "near zero" in page.locator("#en-da-note").inner_text()
        n_da = len(app.state.dayahead["ts"])
        assert page.locator("#en-pv-chart").get_attribute("data-dayahead-points") == str(n_da)
        assert int(page.locator("#en-pv-chart").get_attribute("data-intraday-points") or 0) > 0
        assert "day-ahead for the next" in page.locator("#en-plan-note").inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "energy.png"), full_page=True)

        page.goto(server.url + "/apps/energy/carbon")
        expect(page.locator("#co-kpi-loc b")).to_contain_text("kg/t")
        assert page.locator("nav a.on").inner_text() == "Carbon"
        assert page.locator("#co-scopes .co-bar").count() == 4
        assert page.locator("#co-trend rect").count() >= 1
        href = page.locator("#co-csv").get_attribute("href")
        assert href is not None and "format=csv" in href
        r = page.request.get(server.url + href)
        assert r.status == 200 and r.text().startswith("month,")
        page.screenshot(path=str(SHOTS / "energy-carbon.png"), full_page=True)
        assert errors == []
        page.close()
    finally:
        server.stop()
