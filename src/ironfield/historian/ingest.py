"""Write-path helpers shared by the backends: batch normalisation and the high-water mark.

Every backend sorts a batch by (signal, ts), drops repeats inside it (first occurrence
wins, matching "first write wins" across batches), then splits it on a per-signal
high-water mark: a row later than everything stored for its signal cannot be a
duplicate and is appended directly; only the rest pays for a lookup against storage.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from ironfield.core.batch import Batch

NONE_TS = np.iinfo(np.int64).min


def _strictly_sorted(s: npt.NDArray[np.int32], t: npt.NDArray[np.int64]) -> bool:
    if len(s) < 2:
        return True
    ds = s[1:].astype(np.int64) - s[:-1]
    return bool(np.all((ds > 0) | ((ds == 0) & (t[1:] > t[:-1]))))


def prepare(batch: Batch) -> Batch:
    """``batch`` ordered by (signal, ts) with repeated (signal, ts) removed (first kept)."""
    if _strictly_sorted(batch.signal, batch.ts):
        return batch
    order = np.lexsort((batch.ts, batch.signal))  # stable: equal keys keep arrival order
    s = batch.signal[order]
    t = batch.ts[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (s[1:] != s[:-1]) | (t[1:] != t[:-1])
    idx = order if bool(first.all()) else order[first]
    return batch.take(idx)


def last_of_runs(b: Batch) -> Batch:
    """The last row of each signal of a batch ordered by (signal, ts): its latest row."""
    n = len(b)
    if n == 0:
        return b
    end = np.ones(n, dtype=bool)
    end[:-1] = b.signal[1:] != b.signal[:-1]
    return b.take(end)


class LatestCache:
    """Per-signal last stored row (ts, value, quality), indexed by signal id.

    Doubles as the high-water mark: ``ts`` is the greatest ts stored per signal, or
    ``NONE_TS`` when nothing is. Arrays are replaced, never mutated in place, so readers
    on other threads always see a consistent snapshot without taking the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ts: npt.NDArray[np.int64] = np.full(0, NONE_TS, dtype=np.int64)
        self.value: npt.NDArray[np.float64] = np.zeros(0, dtype=np.float64)
        self.quality: npt.NDArray[np.uint8] = np.zeros(0, dtype=np.uint8)

    def hwm(self, signal: npt.NDArray[np.int32]) -> npt.NDArray[np.int64]:
        ts = self.ts
        out = np.full(len(signal), NONE_TS, dtype=np.int64)
        inside = signal < len(ts)
        if bool(inside.all()):
            return ts[signal]
        out[inside] = ts[signal[inside]]
        return out

    def is_new(self, batch: Batch) -> npt.NDArray[np.bool_]:
        out: npt.NDArray[np.bool_] = batch.ts > self.hwm(batch.signal)
        return out

    def update(self, rows: Batch, ordered: bool = False) -> None:
        """Fold in rows; a row replaces the cached one if it is later. ``ordered``: rows
        are sorted by (signal, ts), which saves a sort."""
        if len(rows) == 0:
            return
        lat = last_of_runs(rows) if ordered else rows.latest_per_signal()
        with self._lock:
            size = max(len(self.ts), int(lat.signal.max()) + 1)
            ts = np.full(size, NONE_TS, dtype=np.int64)
            value = np.zeros(size, dtype=np.float64)
            quality = np.zeros(size, dtype=np.uint8)
            k = len(self.ts)
            ts[:k], value[:k], quality[:k] = self.ts, self.value, self.quality
            later = lat.ts > ts[lat.signal]
            sel = lat.signal[later]
            ts[sel] = lat.ts[later]
            value[sel] = lat.value[later]
            quality[sel] = lat.quality[later]
            self.ts, self.value, self.quality = ts, value, quality

    def snapshot(self, signals: npt.NDArray[np.int32] | None) -> Batch:
        """Cached rows of ``signals`` (sorted, without repeats) or of every signal."""
        ts, value, quality = self.ts, self.value, self.quality
        if signals is None:
            ids = np.flatnonzero(ts != NONE_TS).astype(np.int32)
        else:
            ids = np.asarray(signals, dtype=np.int32)  # sorted, no repeats
            ids = ids[(ids >= 0) & (ids < len(ts))]
            ids = ids[ts[ids] != NONE_TS]
        return Batch(ids, ts[ids], value[ids], quality[ids])
