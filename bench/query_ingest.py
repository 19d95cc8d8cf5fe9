"""Historian write throughput against the raw backend insert of the same rows.

For each backend, the same batches (ts-major: every signal at one ts, then the next ts,
as a pipeline flush looks) are stored three ways, interleaved run by run so machine noise
hits all of them alike:

- baseline: the bare insert, one transaction per batch: DuckDB ``INSERT ... SELECT`` from
  the Arrow table; PostgreSQL binary COPY (numpy-encoded) into a table of the same shape
  (day partitions, (signal_id, ts) primary key);
- ``write()``: dedup, raw rows, latest values and the 1 min / 1 h rollups, committed;
- ``write()`` replay: the same batches again (all duplicates: the slow path);
- PostgreSQL only: the baseline again with each batch pre-sorted by (signal, ts), which
  ``write()`` does and which makes the primary-key index maintenance cheaper.

Usage::

    .venv/bin/python bench/query_ingest.py [--rows 1000000] [--batch 50000] [--signals 1000]
        [--repeats 3] [--backends duckdb,postgres] [--dsn postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import duckdb
import numpy as np
import psycopg

from ironfield.core.batch import Batch
from ironfield.core.timeutil import NS_PER_DAY, NS_PER_S
from ironfield.historian.base import Historian
from ironfield.historian.duckdb import DuckDBHistorian
from ironfield.historian.pgcopy import RAW_TYPES, encode
from ironfield.historian.postgres import PostgresHistorian

T0 = 20_454 * NS_PER_DAY


def batches(rows: int, batch: int, signals: int) -> list[Batch]:
    rng = np.random.default_rng(0)
    steps = rows // signals
    ts = np.repeat(T0 + np.arange(steps, dtype=np.int64) * NS_PER_S, signals)
    sig = np.tile(np.arange(signals, dtype=np.int32), steps)
    allb = Batch.build(sig, ts, rng.normal(size=len(ts)))
    return [allb.take(np.arange(i, min(len(allb), i + batch))) for i in range(0, len(allb), batch)]


def duck_baseline(bs: list[Batch], path: Path) -> float:
    """Seconds to insert every batch, one autocommitted statement each."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE raw (signal_id INTEGER NOT NULL, ts BIGINT NOT NULL, "
                "value DOUBLE, quality UTINYINT NOT NULL)")
    t = time.perf_counter()
    for b in bs:
        con.register("_in", b.to_arrow())
        con.execute("INSERT INTO raw SELECT * FROM _in")
        con.unregister("_in")
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed


def hist_writes(h: Historian, bs: list[Batch]) -> float:
    """Seconds to write every batch and flush the rollups (so all work is counted)."""
    t = time.perf_counter()
    for b in bs:
        h.write(b)
    h.flush()
    return time.perf_counter() - t


def run_duckdb(bs: list[Batch], repeats: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"baseline": [], "write": [], "replay": []}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as d:
            out["baseline"].append(duck_baseline(bs, Path(d) / "base.duckdb"))
            with DuckDBHistorian(Path(d) / "hist.duckdb") as h:
                out["write"].append(hist_writes(h, bs))
                out["replay"].append(hist_writes(h, bs))
    return out


def pg_baseline(bs: list[Batch], dsn: str, schema: str) -> float:
    """Seconds to COPY every batch (tables made outside the clock)."""
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
        c.execute(f"CREATE TABLE {schema}.raw (signal_id integer NOT NULL, ts bigint NOT NULL, "
                  "value double precision, quality smallint NOT NULL, "
                  "PRIMARY KEY (signal_id, ts)) PARTITION BY RANGE (ts)")
        days = {int(d) for b in bs for d in np.unique(b.ts // NS_PER_DAY)}
        for d in days:
            c.execute(f"CREATE TABLE {schema}.raw_d{d} PARTITION OF {schema}.raw "
                      f"FOR VALUES FROM ({d * NS_PER_DAY}) TO ({(d + 1) * NS_PER_DAY})")
        t = time.perf_counter()
        for b in bs:
            with c.transaction(), c.cursor().copy(
                f"COPY {schema}.raw FROM STDIN (FORMAT BINARY)"
            ) as cp:
                cp.write(encode([b.signal, b.ts, b.value, b.quality], RAW_TYPES))
        return time.perf_counter() - t


def run_postgres(bs: list[Batch], repeats: int, dsn: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"baseline": [], "write": [], "replay": [], "sorted": []}
    sorted_bs = [b.sorted() for b in bs]
    for _ in range(repeats):
        base, hs = "b_" + uuid.uuid4().hex[:10], "h_" + uuid.uuid4().hex[:10]
        sb = "s_" + uuid.uuid4().hex[:10]
        try:
            out["baseline"].append(pg_baseline(bs, dsn, base))
            out["sorted"].append(pg_baseline(sorted_bs, dsn, sb))
            h = PostgresHistorian(dsn, schema=hs)
            h.open()
            h.write(bs[0].take(np.arange(1)))  # create the day partition outside the clock
            h.close()
            with PostgresHistorian(dsn, schema=hs) as h:
                # the first row is already stored: the first batch takes the slow path once
                out["write"].append(hist_writes(h, bs))
                out["replay"].append(hist_writes(h, bs))
        finally:
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute(f"DROP SCHEMA IF EXISTS {base} CASCADE")
                c.execute(f"DROP SCHEMA IF EXISTS {sb} CASCADE")
                c.execute(f"DROP SCHEMA IF EXISTS {hs} CASCADE")
    return out


def report(name: str, n: int, res: dict[str, list[float]]) -> None:
    med = {k: statistics.median(v) for k, v in res.items()}
    rate = {k: n / v for k, v in med.items()}
    print(f"{name}: {n:,} rows, median of {len(res['baseline'])} runs")
    print(f"  baseline raw insert : {rate['baseline'] / 1e6:6.2f} M rows/s")
    print(f"  historian write()   : {rate['write'] / 1e6:6.2f} M rows/s  "
          f"ratio {rate['write'] / rate['baseline']:.2f}")
    print(f"  write() replay (dup): {rate['replay'] / 1e6:6.2f} M rows/s  "
          f"ratio {rate['replay'] / rate['baseline']:.2f}")
    if "sorted" in rate:
        print(f"  (baseline with each batch pre-sorted by (signal, ts), as write() does: "
              f"{rate['sorted'] / 1e6:.2f} M rows/s; write() ratio to it "
              f"{rate['write'] / rate['sorted']:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--signals", type=int, default=1_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--backends", default="duckdb,postgres")
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    a = ap.parse_args()
    bs = batches(a.rows, a.batch, a.signals)
    n = sum(len(b) for b in bs)
    print(f"{len(bs)} batches of {a.batch:,} rows, {a.signals:,} signals")
    if "duckdb" in a.backends:
        report("duckdb", n, run_duckdb(bs, a.repeats))
    if "postgres" in a.backends:
        report("postgres", n, run_postgres(bs, a.repeats, a.dsn))


if __name__ == "__main__":
    main()
