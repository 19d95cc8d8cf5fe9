"""Cutting a bus batch into welds: several robots, several welds of one robot, any row order."""

from __future__ import annotations

import numpy as np

from ironfield.apps.welding.analysis import Lookup, check_weld, split_welds
from ironfield.apps.welding.shop import CURVES, SUMMARY
from ironfield.core.batch import Batch

CH = list(SUMMARY) + list(CURVES)


def rows(robot: int, start: int, spot: float, n: int, level: float) -> list[tuple[int, int, float]]:
    """(signal id, ts, value): signal id = robot * 100 + channel."""
    out = [(robot * 100 + CH.index("spot_no"), start, spot),
           (robot * 100 + CH.index("weld_time_ms"), start, float(n))]
    for j, c in enumerate(CURVES):
        out += [(robot * 100 + CH.index(c), start + (k + 1) * 1_000_000, level + j + k / 1000) for k in range(n)]
    return out


def test_welds_are_cut_per_robot_and_start_whatever_the_row_order() -> None:
    lut = Lookup({(r, c): r * 100 + c for r in range(3) for c in range(len(CH))})
    t = 1_700_000_000_000_000_000
    sent = rows(0, t, 1, 50, 10.0) + rows(0, t + 2_000_000_000, 2, 80, 20.0) + rows(2, t + 5_000_000, 1, 30, 30.0)
    # curve rows of robot 1 with no weld start in this batch are not a weld
    sent += [(100 + CH.index("curve_current_ka"), t + 7, 1.0)]
    rng = np.random.default_rng(1)
    order = rng.permutation(len(sent))
    sig, ts, val = (np.array([sent[i][k] for i in order]) for k in range(3))
    b = Batch.build(sig.astype(np.int32), ts.astype(np.int64), val.astype(np.float64))
    welds = split_welds(b, lut)
    assert [(w.robot, w.start_ns, w.summary["spot_no"]) for w in welds] == [
        (0, t, 1.0), (0, t + 2_000_000_000, 2.0), (2, t + 5_000_000, 1.0)]
    for w, n, level in zip(welds, (50, 80, 30), (10.0, 20.0, 30.0), strict=True):
        assert sorted(w.curves) == sorted(CURVES)
        for j, c in enumerate(CURVES):
            assert np.allclose(w.curves[c], level + j + np.arange(n) / 1000)  # in time order
        assert w.curve_ts is not None and np.allclose(w.curve_ts, (np.arange(n) + 1) / 1000)
        assert check_weld(w, spots_per_robot=2) == []
    # a weld cut short by another starting inside it is caught by the sample count
    short = Batch.build(*(np.array(x) for x in zip(*(rows(1, t, 1, 40, 0.0) + rows(1, t + 20_000_000, 2, 40, 0.0)),
                                                   strict=True)))
    first, _ = split_welds(Batch(short.signal.astype(np.int32), short.ts, short.value, short.quality), lut)
    assert [i.code for i in check_weld(first, 2)] == ["missing_samples"]
