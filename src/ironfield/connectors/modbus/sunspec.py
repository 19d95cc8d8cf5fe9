"""SunSpec PV inverter over Modbus TCP: "this is a SunSpec inverter at unit 1".

On connecting, the connector finds the "SunS" marker (at 40000, 0 or 50000), walks the
model chain to the end marker, reads the common model (maker, model, serial: sent as a
``device_info`` event) and then polls the inverter model (101, 102 or 103) and the MPPT
model 160, applying each point's scale-factor register [1]. Signals appear under the
plant file's ``asset``: ``ac_power_w``, ``ac_energy_wh``, ``dc_voltage_v``, ``status``,
``mppt1_dc_power_w``, ...

Plant file::

    - id: inverter-01
      type: sunspec
      host: 10.0.9.31
      unit: 1
      asset: luobei/energy/pv-plant/inverter-01
      interval: 1s

.. [1] SunSpec Alliance 2015, "SunSpec Information Model Reference"; "SunSpec Technical
   Note: SunSpec Modbus" (discovery and scale factors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ironfield.connectors.fieldcommon import validate_spec, where
from ironfield.connectors.modbus import codec
from ironfield.connectors.modbus import sunspec_models as ss
from ironfield.connectors.modbus.config import SunSpecConfig, seconds
from ironfield.connectors.modbus.device import PolledDevice
from ironfield.connectors.modbus.link import DeviceLost, DeviceRefused, ModbusLink
from ironfield.core.batch import Batch
from ironfield.core.errors import IronfieldError
from ironfield.core.events import Event
from ironfield.core.plant import ConnectorSpec
from ironfield.core.plugins import Command, CommandResult, ConnectorContext, Sink
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalDef
from ironfield.core.timeutil import now_ns

_UNIMPL16 = {"int16": 0x8000, "sunssf": 0x8000, "uint16": 0xFFFF, "enum16": 0xFFFF}


class SunSpecError(IronfieldError):
    """The device is not the SunSpec inverter the plant file says it is."""


@dataclass
class ModelPlan:
    """How to turn one model's registers into signal values."""

    model: int
    address: int  # [register] of the first data register
    length: int  # [registers]
    sids: npt.NDArray[np.int32]
    offsets: npt.NDArray[np.intp]
    wide: npt.NDArray[np.bool_]  # 32-bit points
    signed: npt.NDArray[np.bool_]
    unimpl: npt.NDArray[np.int64]  # raw value meaning "not implemented"
    sf_offsets: npt.NDArray[np.intp]  # -1: no scale factor

    def decode(self, regs: npt.NDArray[np.uint16]) -> tuple[npt.NDArray[np.float64],
                                                           npt.NDArray[np.uint8]]:
        hi = regs[self.offsets].astype(np.int64)
        lo = regs[np.minimum(self.offsets + 1, len(regs) - 1)].astype(np.int64)
        raw = np.where(self.wide, (hi << 16) | lo, hi)
        raw = np.where(self.signed & (raw >= 0x8000), raw - 0x10000, raw)
        missing = raw == np.where(self.signed & (self.unimpl == 0x8000), -0x8000, self.unimpl)
        sf_raw = regs[np.maximum(self.sf_offsets, 0)].astype(np.int64)
        sf = np.where(sf_raw >= 0x8000, sf_raw - 0x10000, sf_raw)
        sf = np.where(self.sf_offsets < 0, 0, sf)
        missing |= (self.sf_offsets >= 0) & (sf == -0x8000)
        value = raw.astype(np.float64) * np.power(10.0, np.clip(sf, -10, 10).astype(np.float64))
        value = np.where(missing, math.nan, value)
        q = np.where(missing, np.uint8(Quality.BAD), np.uint8(Quality.GOOD)).astype(np.uint8)
        return value, q


def _plan(model: int, address: int, length: int, points: tuple[ss.Point, ...],
          asset: str, ctx: ConnectorContext) -> ModelPlan:
    names = {p.name: p for p in points}
    exposed = [p for p in points if p.signal is not None]
    sids = []
    for p in exposed:
        path = f"{asset}/{p.signal}"
        sid = ctx.registry.get_id(path)
        if sid is None:
            states = dict(ss.STATES) if p.name.startswith(("St", "DCSt")) else {}
            sid = ctx.registry.register(SignalDef(
                path, unit=p.unit, type="state" if states else "float", states=states,
                description=f"SunSpec model {model} point {p.name}"))
        sids.append(sid)
    unimpl = [0 if p.type == "acc32" else 0xFFFFFFFF if p.type in ("bitfield32", "uint32")
              else _UNIMPL16[p.type] for p in exposed]
    return ModelPlan(
        model, address, length, np.array(sids, np.int32),
        np.array([p.offset for p in exposed], np.intp),
        np.array([p.size == 2 for p in exposed]),
        np.array([p.type in ("int16",) for p in exposed]),
        np.array(unimpl, np.int64),
        np.array([names[p.sf].offset if p.sf else -1 for p in exposed], np.intp),
    )


