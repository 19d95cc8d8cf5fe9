"""Modbus TCP connector: polling groups of coalesced reads, write-back by read-back.

Plant file::

    - id: line3-plc
      type: modbus
      host: 10.0.3.20
      unit: 1
      asset: hongqi/body-shop/line-3
      groups:
        - name: fast
          interval: 500ms
          registers:
            - {signal: conveyor_speed, address: 100, type: float32, word_order: little}
            - {signal: motor_temp_c, address: 102, type: int16, scale: 0.1}
            - {signal: running, address: 0, function: coil}
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from typing import Any

import numpy as np

from ironfield.connectors.fieldcommon import refuse_reason, validate_spec, where
from ironfield.connectors.modbus import codec
from ironfield.connectors.modbus.config import BIT_FUNCTIONS, ModbusConfig, seconds
from ironfield.connectors.modbus.device import PolledDevice
from ironfield.connectors.modbus.link import DeviceLost, DeviceRefused, ModbusLink
from ironfield.connectors.modbus.plan import Block, Point, coalesce
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plant import ConnectorSpec
from ironfield.core.plugins import Command, CommandResult, ConnectorContext, Sink
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalDef, parent
from ironfield.core.timeutil import now_ns

log = logging.getLogger(__name__)


def _points(cfg: ModbusConfig, ctx: ConnectorContext) -> list[list[Point]]:
    out: list[list[Point]] = []
    for gi, g in enumerate(cfg.groups):
        pts = []
        for ri, r in enumerate(g.registers):
            path = cfg.path(r.signal)
            sid = ctx.registry.get_id(path)
            if sid is None:
                sid = ctx.registry.register(SignalDef(path))
            pts.append(Point(r, path, sid, ("groups", gi, "registers", ri)))
        out.append(pts)
    return out


class ModbusConnector(PolledDevice):
    def __init__(self, cfg: ModbusConfig, ctx: ConnectorContext) -> None:
        self.cfg = cfg
        self.groups = _points(cfg, ctx)
        first = self.groups[0][0].path
        super().__init__(cfg.id, ModbusLink(cfg.host, cfg.port, cfg.unit, cfg.timeout_s), ctx,
                         cfg.asset or parent(first), seconds(cfg.backoff_max))
        self.blocks = [self._plan(pts) for pts in self.groups]
        self.by_path = {p.path: p for pts in self.groups for p in pts}
        self.by_sid = {p.sid: p for pts in self.groups for p in pts}
        self._nan_reported: set[int] = set()
        self.problems: list[str] = []
        self._checked = False
        self._texts: dict[str, str] = {}

    def _plan(self, pts: list[Point]) -> list[Block]:
        return coalesce(pts, max_registers=self.cfg.max_registers, max_bits=self.cfg.max_bits,
                        max_gap=self.cfg.max_gap)

    def signal_ids(self) -> list[int]:
        return [p.sid for pts in self.groups for p in pts]

    # -- start-up check -----------------------------------------------------------------------
    def _describe(self, p: Point, error: str) -> str:
        s = p.spec
        return (f"{where(self.ctx.plant_file, self.id, *p.where)}: register {p.path!r} "
                f"({s.function} {s.address}, {s.type}, {s.size} "
                f"{'bit' if s.function in BIT_FUNCTIONS else 'registers'}): {error}")

    async def check(self) -> list[str]:
        """Read every point once; name each one the device refuses (file, line, what the
        device answered). Raises DeviceLost when the device does not answer at all."""
        problems: list[str] = []
        for gi, blocks in enumerate(self.blocks):
            bad: set[str] = set()
            for b in blocks:
                try:
                    await self.link.read(b.function, b.start, b.count)
                    continue
                except DeviceRefused:
                    pass
                for p in b.points:  # find which points the device refuses
                    try:
                        await self.link.read(p.spec.function, p.spec.address, p.spec.size)
                    except DeviceRefused as e:
                        problems.append(self._describe(p, str(e).split(": ", 1)[-1]))
                        bad.add(p.path)
            if bad:
                self.blocks[gi] = self._plan([p for p in self.groups[gi] if p.path not in bad])
        return problems

    async def preflight(self) -> list[str]:
        """Connect, check every point, disconnect: the problems a start-up report lists
        (an unreachable device is one problem naming the plant file's host line)."""
        try:
            await self.link.open()
            return await self.check()
        except DeviceLost as e:
            return [f"{where(self.ctx.plant_file, self.id, 'host')}: {e}"]
        finally:
            self.link.close()

    async def on_connect(self, sink: Sink) -> None:
        if self._checked:
            return
        self._checked = True
        self.problems = await self.check()
        for msg in self.problems:
            log.error("%s", msg)
            await sink.emit(Event.make("config_fault", self.asset,
                                       {"connector": self.id, "message": msg}))
        if self.problems:
            kept = {p.sid for bl in self.blocks for b in bl for p in b.points}
            bad = np.array([s for s in self.signal_ids() if s not in kept], np.int32)
            await sink.submit(Batch.build(bad, now_ns(), np.full(len(bad), math.nan),
                                          Quality.BAD_CONFIG))

    # -- polling ---------------------------------------------------------------------------------
    async def poll_forever(self, sink: Sink) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                for g, blocks in zip(self.cfg.groups, self.blocks, strict=True):
                    if blocks:
                        tg.create_task(self.every(g.interval_s, sink,
                                                  functools.partial(self.poll, blocks, sink)))
        except* DeviceLost as eg:
            raise eg.exceptions[0] from None

    async def poll(self, blocks: list[Block], sink: Sink | None = None) -> Batch:
        """Read ``blocks`` once; one batch of every numeric point they hold."""
        batch = await poll_blocks(self.link, blocks, self._on_text if sink else None, sink)
        if sink is not None and np.isnan(batch.value).any():
            await self._not_a_number(batch, sink)
        return batch

    async def _not_a_number(self, batch: Batch, sink: Sink) -> None:
        """A float register decoding to NaN/inf usually means the plant file has the wrong
        type or word order for it: say so once per point."""
        for sid in np.unique(batch.signal[np.isnan(batch.value)
                                          & (batch.quality == Quality.BAD)]).tolist():
            p = self.by_sid.get(sid)
            if p is None or sid in self._nan_reported:
                continue
            self._nan_reported.add(sid)
            msg = self._describe(p, "decodes to a value that is not a finite number; check "
                                    "'type', 'word_order' and 'byte_order' against the device")
            log.error("%s", msg)
            await sink.emit(Event.make("config_fault", self.asset,
                                       {"connector": self.id, "message": msg}))

    async def _on_text(self, p: Point, text: str, sink: Sink) -> None:
        if self._texts.get(p.path) != text:
            self._texts[p.path] = text
            await sink.emit(Event.make("text_value", parent(p.path),
                                       {"signal": p.path, "value": text}))

    # -- write-back ------------------------------------------------------------------------------
    def owns(self, signal: str) -> bool:
        p = self.by_path.get(signal)
        return p is not None and p.spec.function in ("holding", "coil")

    async def _read_point(self, p: Point) -> float:
        regs = await self.link.read(p.spec.function, p.spec.address, p.spec.size)
        _, v = Block(p.spec.function, p.spec.address, p.spec.size, [p]).decode(regs)
        return float(v[0])

    async def write(self, command: Command) -> CommandResult:
        p = self.by_path.get(command.signal)
        if p is None:
            return CommandResult("rejected", message=f"{self.id} has no register for {command.signal!r}")
        if p.spec.function not in ("holding", "coil"):
            return CommandResult("rejected", message=(
                f"{command.signal!r} is a {p.spec.function}, which Modbus cannot write"))
        if p.spec.type == "string":
            return CommandResult("rejected", message=f"{command.signal!r} is a string register")
        reason = refuse_reason(self.ctx.registry, command)
        if reason:
            return CommandResult("rejected", message=reason)
        assert isinstance(command.value, int | float)
        value = float(command.value)
        s = p.spec
        raw = (value - s.offset) / s.scale
        try:
            regs = [int(bool(round(raw)))] if s.function == "coil" else codec.encode(
                raw, s.type, s.word_order, s.byte_order)
        except ValueError as e:
            return CommandResult("rejected", message=f"{command.signal!r}: {e}")
        try:
            return await asyncio.wait_for(self._write(p, regs, value), command.timeout_s)
        except TimeoutError:
            return CommandResult("timeout", message=(
                f"no confirmation from {self.link.where} within {command.timeout_s} s"))

    async def _write(self, p: Point, regs: list[int], value: float) -> CommandResult:
        try:
            old = await self._read_point(p)
            await self.link.write(p.spec.function, p.spec.address, regs)
            new = await self._read_point(p)
        except DeviceRefused as e:
            return CommandResult("failed", message=str(e))
        except DeviceLost as e:
            return CommandResult("failed", message=f"device not reachable: {e}")
        # the register holds the value rounded to its resolution; compare within half a step
        tol = abs(p.spec.scale) / 2 if p.spec.type not in ("float32", "float64") else (
            1e-6 * max(1.0, abs(value)))
        if abs(new - value) <= tol:
            return CommandResult("confirmed", old_value=old, new_value=new)
        return CommandResult("failed", old_value=old, new_value=new, message=(
            f"read back {new} after writing {value}: the device did not take the value"))


async def poll_blocks(link: ModbusLink, blocks: list[Block], on_text: Any = None,
                      sink: Sink | None = None) -> Batch:
    """One batch from reading ``blocks`` in turn (a refused block reads as bad quality)."""
    sids, ts, vals, qs = [], [], [], []
    for b in blocks:
        try:
            regs = await link.read(b.function, b.start, b.count)
        except DeviceRefused:
            s = b.sids
            sids.append(s)
            vals.append(np.full(len(s), math.nan))
            qs.append(np.full(len(s), Quality.BAD_DEVICE_FAILURE, np.uint8))
            ts.append(np.full(len(s), now_ns(), np.int64))
            continue
        t = now_ns()
        s, v = b.decode(regs)
        q = np.where(np.isfinite(v), np.uint8(Quality.GOOD), np.uint8(Quality.BAD)).astype(np.uint8)
        sids.append(s)
        vals.append(v)
        qs.append(q)
        ts.append(np.full(len(s), t, np.int64))
        if on_text is not None and b.strings:
            for p, text in b.texts(regs):
                await on_text(p, text, sink)
    if not sids:
        return Batch.empty()
    return Batch(np.concatenate(sids), np.concatenate(ts), np.concatenate(vals),
                 np.concatenate(qs))



def create(spec: ConnectorSpec, ctx: ConnectorContext) -> ModbusConnector:
    """Entry point ``ironfield.connectors: modbus``."""
    return ModbusConnector(validate_spec(ModbusConfig, spec, ctx.plant_file), ctx)
