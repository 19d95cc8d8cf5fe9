"""Server-mode historian on PostgreSQL (psycopg 3).

Raw rows live in a table range-partitioned by day on ts (partitions made on demand) with
a (signal_id, ts) primary key, because several ingest workers may write. Rows above this
process's high-water mark are binary-COPYed straight in, in a savepoint; if another
writer got there first the unique key aborts that COPY and the rows take the slow path:
COPY to a temp staging table, then ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, whose
returned rows are exactly the newly stored ones. Rollups and latest values are upserted
from those rows in the same transaction.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import errors as pgerr

from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plant import RetentionSpec
from ironfield.core.signals import SignalDef
from ironfield.core.timeutil import NS_PER_DAY
from ironfield.historian import pg_sql, sql
from ironfield.historian.base import AGG_SCHEMA, DeadLetter, Historian, ids_array
from ironfield.historian.ingest import LatestCache, last_of_runs, prepare
from ironfield.historian.pgcopy import PARTIAL_TYPES, RAW_TYPES, decode, encode
from ironfield.historian.rollup import PARTIAL_COLUMNS, WIDTHS, coarsen, partials
from ironfield.historian.schema import events_table, retention_table, signals_table


class PostgresHistorian(Historian):
    """Historian in a PostgreSQL schema (``schema`` is created if missing)."""

    def __init__(self, dsn: str, *, schema: str = "ironfield", pool_size: int = 4) -> None:
        if not pg_sql.IDENT.match(schema):
            raise ValueError(f"bad schema name {schema!r}: expected [a-z_][a-z0-9_]*")
        self.dsn = dsn
        self.schema = schema
        self._pool: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue(pool_size)
        self._w: psycopg.Connection[Any] | None = None
        self._wlock = threading.RLock()
        self._cache = LatestCache()
        self._parts: set[int] = set()

    # -- lifecycle -------------------------------------------------------------------
    def open(self) -> None:
        with self._wlock:
            if self._w is not None:
                return
            w = psycopg.connect(self.dsn, autocommit=True)
            with w.transaction():
                w.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [self.schema + ".ddl"])
                w.execute(pg_sql.DDL.format(s=self.schema))
            w.execute(pg_sql.STAGE.format(s=self.schema))
            self._w = w
            self._load_parts()
            self._reload_cache()

    def close(self) -> None:
        with self._wlock:
            if self._w is not None:
                self._w.close()
                self._w = None
            while not self._pool.empty():
                self._pool.get_nowait().close()

    def _writer(self) -> psycopg.Connection[Any]:
        if self._w is None:
            raise RuntimeError("historian is not open")
        if self._w.broken or self._w.closed:  # server restarted: reconnect, re-stage
            w = psycopg.connect(self.dsn, autocommit=True)
            w.execute(pg_sql.STAGE.format(s=self.schema))
            self._w = w
        return self._w

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        if self._w is None:
            raise RuntimeError("historian is not open")
        try:
            c = self._pool.get_nowait()
        except queue.Empty:
            c = psycopg.connect(self.dsn, autocommit=True)
        try:
            yield c
        except BaseException:
            c.close()  # it may be broken; a new one is cheap next time
            raise
        try:
            self._pool.put_nowait(c)
        except queue.Full:
            c.close()

    def _load_parts(self) -> None:
        rows = self._writer().execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE p.relname = 'raw' AND n.nspname = %s",
            [self.schema],
        ).fetchall()
        self._parts = {int(r[0].removeprefix("raw_d")) for r in rows}

    def _reload_cache(self) -> None:
        rows = self._writer().execute(
            f"SELECT signal_id, ts, value, quality FROM {self.schema}.latest"
        ).fetchall()
        cache = LatestCache()
        if rows:
            s, t, v, q = zip(*rows, strict=True)
            cache.update(Batch.build(s, t, v, q))
        self._cache = cache

    def _ensure_partitions(self, ts: np.ndarray) -> None:
        lo, hi = int(ts.min()) // NS_PER_DAY, int(ts.max()) // NS_PER_DAY
        if lo == hi and lo in self._parts:
            return
        days = np.unique(ts // NS_PER_DAY)
        missing = [int(d) for d in days if int(d) not in self._parts]
        if not missing:
            return
        w = self._writer()
        with w.transaction():
            w.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [self.schema + ".parts"])
            for d in missing:
                w.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.schema}.raw_d{d} PARTITION OF "
                    f"{self.schema}.raw FOR VALUES FROM ({d * NS_PER_DAY}) "
                    f"TO ({(d + 1) * NS_PER_DAY})"
                )
        self._parts.update(missing)

    # -- signals ---------------------------------------------------------------------
    def load_signal_ids(self) -> dict[str, int]:
        with self._conn() as c:
            rows = c.execute(f"SELECT id, path FROM {self.schema}.signals").fetchall()
        return {p: int(i) for i, p in rows}

    def save_signals(self, defs: Sequence[SignalDef], mapping: Mapping[str, int]) -> None:
        with self._wlock:
            full, bare = signals_table(defs, mapping, self.load_signal_ids())
            w = self._writer()
            with w.transaction():
                for table, q in ((full, sql.SIGNALS_UPSERT), (bare, sql.SIGNALS_INSERT)):
                    if table.num_rows == 0:
                        continue
                    cols = table.to_pydict()
                    src = (
                        "(SELECT * FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[], "
                        "%s::float8[], %s::float8[], %s::text[], %s::text[])) AS "
                    )
                    stmt = q.format(s=self.schema + ".").replace("_sig", src + "_sig")
                    w.execute(stmt, list(cols.values()))

    # -- write -----------------------------------------------------------------------
    def write(self, batch: Batch) -> int:
        if len(batch) == 0:
            return 0
        with self._wlock:
            b = prepare(batch)
            try:
                return self._write(b)
            except pgerr.CheckViolation:
                # "no partition for row": another worker's retention dropped a day we
                # still believed in. Learn the partitions again and retry once.
                self._load_parts()
                return self._write(b)

    def _write(self, b: Batch) -> int:
        with self._wlock:
            self._ensure_partitions(b.ts)
            w = self._writer()
            fresh = self._cache.is_new(b)
            conflict = False
            with w.transaction():
                parts: list[Batch] = []
                if fresh.any():
                    fb = b if bool(fresh.all()) else b.take(fresh)
                    try:
                        with w.transaction():
                            self._copy_in(w, f"{self.schema}.raw", fb)
                        parts.append(fb)
                    except pgerr.UniqueViolation:
                        conflict = True  # another writer got ahead of our mark
                        fresh[:] = False
                if not fresh.all():
                    parts.append(self._insert_slow(w, b.take(~fresh)))
                new = prepare(Batch.concat(parts))
                if len(new):
                    p1m = partials(new, WIDTHS["rollup_1m"])
                    self._upsert(w, "rollup_1m", p1m)
                    self._upsert(w, "rollup_1h", coarsen(p1m, WIDTHS["rollup_1h"]))
                    w.execute("TRUNCATE stage_raw")
                    self._copy_in(w, "stage_raw", last_of_runs(new))
                    w.execute(pg_sql.UPSERT_LATEST.format(s=self.schema))
            if conflict:
                self._reload_cache()
            else:
                self._cache.update(new, ordered=True)
            return len(new)

    def _copy_in(self, w: psycopg.Connection[Any], table: str, b: Batch) -> None:
        data = encode([b.signal, b.ts, b.value, b.quality], RAW_TYPES)
        with w.cursor().copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(data)

    def _insert_slow(self, w: psycopg.Connection[Any], old: Batch) -> Batch:
        self._copy_in(w, "stage_raw", old)
        rows = w.execute(
            f"INSERT INTO {self.schema}.raw SELECT * FROM stage_raw ON CONFLICT DO NOTHING "
            "RETURNING signal_id, ts, value, quality"
        ).fetchall()
        if not rows:
            return Batch.empty()
        s, t, v, q = zip(*rows, strict=True)
        return Batch.build(s, t, v, q)

    def _upsert(self, w: psycopg.Connection[Any], table: str, p: pa.Table) -> None:
        if p.num_rows == 0:
            return
        cols = [p.column(c).to_numpy() for c in PARTIAL_COLUMNS]
        with w.cursor().copy(f"COPY stage_{table} FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(encode(cols, PARTIAL_TYPES))
        w.execute(pg_sql.UPSERT_ROLLUP.format(s=self.schema, t=table))

    def write_events(self, events: Sequence[Event]) -> int:
        if not events:
            return 0
        cols = list(events_table(events).to_pydict().values())
        with self._wlock:
            w = self._writer()
            with w.transaction():
                rows = w.execute(
                    f"INSERT INTO {self.schema}.events SELECT * FROM unnest(%s::text[], "
                    "%s::text[], %s::text[], %s::bigint[], %s::jsonb[]) "
                    "ON CONFLICT DO NOTHING RETURNING id",
                    cols,
                ).fetchall()
            return len(rows)

    def write_dead_letters(self, rows: Sequence[DeadLetter]) -> None:
        if not rows:
            return
        with self._wlock:
            w = self._writer()
            with w.transaction():
                w.execute(
                    f"INSERT INTO {self.schema}.dead_letters (source, received_ts, payload, "
                    "reason) SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bytea[], "
                    "%s::text[])",
                    [[r.source for r in rows], [r.received_ts for r in rows],
                     [bytes(r.payload) for r in rows], [r.reason for r in rows]],
                )

    # -- read ------------------------------------------------------------------------
    def events(
        self,
        start: int,
        end: int,
        types: Sequence[str] | None = None,
        asset_prefix: str | None = None,
        limit: int = 1000,
    ) -> list[Event]:
        q, params = sql.events_query(f"{self.schema}.events", "payload::text", start, end, types,
                                     asset_prefix, limit, type_in="type = ANY(?)")
        with self._conn() as c:
            rows = c.execute(sql.pg(q), params).fetchall()
        return [sql.row_to_event(r) for r in rows]

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        with self._conn() as c:
            rows = c.execute(
                f"SELECT id, source, received_ts, payload, reason FROM {self.schema}.dead_letters "
                "ORDER BY id DESC LIMIT %s",
                [limit],
            ).fetchall()
        return [DeadLetter(s, int(t), bytes(p), r, int(i)) for i, s, t, p, r in rows]

    def _copy_out(self, query: str) -> Batch:
        with self._conn() as c, c.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as cp:
            data = b"".join(bytes(chunk) for chunk in cp)
        s, t, v, q = decode(data, RAW_TYPES)
        return Batch(s.astype(np.int32), t.astype(np.int64), v.astype(np.float64),
                     q.astype(np.uint8))

    def raw(
        self, signals: Sequence[int], start: int, end: int, limit: int | None = None
    ) -> Batch:
        ids = ids_array(signals)
        if len(ids) == 0:
            return Batch.empty()
        q = (
            "SELECT signal_id, ts, COALESCE(value, 'NaN'), quality "
            f"FROM {self.schema}.raw WHERE {sql.in_list('signal_id', ids)} "
            f"AND ts >= {int(start)} AND ts < {int(end)} ORDER BY signal_id, ts"
        )
        if limit is not None:
            q += f" LIMIT {int(limit)}"
        return self._copy_out(q)

    def aggregate(
        self, signals: Sequence[int], start: int, end: int, interval_ns: int
    ) -> pa.Table:
        ids = ids_array(signals)
        if interval_ns <= 0:
            raise ValueError(f"interval_ns must be > 0, got {interval_ns}")
        if len(ids) == 0:
            return AGG_SCHEMA.empty_table()
        table = sql.rollup_for(interval_ns, start, end)
        where = sql.in_list("signal_id", ids)
        if table:
            q = sql.agg_from_rollup(
                f"{self.schema}.{table}", where, interval_ns,
                pg_sql.first_last("first_v", "first_ts")[0], pg_sql.first_last("last_v", "last_ts")[1],
            )
        else:
            q = sql.agg_from_raw(
                f"{self.schema}.raw", where, interval_ns, *pg_sql.first_last("value", "ts")
            )
        with self._conn() as c:
            rows = c.execute(sql.pg(q), [start, end]).fetchall()
        cols: list[Sequence[Any]] = (
            list(zip(*rows, strict=True)) if rows else [[] for _ in AGG_SCHEMA]
        )
        return pa.Table.from_arrays(
            [pa.array(col, f.type) for col, f in zip(cols, AGG_SCHEMA, strict=True)],
            schema=AGG_SCHEMA,
        )

    def last(self, signals: Sequence[int] | None = None) -> Batch:
        # From the table, not the cache: other writers may have stored later rows.
        where = "" if signals is None else f"WHERE {sql.in_list('signal_id', ids_array(signals))}"
        if signals is not None and len(signals) == 0:
            return Batch.empty()
        return self._copy_out(
            "SELECT signal_id, ts, COALESCE(value, 'NaN'), quality "
            f"FROM {self.schema}.latest {where} ORDER BY signal_id"
        )

    def minmax(
        self, signal: int, start: int, end: int, points: int, ends: bool = False
    ) -> Batch:
        step = max(1, -(-(end - start) // points))
        r = (
            f"SELECT signal_id, ts, value, quality, (ts - {int(start)}) / {step} AS k "
            f"FROM {self.schema}.raw WHERE signal_id = {int(signal)} AND ts >= {int(start)} "
            f"AND ts < {int(end)} AND {sql.NOT_NAN}"
        )
        # Aggregate then join back: hash aggregation, where DISTINCT ON per extreme
        # needs a sort each (2-3x slower on a day of 1 Hz rows).
        q = (
            f"WITH r AS MATERIALIZED ({r}), g AS (SELECT k, min(value) AS mn, max(value) AS mx, "
            "min(ts) AS f, max(ts) AS l FROM r GROUP BY k), "
            "e AS (SELECT DISTINCT ON (r.k, r.value) r.signal_id, r.ts, r.value, r.quality "
            "FROM r JOIN g USING (k) WHERE r.value = g.mn OR r.value = g.mx "
            "ORDER BY r.k, r.value, r.ts) SELECT signal_id, ts, value, quality FROM e "
            + ("UNION SELECT r.signal_id, r.ts, r.value, r.quality FROM r JOIN g USING (k) "
               "WHERE r.ts = g.f OR r.ts = g.l " if ends else "")
            + "ORDER BY ts"
        )
        return self._copy_out(q)

    # -- maintenance -----------------------------------------------------------------
    def apply_retention(
        self, now: int, retention: Mapping[str, RetentionSpec]
    ) -> dict[str, int]:
        with self._wlock:
            w = self._writer()
            classes = {
                int(i): c
                for i, c in w.execute(f"SELECT id, class FROM {self.schema}.signals").fetchall()
            }
            cut, default = retention_table(now, retention, classes)
            out = {"raw": 0, "rollup_1m": 0, "rollup_1h": 0, "partitions_dropped": 0}
            with w.transaction():
                w.execute(
                    "CREATE TEMP TABLE _cut (signal_id integer, raw bigint, rollup_1m bigint, "
                    "rollup_1h bigint) ON COMMIT DROP"
                )
                cols = list(cut.to_pydict().values())
                w.execute(
                    "INSERT INTO _cut SELECT * FROM unnest(%s::int[], %s::bigint[], "
                    "%s::bigint[], %s::bigint[])",
                    cols,
                )
                raw_cuts = cols[1] + [None if default is None else default.raw]
                if all(c is not None for c in raw_cuts):
                    floor_cut = min(c for c in raw_cuts if c is not None)
                    for d in sorted(self._parts):
                        if (d + 1) * NS_PER_DAY <= floor_cut:
                            part = f"{self.schema}.raw_d{d}"
                            row = w.execute(f"SELECT count(*) FROM {part}").fetchone()
                            out["raw"] += int(row[0]) if row else 0
                            w.execute(f"DROP TABLE {part}")
                            out["partitions_dropped"] += 1
                for table, col, cname, width in sql.RETENTION_TARGETS:
                    cur = w.execute(sql.pg(sql.RETENTION_BY_CLASS.format(
                        s=self.schema + ".", t=table, col=col, c=cname, w=width)))
                    out[table] += max(cur.rowcount, 0)
                    dcut: int | None = getattr(default, cname) if default else None
                    if dcut is not None:
                        cur = w.execute(sql.pg(sql.RETENTION_DEFAULT.format(
                            s=self.schema + ".", t=table, col=col, w=width)), [dcut])
                        out[table] += max(cur.rowcount, 0)
            self._load_parts()
            return out
