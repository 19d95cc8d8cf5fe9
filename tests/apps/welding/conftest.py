"""Fixtures of the welding tests: a learned reference on simulated good welds."""

from __future__ import annotations

import numpy as np
import pytest

from ironfield.apps.welding.model import StackUp
from ironfield.apps.welding.simulator import (
    FixedTimer,
    WeldConditions,
    WeldOutcome,
    simulate_batch,
)
from ironfield.apps.welding.timing import SpotReference, learn_reference

STACK = StackUp(t1_mm=1.0, t2_mm=1.0)
CURRENT_KA = 8.8
FORCE_KN = 2.5
FACE_MM = 6.0
WELD_TIME_S = 0.2


def conditions(n: int, seed: int = 0, **kw: object) -> list[WeldConditions]:
    rng = np.random.default_rng(seed)
    base: dict[str, object] = {
        "stackup": STACK, "current_ka": CURRENT_KA, "force_kn": FORCE_KN,
        "electrode_face_mm": FACE_MM,
    }
    base.update(kw)
    return [
        WeldConditions(**base, contact_factor=float(rng.lognormal(0, 0.2)),  # type: ignore[arg-type]
                       seed=seed * 1000 + k)
        for k in range(n)
    ]


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
