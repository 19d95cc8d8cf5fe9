"""The historian interface: one contract, two backends (embedded DuckDB, PostgreSQL).

Methods are synchronous and thread-safe: the pipeline writes from a worker thread while
API queries arrive on others. Times are int64 ns since the epoch (UTC); ranges are
half-open ``[start, end)``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import numpy as np
import pyarrow as pa

from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plant import RetentionSpec
from ironfield.core.signals import SignalDef
from ironfield.core.timeutil import parse_duration
from ironfield.historian import export as _export
from ironfield.historian.downsample import lttb

AGG_SCHEMA = pa.schema(
    [
        pa.field("signal_id", pa.int32()),
        pa.field("bucket", pa.int64()),
        pa.field("min", pa.float64()),
        pa.field("max", pa.float64()),
        pa.field("mean", pa.float64()),
        pa.field("count", pa.int64()),
        pa.field("first", pa.float64()),
        pa.field("last", pa.float64()),
    ]
)

Method = Literal["minmax", "lttb"]
ExportFormat = Literal["csv", "parquet"]

# LTTB runs client-side on an in-database M4 pre-reduction this many times finer
# than the requested points, so a year of raw data still never leaves the database.
LTTB_PREREDUCE = 4


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that could not be turned into a batch, kept with the reason."""

    source: str
    received_ts: int
    payload: bytes
    reason: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Per retention class: rows with ts below these [ns] are past retention."""

    raw: int
    rollup_1m: int
    rollup_1h: int


def cutoffs(now: int, retention: Mapping[str, RetentionSpec]) -> dict[str, Cutoffs]:
    return {
        k: Cutoffs(
            now - parse_duration(r.raw),
            now - parse_duration(r.rollup_1m),
            now - parse_duration(r.rollup_1h),
        )
        for k, r in retention.items()
    }


def ids_array(signals: Sequence[int] | np.ndarray) -> np.ndarray:
    """Signal ids as a sorted, repeat-free int32 array (no sort if already so)."""
    a = np.asarray(signals, dtype=np.int32)
    if len(a) > 1 and not bool(np.all(a[1:] > a[:-1])):
        a = np.unique(a)
    return a


class Historian(abc.ABC):
    """Stores batches, events and dead letters; answers raw, aggregate and plot queries."""

    # -- lifecycle -------------------------------------------------------------------
    @abc.abstractmethod
    def open(self) -> None:
        """Connect, create the schema if missing, load the high-water marks."""

    @abc.abstractmethod
    def close(self) -> None:
        """Flush and disconnect; safe to call twice."""

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- signals ---------------------------------------------------------------------
    @abc.abstractmethod
    def load_signal_ids(self) -> dict[str, int]:
        """Every stored signal path and its id (feed to ``SignalRegistry.load``)."""

    @abc.abstractmethod
    def save_signals(self, defs: Sequence[SignalDef], mapping: Mapping[str, int]) -> None:
        """Store definitions with their ids; paths in ``mapping`` without a definition get
        defaults. Raises ``ValueError`` if a path or id is already stored differently."""

    # -- write -----------------------------------------------------------------------
    @abc.abstractmethod
    def write(self, batch: Batch) -> int:
        """Store rows not yet stored (first write of a (signal, ts) wins), update latest
        values and the 1 min / 1 h rollups from those rows only, commit, and return how
        many rows were new."""

    def flush(self) -> None:
        """Bring the rollup and latest tables on disk up to date with every write.

        Writes are durable when ``write`` returns whatever this does; queries always see
        current rollups. A backend that defers rollup maintenance overrides this.
        """
        return None

    @abc.abstractmethod
    def write_events(self, events: Sequence[Event]) -> int:
        """Store events not yet stored (by id); returns how many were new."""

    @abc.abstractmethod
    def write_dead_letters(self, rows: Sequence[DeadLetter]) -> None: ...

    # -- read ------------------------------------------------------------------------
    @abc.abstractmethod
    def events(
        self,
        start: int,
        end: int,
        types: Sequence[str] | None = None,
        asset_prefix: str | None = None,
        limit: int = 1000,
    ) -> list[Event]:
        """Events in ``[start, end)`` ordered by ts; ``asset_prefix`` matches the asset or
        anything below it in the asset tree."""

    @abc.abstractmethod
    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The newest dead letters first."""

    @abc.abstractmethod
    def raw(
        self, signals: Sequence[int], start: int, end: int, limit: int | None = None
    ) -> Batch:
        """Stored rows in ``[start, end)`` ordered by signal then ts."""

    @abc.abstractmethod
    def aggregate(
        self, signals: Sequence[int], start: int, end: int, interval_ns: int
    ) -> pa.Table:
        """Per signal and epoch-aligned bucket of ``interval_ns``: min, max, mean, count,
        first, last (NaN values skipped); columns as ``AGG_SCHEMA``. Served from the rollups
        when ``interval_ns`` and the range are aligned to 1 min or 1 h, else from raw."""

    @abc.abstractmethod
    def last(self, signals: Sequence[int] | None = None) -> Batch:
        """Last stored row per signal (all signals when ``None``), ordered by signal."""

    @abc.abstractmethod
    def minmax(
        self, signal: int, start: int, end: int, points: int, ends: bool = False
    ) -> Batch:
        """For each of ``points`` equal buckets of the range, the rows holding the min and
        max value (and with ``ends`` the first and last rows too: M4 [1]_), in time order,
        computed in the database. NaN values are skipped.

        .. [1] Jugel et al. 2014, M4: A Visualization-Oriented Time Series Data
           Aggregation, PVLDB 7(10).
        """

    def downsample(
        self, signal: int, start: int, end: int, points: int, method: Method = "minmax"
    ) -> Batch:
        """A plot-ready version of a range.

        ``minmax``: at most ``2 * points`` rows keeping each bucket's extremes (so the
        global min and max survive). ``lttb``: at most ``points`` rows chosen by
        Largest-Triangle-Three-Buckets [1]_ over an in-database M4 pre-reduction
        (first, last, min, max of ``4 * points`` buckets), so first and last rows stay.

        .. [1] Steinarsson 2013, Downsampling Time Series for Visual Representation,
           MSc thesis, University of Iceland.
        """
        if points < 1:
            raise ValueError(f"points must be >= 1, got {points}")
        if method == "minmax":
            return self.minmax(signal, start, end, points)
        if method == "lttb":
            pre = self.minmax(signal, start, end, points * LTTB_PREREDUCE, ends=True)
            idx = lttb(pre.ts, pre.value, points)
            return pre.take(idx)
        raise ValueError(f"unknown downsampling method {method!r}: expected 'minmax' or 'lttb'")

    # -- maintenance -----------------------------------------------------------------
    @abc.abstractmethod
    def apply_retention(
        self, now: int, retention: Mapping[str, RetentionSpec]
    ) -> dict[str, int]:
        """Drop raw rows and rollups older than their class's limits (class ``default``
        for signals whose class has no entry; kept forever if neither). Rollups survive
        their raw rows. Returns rows removed per table."""

    def export(
        self,
        signals: Sequence[int],
        start: int,
        end: int,
        path: Path | str,
        format: ExportFormat = "parquet",
        kind: Literal["raw"] | int = "raw",
    ) -> int:
        """Write a raw range (``kind="raw"``) or an aggregate (``kind`` = interval [ns]) to
        CSV or Parquet with signal paths and ISO 8601 UTC times; returns rows written."""
        paths = {sid: p for p, sid in self.load_signal_ids().items()}
        if kind == "raw":
            table = _export.raw_table(self.raw(signals, start, end), paths)
        else:
            table = _export.aggregate_table(self.aggregate(signals, start, end, kind), paths)
        return _export.write(table, Path(path), format)
