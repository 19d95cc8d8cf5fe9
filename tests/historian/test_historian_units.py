"""Backend-free parts of the historian: batch preparation, rollup partials, LTTB, COPY."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from historian.historian_cases import T0
from ironfield.core.batch import Batch
from ironfield.core.timeutil import NS_PER_H, NS_PER_MIN
from ironfield.historian.downsample import lttb
from ironfield.historian.ingest import LatestCache, prepare
from ironfield.historian.pgcopy import PARTIAL_TYPES, RAW_TYPES, decode, encode
from ironfield.historian.rollup import coarsen, merge, partials


def random_batch(seed: int, n: int = 3000) -> Batch:
    rng = np.random.default_rng(seed)
    sig = rng.integers(0, 5, n)
    ts = T0 - NS_PER_H + rng.integers(0, 3 * NS_PER_H, n)  # spans a negative offset too
    val = rng.normal(size=n)
    val[rng.choice(n, 20, replace=False)] = np.nan
    return Batch.build(sig, ts, val, rng.integers(0, 256, n))


def test_prepare_sorts_and_keeps_first_of_repeats() -> None:
    b = Batch.build([2, 1, 2, 1, 2], [5, 9, 5, 3, 1], [1.0, 2.0, 3.0, 4.0, 5.0])
    got = prepare(b)
    assert list(got.rows()) == [(1, 3, 4.0, 192), (1, 9, 2.0, 192), (2, 1, 5.0, 192),
                                (2, 5, 1.0, 192)]
    sorted_unique = Batch.build([1, 1, 2], [1, 2, 0], [0.0, 0.0, 0.0])
    assert prepare(sorted_unique) is sorted_unique


def naive_partials(b: Batch, width: int) -> dict[tuple[int, int], tuple[float, ...]]:
    groups: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for s, t, v, _ in b.rows():
        if v == v:  # not NaN
            groups.setdefault((s, t // width * width), []).append((t, v))
    out: dict[tuple[int, int], tuple[float, ...]] = {}
    for k, pts in groups.items():
        pts.sort()
        vs = [v for _, v in pts]
        out[k] = (min(vs), max(vs), sum(vs), float(len(vs)), float(pts[0][0]), vs[0],
                  float(pts[-1][0]), vs[-1])
    return out


def as_dict(p: object) -> dict[tuple[int, int], tuple[float, ...]]:
    rows = p.to_pylist()  # type: ignore[attr-defined]
    return {(r["signal_id"], r["bucket"]): (r["vmin"], r["vmax"], r["vsum"], float(r["n"]),
                                            float(r["first_ts"]), r["first_v"],
                                            float(r["last_ts"]), r["last_v"]) for r in rows}


def test_partials_and_coarsen_match_point_by_point_grouping() -> None:
    b = prepare(random_batch(1))
    p1m = partials(b, NS_PER_MIN)
    want = naive_partials(b, NS_PER_MIN)
    got = as_dict(p1m)
    assert got.keys() == want.keys()
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12)
    got_h = as_dict(coarsen(p1m, NS_PER_H))
    want_h = naive_partials(b, NS_PER_H)
    assert got_h.keys() == want_h.keys()
    for k in want_h:
        np.testing.assert_allclose(got_h[k], want_h[k], rtol=1e-12)
    assert partials(Batch.build([1], [T0], [np.nan]), NS_PER_MIN).num_rows == 0


def lttb_reference(x: list[float], y: list[float], n_out: int) -> list[int]:
    """Steinarsson 2013, Algorithm 4.2, written out point by point."""
    n = len(x)
    every = (n - 2) / (n_out - 2)
    out, a = [0], 0
    for i in range(n_out - 2):
        lo, hi = int(i * every) + 1, int((i + 1) * every) + 1
        nlo, nhi = hi, min(int((i + 2) * every) + 1, n)
        ax = sum(x[nlo:nhi]) / (nhi - nlo)
        ay = sum(y[nlo:nhi]) / (nhi - nlo)
        best, best_area = lo, -1.0
        for j in range(lo, hi):
            area = abs((x[a] - ax) * (y[j] - y[a]) - (x[a] - x[j]) * (ay - y[a])) / 2
            if area > best_area:
                best, best_area = j, area
        out.append(best)
        a = best
    out.append(n - 1)
    return out


def test_lttb_matches_the_published_algorithm() -> None:
    rng = np.random.default_rng(2)
    ts: npt.NDArray[np.int64] = np.cumsum(rng.integers(1, 10**9, 1000)).astype(np.int64)
    y = np.cumsum(rng.normal(size=1000))
    x = (ts - ts[0]).astype(float).tolist()
    for n_out in (3, 10, 97, 500):
        assert lttb(ts, y, n_out).tolist() == lttb_reference(x, y.tolist(), n_out)
    assert lttb(ts[:5], y[:5], 10).tolist() == [0, 1, 2, 3, 4]


def test_binary_copy_round_trip() -> None:
    b = random_batch(3, 500)
    cols = decode(encode([b.signal, b.ts, b.value, b.quality], RAW_TYPES), RAW_TYPES)
    np.testing.assert_array_equal(cols[0], b.signal)
    np.testing.assert_array_equal(cols[1], b.ts)
    np.testing.assert_array_equal(cols[2], b.value)  # NaN == NaN for this assert
    np.testing.assert_array_equal(cols[3], b.quality)
    p = partials(prepare(b), NS_PER_MIN)
    data = encode([p.column(i).to_numpy() for i in range(p.num_columns)], PARTIAL_TYPES)
    assert len(data) == 19 + p.num_rows * (2 + 10 * 4 + 4 + 8 * 9) + 2
    assert len(decode(encode([], RAW_TYPES[:0]), RAW_TYPES[:0])) == 0


def test_latest_cache_keeps_the_greatest_ts() -> None:
    c = LatestCache()
    c.update(Batch.build([3, 3, 0], [10, 30, 5], [1.0, 3.0, 0.5]))
    c.update(Batch.build([3, 7], [20, 1], [2.0, 7.0]))
    assert list(c.snapshot(None).rows()) == [(0, 5, 0.5, 192), (3, 30, 3.0, 192),
                                             (7, 1, 7.0, 192)]
    assert c.is_new(Batch.build([3, 3, 9], [30, 31, -5], [0.0] * 3)).tolist() == [False, True, True]


def test_merge_of_shuffled_partials_equals_partials_of_the_whole() -> None:
    b = prepare(random_batch(4))
    rng = np.random.default_rng(4)
    pieces = np.array_split(rng.permutation(len(b)), 5)
    parts = [partials(prepare(b.take(np.sort(ix))), NS_PER_MIN) for ix in pieces]
    got = as_dict(merge(pa.concat_tables(parts[::-1])))
    want = as_dict(partials(b, NS_PER_MIN))
    assert got.keys() == want.keys()
    for k, v in want.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-12)  # sums differ in order only
