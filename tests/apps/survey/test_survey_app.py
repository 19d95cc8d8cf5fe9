"""The survey app inside a real Platform: surveys dropped in the inbox become events,
signals and files; a corrupt LAZ fails cleanly; reconciliation against haulage tonnes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from apps.survey.survey_rig import (
    DENSITY,
    PILE_DENSITY,
    SEED,
    events,
    plant,
    platform,
    wait_until,
    write_survey,
)
from ironfield.apps.survey import synth
from ironfield.apps.survey.app import SurveyApp
from ironfield.apps.survey.errors import SurveyError
from ironfield.core.batch import Batch
from ironfield.core.plugins import App
from ironfield.core.timeutil import now_ns
from server.server_rig import stop_platform

S = 1_000_000_000


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


async def test_surveys_in_the_inbox_become_events_signals_and_files(tmp_path: Path) -> None:
    site = synth.make_site(SEED)
    truth = site.truth()
    p = platform(tmp_path, plant())
    assert isinstance(p.apps["survey"], App)
    inbox = tmp_path / "survey" / "inbox"
    t0 = now_ns() - 3600 * S
    t1 = now_ns() - 600 * S
    await p.start()
    try:
        assert p.pipeline is not None and p.historian is not None
        # haulage's cumulative tonnes, written through the pipeline around the two surveys
        tot = p.registry.id("luobei/haulage/tonnes_total")
        await p.pipeline.submit(Batch.build(tot, [t0 - 120 * S, t0 - 60 * S, t0 + 900 * S, t1 - 30 * S, t1 + 60 * S],
                                            [500.0, 1_000.0, 80_000.0, 241_000.0, 250_000.0]))
        write_survey(inbox / "before.laz", site, "before", seed=11, mtime_ns=t0)
        await wait_until(lambda: len(events(p, "survey.processed")) == 1, what="first survey processed")
        write_survey(inbox / "after.laz", site, "after", seed=12, mtime_ns=t1)
        await wait_until(lambda: len(events(p, "survey.processed")) == 2, what="second survey processed")

        first, second = sorted(events(p, "survey.processed"), key=lambda e: e.ts)
        assert first.ts == t0 and first.payload["mined_t"] is None  # nothing to compare yet
        assert first.payload["reconciliation"]["ratio"] is None
        ev = second.payload
        assert second.ts == t1 and second.asset == "luobei/survey"
        assert ev["previous_id"] == first.payload["survey_id"]
        assert _rel(ev["cut_m3"], truth["cut_m3"]) < 0.02
        assert _rel(ev["fill_m3"], truth["fill_m3"]) < 0.02
        assert _rel(ev["net_m3"], truth["net_m3"]) < 0.005
        # mined: cut - fill outside the stockpile polygon, i.e. the box cut and the benches
        assert _rel(ev["mined_m3"], site.box_volume() + site.bench_volume()) < 0.02
        assert ev["mined_basis"] == "the compared area outside 1 stockpile polygon(s)"
        assert ev["mined_t"] == pytest.approx(ev["mined_m3"] * DENSITY)
        assert 0.8 < ev["coverage"] <= 1.0 and ev["level_of_detection_m"] > 0
        pile = next(s for s in ev["stockpiles"] if s["id"] == "cone")
        assert _rel(pile["volume_m3"], site.cone_volume()) < 0.01
        assert pile["tonnes"] == pytest.approx(pile["volume_m3"] * PILE_DENSITY)
        rec = ev["reconciliation"]
        assert rec["hauled_t"] == pytest.approx(241_000.0 - 1_000.0)  # last value at or before each survey
        assert rec["ratio"] == pytest.approx(ev["mined_t"] / 240_000.0)

        # derived signals in the historian, at the survey's time
        want = {"mined_m3": ev["mined_m3"], "mined_t": ev["mined_t"], "cut_m3": ev["cut_m3"],
                "fill_m3": ev["fill_m3"], "coverage": ev["coverage"],
                "reconciliation_ratio": rec["ratio"], "stockpile_cone_t": pile["tonnes"]}
        ids = {p.registry.id(f"luobei/survey/{k}"): k for k in want}

        def stored() -> dict[str, list[tuple[int, float]]]:
            assert p.historian is not None
            b = p.historian.raw(list(ids), 0, 2**62)
            out: dict[str, list[tuple[int, float]]] = {}
            for s, t, v in zip(b.signal, b.ts, b.value, strict=True):
                out.setdefault(ids[int(s)], []).append((int(t), float(v)))
            return out

        await wait_until(lambda: len(stored().get("mined_t", [])) == 1, what="signals stored")
        got = stored()
        for k, v in want.items():
            assert got[k][-1][0] == t1 and got[k][-1][1] == pytest.approx(v), k
        assert "reconciliation_ratio" in got and len(got["reconciliation_ratio"]) == 1  # absent for the first
        assert len(got["stockpile_cone_t"]) == 2  # the pile is measured in both surveys

        # files: result JSON (the same figures), DEM GeoTIFF, change heatmap
        folder = tmp_path / "survey" / ev["survey_id"]
        result = json.loads((folder / "result.json").read_text())
        assert result["cut_m3"] == ev["cut_m3"] and result["image"] == "change.png"
        assert (folder / "dem.tif").read_bytes()[:4] == b"II*\x00"
        assert (folder / "change.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (folder / "input" / "after.laz").exists() and not (inbox / "after.laz").exists()
    finally:
        await stop_platform(p)


async def test_a_corrupt_laz_fails_cleanly_and_the_next_survey_still_runs(tmp_path: Path) -> None:
    site = synth.make_site(SEED)
    p = platform(tmp_path, plant(cell_m=1.0))
    inbox = tmp_path / "survey" / "inbox"
    good = write_survey(tmp_path / "src" / "good.laz", site, "before", seed=3, spacing=0.8)
    data = good.read_bytes()
    await p.start()
    try:
        (inbox).mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / "broken.laz").write_bytes(data[: len(data) // 2])  # truncated flight
        (tmp_path / "src" / "broken.laz").replace(inbox / "broken.laz")
        (inbox / "notes.txt").write_text("not a cloud")
        await wait_until(lambda: len(events(p, "survey.failed")) == 2, what="two failures")
        failed = {e.payload["files"][0]: e.payload for e in events(p, "survey.failed")}
        broken = failed["broken.laz"]
        assert "broken.laz" in broken["reason"] and "CloudReadError" in broken["reason"]
        assert "truncated" in broken["reason"] or "corrupt" in broken["reason"]
        assert broken["file"] == str(inbox / "failed" / "broken.laz")
        assert (inbox / "failed" / "broken.laz").read_bytes() == data[: len(data) // 2]
        assert "CloudReadError" in (inbox / "failed" / "broken.laz.reason.txt").read_text()
        assert "not a LAS/LAZ file" in failed["notes.txt"]["reason"]
        # no partial result: no folder of the failed survey, no processed event, no signal
        assert not (tmp_path / "survey" / broken["survey_id"]).exists()
        assert events(p, "survey.processed") == []
        app = p.apps["survey"]
        assert isinstance(app, SurveyApp) and app.service is not None
        assert {j.state for j in app.service.jobs} == {"failed"}

        good.replace(inbox / "good.laz")
        await wait_until(lambda: len(events(p, "survey.processed")) == 1, what="good survey processed")
        assert events(p, "survey.processed")[0].payload["files"] == ["good.laz"]
        assert p.tasks["app/survey"].running and p.tasks["app/survey"].restarts == 0
    finally:
        await stop_platform(p)


async def test_a_folder_of_tiles_is_one_survey_once_marked_done(tmp_path: Path) -> None:
    site = synth.make_site(SEED)
    p = platform(tmp_path, plant(cell_m=1.0, stockpiles=[]))
    flight = tmp_path / "survey" / "inbox" / "flight-7"
    x, y, z, cls = synth.sample(site, "before", spacing=0.8, seed=5)
    from ironfield.apps.survey.io import write_las

    west = x < site.x0 + 150
    flight.mkdir(parents=True)
    write_las(flight / "west.laz", x[west], y[west], z[west], cls[west])
    write_las(flight / "east.laz", x[~west], y[~west], z[~west], cls[~west])
    await p.start()
    try:
        app = p.apps["survey"]
        assert isinstance(app, SurveyApp)
        await wait_until(lambda: app.service is not None, what="service up")
        assert app.service is not None
        app.service.scan_inbox()
        assert app.service.jobs == []  # no marker yet: still being written
        (flight / ".done").write_text("")
        await wait_until(lambda: len(events(p, "survey.processed")) == 1, what="tiles processed")
        ev = events(p, "survey.processed")[0].payload
        assert sorted(ev["files"]) == ["east.laz", "west.laz"] and ev["points"] == x.size
        assert not flight.exists()
    finally:
        await stop_platform(p)


def test_bad_settings_are_named() -> None:
    with pytest.raises(SurveyError, match=r"apps\.survey\.stockpiles\.0.*ring or polygon"):
        SurveyApp().signals({"stockpiles": [{"id": "rom"}]}, plant())
    with pytest.raises(SurveyError, match=r"apps\.survey\.cell_m"):
        SurveyApp().signals({"cell_m": -1}, plant())
    assert np.isfinite(DENSITY)


async def test_a_survey_taken_in_but_not_finished_is_processed_after_a_restart(tmp_path: Path) -> None:
    site = synth.make_site(SEED)
    folder = tmp_path / "survey" / "20260101T000000-flight" / "input"
    write_survey(folder / "flight.laz", site, "before", seed=9, spacing=0.8)
    (folder.parent / "dem.tif").write_bytes(b"half-written")  # what a crash may leave
    p = platform(tmp_path, plant(cell_m=1.0))
    await p.start()
    try:
        await wait_until(lambda: len(events(p, "survey.processed")) == 1, what="resumed survey processed")
        ev = events(p, "survey.processed")[0].payload
        assert ev["survey_id"] == "20260101T000000-flight" and ev["files"] == ["flight.laz"]
        assert json.loads((folder.parent / "result.json").read_text())["survey_id"] == ev["survey_id"]
        assert (folder.parent / "dem.tif").read_bytes()[:4] == b"II*\x00"
    finally:
        await stop_platform(p)


def test_the_entry_point_gives_the_survey_app() -> None:
    from ironfield.runtime.plugins import load_entry_point

    assert load_entry_point("ironfield.apps", "survey") is SurveyApp