class SunSpecConnector(PolledDevice):
    def __init__(self, cfg: SunSpecConfig, ctx: ConnectorContext) -> None:
        super().__init__(cfg.id, ModbusLink(cfg.host, cfg.port, cfg.unit, cfg.timeout_s), ctx,
                         cfg.asset, seconds(cfg.backoff_max))
        self.cfg = cfg
        self.models: list[tuple[int, int, int]] = []  # (id, data address, length)
        self.plans: list[ModelPlan] = []
        self.info: dict[str, str] = {}
        self._last_fault = ""

    def signal_ids(self) -> list[int]:
        return [int(s) for p in self.plans for s in p.sids]

    async def discover(self) -> list[tuple[int, int, int]]:
        """The model chain: (model id, address of its first data register, length)."""
        bases = (self.cfg.base,) if self.cfg.base is not None else ss.BASES
        answers = []
        for base in bases:
            try:
                regs = await self.link.read("holding", base, 2)
            except DeviceRefused as e:
                answers.append(f"{base}: {str(e).split(': ', 1)[-1]}")
                continue
            if tuple(int(r) for r in regs) == ss.SUNS:
                break
            answers.append(f"{base}: {[hex(int(r)) for r in regs]} instead of 'SunS'")
        else:
            raise SunSpecError(
                f"{where(self.ctx.plant_file, self.id, 'host')}: no SunSpec map at "
                f"{self.link.where}; the device answered " + "; ".join(answers))
        models = []
        a = base + 2
        for _ in range(64):
            mid, length = (int(r) for r in await self.link.read("holding", a, 2))
            if mid == ss.END_MODEL:
                break
            models.append((mid, a + 2, length))
            a += 2 + length
        return models

    async def on_connect(self, sink: Sink) -> None:
        try:
            self.models = await self.discover()
        except (SunSpecError, DeviceRefused) as e:
            if str(e) != self._last_fault:  # once, not on every retry
                self._last_fault = str(e)
                await sink.emit(Event.make("config_fault", self.asset,
                                           {"connector": self.id, "message": str(e)}))
            raise DeviceLost(str(e)) from e
        plans = []
        for mid, addr, length in self.models:
            if mid == ss.COMMON:
                regs = await self.link.read("holding", addr, ss.COMMON_LENGTH)
                self.info = {p.name: codec.decode_string(regs, p.offset, p.size)
                             for p in ss.COMMON_POINTS if p.type == "string"}
                await sink.emit(Event.make("device_info", self.asset, {
                    "connector": self.id, "manufacturer": self.info["Mn"],
                    "model": self.info["Md"], "version": self.info["Vr"],
                    "serial": self.info["SN"]}))
            elif mid in ss.INVERTERS:
                plans.append(_plan(mid, addr, length, ss.inverter_points(mid), self.asset,
                                   self.ctx))
            elif mid == ss.MPPT:
                n = int((await self.link.read("holding", addr + 6, 1))[0])
                pts = list(ss.MPPT_FIXED)
                for k in range(1, n + 1):
                    pts.extend(ss.mppt_module_points(k))
                plans.append(_plan(mid, addr, length, tuple(pts), self.asset, self.ctx))
        if not any(p.model in ss.INVERTERS for p in plans):
            msg = (f"{where(self.ctx.plant_file, self.id, 'type')}: {self.link.where} has "
                   f"SunSpec models {[m for m, _, _ in self.models]} but no inverter model "
                   f"(101, 102 or 103)")
            await sink.emit(Event.make("config_fault", self.asset,
                                       {"connector": self.id, "message": msg}))
        self.plans = plans

    async def poll(self) -> Batch:
        parts = []
        for p in self.plans:
            regs = await self.link.read_span("holding", p.address, p.length)
            t = now_ns()
            v, q = p.decode(regs)
            parts.append(Batch(p.sids, np.full(len(v), t, np.int64), v, q))
        return Batch.concat(parts)

    async def poll_forever(self, sink: Sink) -> None:
        await self.every(self.cfg.interval_s, sink, self.poll)

    def owns(self, signal: str) -> bool:
        return False

    async def write(self, command: Command) -> CommandResult:
        return CommandResult("rejected", message=(
            f"{self.id}: SunSpec models 1, 101-103 and 160 are read-only"))



def create(spec: ConnectorSpec, ctx: ConnectorContext) -> SunSpecConnector:
    """Entry point ``ironfield.connectors: sunspec``."""
    return SunSpecConnector(validate_spec(SunSpecConfig, spec, ctx.plant_file), ctx)
