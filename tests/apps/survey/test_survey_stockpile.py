"""Stockpile volumes with each base surface, where that base is the truth (within 1 %)."""

from __future__ import annotations

import numpy as np
import pytest

from ironfield.apps.survey import synth
from ironfield.apps.survey.dem import Dem, dem_from_arrays
from ironfield.apps.survey.errors import PolygonError
from ironfield.apps.survey.ground import smrf_arrays
from ironfield.apps.survey.stockpile import lowest_rim, stockpile_volume


@pytest.fixture(scope="module")
def yard_dem() -> tuple[synth.StockpileYard, Dem]:
    yard = synth.make_yard(seed=3)
    x, y, z, _ = synth.sample(yard, "after", spacing=0.3, noise=0.03, seed=4)
    g, _m = smrf_arrays(x, y, z)
    return yard, dem_from_arrays(x[g], y[g], z[g], 0.5)


@pytest.mark.parametrize(
    ("pile", "base"),
    [("a", "lowest"), ("a", "elevation"), ("b", "plane"), ("b", "triangulated")],
)
def test_base_is_truth_within_one_percent(yard_dem, pile: str, base: str) -> None:  # type: ignore[no-untyped-def]
    yard, dem = yard_dem
    res = stockpile_volume(dem, yard.pile_polygon(pile), base, density=1.6, elevation=yard.z0)
    truth = yard.pile_volume(pile)
    assert abs(res.volume_m3 - truth) / truth < 0.01
    assert res.tonnes == pytest.approx(res.volume_m3 * 1.6)
    assert res.complete
    assert res.area_m2 == pytest.approx(np.pi * 18.0**2, rel=0.02)  # 24-gon of radius 18 m


def test_previous_survey_as_base(yard_dem) -> None:  # type: ignore[no-untyped-def]
    """Base = the bare yard before the pile: the volume is the pile."""
    yard, dem = yard_dem
    bare = synth.StockpileYard(pile_a=(40.0, 40.0, 15.0, 0.0))
    x, y, z, _ = synth.sample(bare, "before", spacing=0.3, seed=8, objects=False)
    prev = dem_from_arrays(x, y, z, 0.5, spec=dem.spec)
    res = stockpile_volume(dem, yard.pile_polygon("a"), "surface", surface=prev)
    assert abs(res.volume_m3 - yard.pile_volume("a")) / yard.pile_volume("a") < 0.01


def test_polygon_outside_data_is_an_error(yard_dem) -> None:  # type: ignore[no-untyped-def]
    yard, dem = yard_dem
    far = synth.circle(yard.x0 + 5000.0, yard.y0 + 5000.0, 10.0)
    with pytest.raises(PolygonError, match="outside the survey"):
        stockpile_volume(dem, far, "lowest")


def test_polygon_half_outside_is_not_complete(yard_dem) -> None:  # type: ignore[no-untyped-def]
    yard, dem = yard_dem
    edge = synth.circle(yard.x0 + 2.0, yard.y0 + 40.0, 10.0)
    res = stockpile_volume(dem, edge, "lowest")
    assert not res.complete
    assert res.warnings


def test_lowest_rim_ignores_single_noisy_dip() -> None:
    z = np.full(400, 100.0)
    z[17] = 99.0  # one noisy sample
    assert lowest_rim(z, 0.5) > 99.9
    z[100:160] = 99.0  # a real low stretch: 60 samples x 0.25 m = 15 m
    assert lowest_rim(z, 0.5) == pytest.approx(99.0)
