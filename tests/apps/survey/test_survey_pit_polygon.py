"""The pit polygon, given inline (``pit``) or as a GeoJSON file (``pit_polygon``): the mined
volume is bounded by it either way; a polygon that cannot be read gives no figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.survey.survey_rig import SEED, cone_ring, write_survey
from ironfield.apps.survey import synth
from ironfield.apps.survey.config import load_config
from ironfield.apps.survey.errors import SurveyError
from ironfield.apps.survey.process import process_survey


def test_pit_ring_or_geojson_bound_the_mined_volume(tmp_path: Path) -> None:
    site = synth.make_site(SEED)
    before = write_survey(tmp_path / "in" / "a.laz", site, "before", seed=1, spacing=0.8)
    after = write_survey(tmp_path / "in" / "b.laz", site, "after", seed=2, spacing=0.8)
    # the western half of the site: holds the box cut, not all of the bench cuts
    x0, y0 = site.x0, site.y0
    ring = [[x0, y0], [x0 + 150.0, y0], [x0 + 150.0, y0 + site.height], [x0, y0 + site.height]]
    (tmp_path / "pit.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]}}]}))
    base = {"cell_m": 1.0, "stockpiles": [{"id": "cone", "ring": cone_ring(site), "base": "plane"}]}

    def mined(extra: dict[str, Any]) -> dict[str, Any]:
        cfg = load_config({**base, **extra})
        _, dem0 = process_survey([before], tmp_path / "o0", cfg, tmp_path, None)
        result, _ = process_survey([after], tmp_path / "o1", cfg, tmp_path, dem0)
        return result

    everywhere = mined({})
    inline = mined({"pit": ring})
    from_file = mined({"pit_polygon": "pit.geojson"})
    assert inline["mined_basis"].startswith("inside the pit polygon")
    assert from_file["mined_m3"] == pytest.approx(inline["mined_m3"], rel=1e-9)
    assert 0 < inline["mined_m3"] < 0.95 * everywhere["mined_m3"]

    missing = mined({"pit_polygon": "nosuch.geojson"})
    assert missing["mined_m3"] is None and missing["mined_t"] is None
    assert any("pit_polygon" in w and "nosuch.geojson" in w for w in missing["warnings"])


def test_pit_given_twice_is_refused() -> None:
    with pytest.raises(SurveyError, match="pit .* or pit_polygon"):
        load_config({"pit": [[0, 0], [1, 0], [1, 1]], "pit_polygon": "pit.geojson"})
