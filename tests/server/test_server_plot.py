"""Plot downsampling from rollups: extremes survive, size is bounded, zooms use raw rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ironfield.core.batch import Batch
from ironfield.core.signals import SignalDef
from ironfield.core.timeutil import NS_PER_DAY, NS_PER_H, NS_PER_MIN, NS_PER_S
from ironfield.historian.duckdb import DuckDBHistorian
from ironfield.server.plot import minmax_from_buckets, plot, rollup_for

T0 = 1_672_531_200 * NS_PER_S  # 2023-01-01 00:00 UTC


def test_minmax_from_buckets_keeps_each_plot_buckets_extremes() -> None:
    rng = np.random.default_rng(3)
    n = 240  # ten days of hourly rollups
    bucket = T0 + np.arange(n, dtype=np.int64) * NS_PER_H
    lo = rng.normal(0, 1, n)
    hi = lo + rng.uniform(0, 2, n)
    hi[77], lo[150] = 50.0, -50.0
    ts, val = minmax_from_buckets(bucket, lo, hi, NS_PER_H, T0, T0 + n * NS_PER_H, 20)
    assert len(ts) <= 40 and np.all(np.diff(ts) >= 0)
    assert val.max() == 50.0 and val.min() == -50.0
    # Each 12 h plot bucket has exactly its own lowest min and highest max.
    for j in range(20):
        sl = slice(12 * j, 12 * (j + 1))
        inside = (ts >= bucket[sl][0]) & (ts < bucket[sl][-1] + NS_PER_H)
        assert set(val[inside]) == {lo[sl].min(), hi[sl].max()}


def test_rollup_choice() -> None:
    assert rollup_for(T0, T0 + 365 * NS_PER_DAY, 1500) == NS_PER_H
    assert rollup_for(T0, T0 + 7 * NS_PER_DAY, 1500) == NS_PER_MIN
    assert rollup_for(T0, T0 + NS_PER_DAY, 1500) is None


def test_plot_from_rollups_matches_raw_extremes(tmp_path: Path) -> None:
    h = DuckDBHistorian(tmp_path / "p.duckdb")
    h.open()
    try:
        h.save_signals([SignalDef("a/b/c/v")], {"a/b/c/v": 0})
        n = 10 * 8640  # ten days every 10 s
        ts = T0 + np.arange(n, dtype=np.int64) * 10 * NS_PER_S
        v = np.sin(np.arange(n) / 500.0) + np.random.default_rng(1).normal(0, 0.1, n)
        v[12345], v[54321] = 9.0, -9.0
        h.write(Batch.build(0, ts, v))
        end = T0 + 10 * NS_PER_DAY
        wide = plot(h, 0, T0, end, 50)  # 4.8 h per point: from the 1 h rollups
        assert len(wide) <= 100
        assert wide.value.max() == 9.0 and wide.value.min() == -9.0
        assert np.all(np.diff(wide.ts) >= 0) and wide.ts[0] >= T0 and wide.ts[-1] < end
        raw = h.downsample(0, T0, end, 50)
        assert abs(len(wide) - len(raw)) <= 10  # same shape as the raw-row min/max
        lt = plot(h, 0, T0, end, 50, "lttb")
        assert len(lt) <= 50 and lt.value.max() == 9.0
        # A zoom narrower than 4 rollup intervals per point comes from raw rows.
        z0 = int(ts[12345] - 30 * NS_PER_MIN)
        zoom = plot(h, 0, z0, z0 + NS_PER_H, 100)
        assert zoom.value.max() == 9.0 and int(zoom.ts[np.argmax(zoom.value)]) == int(ts[12345])
    finally:
        h.close()
