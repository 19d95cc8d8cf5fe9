"""The alarm engine as a service on the in-process bus: feed it batches, tick its clock.

The runtime builds the engine with an ``emit`` that writes each event to the historian's
events table (the journal) and publishes it on the bus, restores it from the journal, and
supervises :meth:`AlarmService.run`. The subscription uses the bus's ``"lag"`` policy, never
``"coalesce"``: deadband, delays and rates need every sample, and a gap must be known.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ironfield.alarms.engine import AlarmEngine
from ironfield.core.batch import Batch
from ironfield.core.bus import Bus, Lagged
from ironfield.core.timeutil import now_ns


class AlarmService:
    def __init__(self, engine: AlarmEngine, bus: Bus, *, tick_interval_s: float = 1.0,
                 maxsize: int = 4096, clock: Callable[[], int] = now_ns) -> None:
        self.engine = engine
        self.bus = bus
        self.tick_interval_s = tick_interval_s
        self.maxsize = maxsize
        self.clock = clock
        self.batches = 0
        self.lagged = 0  # batches the engine never saw because it fell behind

    async def run(self) -> None:
        """Process batches as they come and tick once per interval, until cancelled."""
        sub = self.bus.subscribe(maxsize=self.maxsize, policy="lag", batches=True, events=False)
        try:
            next_tick = time.monotonic()
            while True:
                wait = next_tick - time.monotonic()
                item = None
                if wait > 0:
                    try:
                        # not wait_for: on 3.11 it can swallow a cancellation (gh-86296)
                        async with asyncio.timeout(wait):
                            item = await sub.get()
                    except TimeoutError:
                        item = None
                else:
                    item = sub.get_nowait()
                if isinstance(item, Batch):
                    self.engine.process(item)
                    self.batches += 1
                elif isinstance(item, Lagged):
                    self.lagged += item.dropped
                if time.monotonic() >= next_tick:
                    self.engine.tick(self.clock())
                    next_tick = time.monotonic() + self.tick_interval_s
                await asyncio.sleep(0)  # a busy stream must not starve the loop
        finally:
            sub.close()
