"""Shared helpers for the historian suites: backends, reference data and a numpy oracle."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ironfield.core.batch import Batch
from ironfield.core.timeutil import NS_PER_DAY, NS_PER_S
from ironfield.historian.base import Historian
from ironfield.historian.duckdb import DuckDBHistorian
from ironfield.historian.postgres import PostgresHistorian
from services import POSTGRES, require_service

T0 = 20_454 * NS_PER_DAY  # 2026-01-01T00:00:00Z
BACKENDS = ["duckdb", "postgres"]
Factory = Callable[[], Historian]


def pg_dsn() -> str:
    """The loopback test database; the role is whichever of postgres/root trusts us."""
    env = os.environ.get("IRONFIELD_TEST_PG_DSN")
    if env:
        return env
    require_service(*POSTGRES, "PostgreSQL")
    err: Exception | None = None
    for user in ("postgres", "root"):
        dsn = f"postgresql://{user}@{POSTGRES[0]}:{POSTGRES[1]}/test"
        try:
            psycopg.connect(dsn, connect_timeout=3).close()
            return dsn
        except psycopg.Error as e:
            err = e
    pytest.fail(f"PostgreSQL is listening but refuses roles postgres and root: {err}")


def factory(backend: str, tmp_path: Path) -> Iterator[Factory]:
    """Yields a maker of unopened historians that all share one store; cleans it up."""
    if backend == "duckdb":
        path = tmp_path / "hist.duckdb"
        # small thresholds so tests cross pending, flushed and compacted partials alike
        yield lambda: DuckDBHistorian(path, flush_rows=500, compact_rows=2_000)
        return
    dsn = pg_dsn()
    schema = "t_" + uuid.uuid4().hex[:12]
    try:
        yield lambda: PostgresHistorian(dsn, schema=schema)
    finally:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def walk(rng: np.random.Generator, n_sig: int, n: int, step_ns: int = NS_PER_S,
         t0: int = T0) -> Batch:
    """n rows per signal on a regular grid (offset by 7 ms so no row sits on a bucket edge)."""
    ts = t0 + 7_000_000 + np.arange(n, dtype=np.int64) * step_ns
    sig = np.repeat(np.arange(n_sig, dtype=np.int32), n)
    val = np.cumsum(rng.normal(size=n_sig * n))
    return Batch.build(sig, np.tile(ts, n_sig), val, 192)


def first_wins(batches: list[Batch]) -> Batch:
    """What storage must hold after writing ``batches`` in order: first (signal, ts) wins."""
    allb = Batch.concat(batches)
    order = np.lexsort((np.arange(len(allb)), allb.ts, allb.signal))
    s, t = allb.signal[order], allb.ts[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (s[1:] != s[:-1]) | (t[1:] != t[:-1])
    return allb.take(order[first])


def oracle(rows: Batch, start: int, end: int, iv: int) -> dict[tuple[int, int], tuple[float, ...]]:
    """(signal, bucket) -> (min, max, mean, count, first, last), computed point by point."""
    out: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for s, t, v, _q in rows.rows():
        if start <= t < end and not np.isnan(v):
            out.setdefault((s, t - t % iv), []).append((t, v))
    res: dict[tuple[int, int], tuple[float, ...]] = {}
    for k, pts in out.items():
        pts.sort()
        vals = [v for _, v in pts]
        res[k] = (min(vals), max(vals), sum(vals) / len(vals), float(len(vals)), vals[0], vals[-1])
    return res
