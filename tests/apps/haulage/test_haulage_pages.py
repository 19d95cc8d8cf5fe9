"""The mine map and production pages in a real browser (Chromium) on a served Platform
whose haulage app got a truck cycle over the real Mosquitto, and then lost a loader.
Screenshot: docs/screenshots/haulage-loader-down.png."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.haulage.haulage_rig import Publisher, full_cycle, plant
from ironfield.apps.haulage.app import HaulageApp
from ironfield.core.timeutil import now_ns
from ironfield.runtime.platform import Platform
from server.server_rig import LiveServer, browser_login

pytestmark = [pytest.mark.browser, pytest.mark.service]
SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


@pytest.fixture
def served(tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> Iterator[LiveServer]:
    host, port = mosquitto
    site = f"h{unique}"
    p = Platform(plant=plant(site, unique, shovels=True,
                             app={"loader_status": {"bench-1400": f"{site}/pit/shovel-1400/available"}}),
                 data_dir=tmp_path, app_factories={"haulage": HaulageApp})
    p.open()
    s = LiveServer(tmp_path, platform=p).start()
    try:
        conn: Any = p.connectors["site-mqtt"]
        assert conn.connected.wait(10)
        time.sleep(0.5)
        pub = Publisher(host, port, site)
        cyc = full_cycle(now_ns() - 65 * 60 * 10**9)  # t/h over the full 60-min window
        for pt in cyc.points:
            pub.point("truck-01", pt)
        deadline = time.monotonic() + 30
        app = p.apps["haulage"]
        assert isinstance(app, HaulageApp)
        while app.runner is None or app.runner.fleet.cycles_total < 1:
            assert time.monotonic() < deadline, "no cycle from the published telemetry"
            time.sleep(0.1)
        s.call(asyncio.sleep(1.2))  # a KPI tick after the cycle
        pub.c.publish(f"{site}/pit/shovel-1400/available", '{"v": 0}', qos=1).wait_for_publish(5)
        while app.runner.dispatch.loaders_down != {"bench-1400"}:
            assert time.monotonic() < deadline, "bench-1400 not seen down"
            time.sleep(0.1)
        pub.close()
        yield s
    finally:
        s.stop()


def test_mine_map_and_production_pages(served: LiveServer, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    browser_login(page, served, "vic", "/apps/haulage/map")
    assert page.locator("header nav a.on").inner_text() == "Mine map"
    # the road network: every node drawn, with the loaders, crusher and charger labelled
    page.wait_for_selector("#hm-nodes [data-node='crusher']")
    for node in ("bench-1460", "bench-1430", "bench-1400", "crusher", "rom-pad", "charger"):
        assert page.locator(f"#hm-nodes [data-node='{node}']").count() == 1
    assert page.locator("#hm-roads line").count() == 2 * 10
    # truck-01 is drawn where its last fix was: back at bench-1460 (0, 2600), queueing
    truck = page.locator("g.truck[data-truck='truck-01']")
    truck.wait_for()
    assert truck.get_attribute("data-phase") == "queue_load"
    box = truck.bounding_box()
    bench = page.locator("#hm-nodes [data-node='bench-1460'] path").bounding_box()
    assert box is not None and bench is not None
    assert abs((box["x"] + box["width"] / 2) - (bench["x"] + bench["width"] / 2)) < 30
    rows = page.locator("#hm-trucks tbody tr")
    assert rows.count() == 2
    assert "queue at loader" in rows.first.inner_text()
    page.wait_for_selector("#hm-decisions li b")
    assert page.locator("#hm-decisions li").count() == 2  # dump choice, then loader choice
    assert "truck-01 →" in page.locator("#hm-decisions li").first.inner_text()
    # bench-1400's shovel reported down: drawn grey and marked, named in the status line
    down = page.locator("#hm-nodes [data-node='bench-1400']")
    page.wait_for_selector("#hm-nodes [data-node='bench-1400'].down")
    assert (down.locator(".node-sub").text_content() or "").endswith("· DOWN")
    assert page.locator("#hm-nodes .node-loader.down").count() == 1
    assert "loaders down: bench-1400" in page.locator("#hm-status").inner_text()
    assert "DOWN" not in (page.locator("#hm-nodes [data-node='bench-1430'] .node-sub").text_content() or "")
    page.screenshot(path=str(SHOTS / "haulage-loader-down.png"))

    page.click("header nav a:has-text('Production')")
    page.wait_for_url("**/apps/haulage/production")
    page.wait_for_selector("[data-kpi='tph'] b")
    page.wait_for_function("document.querySelector(\"[data-kpi='tonnes_total'] b\").textContent === '88'")
    assert page.locator("[data-kpi='tph'] b").inner_text() == "88"
    assert page.locator("[data-kpi='cycles_total'] b").inner_text() == "1"
    assert page.locator("[data-state='queue_load'] .v").inner_text() == "1"
    # the breakdown bar has a slice per phase of the cycle, the chart drew from history
    assert page.locator("#hp-breakdown div").count() >= 6
    page.wait_for_selector("#hp-chart .uplot")
    assert page.locator("#hp-cycles tbody tr").first.locator("td").nth(2).inner_text() == "bench-1460"
    assert not errors, errors
    page.close()
