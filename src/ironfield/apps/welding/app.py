"""The welding app plug-in: 680 spot-welding robots, weld by weld (entry point ``welding``).

``signals`` declares what the app derives (per robot: quality, electrode life, expulsion
streak, dress due; per shop: rates and totals); ``run`` feeds every weld from the bus to
:class:`~ironfield.apps.welding.live.WeldingProcessor` and sends what it decides (derived
values, events, write-back commands); ``web`` brings the shop-floor, robot, spot and SPC
pages; ``simulate`` runs the demo's body shop over MQTT like real robots.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from ironfield.apps.welding.live import WeldingProcessor
from ironfield.apps.welding.shop import DERIVED, QUALITY_STATES, SHOP_SIGNALS, Shop, WeldingConfig
from ironfield.core.batch import Batch
from ironfield.core.bus import Lagged
from ironfield.core.events import Event
from ironfield.core.plant import PlantSpec
from ironfield.core.plugins import AppContext, Command, SimulationContext
from ironfield.core.signals import SignalDef
from ironfield.core.timeutil import now_ns

log = logging.getLogger(__name__)

DERIVED_DEFS: dict[str, dict[str, Any]] = {
    "quality": dict(type="state", states=QUALITY_STATES, description="verdict on the robot's last weld"),
    "electrode_life_pct": dict(unit="%", low=0.0, high=100.0, description="electrode life left before dressing"),
    "expulsion_streak": dict(unit="1", low=0.0, description="consecutive expelled welds"),
    "dress_due": dict(type="bool", unit="", description="1 while a tip dressing is requested"),
}


class WeldingApp:
    name = "welding"

    def __init__(self) -> None:
        self.processor: WeldingProcessor | None = None
        self.ctx: AppContext | None = None
        self.commands_dropped = 0
        self.lagged = 0

    def signals(self, config: Mapping[str, Any], plant: PlantSpec) -> list[SignalDef]:
        cfg = WeldingConfig.of(config)
        shop = Shop.from_paths(cfg, [d.path for d in plant.signal_defs_unchecked()])
        out = [SignalDef(f"{r}/{d}", **DERIVED_DEFS[d]) for r in shop.robots for d in DERIVED]
        area = cfg.area.rstrip("/")
        out += [SignalDef(f"{area}/{n}", unit=u, description=desc) for n, u, desc in SHOP_SIGNALS]
        return out

    async def run(self, ctx: AppContext) -> None:
        cfg = WeldingConfig.of(ctx.config)
        proc = WeldingProcessor(Shop.from_registry(cfg, ctx.registry), ctx.registry)
        self.processor, self.ctx = proc, ctx
        queue: asyncio.Queue[Command] = asyncio.Queue(maxsize=2000)
        sender = asyncio.create_task(self._send(ctx, queue))
        try:
            with ctx.bus.subscribe(signals=proc.lookup.sids, policy="lag", maxsize=20_000) as sub:
                last_shop = 0
                while True:
                    item: Any = None
                    try:
                        async with asyncio.timeout(1.0):
                            item = await sub.get()
                    except TimeoutError:
                        pass
                    if isinstance(item, Lagged):
                        self.lagged += item.dropped
                        ctx.emit(Event.make("welding.lagged", cfg.area, {"dropped_batches": item.dropped}))
                    elif isinstance(item, Batch):
                        out = proc.process(item, now_ns())
                        b = out.batch()
                        if b is not None:
                            await ctx.submit(b)
                        for ev in out.events:
                            ctx.emit(ev)
                        for cmd in out.commands:
                            try:
                                queue.put_nowait(cmd)
                            except asyncio.QueueFull:
                                self.commands_dropped += 1
                    t = now_ns()
                    if t - last_shop >= 1_000_000_000:
                        last_shop = t
                        await ctx.submit(proc.shop_rows(t))
        finally:
            sender.cancel()

    @staticmethod
    async def _send(ctx: AppContext, queue: asyncio.Queue[Command]) -> None:
        """Write-back one command at a time (the platform journals each with its result)."""
        while True:
            cmd = await queue.get()
            try:
                await ctx.command(cmd)
            except Exception:  # a failed write is journaled by the platform; keep going
                log.exception("welding: command %s failed", cmd.signal)

    def web(self) -> Any:
        from ironfield.apps.welding.web import make_web

        return make_web(self)

    async def simulate(self, ctx: SimulationContext) -> None:
        from ironfield.apps.welding.shopsim import run_shop

        await run_shop(ctx)
