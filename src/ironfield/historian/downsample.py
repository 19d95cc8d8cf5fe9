"""Largest-Triangle-Three-Buckets downsampling.

.. [1] Steinarsson 2013, Downsampling Time Series for Visual Representation,
   MSc thesis, University of Iceland, sec. 4.2 (LTTB).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def lttb(
    ts: npt.NDArray[np.int64], value: npt.NDArray[np.float64], points: int
) -> npt.NDArray[np.intp]:
    """Indices of the ``points`` rows LTTB keeps (first and last always), in time order.

    ``ts`` [ns] ascending; x is measured relative to the first ts so float64 keeps
    sub-second precision over long ranges.
    """
    n = len(ts)
    if points >= n or n <= 2:
        return np.arange(n, dtype=np.intp)
    if points < 3:
        return np.array([0, n - 1][:points], dtype=np.intp) if points else np.empty(0, np.intp)
    x = (ts - ts[0]).astype(np.float64)
    y = value
    # Buckets for the middle rows, as in [1]: n-2 rows split into points-2 buckets.
    edges = (np.arange(points - 1, dtype=np.float64) * (n - 2) / (points - 2)).astype(np.intp) + 1
    edges[-1] = n - 1
    out = np.empty(points, dtype=np.intp)
    out[0] = 0
    a = 0
    for i in range(points - 2):
        lo, hi = edges[i], edges[i + 1]
        nlo, nhi = hi, (edges[i + 2] if i + 2 < len(edges) else n)
        avg_x = x[nlo:nhi].mean()
        avg_y = y[nlo:nhi].mean()
        bx, by = x[lo:hi], y[lo:hi]
        area = np.abs((x[a] - avg_x) * (by - y[a]) - (x[a] - bx) * (avg_y - y[a]))
        a = lo + int(np.argmax(area))
        out[i + 1] = a
    out[-1] = n - 1
    return out
