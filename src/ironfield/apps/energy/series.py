"""Reading the app's inputs from the historian as minute grids (NaN where nothing arrived).

The platform's historian serves 1-min means from its rollups; a minute with no sample stays
NaN, so a gap in a meter is a gap in every figure computed from it, never interpolated.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ironfield.core.signals import SignalRegistry
from ironfield.core.timeutil import NS_PER_MIN

FloatArray = npt.NDArray[np.float64]
NsArray = npt.NDArray[np.int64]


def resolve(registry: SignalRegistry, pattern: str) -> list[str]:
    """Signal paths matching a path or an ``fnmatch`` glob, sorted."""
    if not any(c in pattern for c in "*?["):
        return [pattern] if pattern in registry else []
    return sorted(p for p in registry if fnmatch.fnmatchcase(p, pattern))


def kw_scale(registry: SignalRegistry, path: str) -> float:
    """Factor from the signal's unit to kW (W -> 1e-3, MW -> 1e3, else 1)."""
    unit = registry.definition(path).unit
    return {"W": 1e-3, "MW": 1e3}.get(unit, 1.0)


def minute_grid(start_ns: int, end_ns: int) -> NsArray:
    """Minute starts in ``[start, end)``, both floored to the minute."""
    a = start_ns // NS_PER_MIN * NS_PER_MIN
    b = end_ns // NS_PER_MIN * NS_PER_MIN
    return np.arange(a, b, NS_PER_MIN, dtype=np.int64)


def minute_means(history: Any, registry: SignalRegistry, paths: Iterable[str],
                 ts: NsArray, field: str = "mean") -> dict[str, FloatArray]:
    """Per path, the 1-min ``field`` (mean, last, count, ...) on the grid ``ts``; NaN where
    no sample (count 0 -> 0 for ``count``)."""
    paths = [p for p in dict.fromkeys(paths) if p in registry]
    empty = 0.0 if field == "count" else np.nan
    out = {p: np.full(len(ts), empty) for p in paths}
    if not paths or not len(ts):
        return out
    sids = [registry.id(p) for p in paths]
    by_sid = dict(zip(sids, paths, strict=True))
    tab = history.aggregate(sids, int(ts[0]), int(ts[-1]) + NS_PER_MIN, NS_PER_MIN)
    if tab.num_rows == 0:
        return out
    sig = tab.column("signal_id").to_numpy()
    bucket = tab.column("bucket").to_numpy()
    val = tab.column(field).to_numpy(zero_copy_only=False).astype(np.float64)
    idx = (bucket - ts[0]) // NS_PER_MIN
    ok = (idx >= 0) & (idx < len(ts))
    for s in np.unique(sig):
        m = ok & (sig == s)
        out[by_sid[int(s)]][idx[m].astype(np.intp)] = val[m]
    return out


def total(series: Sequence[FloatArray], n: int) -> FloatArray:
    """Element-wise sum; NaN where any part is NaN; NaN everywhere when there are no parts."""
    if not series:
        return np.full(n, np.nan)
    out: FloatArray = np.sum(np.vstack(series), axis=0)
    return out


def last_values(history: Any, registry: SignalRegistry, paths: Iterable[str]) -> dict[str, tuple[int, float]]:
    """Last stored (ts, value) per path."""
    paths = [p for p in paths if p in registry]
    if not paths:
        return {}
    b = history.last([registry.id(p) for p in paths])
    return {registry.path(int(s)): (int(t), float(v)) for s, t, v in zip(b.signal, b.ts, b.value, strict=True)}
