"""Fixtures of the welding tests: a learned reference on simulated good welds."""

from __future__ import annotations

import pytest

from apps.welding.welding_cases import WELD_TIME_S, conditions
from ironfield.apps.welding.simulator import FixedTimer, WeldOutcome, simulate_batch
from ironfield.apps.welding.timing import SpotReference, learn_reference


@pytest.fixture(scope="session")
def good_welds() -> list[WeldOutcome]:
    conds = conditions(30, seed=1)
    return simulate_batch(conds, [FixedTimer(WELD_TIME_S) for _ in conds], WELD_TIME_S)


@pytest.fixture(scope="session")
def reference(good_welds: list[WeldOutcome]) -> SpotReference:
    return learn_reference(
        [(o.t_s, o.current_ka, o.voltage_v) for o in good_welds],
        [o.ok for o in good_welds],
        spot_id="body/side-l/spot-0042",
    )
