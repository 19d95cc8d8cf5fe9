"""The ``survey`` CLI end to end on a generated pit and, when present, the shared files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ironfield.apps.survey import synth
from ironfield.apps.survey.cli import app
from ironfield.apps.survey.io import open_survey, write_las
from services import require_files, shared_data

TERRAIN = shared_data("survey", "terrain")
runner = CliRunner()


@pytest.fixture(scope="module")
def yard_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, synth.StockpileYard]:
    d = tmp_path_factory.mktemp("yard")
    yard = synth.make_yard(seed=2)
    for epoch in ("before", "after"):
        x, y, z, _ = synth.sample(yard, epoch, spacing=0.3, seed=3 if epoch == "before" else 4)
        if epoch == "after":  # a new cone pile, R 8 m, h 4 m, between the two old ones
            r = np.hypot(x - yard.x0 - 80.0, y - yard.y0 - 64.0)
            z = z + 4.0 * np.clip(1.0 - r / 8.0, 0.0, None)
        write_las(d / f"{epoch}.laz", x, y, z)
    ring = yard.pile_polygon("a")
    (d / "pile.geojson").write_text(json.dumps(synth.polygon_geojson(ring)))
    return d, yard


def test_ground_writes_class_2(yard_files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d, _ = yard_files
    r = runner.invoke(app, ["ground", str(d / "after.laz"), "-o", str(tmp_path / "g.laz"),
                            "--json"])
    assert r.exit_code == 0, r.output
    cls = np.concatenate([c.classification for c in open_survey(tmp_path / "g.laz").chunks()])
    assert 0.8 < np.mean(cls == 2) < 1.0


def test_dem_writes_geotiff(yard_files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d, _ = yard_files
    out = tmp_path / "dem.tif"
    r = runner.invoke(app, ["dem", str(d / "after.laz"), "-o", str(out), "--cell", "1",
                            "--png", str(tmp_path / "dem.png")])
    assert r.exit_code == 0, r.output
    raw = out.read_bytes()
    assert raw[:4] == b"II*\x00"
    img = np.frombuffer(raw[-(80 * 160 * 4):], dtype="<f4").reshape(80, 160)
    assert np.nanmin(img) == pytest.approx(1200.0, abs=0.1)
    assert (tmp_path / "dem.png").stat().st_size > 1000


def test_volume_json_and_heatmap(yard_files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d, _ = yard_files
    png = tmp_path / "change.png"
    r = runner.invoke(app, ["volume", str(d / "before.laz"), str(d / "after.laz"), "--cell",
                            "0.5", "--min-change", "0.1", "--heatmap", str(png), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout[r.stdout.index("{"):])
    assert res["fill_m3"] == pytest.approx(np.pi * 64 * 4 / 3, rel=0.02)  # the new cone
    assert res["cut_m3"] < 5.0
    assert png.stat().st_size > 1000


def test_stockpile_json(yard_files) -> None:  # type: ignore[no-untyped-def]
    d, yard = yard_files
    r = runner.invoke(app, ["stockpile", str(d / "after.laz"), "--polygon",
                            str(d / "pile.geojson"), "--base", f"elevation:{yard.z0}",
                            "--density", "1.6", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout[r.stdout.index("{"):])
    assert res["volume_m3"] == pytest.approx(yard.pile_volume("a"), rel=0.01)
    assert res["tonnes"] == pytest.approx(1.6 * res["volume_m3"])


def test_errors_exit_2_with_a_message(yard_files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d, _ = yard_files
    bad = tmp_path / "cut.laz"
    bad.write_bytes((d / "after.laz").read_bytes()[:50_000])
    r = runner.invoke(app, ["volume", str(d / "before.laz"), str(bad)])
    assert r.exit_code == 2
    assert "cut.laz" in r.output


def test_shared_terrain_files(tmp_path: Path) -> None:
    files = [TERRAIN / "autzen_trim.laz", TERRAIN / "Topography.laz"]
    require_files(files, "shared terrain files")
    r = runner.invoke(app, ["ground", str(files[0]), "-o", str(tmp_path / "a.laz"), "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout[r.stdout.index("{"):])
    # autzen is in international feet: the density is per square metre
    assert 1.5 < float(info["parameters"].split("density ")[1].split()[0]) < 4.0
    r = runner.invoke(app, ["dem", str(files[1]), "-o", str(tmp_path / "t.tif"), "--cell", "1"])
    assert r.exit_code == 0, r.output
    # two surveys of different places and units: a clear error, not a number
    r = runner.invoke(app, ["volume", str(files[1]), str(files[0])])
    assert r.exit_code == 2 and "ft" in r.output
