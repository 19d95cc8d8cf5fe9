"""The test spot of the welding tests: 1.0+1.0 mm uncoated steel, mid-range ISO 14373.

Imported as ``apps.welding.welding_cases`` (tests/ is on sys.path, see tests/conftest.py),
which is also how mypy's package bases name it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ironfield.apps.welding.model import StackUp
from ironfield.apps.welding.simulator import WeldConditions, scattered

STACK = StackUp(t1_mm=1.0, t2_mm=1.0)
CURRENT_KA = 8.8
FORCE_KN = 2.5
FACE_MM = 6.0
WELD_TIME_S = 0.2


def conditions(n: int, seed: int = 0, **kw: Any) -> list[WeldConditions]:
    """``n`` welds of the test spot (``kw`` overrides), with contact-condition scatter."""
    base = replace(WeldConditions(STACK, CURRENT_KA, FORCE_KN, FACE_MM), **kw)
    return scattered(base, n, seed=seed)
