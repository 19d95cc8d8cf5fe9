"""Per-batch rollup partials: what a batch adds to each (signal, bucket).

A partial is (min, max, sum, count, first with its ts, last with its ts) over the rows of
one signal in one bucket. Partials merge associatively (min of mins, sum of sums, the
first of the earliest first, ...), so a backend may store one partial per batch and merge
at query time or upsert them into one row per bucket: the answer is the same. This is the
partial-aggregate-state design of ClickHouse's AggregatingMergeTree [1]_.

Only rows newly stored are passed here, so a replayed duplicate never counts twice. NaN
values are skipped (the raw-path SQL skips them too), so both paths agree.

.. [1] ClickHouse documentation, "AggregatingMergeTree" table engine,
   https://clickhouse.com/docs/engines/table-engines/mergetree-family/aggregatingmergetree
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ironfield.core.batch import Batch
from ironfield.core.timeutil import NS_PER_H, NS_PER_MIN

WIDTHS: dict[str, int] = {"rollup_1m": NS_PER_MIN, "rollup_1h": NS_PER_H}

PARTIAL_SCHEMA = pa.schema(
    [
        pa.field("signal_id", pa.int32(), nullable=False),
        pa.field("bucket", pa.int64(), nullable=False),
        pa.field("vmin", pa.float64(), nullable=False),
        pa.field("vmax", pa.float64(), nullable=False),
        pa.field("vsum", pa.float64(), nullable=False),
        pa.field("n", pa.int64(), nullable=False),
        pa.field("first_ts", pa.int64(), nullable=False),
        pa.field("first_v", pa.float64(), nullable=False),
        pa.field("last_ts", pa.int64(), nullable=False),
        pa.field("last_v", pa.float64(), nullable=False),
    ]
)
PARTIAL_COLUMNS: tuple[str, ...] = tuple(PARTIAL_SCHEMA.names)


def floor_to(ts: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.int64]:
    """Bucket start of each ts [ns] for buckets of ``width`` [ns] aligned to the epoch."""
    out: npt.NDArray[np.int64] = ts - np.mod(ts, np.int64(width))
    return out


def _group_starts(keys: list[npt.NDArray[np.generic]], n: int) -> npt.NDArray[np.intp]:
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for k in keys:
        change[1:] |= k[1:] != k[:-1]
    return np.flatnonzero(change)


def _table(cols: list[npt.NDArray[np.generic]]) -> pa.Table:
    return pa.Table.from_arrays([pa.array(c) for c in cols], schema=PARTIAL_SCHEMA)


def empty_partials() -> pa.Table:
    return PARTIAL_SCHEMA.empty_table()


def partials(batch: Batch, width: int) -> pa.Table:
    """Partials of ``batch`` in buckets of ``width`` [ns].

    ``batch`` must be sorted by (signal, ts) with no repeated (signal, ts) (what
    :func:`ironfield.historian.ingest.prepare` returns), so groups are contiguous runs.
    """
    keep = ~np.isnan(batch.value)
    b = batch if bool(keep.all()) else batch.take(keep)
    n = len(b)
    if n == 0:
        return empty_partials()
    bucket = floor_to(b.ts, width)
    starts = _group_starts([b.signal, bucket], n)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1
    ends[-1] = n - 1
    v = b.value
    return _table(
        [
            b.signal[starts],
            bucket[starts],
            np.minimum.reduceat(v, starts),
            np.maximum.reduceat(v, starts),
            np.add.reduceat(v, starts),
            (ends - starts + 1).astype(np.int64),
            b.ts[starts],
            v[starts],
            b.ts[ends],
            v[ends],
        ]
    )


def coarsen(p: pa.Table, width: int) -> pa.Table:
    """Merge partials (sorted by signal, bucket) into coarser buckets of ``width`` [ns]."""
    n = p.num_rows
    if n == 0:
        return empty_partials()
    sig = p.column("signal_id").to_numpy()
    bucket = floor_to(p.column("bucket").to_numpy(), width)
    starts = _group_starts([sig, bucket], n)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1
    ends[-1] = n - 1

    def col(name: str) -> npt.NDArray[np.generic]:
        return np.asarray(p.column(name).to_numpy())

    return _table(
        [
            sig[starts],
            bucket[starts],
            np.minimum.reduceat(col("vmin"), starts),
            np.maximum.reduceat(col("vmax"), starts),
            np.add.reduceat(col("vsum"), starts),
            np.add.reduceat(col("n"), starts),
            col("first_ts")[starts],
            col("first_v")[starts],
            col("last_ts")[ends],
            col("last_v")[ends],
        ]
    )


def merge(p: pa.Table) -> pa.Table:
    """Merge partials of any order into one row per (signal, bucket), sorted by both."""
    n = p.num_rows
    if n == 0:
        return empty_partials()

    def col(name: str) -> npt.NDArray[np.generic]:
        return np.asarray(p.column(name).to_numpy())

    sig, bucket = col("signal_id"), col("bucket")
    first_ts, last_ts = col("first_ts"), col("last_ts")
    by_first = np.lexsort((first_ts, bucket, sig))
    s, b = sig[by_first], bucket[by_first]
    starts = _group_starts([s, b], n)
    if len(starts) == n:
        return p.take(pa.array(by_first))
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1
    ends[-1] = n - 1
    by_last = np.lexsort((last_ts, bucket, sig))  # same groups, same places
    return _table(
        [
            s[starts],
            b[starts],
            np.minimum.reduceat(col("vmin")[by_first], starts),
            np.maximum.reduceat(col("vmax")[by_first], starts),
            np.add.reduceat(col("vsum")[by_first], starts),
            np.add.reduceat(col("n")[by_first], starts),
            first_ts[by_first][starts],
            col("first_v")[by_first][starts],
            last_ts[by_last][ends],
            col("last_v")[by_last][ends],
        ]
    )
