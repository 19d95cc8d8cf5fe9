"""Screenshots of the haulage pages from a running ``ironfield demo`` (real simulated data).

    ironfield demo --data-dir /tmp/hdemo --port 18611 &   # wait a few minutes
    .venv/bin/python bench/haulage_screens.py http://127.0.0.1:18611 demo ironfield-demo

Writes docs/screenshots/haulage-map.png and haulage-production.png (Debian's Chromium).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def main(url: str, user: str, password: str) -> None:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium",
                               args=["--no-sandbox", "--disable-gpu"])
        page = b.new_page(viewport={"width": 1600, "height": 900})
        page.goto(url + "/login?next=/apps/haulage/map")
        page.fill("#username", user)
        page.fill("#password", password)
        page.click("#login-btn")
        page.wait_for_url("**/apps/haulage/map")
        page.wait_for_selector("g.truck")
        page.wait_for_timeout(2500)
        page.screenshot(path=str(OUT / "haulage-map.png"))
        page.goto(url + "/apps/haulage/production")
        page.wait_for_selector("#hp-chart .uplot")
        page.wait_for_timeout(2000)
        page.screenshot(path=str(OUT / "haulage-production.png"), full_page=True)
        b.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
