"""The ingest pipeline: connector -> batch -> historian writer, and -> bus.

Batches go to the bus at once (the live path never waits on disk) and to a writer that
groups them by size and time into one historian write. A connector's ``ack`` is called
only after the write that holds its data has committed, which is how an MQTT message is
acknowledged to the broker only once it is durable.

The pipeline watches itself: its counters are published and stored as ordinary signals
under ``<site>/platform/pipeline/...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plugins import Ack
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalDef, SignalRegistry
from ironfield.core.timeutil import NS_PER_S, now_ns
from ironfield.historian.base import DeadLetter

log = logging.getLogger(__name__)


class Store(Protocol):
    """What the pipeline needs of a historian."""

    def write(self, batch: Batch) -> int: ...

    def write_events(self, events: Sequence[Event]) -> int: ...

    def write_dead_letters(self, rows: Sequence[DeadLetter]) -> None: ...


@dataclass
class PipelineStats:
    values_in: int = 0
    values_written: int = 0
    values_duplicate: int = 0
    batches_in: int = 0
    writes: int = 0
    malformed: int = 0
    out_of_range: int = 0
    events: int = 0
    write_errors: int = 0
    last_write_lag_ms: float = 0.0
    max_write_lag_ms: float = 0.0
    malformed_by_source: dict[str, int] = field(default_factory=dict)


METRICS = {
    "values_in": ("1", "values received from connectors"),
    "values_written": ("1", "values newly stored in the historian"),
    "malformed": ("1", "messages that could not be decoded (dead-lettered)"),
    "queue_depth": ("1", "values waiting for the historian writer"),
    "write_lag_ms": ("ms", "receive-to-durable time of the last write"),
    "out_of_range": ("1", "values outside their signal's expected range"),
    "bus_subscribers": ("1", "live subscribers on the in-process bus"),
}


class Pipeline:
    def __init__(
        self,
        store: Store,
        bus_publish: Callable[[Batch | Event], None],
        registry: SignalRegistry,
        *,
        flush_rows: int = 50_000,
        flush_interval_ns: int = 200_000_000,
        max_pending_rows: int = 2_000_000,
        metrics_root: str | None = None,
        metrics_interval_ns: int = NS_PER_S,
        bus_subscribers: Callable[[], int] = lambda: 0,
    ) -> None:
        self._store = store
        self._publish = bus_publish
        self._registry = registry
        self.flush_rows = flush_rows
        self.flush_interval_ns = flush_interval_ns
        self.max_pending_rows = max_pending_rows
        self.stats = PipelineStats()
        self._pending: list[Batch] = []
        self._pending_rows = 0
        self._pending_acks: list[Ack] = []
        self._pending_events: list[Event] = []
        self._pending_dead: list[DeadLetter] = []
        self._oldest_pending_ns = 0
        self._wake = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._space = asyncio.Event()
        self._space.set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="historian-writer")
        self._low = np.empty(0)
        self._high = np.empty(0)
        self._limits_for = 0
        self._metrics_root = metrics_root
        self._metrics_interval_ns = metrics_interval_ns
        self._bus_subscribers = bus_subscribers
        self._metric_ids: dict[str, int] = {}
        if metrics_root:
            for name, (unit, desc) in METRICS.items():
                self._metric_ids[name] = registry.register(
                    SignalDef(f"{metrics_root}/{name}", unit=unit, description=desc, klass="platform")
                )
        self._closed = False

    # -- the Sink protocol ------------------------------------------------------------

    async def submit(self, batch: Batch, ack: Ack | None = None) -> None:
        if len(batch) == 0:
            if ack is not None:
                self._pending_acks.append(ack)
                self._wake.set()
            return
        while self._pending_rows >= self.max_pending_rows and not self._closed:
            # Backpressure: the connector waits (and so does not acknowledge its source)
            # rather than the pipeline dropping data or growing without bound.
            self._space.clear()
            await self._space.wait()
        batch = self._check_ranges(batch)
        self.stats.values_in += len(batch)
        self.stats.batches_in += 1
        self._publish(batch)
        if not self._pending:
            self._oldest_pending_ns = time.monotonic_ns()
        self._pending.append(batch)
        self._pending_rows += len(batch)
        if ack is not None:
            self._pending_acks.append(ack)
        if self._pending_rows >= self.flush_rows:
            self._wake.set()

    def malformed(self, source: str, payload: bytes, reason: str) -> None:
        self.stats.malformed += 1
        by = self.stats.malformed_by_source
        by[source] = by.get(source, 0) + 1
        self._pending_dead.append(DeadLetter(source, now_ns(), bytes(payload[:65536]), reason))
        log.debug("malformed message from %s: %s", source, reason)

    async def emit(self, event: Event) -> None:
        self.emit_nowait(event)

    def emit_nowait(self, event: Event) -> None:
        self.stats.events += 1
        self._publish(event)
        self._pending_events.append(event)
        self._wake.set()

    # -- checks -----------------------------------------------------------------------

    def _refresh_limits(self) -> None:
        n = len(self._registry)
        if n == self._limits_for:
            return
        low = np.full(n + 1, -np.inf)
        high = np.full(n + 1, np.inf)
        for path in self._registry:
            d = self._registry.definition(path)
            sid = self._registry.id(path)
            if sid <= n:
                if d.low is not None:
                    low[sid] = d.low
                if d.high is not None:
                    high[sid] = d.high
        self._low, self._high, self._limits_for = low, high, n

    def _check_ranges(self, batch: Batch) -> Batch:
        """Mark values outside the signal's expected range as uncertain (EU exceeded) and
        non-finite values as bad; the value itself is kept, as a historian must."""
        self._refresh_limits()
        sig = batch.signal
        if len(sig) and int(sig.max()) >= len(self._low):
            self._limits_for = -1
            self._refresh_limits()
            if int(sig.max()) >= len(self._low):
                return batch
        v = batch.value
        with np.errstate(invalid="ignore"):
            out: npt.NDArray[np.bool_] = (v < self._low[sig]) | (v > self._high[sig])
        bad = ~np.isfinite(v)
        n_out = int(out.sum())
        if not n_out and not bad.any():
            return batch
        q = batch.quality.copy()
        good = (q & 0xC0) == 0xC0
        q[out & good] = Quality.UNCERTAIN_EU_EXCEEDED
        q[bad] = Quality.BAD
        self.stats.out_of_range += n_out
        return Batch(batch.signal, batch.ts, batch.value, q)

    # -- writer -----------------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        return self._pending_rows

    def _metrics_batch(self, ts: int) -> Batch:
        st = self.stats
        values = {
            "values_in": st.values_in,
            "values_written": st.values_written,
            "malformed": st.malformed,
            "queue_depth": self._pending_rows,
            "write_lag_ms": st.last_write_lag_ms,
            "out_of_range": st.out_of_range,
            "bus_subscribers": self._bus_subscribers(),
        }
        names = list(self._metric_ids)
        return Batch.build(
            [self._metric_ids[n] for n in names], ts, [float(values[n]) for n in names]
        )

    def _take(self) -> tuple[Batch, list[Ack], list[Event], list[DeadLetter], int]:
        batch = Batch.concat(self._pending)
        acks, events, dead = self._pending_acks, self._pending_events, self._pending_dead
        started = self._oldest_pending_ns
        self._pending, self._pending_acks, self._pending_events, self._pending_dead = [], [], [], []
        self._pending_rows = 0
        self._space.set()
        return batch, acks, events, dead, started

    def _write_sync(
        self, batch: Batch, acks: list[Ack], events: list[Event], dead: list[DeadLetter]
    ) -> int:
        # Dead letters and events first: an acknowledged message must never vanish, even
        # the ones that could not be decoded.
        if dead:
            self._store.write_dead_letters(dead)
        if events:
            self._store.write_events(events)
        written = self._store.write(batch) if len(batch) else 0
        for ack in acks:
            try:
                ack()
            except Exception:  # an ack failure must not lose the next batch's acks
                log.exception("ack failed")
        return written

    async def flush(self) -> None:
        """Write everything pending now, and wait for it and for any write in flight."""
        async with self._flush_lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        if not (self._pending or self._pending_acks or self._pending_events or self._pending_dead):
            return
        batch, acks, events, dead, started = self._take()
        loop = asyncio.get_running_loop()
        try:
            written = await loop.run_in_executor(
                self._executor, self._write_sync, batch, acks, events, dead
            )
        except Exception:
            self.stats.write_errors += 1
            log.exception("historian write failed; %d values will be retried", len(batch))
            # Put it back in front: nothing accepted is lost, and nothing is acked.
            self._pending = [batch, *self._pending]
            self._pending_rows += len(batch)
            self._pending_acks = acks + self._pending_acks
            self._pending_events = events + self._pending_events
            self._pending_dead = dead + self._pending_dead
            raise
        self.stats.writes += 1
        self.stats.values_written += written
        self.stats.values_duplicate += len(batch) - written
        lag = (time.monotonic_ns() - started) / 1e6
        self.stats.last_write_lag_ms = lag
        self.stats.max_write_lag_ms = max(self.stats.max_write_lag_ms, lag)

    async def run(self) -> None:
        """The writer loop: flush by size or by time; publish own metrics."""
        next_metrics = time.monotonic_ns() + self._metrics_interval_ns
        backoff = 0.1
        try:
            while True:
                timeout = self.flush_interval_ns / 1e9
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that lands as the inner wait completes (CPython gh-86296),
                # which would leave stop() waiting forever
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
                self._wake.clear()
                if self._metric_ids and time.monotonic_ns() >= next_metrics:
                    next_metrics = time.monotonic_ns() + self._metrics_interval_ns
                    m = self._metrics_batch(now_ns())
                    self._publish(m)
                    self._pending.append(m)
                    self._pending_rows += len(m)
                try:
                    await self.flush()
                    backoff = 0.1
                except Exception:
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            self._closed = True
            self._space.set()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.flush()
        self._closed = True
        self._space.set()
        self._executor.shutdown(wait=True)
