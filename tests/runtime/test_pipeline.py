"""The pipeline against the real embedded historian."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest

from ironfield.core.batch import Batch
from ironfield.core.bus import Bus
from ironfield.core.events import Event
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalDef, SignalRegistry
from ironfield.historian.duckdb import DuckDBHistorian
from ironfield.runtime.pipeline import Pipeline


class FlakyHistorian(DuckDBHistorian):
    """A real DuckDB historian whose first ``fail`` writes raise (a disk hiccup)."""

    def __init__(self, path: Path, fail: int) -> None:
        super().__init__(path)
        self.fail = fail

    def write(self, batch: Batch) -> int:
        if self.fail > 0:
            self.fail -= 1
            raise OSError("disk full (injected)")
        return super().write(batch)


def make(tmp_path: Path, fail: int = 0) -> tuple[FlakyHistorian, SignalRegistry]:
    h = FlakyHistorian(tmp_path / "h.duckdb", fail)
    h.open()
    reg = SignalRegistry()
    reg.register(SignalDef("s/a/e/temp", unit="degC", low=-20, high=120))
    reg.register(SignalDef("s/a/e/flow", unit="m3/h"))
    return h, reg


@contextlib.asynccontextmanager
async def running(p: Pipeline) -> AsyncIterator[None]:
    t = asyncio.create_task(p.run())
    try:
        yield
    finally:
        t.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await t
        await p.close()


async def eventually(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


async def test_ack_only_after_the_write_is_durable(tmp_path: Path) -> None:
    h, reg = make(tmp_path)
    bus = Bus()
    live = bus.subscribe(maxsize=100, policy="lag")
    p = Pipeline(h, bus.publish, reg, flush_rows=1000, flush_interval_ns=50_000_000)
    seen_at_ack: list[int] = []
    acked = threading.Event()

    def ack() -> None:
        seen_at_ack.append(len(h.raw([0, 1], 0, 2**62)))
        acked.set()

    async with running(p):
        await p.submit(Batch.build([0, 1, 0], [1, 1, 2], [20.0, 5.0, 21.0]), ack)
        item = live.get_nowait()
        assert isinstance(item, Batch) and len(item) == 3  # live before durable
        await asyncio.to_thread(acked.wait, 5)
    assert seen_at_ack == [3]
    assert p.stats.values_written == 3 and p.stats.values_in == 3
    h.close()


async def test_failed_write_keeps_data_and_acks_later(tmp_path: Path) -> None:
    h, reg = make(tmp_path, fail=2)
    p = Pipeline(h, Bus().publish, reg, flush_rows=10, flush_interval_ns=20_000_000)
    acks: list[int] = []
    async with running(p):
        await p.submit(Batch.build(0, np.arange(1, 51), np.arange(50.0)), lambda: acks.append(1))
        # the ack comes as soon as the write is durable; the counters a moment later
        await eventually(lambda: bool(acks) and p.stats.values_written == 50)
    assert p.stats.write_errors == 2 and p.stats.values_written == 50
    assert len(h.raw([0], 0, 2**62)) == 50
    h.close()


async def test_out_of_range_and_non_finite_are_flagged_not_dropped(tmp_path: Path) -> None:
    h, reg = make(tmp_path)
    p = Pipeline(h, Bus().publish, reg, flush_rows=1, flush_interval_ns=20_000_000)
    async with running(p):
        await p.submit(Batch.build([0, 0, 0, 1], [1, 2, 3, 1], [50.0, 500.0, np.nan, 1e9]))
        await eventually(lambda: p.stats.values_written == 4)
    b = h.raw([0, 1], 0, 2**62)
    q = dict(zip(zip(b.signal.tolist(), b.ts.tolist(), strict=True), b.quality.tolist(), strict=True))
    assert q[(0, 1)] == Quality.GOOD
    assert q[(0, 2)] == Quality.UNCERTAIN_EU_EXCEEDED
    assert q[(0, 3)] == Quality.BAD
    assert q[(1, 1)] == Quality.GOOD  # no range declared
    assert p.stats.out_of_range == 1
    h.close()


async def test_malformed_and_events_are_stored(tmp_path: Path) -> None:
    h, reg = make(tmp_path)
    p = Pipeline(h, Bus().publish, reg, flush_rows=1, flush_interval_ns=20_000_000)
    async with running(p):
        p.malformed("mqtt/m/x", b"\x00garbage", "not JSON")
        await p.emit(Event.make("comm_fault", "s/a/e", {"reason": "timeout"}))
        await p.submit(Batch.build(0, 1, 1.0))
        await eventually(lambda: p.stats.values_written == 1)
    dl = h.dead_letters(10)
    assert [(d.source, d.reason, d.payload) for d in dl] == [("mqtt/m/x", "not JSON", b"\x00garbage")]
    evs = h.events(0, 2**62)
    assert [e.type for e in evs] == ["comm_fault"]
    assert p.stats.malformed == 1
    h.close()


async def test_backpressure_blocks_the_connector_instead_of_growing(tmp_path: Path) -> None:
    h, reg = make(tmp_path)
    p = Pipeline(h, Bus().publish, reg, flush_rows=10**9, flush_interval_ns=10**12, max_pending_rows=100)
    await p.submit(Batch.build(0, np.arange(1, 101), 1.0))
    blocked = asyncio.create_task(p.submit(Batch.build(0, np.arange(101, 111), 1.0)))
    await asyncio.sleep(0.05)
    assert not blocked.done() and p.queue_depth == 100
    await p.flush()
    await asyncio.wait_for(blocked, 2)
    assert p.queue_depth == 10
    await p.close()
    assert len(h.raw([0], 0, 2**62)) == 110
    h.close()


async def test_self_metrics_are_signals(tmp_path: Path) -> None:
    h, reg = make(tmp_path)
    p = Pipeline(h, Bus().publish, reg, flush_rows=10, flush_interval_ns=20_000_000,
                 metrics_root="s/platform/pipeline", metrics_interval_ns=10_000_000)
    async with running(p):
        await p.submit(Batch.build(1, np.arange(1, 6), 2.0))
        await eventually(lambda: p.stats.writes >= 3)
    sid = reg.id("s/platform/pipeline/values_in")
    last = h.last([sid])
    assert len(last) == 1 and last.value[0] >= 5
    h.close()


@pytest.mark.parametrize("n", [1, 7])
async def test_replays_are_not_counted_twice(tmp_path: Path, n: int) -> None:
    h, reg = make(tmp_path)
    p = Pipeline(h, Bus().publish, reg, flush_rows=1, flush_interval_ns=20_000_000)
    b = Batch.build(0, np.arange(1, 11), 3.0)
    async with running(p):
        for _ in range(n):
            await p.submit(b)
        await eventually(lambda: p.stats.values_written + p.stats.values_duplicate == 10 * n)
    assert p.stats.values_written == 10 and p.stats.values_duplicate == 10 * (n - 1)
    h.close()


