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
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ironfield.apps.welding.live import WeldingProcessor
from ironfield.apps.welding.persist import load_references, references_path, save_references
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


SAVE_EVERY_S = 30.0  # learned references written at most this often (and at stop)


class WeldingApp:
    name = "welding"

    def __init__(self) -> None:
        self.processor: WeldingProcessor | None = None
        self.ctx: AppContext | None = None
        self.pending: OrderedDict[str, Command] = OrderedDict()
        self._wake = asyncio.Event()
        self.commands_sent = 0
        self.commands_replaced = 0
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
        # robots in plant order (not the registry's, which a restart may reorder): a robot's
        # number decides its spots' families
        shop = Shop.from_paths(cfg, [d.path for d in ctx.plant.signal_defs_unchecked()])
        proc = WeldingProcessor(shop, ctx.registry)
        if ctx.history is not None:  # after a restart, carry on where the shop was
            area = cfg.area.rstrip("/")
            sids = [sid for path, sid in ctx.registry.mapping().items() if path.startswith(area + "/")]
            b = ctx.history.last(sids)  # served from the historian's latest-value cache
            proc.restore({ctx.registry.path(int(s)): float(v)
                          for s, v in zip(b.signal.tolist(), b.value.tolist(), strict=True)})
        snapshot = references_path(ctx.data_dir)
        refs, problems = await asyncio.to_thread(load_references, snapshot)
        restored, unknown = proc.restore_references(refs)
        problems += [f"{sid}: not a spot of this shop" for sid in unknown]
        if restored or problems:
            ctx.emit(Event.make("welding.references_restored", cfg.area.rstrip("/"), {
                "spots": restored, "skipped": problems[:20], "skipped_total": len(problems)}))
        self.processor, self.ctx = proc, ctx
        saved = proc.reference_version
        saved_at = time.monotonic()
        sender = asyncio.create_task(self._send(ctx))
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
                            if cmd.signal in self.pending:
                                self.commands_replaced += 1
                            self.pending[cmd.signal] = cmd
                            self.pending.move_to_end(cmd.signal)
                        if out.commands:
                            self._wake.set()
                    t = now_ns()
                    if t - last_shop >= 1_000_000_000:
                        last_shop = t
                        await ctx.submit(proc.shop_rows(t))
                    if proc.reference_version != saved and time.monotonic() - saved_at >= SAVE_EVERY_S:
                        saved, saved_at = proc.reference_version, time.monotonic()
                        await asyncio.to_thread(save_references, snapshot, proc.references())
        finally:
            sender.cancel()
            if proc.reference_version != saved:
                # stopping: keep what was learned since the last snapshot (one write, on
                # the loop: a thread would race the platform closing down)
                try:
                    save_references(snapshot, proc.references())
                except OSError as e:
                    log.warning("welding: learned references not saved to %s: %s", snapshot, e)

    async def _send(self, ctx: AppContext) -> None:
        """Write-back one command at a time (the platform journals each with its result).

        Pending commands are kept per signal, oldest first: when the write-back path is
        slower than the decisions (a shop learning 4080 spots at once), a newer value for a
        signal replaces the one not yet sent instead of queueing behind it."""
        while True:
            while not self.pending:
                self._wake.clear()
                await self._wake.wait()
            _, cmd = self.pending.popitem(last=False)
            try:
                await ctx.command(cmd)
                self.commands_sent += 1
            except Exception:  # a failed write is journaled by the platform; keep going
                log.exception("welding: command %s failed", cmd.signal)

    def web(self) -> Any:
        from ironfield.apps.welding.web import make_web

        return make_web(self)

    async def simulate(self, ctx: SimulationContext) -> None:
        from ironfield.apps.welding.shopsim import run_shop

        await run_shop(ctx)
