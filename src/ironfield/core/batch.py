"""The columnar batch: how data moves through ironfield.

A batch is four equal-length columns (signal id, timestamp, value, quality). Moving data
as columns rather than points is what keeps the cost per value low enough for a
680-robot shop on one machine: every stage does numpy/Arrow work per batch, never Python
work per value. A waveform (a weld's current curve) is simply a batch of its own signal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ironfield.core.errors import BatchError
from ironfield.core.quality import Quality

SignalIds = npt.NDArray[np.int32]
Timestamps = npt.NDArray[np.int64]
Values = npt.NDArray[np.float64]
Qualities = npt.NDArray[np.uint8]

ARROW_SCHEMA = pa.schema(
    [
        pa.field("signal_id", pa.int32(), nullable=False),
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("quality", pa.uint8(), nullable=False),
    ]
)


@dataclass(frozen=True, slots=True)
class Batch:
    """Columns of (signal id, ts [ns since epoch, UTC], value, quality [OPC DA byte])."""

    signal: SignalIds
    ts: Timestamps
    value: Values
    quality: Qualities

    def __post_init__(self) -> None:
        n = len(self.signal)
        if not (len(self.ts) == len(self.value) == len(self.quality) == n):
            raise BatchError(
                f"batch columns differ in length: signal {n}, ts {len(self.ts)}, "
                f"value {len(self.value)}, quality {len(self.quality)}"
            )

    @classmethod
    def build(
        cls,
        signal: npt.ArrayLike,
        ts: npt.ArrayLike,
        value: npt.ArrayLike,
        quality: npt.ArrayLike | int = Quality.GOOD,
    ) -> Batch:
        """A batch from anything array-like; scalars broadcast (one signal, one quality)."""
        cols = [np.asarray(signal), np.asarray(ts), np.asarray(value), np.asarray(quality)]
        n = max((c.size for c in cols if c.ndim), default=1)
        v = np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1) if cols[2].ndim else cols[2].astype(np.float64), (n,)))
        s = np.ascontiguousarray(np.broadcast_to(np.asarray(signal, dtype=np.int32), (n,)))
        t = np.ascontiguousarray(np.broadcast_to(np.asarray(ts, dtype=np.int64), (n,)))
        q = np.ascontiguousarray(np.broadcast_to(np.asarray(quality, dtype=np.uint8), (n,)))
        return cls(s, t, v, q)

    @classmethod
    def empty(cls) -> Batch:
        return cls(
            np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.uint8)
        )

    @classmethod
    def concat(cls, batches: Sequence[Batch]) -> Batch:
        if not batches:
            return cls.empty()
        if len(batches) == 1:
            return batches[0]
        return cls(
            np.concatenate([b.signal for b in batches]),
            np.concatenate([b.ts for b in batches]),
            np.concatenate([b.value for b in batches]),
            np.concatenate([b.quality for b in batches]),
        )

    def __len__(self) -> int:
        return len(self.signal)

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_] | slice) -> Batch:
        return Batch(self.signal[index], self.ts[index], self.value[index], self.quality[index])

    def sorted(self) -> Batch:
        """Ordered by (signal, ts)."""
        order = np.lexsort((self.ts, self.signal))
        return self.take(order)

    def latest_per_signal(self) -> Batch:
        """One row per signal: the one with the greatest ts (last seen wins ties)."""
        if len(self) == 0:
            return self
        order = np.lexsort((np.arange(len(self)), self.ts, self.signal))
        s = self.signal[order]
        last = np.ones(len(s), dtype=bool)
        last[:-1] = s[1:] != s[:-1]
        return self.take(order[last])

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_arrays(
            [pa.array(self.signal), pa.array(self.ts), pa.array(self.value), pa.array(self.quality)],
            schema=ARROW_SCHEMA,
        )

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Batch:
        def col(name: str, dtype: type[np.generic]) -> npt.NDArray[np.generic]:
            c = table.column(name)
            if c.null_count:
                arr = c.to_numpy(zero_copy_only=False)
                return np.asarray(arr, dtype=np.float64 if dtype is np.float64 else dtype)
            return np.ascontiguousarray(c.to_numpy(), dtype=dtype)

        return cls(
            col("signal_id", np.int32).astype(np.int32, copy=False),
            col("ts", np.int64).astype(np.int64, copy=False),
            col("value", np.float64).astype(np.float64, copy=False),
            col("quality", np.uint8).astype(np.uint8, copy=False),
        )

    def rows(self) -> Iterable[tuple[int, int, float, int]]:
        """Row tuples, for tests and small displays only (not a hot path)."""
        return zip(
            self.signal.tolist(), self.ts.tolist(), self.value.tolist(), self.quality.tolist(),
            strict=True,
        )
