"""Embedded historian on DuckDB: one file under the data directory, no server.

Raw rows go in an index-free table (an ART index on (signal, ts) would cost more than the
insert itself); idempotency comes from the in-memory high-water mark (the file is
exclusively this process's, so it is exact) plus an anti-join for rows at or below it.

A write is one ``INSERT`` of the new rows, committed; each carries the write's sequence
number (a constant column, which DuckDB stores as one run). The 1 min / 1 h rollup
partials and latest values of the new rows are computed then (numpy, see
:mod:`ironfield.historian.rollup`) and appended to their tables at most every
``flush_interval`` seconds, merged, with the sequence number they cover, in one
transaction; every rollup query flushes first, so answers are always current. A crash
between the two loses nothing: ``open`` rebuilds the partials of the raw rows whose
sequence is past the covered one. Appended partials are merged by every query and
folded into one row per key every ``compact_rows`` (ClickHouse's AggregatingMergeTree
scheme). Per-statement cost, not per-row cost, is what DuckDB charges most for at
pipeline batch sizes, hence one statement per write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plant import RetentionSpec
from ironfield.core.signals import SignalDef
from ironfield.historian import duck_sql, sql
from ironfield.historian.base import AGG_SCHEMA, DeadLetter, Historian, ids_array
from ironfield.historian.ingest import LatestCache, last_of_runs, prepare
from ironfield.historian.rollup import WIDTHS, coarsen, merge, partials
from ironfield.historian.schema import (
    DEAD_LETTER_SCHEMA,
    events_table,
    retention_table,
    signals_table,
)


class DuckDBHistorian(Historian):
    """Historian in a DuckDB file (``":memory:"`` for a throw-away one)."""

    def __init__(
        self,
        path: Path | str,
        *,
        flush_interval: float = 1.0,
        flush_rows: int = 100_000,
        compact_rows: int = 500_000,
    ) -> None:
        self.path = str(path)
        self.flush_interval = flush_interval
        self.flush_rows = flush_rows
        self.compact_rows = compact_rows
        self._root: Any = None  # only makes cursors: one per reader, one for the writer
        self._con: Any = None
        self._wlock = threading.RLock()
        self._clock = threading.Lock()
        self._cache = LatestCache()
        self._seq = 0
        self._pending: dict[str, list[pa.Table]] = {t: [] for t in WIDTHS}
        self._pending_latest: list[Batch] = []
        self._pending_rows = 0
        self._flushed_at = time.monotonic()
        self._appended = 0
        self._dirty: dict[str, int] = {}

    # -- lifecycle -------------------------------------------------------------------
    def open(self) -> None:
        with self._wlock:
            if self._con is not None:
                return
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._root = duckdb.connect(self.path)
            con = self._root.cursor()
            con.execute(duck_sql.DDL)
            for t in WIDTHS:
                con.execute(duck_sql.ROLLUP_DDL.format(t=t))
            cols = {r[1] for r in con.execute("PRAGMA table_info('raw')").fetchall()}
            if "seq" not in cols:  # a file from before the write sequence existed
                con.execute("ALTER TABLE raw ADD COLUMN seq BIGINT NOT NULL DEFAULT 0")
                con.execute(  # and the high-water marks straight from raw, once
                    "INSERT INTO latest SELECT signal_id, max(ts), arg_max(value, ts), "
                    "arg_max(quality, ts) FROM raw GROUP BY signal_id"
                )
            have = {r[0] for r in con.execute("SELECT key FROM meta").fetchall()}
            for k in duck_sql.META_KEYS:
                if k not in have:
                    con.execute("INSERT INTO meta VALUES (?, ?)", [k, 0 if k == "rolled_seq"
                                                                   else duck_sql.NO_DIRTY])
            self._con = con
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            self._dirty = {t: int(meta[f"dirty_{t}"]) for t in WIDTHS}
            rolled = int(meta["rolled_seq"])
            top = int(self._one(con, "SELECT coalesce(max(seq), 0) FROM raw"))
            self._seq = max(top, rolled)
            if top > rolled:
                self._rebuild(rolled, top)
            tbl = con.sql(sql.LATEST_MERGED.format(t="latest")).to_arrow_table()
            self._cache = LatestCache()
            self._cache.update(Batch.from_arrow(tbl))
            self._flushed_at = time.monotonic()

    def _rebuild(self, rolled: int, top: int) -> None:
        """Partials and latest values of raw rows written after the last flush (a crash)."""
        with self._tx() as con:
            low = self._one(con, "SELECT min(ts) FROM raw WHERE seq > ?", [rolled])
            for t, width in WIDTHS.items():
                con.execute(duck_sql.rebuild_sql(t, width), [rolled])
                if low is not None:
                    self._dirty[t] = min(self._dirty[t], int(low) - int(low) % width)
                    self._meta_set(con, f"dirty_{t}", self._dirty[t])
            con.execute(
                "INSERT INTO latest SELECT signal_id, max(ts), arg_max(value, ts), "
                "arg_max(quality, ts) FROM raw WHERE seq > ? GROUP BY signal_id",
                [rolled],
            )
            self._meta_set(con, "rolled_seq", top)

    def close(self) -> None:
        with self._wlock:
            if self._con is None:
                return
            try:
                self._flush()
                self._compact()
                self._con.execute("CHECKPOINT")
            finally:
                self._con.close()
                self._root.close()
                self._con = self._root = None

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        if self._con is None:
            raise RuntimeError("historian is not open")
        with self._clock:
            cur = self._root.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        if self._con is None:
            raise RuntimeError("historian is not open")
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    @staticmethod
    def _one(con: Any, q: str, params: list[Any] | None = None) -> Any:
        """The single value of a query, fetched to the end (DuckDB refuses more work on a
        connection while a result is unfinished)."""
        return con.execute(q, params or []).fetchall()[0][0]

    def _meta_set(self, con: Any, key: str, value: int) -> None:
        # No key index on meta: an ART upsert costs far more than this on 3 rows.
        con.execute("UPDATE meta SET value = ? WHERE key = ?", [value, key])

    # -- signals ---------------------------------------------------------------------
    def load_signal_ids(self) -> dict[str, int]:
        with self._cursor() as cur:
            return {p: int(i) for i, p in cur.execute("SELECT id, path FROM signals").fetchall()}

    def save_signals(self, defs: Sequence[SignalDef], mapping: Mapping[str, int]) -> None:
        with self._wlock:
            full, bare = signals_table(defs, mapping, self.load_signal_ids())
            with self._tx() as con:
                for table, q in ((full, sql.SIGNALS_UPSERT), (bare, sql.SIGNALS_INSERT)):
                    if table.num_rows:
                        con.register("_sig", table)
                        con.execute(q.format(s=""))
                        con.unregister("_sig")

    # -- write -----------------------------------------------------------------------
    def write(self, batch: Batch) -> int:
        if len(batch) == 0:
            return 0
        with self._wlock:
            if self._con is None:
                raise RuntimeError("historian is not open")
            b = prepare(batch)
            fresh = self._cache.is_new(b)
            if bool(fresh.all()):
                new = b
                self._append(self._con, "raw", self._raw_table(new, self._seq + 1))  # autocommit
            else:
                with self._tx() as con:
                    old = b.take(~fresh)
                    con.register("_old", old.to_arrow())
                    kept = con.sql(
                        sql.DUCK_ANTI_JOIN, params=[int(old.ts.min()), int(old.ts.max())]
                    ).to_arrow_table()
                    con.unregister("_old")
                    new = prepare(Batch.concat([b.take(fresh), Batch.from_arrow(kept)]))
                    if len(new):
                        self._append(con, "raw", self._raw_table(new, self._seq + 1))
            if len(new) == 0:
                return 0
            self._seq += 1
            p1m = partials(new, WIDTHS["rollup_1m"])
            self._pending["rollup_1m"].append(p1m)
            self._pending["rollup_1h"].append(coarsen(p1m, WIDTHS["rollup_1h"]))
            self._pending_latest.append(last_of_runs(new))
            self._pending_rows += p1m.num_rows
            self._cache.update(new, ordered=True)
            if (
                self._pending_rows >= self.flush_rows
                or time.monotonic() - self._flushed_at >= self.flush_interval
            ):
                self._flush()
            return len(new)

    @staticmethod
    def _raw_table(b: Batch, seq: int) -> pa.Table:
        return b.to_arrow().append_column("seq", pa.array(np.full(len(b), seq, np.int64)))

    def _append(self, con: Any, table: str, data: pa.Table) -> None:
        con.register("_in", data)
        con.execute(f"INSERT INTO {table} SELECT * FROM _in")
        con.unregister("_in")

    def flush(self) -> None:
        if self._con is not None:
            self._flush()

    def _flush(self) -> None:
        """Append the pending partials and latest rows, with the sequence they cover."""
        with self._wlock:
            self._flushed_at = time.monotonic()
            if not self._pending_latest:
                return
            with self._tx() as con:
                for t, parts in self._pending.items():
                    p = merge(pa.concat_tables(parts))
                    if p.num_rows == 0:
                        continue
                    low = int(np.asarray(p.column("bucket").to_numpy()).min())
                    if low < self._dirty[t]:
                        self._meta_set(con, f"dirty_{t}", low)
                    self._append(con, t, p)
                lat = Batch.concat(self._pending_latest).latest_per_signal()
                self._append(con, "latest", lat.to_arrow())
                self._meta_set(con, "rolled_seq", self._seq)
            for t, parts in self._pending.items():
                if parts:
                    low = int(np.asarray(pa.concat_tables(parts).column("bucket")).min())
                    self._dirty[t] = min(self._dirty[t], low)
                parts.clear()
            self._appended += self._pending_rows
            self._pending_latest.clear()
            self._pending_rows = 0
            if self._appended >= self.compact_rows:
                self._compact()

    def _compact(self) -> None:
        """Fold appended partials into one row per (signal, bucket) and per signal."""
        with self._wlock, self._tx() as con:
            for t in WIDTHS:
                low = self._dirty[t]
                if low == duck_sql.NO_DIRTY:
                    continue
                con.execute(f"CREATE TEMP TABLE _merged AS {sql.PARTIALS_MERGED.format(t=t)}", [low])
                con.execute(f"DELETE FROM {t} WHERE bucket >= ?", [low])
                con.execute(f"INSERT INTO {t} SELECT * FROM _merged ORDER BY signal_id, bucket")
                con.execute("DROP TABLE _merged")
                self._meta_set(con, f"dirty_{t}", duck_sql.NO_DIRTY)
            con.execute("DELETE FROM latest")
            self._append(con, "latest", self._cache.snapshot(None).to_arrow())
        for t in WIDTHS:
            self._dirty[t] = duck_sql.NO_DIRTY
        self._appended = 0

    def write_events(self, events: Sequence[Event]) -> int:
        if not events:
            return 0
        with self._wlock, self._tx() as con:
            con.register("_ev", events_table(events))
            n = len(con.execute(sql.EVENTS_INSERT.format(s="")).fetchall())
            con.unregister("_ev")
            return n

    def write_dead_letters(self, rows: Sequence[DeadLetter]) -> None:
        if not rows:
            return
        table = pa.Table.from_pylist(
            [
                {"source": r.source, "received_ts": r.received_ts, "payload": r.payload,
                 "reason": r.reason}
                for r in rows
            ],
            schema=DEAD_LETTER_SCHEMA,
        )
        with self._wlock, self._tx() as con:
            con.register("_dl", table)
            con.execute(
                "INSERT INTO dead_letters (source, received_ts, payload, reason) "
                "SELECT * FROM _dl"
            )
            con.unregister("_dl")

    # -- read ------------------------------------------------------------------------
    def events(
        self,
        start: int,
        end: int,
        types: Sequence[str] | None = None,
        asset_prefix: str | None = None,
        limit: int = 1000,
    ) -> list[Event]:
        q, params = sql.events_query("events", "payload", start, end, types, asset_prefix, limit,
                                     type_in="list_contains(?, type)")
        with self._cursor() as cur:
            rows = cur.execute(q, params).fetchall()
        return [sql.row_to_event(r) for r in rows]

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT id, source, received_ts, payload, reason FROM dead_letters "
                "ORDER BY id DESC LIMIT ?",
                [limit],
            ).fetchall()
        return [DeadLetter(s, int(t), bytes(p), r, int(i)) for i, s, t, p, r in rows]

    def raw(
        self, signals: Sequence[int], start: int, end: int, limit: int | None = None
    ) -> Batch:
        ids = ids_array(signals)
        if len(ids) == 0:
            return Batch.empty()
        q = (
            "SELECT signal_id, ts, value, quality FROM raw WHERE "
            f"{sql.in_list('signal_id', ids)} AND ts >= ? AND ts < ? ORDER BY signal_id, ts"
        )
        params: list[Any] = [start, end]
        if limit is not None:
            q += " LIMIT ?"
            params.append(limit)
        with self._cursor() as cur:
            return Batch.from_arrow(cur.sql(q, params=params).to_arrow_table())

    def aggregate(
        self, signals: Sequence[int], start: int, end: int, interval_ns: int
    ) -> pa.Table:
        ids = ids_array(signals)
        if interval_ns <= 0:
            raise ValueError(f"interval_ns must be > 0, got {interval_ns}")
        if len(ids) == 0:
            return AGG_SCHEMA.empty_table()
        table = sql.rollup_for(interval_ns, start, end)
        if table:
            self._flush()
        where = sql.in_list("signal_id", ids)
        if table:
            q = sql.agg_from_rollup(
                table, where, interval_ns,
                "arg_min(first_v, first_ts)", "arg_max(last_v, last_ts)",
            )
        else:
            q = sql.agg_from_raw(
                "raw", where, interval_ns, "arg_min(value, ts)", "arg_max(value, ts)"
            )
        with self._cursor() as cur:
            out = cur.sql(q, params=[start, end]).to_arrow_table()
        return out.cast(AGG_SCHEMA)

    def last(self, signals: Sequence[int] | None = None) -> Batch:
        if self._con is None:
            raise RuntimeError("historian is not open")
        return self._cache.snapshot(None if signals is None else ids_array(signals))

    def minmax(
        self, signal: int, start: int, end: int, points: int, ends: bool = False
    ) -> Batch:
        step = max(1, -(-(end - start) // points))
        q = sql.DUCK_MINMAX.format(ends=sql.DUCK_M4_ENDS if ends else "")
        with self._cursor() as cur:
            tbl = cur.sql(q, params=[start, step, int(signal), start, end]).to_arrow_table()
        return Batch.from_arrow(tbl)

    # -- maintenance -----------------------------------------------------------------
    def apply_retention(
        self, now: int, retention: Mapping[str, RetentionSpec]
    ) -> dict[str, int]:
        with self._wlock:
            self._flush()
            classes = self._classes()
            cut, default = retention_table(now, retention, classes)
            out: dict[str, int] = {}
            with self._tx() as con:
                con.register("_cut", cut)
                for table, col, cname, width in sql.RETENTION_TARGETS:
                    q = sql.RETENTION_BY_CLASS.format(s="", t=table, col=col, c=cname, w=width)
                    n = int(self._one(con, q))
                    d = getattr(default, cname) if default else None
                    if d is not None:
                        q = sql.RETENTION_DEFAULT.format(s="", t=table, col=col, w=width)
                        n += int(self._one(con, q, [d]))
                    out[table] = int(n)
                con.unregister("_cut")
            return out

    def _classes(self) -> dict[int, str]:
        with self._cursor() as cur:
            return {int(i): c for i, c in cur.execute("SELECT id, class FROM signals").fetchall()}

    # -- introspection used by tests and benches --------------------------------------
    def count_raw(self) -> int:
        with self._cursor() as cur:
            return int(self._one(cur, "SELECT count(*) FROM raw"))
