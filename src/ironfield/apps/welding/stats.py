"""Small statistics helpers for the welding app's quality figures and benchmarks."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (95 % by default).

    E. B. Wilson, "Probable inference, the law of succession, and statistical inference",
    JASA 22(158), 209-212, 1927. Well behaved for the small and rare proportions of weld
    defects, unlike the normal (Wald) interval.
    """
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def cluster_bootstrap(
    clusters: Sequence[npt.NDArray[np.float64]],
    statistic: Callable[[npt.NDArray[np.float64]], float],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap CI resampling whole clusters (e.g. electrode dress cycles).

    Welds on one electrode cycle are not independent (they share its wear); resampling
    cycles rather than welds keeps that correlation in the interval.
    ``clusters[k]`` is a 2-D array (rows: welds, columns: whatever ``statistic`` reads).
    """
    rng = np.random.default_rng(seed)
    m = len(clusters)
    stats = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(0, m, m)
        stats[b] = statistic(np.concatenate([clusters[j] for j in pick]))
    lo, hi = np.nanquantile(stats, [(1 - level) / 2, 1 - (1 - level) / 2])
    return (float(lo), float(hi))
