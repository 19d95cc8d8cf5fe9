"""Write path of both backends: idempotency, rollups as data arrives, latest values, ids."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from historian.historian_cases import T0, Factory, first_wins, oracle, walk
from ironfield.core.batch import Batch
from ironfield.core.plant import RetentionSpec
from ironfield.core.signals import SignalDef, SignalRegistry
from ironfield.core.timeutil import NS_PER_H, NS_PER_MIN, NS_PER_S
from ironfield.historian.base import Historian
from ironfield.historian.duckdb import DuckDBHistorian


def stored(h: Historian, n_sig: int) -> Batch:
    return h.raw(list(range(n_sig)), T0 - NS_PER_H, T0 + 10**6 * NS_PER_H)


def assert_same(a: Batch, b: Batch) -> None:
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.signal, b.signal)
    np.testing.assert_array_equal(a.ts, b.ts)
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.quality, b.quality)


def test_same_batch_twice_stores_once(hist: Historian) -> None:
    b = walk(np.random.default_rng(1), 3, 200)
    assert hist.write(b) == 600
    assert hist.write(b) == 0
    assert_same(stored(hist, 3), b.sorted())


def test_overlapping_out_of_order_replays_first_write_wins(hist: Historian) -> None:
    rng = np.random.default_rng(2)
    full = walk(rng, 4, 600)
    batches = []
    for _ in range(25):
        idx = rng.choice(len(full), size=int(rng.integers(1, 400)), replace=False)
        rng.shuffle(idx)
        b = full.take(idx)
        # A replay may carry different values for a stored (signal, ts): first must win.
        batches.append(Batch(b.signal, b.ts, b.value + rng.integers(0, 2, len(b)), b.quality))
    batches.append(full)  # and finally everything, after all the partial replays
    counts = [hist.write(b) for b in batches]
    truth = first_wins(batches)
    assert sum(counts) == len(truth) == len(full)
    assert_same(stored(hist, 4), truth)


def test_duplicates_inside_one_batch_keep_the_first(hist: Historian) -> None:
    b = Batch.build([1, 1, 2, 1], [T0 + 5, T0 + 5, T0 + 5, T0 + 3], [10.0, 20.0, 30.0, 40.0])
    assert hist.write(b) == 3
    got = stored(hist, 3)
    assert list(got.rows()) == [(1, T0 + 3, 40.0, 192), (1, T0 + 5, 10.0, 192),
                                (2, T0 + 5, 30.0, 192)]


def test_rollups_equal_raw_after_interleaved_duplicate_writes(hist: Historian) -> None:
    rng = np.random.default_rng(3)
    full = walk(rng, 3, 3 * 3600, step_ns=NS_PER_S // 2)  # 1.5 h at 2 Hz
    v = full.value.copy()
    v[rng.choice(len(v), 30, replace=False)] = np.nan  # NaNs are skipped by both paths
    full = Batch(full.signal, full.ts, v, full.quality)
    batches = []
    for _ in range(30):
        lo = int(rng.integers(0, len(full)))
        idx = np.arange(lo, min(len(full), lo + int(rng.integers(1, 3000))))
        rng.shuffle(idx)
        batches.append(full.take(idx))
    batches.append(full)
    for b in batches:
        hist.write(b)
    truth = first_wins(batches)
    ids = [0, 1, 2]
    end = T0 + 2 * NS_PER_H
    for iv, start, stop in [
        (NS_PER_MIN, T0, end),  # 1 min rollup
        (15 * NS_PER_MIN, T0 + 5 * NS_PER_MIN, end),  # 1 min rollup, bucket-aligned range
        (NS_PER_H, T0, end),  # 1 h rollup
        (15 * NS_PER_MIN, T0 + 5 * NS_PER_MIN + 1, end),  # unaligned: from raw
        (7 * NS_PER_S, T0, end),  # not a minute multiple: from raw
    ]:
        agg = hist.aggregate(ids, start, stop, iv)
        want = oracle(truth, start, stop, iv)
        got = {
            (r["signal_id"], r["bucket"]): (r["min"], r["max"], r["mean"], float(r["count"]),
                                            r["first"], r["last"])
            for r in agg.to_pylist()
        }
        assert got.keys() == want.keys(), iv
        for k, w in want.items():
            np.testing.assert_allclose(got[k], w, rtol=1e-9, atol=1e-9, err_msg=str((iv, k)))
    # Same answer from the rollups (aligned range) and from raw (start 1 ns earlier, where
    # no row is, makes the range unaligned), compared directly.
    for iv in (NS_PER_MIN, 10 * NS_PER_MIN, NS_PER_H):
        a = hist.aggregate(ids, T0, end, iv)
        b = hist.aggregate(ids, T0 - 1, end, iv)
        assert a.num_rows == b.num_rows > 0
        for col in a.column_names:
            np.testing.assert_allclose(a.column(col).to_numpy(), b.column(col).to_numpy(),
                                       rtol=1e-12, err_msg=col)


def test_last_is_latest_ts_not_latest_write(hist: Historian) -> None:
    hist.write(Batch.build([0, 1], [T0 + 100, T0 + 50], [1.0, 2.0]))
    hist.write(Batch.build([0, 1, 2], [T0 + 10, T0 + 60, T0 + 5], [9.0, 3.0, 4.0], 0x40))
    got = hist.last()
    assert list(got.rows()) == [(0, T0 + 100, 1.0, 192), (1, T0 + 60, 3.0, 0x40),
                                (2, T0 + 5, 4.0, 0x40)]
    assert list(hist.last([2, 0, 7]).rows()) == [(0, T0 + 100, 1.0, 192), (2, T0 + 5, 4.0, 0x40)]
    assert len(hist.last([])) == 0


def test_ids_latest_and_dedup_survive_reopen(make: Factory) -> None:
    reg = SignalRegistry()
    defs = [SignalDef("luobei/pit/truck-07/payload_t", unit="t", low=0, high=300, klass="fast"),
            SignalDef("luobei/pit/truck-07/speed_kmh", unit="km/h")]
    reg.register_many(defs)
    reg.register("luobei/pit/truck-08/payload_t")
    b = walk(np.random.default_rng(4), 3, 100)
    with make() as h:
        h.save_signals(defs, reg.mapping())
        h.write(b)
    with make() as h:
        assert h.load_signal_ids() == reg.mapping()
        again = SignalRegistry()
        again.load(h.load_signal_ids())
        assert again.register("luobei/pit/truck-09/payload_t") == 3  # ids keep growing
        assert h.write(b) == 0  # the high-water mark came back from storage
        assert_same(h.last(), b.latest_per_signal())
        with pytest.raises(ValueError, match="stored with id"):
            h.save_signals([], {"luobei/pit/truck-07/speed_kmh": 5})
        with pytest.raises(ValueError, match="stored for"):
            h.save_signals([], {"luobei/pit/truck-99/x": 0})
        h.save_signals([SignalDef("luobei/pit/truck-08/payload_t", unit="t")],
                       {"luobei/pit/truck-08/payload_t": 2})
        assert h.load_signal_ids() == reg.mapping()


def test_concurrent_writers_and_readers(hist: Historian) -> None:
    rng = np.random.default_rng(5)
    full = walk(rng, 4, 2000)
    chunks = [full.take(np.arange(i, len(full), 8)) for i in range(8)]
    errors: list[BaseException] = []

    def writer(bs: list[Batch]) -> None:
        try:
            for b in bs:
                hist.write(b)
                hist.write(b)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def reader() -> None:
        try:
            for _ in range(20):
                hist.last()
                hist.raw([0, 1], T0, T0 + NS_PER_H, limit=100)
                hist.aggregate([0, 1, 2, 3], T0, T0 + NS_PER_H, NS_PER_MIN)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(chunks[:4],)),
               threading.Thread(target=writer, args=(chunks[4:],)),
               threading.Thread(target=reader), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert_same(stored(hist, 4), full.sorted())
    agg = hist.aggregate([0, 1, 2, 3], T0, T0 + NS_PER_H, NS_PER_H)
    assert agg.column("count").to_pylist() == [2000] * 4


def test_two_writers_on_one_postgres_schema(pg_make: Factory) -> None:
    """Each writer's high-water mark is stale after the other writes: the unique key and
    the slow path must still store every row once and count it once in the rollups.
    (A DuckDB file has a single writer process by design.)"""
    make = pg_make
    rng = np.random.default_rng(6)
    full = walk(rng, 2, 1200)
    with make() as a, make() as b:
        n = 0
        for i in range(6):
            part = full.take(np.arange(i * 400, min(len(full), (i + 2) * 400)))
            n += a.write(part) + b.write(part.take(np.arange(len(part))[::-1]))
        assert n == len(full)
        agg = a.aggregate([0, 1], T0, T0 + NS_PER_H, NS_PER_H)
        assert agg.column("count").to_pylist() == [1200, 1200]
        assert_same(b.last(), full.latest_per_signal())


_CRASH = """
import os, sys
import numpy as np
from ironfield.core.batch import Batch
from ironfield.historian.duckdb import DuckDBHistorian
data = np.load(sys.argv[2])
b = Batch(data["s"], data["t"], data["v"], data["q"])
h = DuckDBHistorian(sys.argv[1], flush_interval=3600.0, flush_rows=10**9)
h.open()
h.write(b.take(np.arange(0, len(b), 2)))  # flushed? no: everything stays pending
h.write(b.take(np.arange(1, len(b), 2)))
os._exit(0)  # like kill -9: no flush, no close
"""


def test_duckdb_rebuilds_rollups_of_unflushed_writes_after_a_crash(tmp_path: Path) -> None:
    b = walk(np.random.default_rng(7), 3, 900)
    np.savez(tmp_path / "b.npz", s=b.signal, t=b.ts, v=b.value, q=b.quality)
    db = tmp_path / "crash.duckdb"
    subprocess.run([sys.executable, "-c", _CRASH, str(db), str(tmp_path / "b.npz")],
                   check=True, timeout=120)
    with DuckDBHistorian(db) as h:
        assert h.write(b) == 0
        assert_same(h.last(), b.latest_per_signal())
        agg = h.aggregate([0, 1, 2], T0, T0 + NS_PER_H, NS_PER_MIN)
        want = oracle(b, T0, T0 + NS_PER_H, NS_PER_MIN)
        assert agg.num_rows == len(want) == 3 * 15
        for r in agg.to_pylist():
            w = want[(r["signal_id"], r["bucket"])]
            np.testing.assert_allclose(
                (r["min"], r["max"], r["mean"], r["count"], r["first"], r["last"]), w)


def test_duckdb_file_without_write_sequence_is_migrated(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE raw (signal_id INTEGER NOT NULL, ts BIGINT NOT NULL, "
                "value DOUBLE, quality UTINYINT NOT NULL)")
    con.execute("INSERT INTO raw VALUES (1, 5, 1.0, 192), (1, 7, 3.0, 192)")
    con.close()
    with DuckDBHistorian(db) as h:
        assert list(h.last().rows()) == [(1, 7, 3.0, 192)]
        assert h.write(Batch.build([1, 1, 1], [5, 6, 7], [9.0, 2.0, 9.0])) == 1
        assert list(h.raw([1], 0, 10).rows()) == [(1, 5, 1.0, 192), (1, 6, 2.0, 192),
                                                   (1, 7, 3.0, 192)]


def test_postgres_writer_survives_a_partition_dropped_by_another(pg_make: Factory) -> None:
    day = 24 * NS_PER_H
    with pg_make() as a, pg_make() as b:
        a.write(Batch.build([0, 0], [T0 + 5, T0 + day + 5], [1.0, 2.0]))
        b.write(Batch.build([1], [T0 + 6], [3.0]))  # b now knows day 1's partition
        removed = a.apply_retention(T0 + 2 * day, {"default": RetentionSpec(raw="1d")})
        assert removed["raw"] == 2 and removed.get("partitions_dropped") == 1
        assert b.write(Batch.build([1], [T0 + 7], [4.0])) == 1  # late row for day 1
        assert list(a.raw([0, 1], T0, T0 + 2 * day).rows()) == [
            (0, T0 + day + 5, 2.0, 192), (1, T0 + 7, 4.0, 192)]
