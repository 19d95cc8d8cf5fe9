"""Export of query results: signal paths instead of ids, ISO 8601 UTC times."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ironfield.core.batch import Batch


def iso_times(ts: npt.NDArray[np.int64]) -> pa.Array:
    """ISO 8601 UTC strings at the coarsest of s/ms/us/ns that keeps every ts exact."""
    unit: Literal["s", "ms", "us", "ns"] = "ns"
    steps: tuple[tuple[Literal["s", "ms", "us"], int], ...] = (
        ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)
    )
    for u, step in steps:
        if bool(np.all(ts % step == 0)):
            unit = u
            break
    dt: npt.NDArray[np.datetime64] = ts.astype("datetime64[ns]")
    text = np.datetime_as_string(dt, unit=unit, timezone="UTC")
    return pa.array(text.tolist(), type=pa.string())


def _paths(ids: npt.NDArray[np.int32], paths: Mapping[int, str]) -> pa.Array:
    uniq, inv = np.unique(ids, return_inverse=True)
    names = np.array([paths.get(int(i), f"#{int(i)}") for i in uniq], dtype=object)
    return pa.array(names[inv].tolist() if len(ids) else [], type=pa.string())


def raw_table(batch: Batch, paths: Mapping[int, str]) -> pa.Table:
    return pa.table(
        {
            "signal": _paths(batch.signal, paths),
            "time": iso_times(batch.ts),
            "value": pa.array(batch.value),
            "quality": pa.array(batch.quality),
        }
    )


def aggregate_table(agg: pa.Table, paths: Mapping[int, str]) -> pa.Table:
    ids = np.asarray(agg.column("signal_id").to_numpy(), dtype=np.int32)
    buckets = np.asarray(agg.column("bucket").to_numpy(), dtype=np.int64)
    cols: dict[str, pa.Array | pa.ChunkedArray] = {
        "signal": _paths(ids, paths),
        "time": iso_times(buckets),
    }
    for name in ("min", "max", "mean", "count", "first", "last"):
        cols[name] = agg.column(name)
    return pa.table(cols)


def write(table: pa.Table, path: Path, format: Literal["csv", "parquet"]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "parquet":
        pq.write_table(table, path)
    elif format == "csv":
        pacsv.write_csv(table, path)
    else:
        raise ValueError(f"unknown export format {format!r}: expected 'csv' or 'parquet'")
    return int(table.num_rows)
