"""The connect / poll / lose / back off / reconnect cycle shared by Modbus connectors."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable

import numpy as np

from ironfield.connectors.fieldcommon import Backoff
from ironfield.connectors.modbus.link import DeviceLost, ModbusLink
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plugins import ConnectorContext, Sink
from ironfield.core.quality import Quality
from ironfield.core.timeutil import now_ns

log = logging.getLogger(__name__)


class PolledDevice:
    """Subclasses say what to do once connected (:meth:`on_connect`), what to poll
    (:meth:`poll_forever`) and which signal ids they feed (:meth:`signal_ids`)."""

    id: str

    def __init__(self, id: str, link: ModbusLink, ctx: ConnectorContext, asset: str,
                 backoff_max_s: float) -> None:
        self.id = id
        self.link = link
        self.ctx = ctx
        self.asset = asset
        self.backoff = Backoff(0.2, backoff_max_s)
        self.up: bool | None = None  # None until the first attempt
        self.connects = 0

    # -- for subclasses ---------------------------------------------------------------------
    async def on_connect(self, sink: Sink) -> None:
        """Called after every (re)connection, before polling starts."""

    async def poll_forever(self, sink: Sink) -> None:
        raise NotImplementedError

    def signal_ids(self) -> list[int]:
        raise NotImplementedError

    # -- the cycle ----------------------------------------------------------------------------
    async def run(self, sink: Sink) -> None:
        try:
            while True:
                try:
                    await self.link.open()
                    self.connects += 1
                    await self.on_connect(sink)
                    if self.up is False:
                        await sink.emit(Event.make("comm_restored", self.asset, {
                            "connector": self.id, "device": self.link.where}))
                        log.info("%s: %s answers again", self.id, self.link.where)
                    self.up = True
                    self.backoff.reset()
                    await self.poll_forever(sink)
                except DeviceLost as e:
                    self.link.close()
                    await self._lost(sink, str(e))
                    await asyncio.sleep(self.backoff.next())
                except Exception as e:  # a bug or a device answering nonsense: keep going
                    log.exception("%s: unexpected error", self.id)
                    self.link.close()
                    await self._lost(sink, f"{type(e).__name__}: {e}")
                    await asyncio.sleep(self.backoff.next())
        finally:
            self.link.close()

    async def _lost(self, sink: Sink, error: str) -> None:
        if self.up is False:
            return  # already reported; keep retrying quietly
        self.up = False
        sids = self.signal_ids()
        if sids:
            await sink.submit(Batch.build(np.asarray(sids, np.int32), now_ns(),
                                          np.full(len(sids), math.nan), Quality.BAD_COMM_FAILURE))
        await sink.emit(Event.make("comm_fault", self.asset, {
            "connector": self.id, "device": self.link.where, "error": error}))
        log.warning("%s: %s", self.id, error)

    async def every(self, interval_s: float, sink: Sink, step: Callable[[], Awaitable[Batch]]) -> None:
        """Call ``step`` (an async callable returning a Batch) every ``interval_s`` [s] on
        a fixed schedule, skipping ticks that a slow device made us miss."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        k = 0
        while True:
            batch = await step()
            if len(batch):
                await sink.submit(batch)
            now = loop.time()
            k = max(k + 1, math.ceil((now - t0) / interval_s))
            await asyncio.sleep(t0 + k * interval_s - now)
