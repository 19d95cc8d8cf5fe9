"""The welding pages in a real browser: the 680-robot shop floor, a robot with its curves
on the reference band, a spot's X-bar/R chart; welds arrive over MQTT (real Mosquitto).
Screenshots go to docs/screenshots/welding-*.png."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from apps.welding.welding_rig import Welds, plant_text, wait_for
from ironfield.apps.welding.app import WeldingApp
from ironfield.apps.welding.shopsim import ShopSim
from ironfield.core.plant import parse_plant
from ironfield.runtime.platform import Platform
from server.server_rig import LiveServer, browser_login

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def test_shop_floor_robot_and_spot_pages(tmp_path: Path, mosquitto: tuple[str, int], unique: str,
                                         browser: Any) -> None:
    host, port = mosquitto
    site = f"w{unique}"
    text = plant_text(site, host, port, f"ing{unique}", robots=170, lines=4, spots=2,
                      app="    sim: {expulsion_p: 0.04, shunt_p: 0.03}")
    p = Platform(plant=parse_plant(text), data_dir=tmp_path, app_factories={"welding": WeldingApp})
    p.open()
    app = p.apps["welding"]
    assert isinstance(app, WeldingApp)
    server = LiveServer(tmp_path, platform=p).start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"shop{unique}", protocol=mqtt.MQTTv5)
    pub.max_inflight_messages_set(200)
    pub.connect(host, port)
    pub.loop_start()
    try:
        wait_for(lambda: app.processor is not None and p.connectors["shop-mqtt"].connected.is_set(),  # type: ignore[attr-defined]
                 what="app and connector")
        proc = app.processor
        assert proc is not None
        sim = ShopSim(proc.shop, seed=3, curve_lines=[])
        star = sim.robots[345]  # line-3: sends curves, welds 200 times (20 subgroups of 5 per spot)
        star.curves = True
        now = time.time_ns()
        sent = 0
        info = None
        for k in range(200):
            topic, payload = sim.weld(star, now - (400 - 2 * k) * 1_000_000_000)
            info = pub.publish(topic, payload, qos=1)
            sent += 1
        for r in sim.robots:
            if r is star:
                continue
            for k in range(2):
                topic, payload = sim.weld(r, now - (20 - 8 * k) * 1_000_000_000 - r.index * 1_000_000)
                info = pub.publish(topic, payload, qos=1)
                sent += 1
        # one robot sends a record in amperes: its tile shows a rejected record
        bad = Welds().make(sim.robots[20].path, 1, now - 2_000_000_000)
        bad.curves["curve_current_ka"] = bad.curves["curve_current_ka"] * 1000
        info = pub.publish(f"{bad.robot}/weld", bad.payload(), qos=1)
        sent += 1
        assert info is not None
        info.wait_for_publish(30)
        wait_for(lambda: proc.welds_total + proc.rejected_total >= sent, 60, "every weld analysed")
        assert proc.rejected_total == 1

        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        browser_login(page, server, "vic", "/apps/welding")
        # (polled from here: the page's CSP forbids the eval that wait_for_function needs)
        wait_for(lambda: page.locator(".wt").count() == 680 and page.locator(".wt.q-none").count() == 0,
                 what="680 tiles, each with a verdict")
        assert page.locator(".wline").count() == 4
        rejected_tile = page.locator(f'.wt[data-robot="{sim.robots[20].path}"]')
        assert "q-3" in (rejected_tile.get_attribute("class") or "")
        expelled = [r.path for r in proc.robots if r.quality == 2]
        assert expelled and page.locator(".wt.q-2").count() == len(expelled)
        assert page.locator(".wt.q-0").count() == sum(1 for r in proc.robots if r.quality == 0)
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / "welding-shop.png"), full_page=True)

        page.click(f'.wt[data-robot="{star.path}"]')
        page.wait_for_url("**/apps/welding/robot?path=*")
        page.wait_for_selector("#wr-res canvas")
        assert "ref p50" in page.locator("#wr-res").inner_text()  # the spot's reference band is drawn
        assert page.locator("#wr-recent tbody tr").count() == 30
        page.wait_for_selector("#wr-trend canvas")
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / "welding-robot.png"), full_page=True)

        page.click("#wr-spots tbody tr:first-child a")
        page.wait_for_selector("#ws-xbar canvas")
        assert "UCL" in page.locator("#ws-xbar").inner_text()
        spot = proc.spots[f"{star.path}/spot-01"]
        assert spot.chart.limits is not None
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / "welding-spot.png"), full_page=True)
        page.close()

        # an engineer enters a chisel test of the weld shown; a viewer does not get the form
        eng = browser.new_page(viewport={"width": 1500, "height": 1000})
        browser_login(eng, server, "erin", f"/apps/welding/robot?path={star.path}")
        eng.wait_for_selector("#wr-res canvas")
        assert eng.locator("#wr-qa").is_visible()
        eng.fill("#wr-qa-nugget", "3.1")
        eng.click("#wr-qa button")
        wait_for(lambda: eng.locator("#wr-qa-out").inner_text() != "", what="the QA answer")
        d_min = proc.spots[f"{star.path}/spot-02"].family.stackup.d_min_mm  # the last weld was spot 2
        assert eng.locator("#wr-qa-out").inner_text().startswith(f"nugget below {round(d_min, 3)} mm")
        eng.close()
    finally:
        pub.disconnect()
        pub.loop_stop()
        server.stop()
