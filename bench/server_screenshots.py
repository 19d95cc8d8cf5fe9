"""Screenshots of the main pages (1920x1080, plus one at 1366x768) into docs/screenshots/.

    .venv/bin/python bench/server_screenshots.py

Runs the demo plant with 24 h of synthetic history and a live generator, raises a few
alarms, and drives Debian's Chromium (/usr/bin/chromium) with Playwright.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.server_demo_rig import DemoRig

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]


def shoot(page: Any, name: str) -> None:
    time.sleep(1.5)  # let live values and the banner arrive
    page.screenshot(path=str(OUT / f"{name}.png"))
    print("wrote", OUT / f"{name}.png")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        rig = DemoRig(Path(d), hours=24).start()
        try:
            rig.call(rig.set, "luobei/crusher/primary-crusher/bearing_temp_c", 97.0)
            rig.call(rig.set, "luobei/pit/truck-01/soc_pct", 21.0)
            rig.call(rig.set, "luobei/pit/truck-04/motor_temp_c", 131.0)
            time.sleep(2.5)
            with sync_playwright() as pw:
                b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                ctx = b.new_context(viewport={"width": 1920, "height": 1080})
                page = ctx.new_page()
                page.goto(rig.url + "/login")
                page.fill("#username", rig.user)
                shoot(page, "login")
                page.fill("#password", rig.password)
                page.click("#login-btn")
                page.wait_for_url(rig.url + "/")
                page.goto(rig.url + "/?asset=luobei/pit")
                page.wait_for_selector(".tile")
                shoot(page, "overview-mine")
                page.goto(rig.url + "/?asset=hongqi/body-shop/line-3")
                page.wait_for_selector(".tile")
                shoot(page, "overview-weldshop")
                page.goto(rig.url + "/equipment/luobei/crusher/primary-crusher")
                page.wait_for_selector("#eq-alarms .badge")
                shoot(page, "equipment")
                sig = "luobei/crusher/primary-crusher"
                page.goto(rig.url + f"/trends?signal={sig}/bearing_temp_c&signal={sig}/power_kw"
                          f"&signal={sig}/throughput_tph&start=now-1d")
                page.wait_for_selector('#chart[data-loads="1"]')
                shoot(page, "trends")
                page.goto(rig.url + "/alarms")
                page.wait_for_selector("tr[data-alarm]")
                row = page.locator('tr[data-alarm="truck-soc-low.truck-01.L"] button.ack')
                if row.count():
                    row.click()
                    page.fill("#dlg-comment", "truck 01 sent to charger")
                    page.click("#dlg-ok")
                    time.sleep(1.0)
                shoot(page, "alarms")
                page.goto(rig.url + "/events")
                page.wait_for_selector("#ev-table tbody tr td")
                shoot(page, "events")
                page.goto(rig.url + "/oee?asset=hongqi/body-shop/line-3/robot-001")
                page.fill("#oee-total", "hongqi/body-shop/line-3/robot-001/welds_since_dress")
                page.fill("#oee-cycle", "1.1")
                page.click("#oee-form button")
                page.wait_for_selector("#oee-table tbody tr")
                shoot(page, "oee")
                page.goto(rig.url + "/docs")
                shoot(page, "api-docs")
                laptop = b.new_context(viewport={"width": 1366, "height": 768})
                lp = laptop.new_page()
                lp.goto(rig.url + "/login")
                lp.fill("#username", rig.user)
                lp.fill("#password", rig.password)
                lp.click("#login-btn")
                lp.wait_for_url(rig.url + "/")
                lp.goto(rig.url + "/?asset=luobei/pit")
                lp.wait_for_selector(".tile")
                shoot(lp, "overview-laptop-1366")
                b.close()
        finally:
            rig.stop()


if __name__ == "__main__":
    main()
