"""Plot-ready downsampling that reads the historian's rollups for wide ranges.

A year of 1 Hz is 31.5 M rows; min/max-per-pixel over raw rows touches every one of them
on every request. When a plot bucket (range / points) spans at least ``ROLLUP_FACTOR``
rollup intervals, the 1 h (or 1 min) rollups hold everything a min/max plot needs: each
plot bucket keeps the rollup row with the lowest min and the one with the highest max,
drawn at the middle of that rollup interval (an offset of at most half an interval,
which is well under one pixel at these widths). Narrower ranges use the historian's
in-database min/max over raw rows, so a zoom always gets full detail.

The min/max reduction keeps every bucket's extremes, so peaks survive at any zoom [1]_;
``lttb`` runs Largest-Triangle-Three-Buckets [2]_ over a finer min/max pre-reduction.

.. [1] Jugel, Jerzak, Hackenbroich, Markl 2014, M4: A Visualization-Oriented Time Series
   Data Aggregation, PVLDB 7(10).
.. [2] Steinarsson 2013, Downsampling Time Series for Visual Representation, MSc thesis,
   University of Iceland.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from ironfield.core.batch import Batch
from ironfield.core.quality import Quality
from ironfield.core.timeutil import NS_PER_H, NS_PER_MIN
from ironfield.historian.base import LTTB_PREREDUCE, Historian
from ironfield.historian.downsample import lttb

ROLLUPS = (NS_PER_H, NS_PER_MIN)
ROLLUP_FACTOR = 4


def rollup_for(start: int, end: int, points: int) -> int | None:
    """The widest rollup interval [ns] a plot of ``points`` over the range can use."""
    width = (end - start) / max(points, 1)
    for iv in ROLLUPS:
        if width >= ROLLUP_FACTOR * iv:
            return iv
    return None


def minmax_from_buckets(
    bucket: npt.NDArray[np.int64], lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64],
    interval: int, start: int, end: int, points: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Per plot bucket, the (ts, value) of the lowest min and the highest max, time-ordered.

    ``bucket`` [ns] are rollup starts of width ``interval`` [ns]; rows are drawn at the
    middle of their rollup interval, clipped to ``[start, end)``.
    """
    ok = np.isfinite(lo) & np.isfinite(hi)
    bucket, lo, hi = bucket[ok], lo[ok], hi[ok]
    if len(bucket) == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    width = (end - start) / points
    t = np.clip(bucket + interval // 2, start, end - 1)
    k = np.clip(((t - start) / width).astype(np.int64), 0, points - 1)
    o_min = np.lexsort((lo, k))
    first_min = o_min[np.unique(k[o_min], return_index=True)[1]]
    o_max = np.lexsort((-hi, k))
    first_max = o_max[np.unique(k[o_max], return_index=True)[1]]
    ts = np.concatenate([t[first_min], t[first_max]])
    val = np.concatenate([lo[first_min], hi[first_max]])
    order = np.lexsort((val, ts))
    ts, val = ts[order], val[order]
    keep = np.ones(len(ts), bool)  # a bucket whose min and max sit in one rollup row: once
    keep[1:] = (ts[1:] != ts[:-1]) | (val[1:] != val[:-1])
    return ts[keep], val[keep]


def _from_rollup(h: Historian, sid: int, start: int, end: int, points: int, iv: int) -> Batch:
    a0 = start - start % iv
    a1 = end + (-end) % iv
    t = h.aggregate([sid], a0, a1, iv)
    b = np.asarray(t.column("bucket").to_numpy(), dtype=np.int64)
    lo = np.asarray(t.column("min").to_numpy(zero_copy_only=False), dtype=np.float64)
    hi = np.asarray(t.column("max").to_numpy(zero_copy_only=False), dtype=np.float64)
    order = np.argsort(b, kind="stable")
    ts, val = minmax_from_buckets(b[order], lo[order], hi[order], iv, start, end, points)
    return Batch.build(sid, ts, val, Quality.GOOD)


def plot(h: Historian, sid: int, start: int, end: int, points: int,
         method: Literal["minmax", "lttb"] = "minmax") -> Batch:
    """At most ``2 * points`` (minmax) or ``points`` (lttb) rows of ``[start, end)``."""
    pre_points = points * LTTB_PREREDUCE if method == "lttb" else points
    iv = rollup_for(start, end, pre_points)
    if iv is None:
        return h.downsample(sid, start, end, points, method)
    pre = _from_rollup(h, sid, start, end, pre_points, iv)
    if method == "minmax":
        return pre
    return pre.take(lttb(pre.ts, pre.value, points))
