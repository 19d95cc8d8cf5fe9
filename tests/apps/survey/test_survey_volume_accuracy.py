"""Volumes between synthetic survey pairs against their analytic truth (issue 8 targets).

The site (ironfield.apps.survey.synth) holds a cone stockpile, a box cut with battered
walls and benches cut into a hillside, with machines and trees on top and 3 cm noise.
Targets at a 0.5 m cell and a 0.1 m minimum change: net within 0.5 %, cut and fill each
within 2 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from ironfield.apps.survey import synth
from ironfield.apps.survey.dem import Dem, dem_from_arrays
from ironfield.apps.survey.grid import GridSpec
from ironfield.apps.survey.ground import smrf_arrays
from ironfield.apps.survey.volume import ChangeGrid, VolumeResult, cut_fill

SPACING = 0.4  # [m], ~6 points/m2: a sparse drone flight, keeps the test quick


@pytest.fixture(scope="module")
def pair() -> tuple[synth.Site, Dem, Dem]:
    site = synth.make_site(seed=7)
    spec = GridSpec.covering(site.x0, site.y0, site.x0 + site.width, site.y0 + site.height, 0.5)
    dems = []
    for epoch in ("before", "after"):
        x, y, z, _ = synth.sample(site, epoch, spacing=SPACING, noise=0.03, seed=11)
        g, _model = smrf_arrays(x, y, z)
        dems.append(dem_from_arrays(x[g], y[g], z[g], 0.5, spec=spec))
    return site, dems[0], dems[1]


@pytest.fixture(scope="module")
def result(pair: tuple[synth.Site, Dem, Dem]) -> tuple[VolumeResult, ChangeGrid]:
    _, before, after = pair
    return cut_fill(before, after, min_change=0.1)


def _rel(measured: float, truth: float) -> float:
    return abs(measured - truth) / abs(truth)


def test_net_volume_within_half_a_percent(pair, result) -> None:  # type: ignore[no-untyped-def]
    site = pair[0]
    assert _rel(result[0].net_m3, site.truth()["net_m3"]) < 0.005


def test_gross_cut_and_fill_within_two_percent(pair, result) -> None:  # type: ignore[no-untyped-def]
    truth = pair[0].truth()
    assert _rel(result[0].cut_m3, truth["cut_m3"]) < 0.02
    assert _rel(result[0].fill_m3, truth["fill_m3"]) < 0.02


def test_each_feature_within_two_percent(pair, result) -> None:  # type: ignore[no-untyped-def]
    site: synth.Site = pair[0]
    change = result[1]
    ny, nx = change.dz.shape
    xs = change.x0 + (np.arange(nx) + 0.5) * change.cell - site.x0
    ys = change.y0 + (np.arange(ny) + 0.5) * change.cell - site.y0
    gx, gy = np.meshgrid(xs, ys)
    dz = np.where(change.significant, change.dz, 0.0)
    area = change.cell**2
    cx, cy, r, _ = site.cone
    bx0, by0, bx1, by1, _ = site.box
    ex0, ex1 = site.bench_x
    regions = {
        "cone": (np.hypot(gx - cx, gy - cy) < r + 2, site.cone_volume()),
        "box": ((gx > bx0 - 2) & (gx < bx1 + 2) & (gy > by0 - 2) & (gy < by1 + 2),
                -site.box_volume()),
        "benches": ((gx > ex0 - 2) & (gx < ex1 + 2) & (gy > site.hill_start), -site.bench_volume()),
    }
    for name, (mask, truth) in regions.items():
        got = float(dz[mask].sum()) * area
        assert _rel(got, truth) < 0.02, (name, got, truth)


def test_unchanged_ground_reports_no_change(pair) -> None:  # type: ignore[no-untyped-def]
    """Two independent scans of the same ground: noise must not become cut or fill."""
    site, before, _ = pair
    x, y, z, _ = synth.sample(site, "before", spacing=SPACING, noise=0.03, seed=99)
    g, _m = smrf_arrays(x, y, z)
    again = dem_from_arrays(x[g], y[g], z[g], 0.5, spec=before.spec)
    res, _ = cut_fill(before, again, min_change=0.1)
    moved = site.cone_volume()  # the smallest real change on the site
    assert res.cut_m3 < 0.01 * moved and res.fill_m3 < 0.01 * moved
    both = before.valid & again.valid
    measured = before.measured & again.measured & both
    assert res.coverage == pytest.approx(measured.sum() / both.sum())


def test_volume_does_not_depend_on_point_density(pair) -> None:  # type: ignore[no-untyped-def]
    site, _, _ = pair
    spec = pair[1].spec
    nets = []
    for spacing in (0.3, 0.45):
        dems = []
        for epoch in ("before", "after"):
            x, y, z, c = synth.sample(site, epoch, spacing=spacing, seed=5, objects=False)
            dems.append(dem_from_arrays(x, y, z, 0.5, spec=spec))
        nets.append(cut_fill(dems[0], dems[1], 0.1)[0].net_m3)
    assert abs(nets[0] - nets[1]) < 0.002 * abs(site.truth()["net_m3"])
