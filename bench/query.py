"""Historian queries against the same query done naively (a full scan), on both backends.

- last values of 10,000 signals: ``last()`` (DuckDB: the in-process cache kept by writes,
  and the ``latest`` table by SQL; PostgreSQL: the ``latest`` table) against a scan of
  the raw table for each signal's greatest ts;
- a 1-day 1 Hz trend downsampled to 1,000 points: ``downsample(..., "minmax")`` in the
  database against fetching the day's raw rows and reducing them client-side (numpy).

Both answers are checked equal before timing. Median of ``--repeats`` runs each.

Usage::

    .venv/bin/python bench/query.py [--signals 10000] [--per-signal 144] [--points 1000]
        [--repeats 5] [--backends duckdb,postgres] [--dsn postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from ironfield.core.batch import Batch
from ironfield.core.timeutil import NS_PER_DAY, NS_PER_S
from ironfield.historian.base import Historian
from ironfield.historian.duckdb import DuckDBHistorian
from ironfield.historian.postgres import PostgresHistorian

T0 = 20_454 * NS_PER_DAY


def load(h: Historian, signals: int, per_signal: int) -> int:
    """``signals`` signals sampled ``per_signal`` times over one day, plus signal
    ``signals`` (the trend) at 1 Hz over the same day; returns rows written."""
    rng = np.random.default_rng(0)
    step = NS_PER_DAY // per_signal
    n = 0
    for k in range(per_signal):  # ts-major, as a pipeline would deliver them
        ts = T0 + k * step + rng.integers(0, step, signals)
        n += h.write(Batch.build(np.arange(signals), ts, rng.normal(size=signals)))
    trend_ts = T0 + np.arange(86_400, dtype=np.int64) * NS_PER_S
    trend = np.cumsum(rng.normal(size=86_400))
    for i in range(0, 86_400, 21_600):
        n += h.write(Batch.build(signals, trend_ts[i:i + 21_600], trend[i:i + 21_600]))
    h.flush()
    return n


def client_minmax(b: Batch, start: int, end: int, points: int) -> Batch:
    """The same per-bucket min/max rows as the SQL, computed after fetching everything."""
    step = max(1, -(-(end - start) // points))
    k = (b.ts - start) // step
    keep = []
    for order in (np.lexsort((b.ts, b.value, k)), np.lexsort((b.ts, -b.value, k))):
        ks = k[order]
        first = np.ones(len(ks), dtype=bool)
        first[1:] = ks[1:] != ks[:-1]
        keep.append(order[first])
    idx = np.unique(np.concatenate(keep))  # ts-sorted input: index order is time order
    return b.take(idx)


def median_s(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm caches and plans once
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def naive_last_duck(h: DuckDBHistorian, ids: list[int]) -> Batch:
    q = ("SELECT signal_id, max(ts) AS ts, arg_max(value, ts) AS value, "
         "arg_max(quality, ts) AS quality FROM raw GROUP BY signal_id ORDER BY signal_id")
    with h._cursor() as cur:
        b = Batch.from_arrow(cur.sql(q).to_arrow_table())
    return b.take(np.isin(b.signal, ids))


def latest_sql_duck(h: DuckDBHistorian) -> Batch:
    q = ("SELECT signal_id, max(ts) AS ts, arg_max(value, ts) AS value, "
         "arg_max(quality, ts) AS quality FROM latest GROUP BY signal_id ORDER BY signal_id")
    with h._cursor() as cur:
        return Batch.from_arrow(cur.sql(q).to_arrow_table())


def naive_last_pg(dsn: str, schema: str) -> Batch:
    with psycopg.connect(dsn) as c:
        rows = c.execute(
            f"SELECT DISTINCT ON (signal_id) signal_id, ts, value, quality FROM {schema}.raw "
            "ORDER BY signal_id, ts DESC"
        ).fetchall()
    s, t, v, q = zip(*rows, strict=True)
    return Batch.build(s, t, v, q)


def same(a: Batch, b: Batch) -> bool:
    return bool(
        len(a) == len(b) and np.array_equal(a.signal, b.signal) and np.array_equal(a.ts, b.ts)
        and np.array_equal(a.value, b.value)
    )


def run(name: str, h: Historian, a: argparse.Namespace, naive_last: Callable[[], Batch],
        extra: dict[str, Callable[[], Any]]) -> None:
    t = time.perf_counter()
    n = load(h, a.signals, a.per_signal)
    print(f"{name}: loaded {n:,} rows in {time.perf_counter() - t:.1f} s")
    ids = list(range(a.signals))
    assert same(h.last(ids), naive_last()), "last() disagrees with the raw scan"
    fast = median_s(lambda: h.last(ids), a.repeats)
    slow = median_s(naive_last, a.repeats)
    print(f"  last of {a.signals:,} signals: last() {fast * 1e3:8.2f} ms | raw scan "
          f"{slow * 1e3:8.2f} ms | speed-up x{slow / fast:,.0f}")
    for label, fn in extra.items():
        e = median_s(fn, a.repeats)
        print(f"    ({label}: {e * 1e3:.2f} ms, x{slow / e:,.0f} vs raw scan)")
    sig, end = a.signals, T0 + NS_PER_DAY
    got = h.downsample(sig, T0, end, a.points)
    want = client_minmax(h.raw([sig], T0, end), T0, end, a.points)
    assert same(got, want), "SQL minmax disagrees with the client-side reduction"
    fast = median_s(lambda: h.downsample(sig, T0, end, a.points), a.repeats)
    slow = median_s(
        lambda: client_minmax(h.raw([sig], T0, end), T0, end, a.points), a.repeats)
    lt = median_s(lambda: h.downsample(sig, T0, end, a.points, "lttb"), a.repeats)
    print(f"  1-day 1 Hz trend -> {a.points} points ({len(got)} rows): downsample() "
          f"{fast * 1e3:8.2f} ms | fetch raw + reduce {slow * 1e3:8.2f} ms | "
          f"speed-up x{slow / fast:.1f} (lttb {lt * 1e3:.2f} ms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--signals", type=int, default=10_000)
    ap.add_argument("--per-signal", type=int, default=144)
    ap.add_argument("--points", type=int, default=1_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--backends", default="duckdb,postgres")
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    a = ap.parse_args()
    if "duckdb" in a.backends:
        with tempfile.TemporaryDirectory() as d, DuckDBHistorian(Path(d) / "q.duckdb") as h:
            run("duckdb", h, a, lambda: naive_last_duck(h, list(range(a.signals))),
                {"latest table by SQL": lambda: latest_sql_duck(h)})
    if "postgres" in a.backends:
        schema = "bq_" + uuid.uuid4().hex[:10]
        try:
            with PostgresHistorian(a.dsn, schema=schema) as h:
                run("postgres", h, a, lambda: naive_last_pg(a.dsn, schema).take(
                    np.arange(a.signals)), {})
        finally:
            with psycopg.connect(a.dsn, autocommit=True) as c:
                c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
