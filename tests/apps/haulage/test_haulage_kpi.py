"""KPI functions against definitions and worked numbers."""

from __future__ import annotations

import math

import pytest

from ironfield.apps.haulage.kpi import (
    availability,
    cycle_breakdown,
    energy_kpis,
    match_factor,
    match_factor_lcm,
    match_factor_mixed,
    queue_and_hang,
    tonnes_per_hour,
    trucks_by_state,
    utilisation,
)
from ironfield.apps.haulage.tracking import Cycle, Phase


def test_douglas_match_factor_worked_example() -> None:
    # Douglas (1964) definition: 6 trucks on a 24 min cycle, one loader taking 4 min per
    # truck: trucks arrive exactly as fast as the loader serves them
    assert match_factor(6, 1, 4.0, 24.0) == pytest.approx(1.0)
    assert match_factor(4, 1, 4.0, 24.0) == pytest.approx(2 / 3)  # loader waits
    assert match_factor(9, 1, 4.0, 24.0) == pytest.approx(1.5)  # trucks queue


def test_mixed_fleet_reduces_to_douglas() -> None:
    assert match_factor_mixed([6], [24.0], [1], [4.0]) == pytest.approx(1.0)
    # two truck types with the same figures are one type
    assert match_factor_mixed([3, 3], [24.0, 24.0], [1], [[4.0], [4.0]]) == pytest.approx(1.0)


def test_mixed_loaders_match_the_lcm_form() -> None:
    """Burt & Caccetta's heterogeneous-loader form (lcm of loading times; corrected eq. 15
    of their 2008 corrigendum) equals the arrival-rate/service-rate form. Worked by hand:
    10 trucks, 30 min cycle, one 3-min and two 5-min loaders:
    MF = 10 x 15 / (30 x (1 x 5 + 2 x 3)) = 150 / 330."""
    lcm = match_factor_lcm(10, 30.0, [1, 2], [3, 5])
    assert lcm == pytest.approx(150 / 330)
    assert match_factor_mixed([10], [30.0], [1, 2], [3.0, 5.0]) == pytest.approx(lcm)


def test_mixed_trucks_weight_by_arrival_rate() -> None:
    # small trucks cycle fast and load fast; big trucks the other way round
    mf = match_factor_mixed([4, 2], [20.0, 30.0], [1], [[2.0], [5.0]])
    # arrivals: 0.2 + 0.0667 per min; loader busy 0.2 x 2 + 0.0667 x 5 = 0.7333 of the time
    assert mf == pytest.approx(0.2 * 2 + 2 / 30 * 5)


def _cycle(tonnes: float, q: float, net: float, regen: float) -> Cycle:
    return Cycle("t", 0, 1, "L", "D", tonnes, {Phase.QUEUE_LOAD.value: q * 60,
                                               Phase.HAUL.value: 600.0}, net, regen, 0.0)


def test_rates_energy_and_states() -> None:
    tph, ratio = tonnes_per_hour(9000, 10, 1000)
    assert tph == 900 and ratio == pytest.approx(0.9)
    cs = [_cycle(90, 2.0, 10.0, 5.0), _cycle(90, 4.0, 8.0, 7.0)]
    assert cycle_breakdown(cs) == {"queue_load": pytest.approx(3.0), "haul": pytest.approx(10.0)}
    e = energy_kpis(cs)
    assert e["kwh_per_t"] == pytest.approx(18 / 180)
    assert e["regen_share"] == pytest.approx(12 / 30)
    assert queue_and_hang(cs, {"L": 5.0, "M": 2.5}) == {"queue_min_per_cycle": 3.0,
                                                        "hang_min": 7.5}
    assert availability(24, 3) == pytest.approx(0.875)
    assert utilisation(21, 14) == pytest.approx(2 / 3)
    assert trucks_by_state({"a": Phase.HAUL, "b": Phase.HAUL, "c": "charge"}) == {
        "haul": 2, "charge": 1}
    assert math.isnan(energy_kpis([])["kwh_per_t"])
