"""Query side of both backends: downsampling, retention, events, dead letters, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from historian.historian_cases import T0, walk
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plant import RetentionSpec
from ironfield.core.signals import SignalDef
from ironfield.core.timeutil import NS_PER_DAY, NS_PER_H, NS_PER_MIN, NS_PER_S
from ironfield.historian.base import DeadLetter, Historian


def test_minmax_keeps_every_bucket_extreme_in_time_order(hist: Historian) -> None:
    rng = np.random.default_rng(10)
    b = walk(rng, 2, 20_000)
    hist.write(b)
    start, end, points = T0, T0 + 20_000 * NS_PER_S, 150
    got = hist.downsample(1, start, end, points)
    assert 0 < len(got) <= 2 * points
    assert np.all(np.diff(got.ts) > 0) and np.all(got.signal == 1)
    mine = b.take(b.signal == 1)
    assert got.value.max() == mine.value.max() and got.value.min() == mine.value.min()
    step = -(-(end - start) // points)
    k = (mine.ts - start) // step
    for bucket in np.unique(k):
        sel = mine.value[k == bucket]
        kept = got.value[(got.ts - start) // step == bucket]
        assert sel.min() in kept and sel.max() in kept
    # every kept row is a stored row, unchanged
    stored = dict(zip(mine.ts.tolist(), mine.value.tolist(), strict=True))
    assert all(stored[t] == v for t, v in zip(got.ts.tolist(), got.value.tolist(), strict=True))


def test_lttb_returns_points_with_both_ends(hist: Historian) -> None:
    b = walk(np.random.default_rng(11), 1, 10_000)
    hist.write(b)
    got = hist.downsample(0, T0, T0 + 10_000 * NS_PER_S, 200, method="lttb")
    assert len(got) == 200
    assert got.ts[0] == b.ts[0] and got.ts[-1] == b.ts[-1]
    assert np.all(np.diff(got.ts) > 0)
    with pytest.raises(ValueError):
        hist.downsample(0, T0, T0 + 1, 0)


def test_retention_drops_raw_keeps_rollups(hist: Historian) -> None:
    hist.save_signals([SignalDef("s/a/e/fast", klass="fast"), SignalDef("s/a/e/slow")],
                      {"s/a/e/fast": 0, "s/a/e/slow": 1})
    rng = np.random.default_rng(12)
    b = walk(rng, 3, 3 * 24 * 60, step_ns=NS_PER_MIN)  # 3 days at 1/min; signal 2 unknown
    hist.write(b)
    ids = [0, 1, 2]
    now = T0 + 3 * NS_PER_DAY
    before = hist.aggregate(ids, T0, now, NS_PER_H)
    retention = {
        "fast": RetentionSpec(raw="12h", rollup_1m="1d", rollup_1h="20y"),
        "default": RetentionSpec(raw="2d", rollup_1m="2y", rollup_1h="20y"),
    }
    removed = hist.apply_retention(now, retention)
    raw = hist.raw(ids, T0 - NS_PER_DAY, now)
    for sid, keep in ((0, 12 * NS_PER_H), (1, 2 * NS_PER_DAY), (2, 2 * NS_PER_DAY)):
        ts = raw.ts[raw.signal == sid]
        assert ts.min() >= now - keep and ts.min() < now - keep + NS_PER_MIN
    assert removed["raw"] == len(b) - len(raw)
    # 1 h rollups answer as before although most raw rows are gone
    after = hist.aggregate(ids, T0, now, NS_PER_H)
    assert after.equals(before)
    # 1 min rollups of signal 0 are gone before now-1d, those of 1 and 2 are all there
    m = hist.aggregate(ids, T0, now, NS_PER_MIN)
    sig = np.asarray(m.column("signal_id").to_numpy())
    bucket = np.asarray(m.column("bucket").to_numpy())
    assert bucket[sig == 0].min() == now - NS_PER_DAY
    assert (sig == 1).sum() == (sig == 2).sum() == 3 * 24 * 60
    assert removed["rollup_1m"] == 2 * 24 * 60 and removed["rollup_1h"] == 0
    if "partitions_dropped" in removed:  # PostgreSQL: day 1 was past every class's limit
        assert removed["partitions_dropped"] == 1


def test_retention_without_default_keeps_unlisted_classes(hist: Historian) -> None:
    hist.save_signals([SignalDef("s/a/e/x", klass="x")], {"s/a/e/x": 0})
    b = walk(np.random.default_rng(13), 2, 100, step_ns=NS_PER_MIN)
    hist.write(b)
    removed = hist.apply_retention(T0 + 10 * NS_PER_DAY, {"other": RetentionSpec(raw="1d")})
    assert removed["raw"] == 0
    assert len(hist.raw([0, 1], T0, T0 + NS_PER_DAY)) == len(b)


def test_events_idempotent_and_filtered(hist: Historian) -> None:
    evs = [
        Event.make("test.state", "luobei/pit/truck-07", {"state": "active"}, ts=T0 + 3),
        Event.make("test.state", "luobei/pit/truck-07/motor", {"state": "ack"}, ts=T0 + 1),
        Event.make("weld", "hongqi/body-shop/line-3", {"ms": 212.5}, ts=T0 + 2),
        Event.make("test.state", "luobei/pit/truck-070", {"state": "x"}, ts=T0 + 4),
        Event.make("test.state", "luobei/pit/truck_07", {"state": "y"}, ts=T0 + 5),
    ]
    assert hist.write_events(evs) == 5
    assert hist.write_events([*evs, evs[0]]) == 0
    allev = hist.events(T0, T0 + 10)
    assert [e.ts for e in allev] == [T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5]
    assert allev[0] == evs[1]
    tree = hist.events(T0, T0 + 10, asset_prefix="luobei/pit/truck-07")
    assert [e.id for e in tree] == [evs[1].id, evs[0].id]
    assert [e.type for e in hist.events(T0, T0 + 10, types=["weld"])] == ["weld"]
    assert len(hist.events(T0, T0 + 10, limit=2)) == 2
    assert hist.events(T0 + 2, T0 + 3)[0].payload == {"ms": 212.5}


def test_dead_letters_newest_first(hist: Historian) -> None:
    rows = [DeadLetter("mqtt:luobei/pit/#", T0 + i, bytes([0, 255, i]), f"bad {i}")
            for i in range(5)]
    hist.write_dead_letters(rows[:3])
    hist.write_dead_letters(rows[3:])
    got = hist.dead_letters(limit=4)
    assert [(d.source, d.received_ts, d.payload, d.reason) for d in got] == [
        (r.source, r.received_ts, r.payload, r.reason) for r in rows[::-1][:4]
    ]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_round_trip(hist: Historian, tmp_path: Path, fmt: str) -> None:
    paths = {"luobei/pit/truck-07/payload_t": 0, "luobei/pit/truck-08/payload_t": 1}
    hist.save_signals([], paths)
    b = walk(np.random.default_rng(14), 2, 300)
    b = Batch(b.signal, b.ts + np.arange(len(b)) % 3, b.value, b.quality)  # ns precision
    hist.write(b)
    out = tmp_path / f"raw.{fmt}"
    assert hist.export([0, 1], T0, T0 + NS_PER_H, out, fmt) == len(b)  # type: ignore[arg-type]
    table = pq.read_table(out) if fmt == "parquet" else pacsv.read_csv(
        out, convert_options=pacsv.ConvertOptions(column_types={"time": "string"}))
    rows = table.to_pylist()
    want = b.sorted()
    assert [paths[r["signal"]] for r in rows] == want.signal.tolist()
    # numpy parses ISO 8601 to the ns (datetime, and so core's parse_time, stops at us)
    back = [int(np.datetime64(r["time"].removesuffix("Z"), "ns").astype(np.int64)) for r in rows]
    assert back == want.ts.tolist()
    assert all(r["time"].endswith("Z") for r in rows)
    assert [r["value"] for r in rows] == want.value.tolist()
    agg_out = tmp_path / f"agg.{fmt}"
    n = hist.export([0, 1], T0, T0 + NS_PER_H, agg_out, fmt, kind=NS_PER_MIN)  # type: ignore[arg-type]
    agg = pq.read_table(agg_out) if fmt == "parquet" else pacsv.read_csv(
        agg_out, convert_options=pacsv.ConvertOptions(column_types={"time": "string"}))
    assert n == agg.num_rows == 10
    assert agg.column("time").to_pylist()[:2] == ["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"]
    assert sum(agg.column("count").to_pylist()) == len(b)
