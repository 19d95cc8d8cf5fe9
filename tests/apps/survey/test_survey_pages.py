"""The Survey page in a real browser: a processed survey pair (heatmap, cut/fill table,
stockpiles, history chart), the upload form for engineers only, live refresh.
Screenshot: docs/screenshots/survey.png."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.survey.survey_rig import SEED, plant, platform, write_survey
from ironfield.apps.survey import synth
from ironfield.apps.survey.app import SurveyApp
from ironfield.core.timeutil import now_ns
from server.server_rig import LiveServer, browser_login

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
S = 1_000_000_000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    p = platform(tmp_path, plant())
    s = LiveServer(tmp_path, platform=p).start()
    try:
        yield s
    finally:
        s.stop()


def _wait_results(server: LiveServer, n: int) -> SurveyApp:
    app = server.platform.apps["survey"]
    assert isinstance(app, SurveyApp)
    for _ in range(1200):
        if app.service is not None and len(app.service.results) >= n:
            return app
        time.sleep(0.1)
    raise AssertionError(f"{n} surveys not processed")


def test_survey_page_shows_a_processed_survey(browser: Any, server: LiveServer, tmp_path: Path) -> None:
    site = synth.make_site(SEED)
    inbox = tmp_path / "survey" / "inbox"
    t0, t1 = now_ns() - 7200 * S, now_ns() - 300 * S
    server.feed("luobei/haulage/tonnes_total", [t0 - 60 * S, t1 - 60 * S], [10_000.0, 240_000.0])
    write_survey(inbox / "pit-0601.laz", site, "before", seed=21, mtime_ns=t0)
    upload = write_survey(tmp_path / "src" / "pit-0602b.laz", site, "after", seed=23, spacing=0.8)
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    try:
        app = _wait_results(server, 1)
        write_survey(inbox / "pit-0602.laz", site, "after", seed=22, mtime_ns=t1)
        app = _wait_results(server, 2)
        assert app.service is not None
        latest = app.service.results[-1]

        browser_login(page, server, "erin", "/apps/survey")
        assert page.locator("header nav a.on").inner_text() == "Survey"
        page.wait_for_function("() => { const i = document.getElementById('sv-map');"
                               " return i && i.complete && i.naturalWidth > 400; }")
        assert page.locator("#sv-latest-id").inner_text() == latest["survey_id"]
        assert page.locator("#sv-cut").inner_text() == f"{latest['cut_m3']:,.0f} m³"
        assert page.locator("#sv-fill").inner_text() == f"{latest['fill_m3']:,.0f} m³"
        ratio = latest["mined_t"] / 230_000.0
        assert page.locator("#sv-ratio").inner_text() == f"{ratio:.3f}"
        pile = page.locator("#sv-piles tbody tr").first.inner_text()
        assert pile.startswith("cone") and f"{latest['stockpiles'][0]['tonnes']:,.0f}" in pile
        assert page.locator("#sv-history tbody tr").count() == 2
        assert "–" in page.locator("#sv-history tbody tr").nth(1).inner_text()  # first: no ratio
        page.wait_for_selector("#sv-chart canvas")
        assert page.locator("#sv-jobs").is_hidden()
        assert page.locator("#sv-upload").is_visible()  # engineer
        page.screenshot(path=str(SHOTS / "survey.png"), full_page=True)

        # upload from the page: queued, processed, and the page shows it when done
        page.set_input_files("#sv-files", str(upload))
        page.click("#sv-send")
        page.wait_for_function("() => document.getElementById('sv-upload-msg').textContent.startsWith('queued as')")
        job = page.locator("#sv-upload-msg").inner_text().removeprefix("queued as ")
        page.wait_for_function("id => document.getElementById('sv-latest-id')?.textContent === id",
                               arg=job, timeout=120_000)
        assert page.locator("#sv-history tbody tr").count() == 3

        viewer = browser.new_context()
        vp = viewer.new_page()
        browser_login(vp, server, "vic", "/apps/survey")
        vp.wait_for_selector("#sv-chart canvas")
        assert vp.locator("#sv-upload").is_hidden()  # viewers see no upload form
        viewer.close()
    finally:
        ctx.close()
