"""A pymodbus server acting as a SunSpec PV inverter, driven by a time model.

Register map (unit ``unit``):

- holding 40000..: the SunSpec map ("SunS", model 1, inverter model 101/102/103, model 160
  with ``mppt`` modules, end marker), refreshed from the time model on every read;
- holding 0..1999: plain storage; register 1000 is the active power limit [%] (uint16,
  writable) that the time model obeys;
- input registers 0..1999: plain storage (``set_input``);
- coils and discrete inputs 0..1999 (bit addresses): patterns given at construction.

Addresses outside these ranges answer exception 2 (illegal data address), as a real
device does, so plant-file mistakes can be tested against it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import numpy.typing as npt
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from ironfield.connectors.modbus import codec
from ironfield.connectors.modbus import sunspec_models as ss
from ironfield.connectors.sim.ports import free_port
from ironfield.connectors.sim.timemodel import Clock, inverter_state

PLAIN_SIZE = 2000
LIMIT_REGISTER = 1000
SUNSPEC_BASE = 40000

# Scale factors of a 10 kW unit; a larger unit raises the power and current ones.
SF = {"A_SF": -2, "V_SF": -1, "W_SF": 0, "Hz_SF": -2, "VA_SF": 0, "VAr_SF": 0, "PF_SF": -2,
      "WH_SF": 0, "DCA_SF": -2, "DCV_SF": -1, "DCW_SF": 0, "Tmp_SF": -1, "DCWH_SF": 0}


def scale_factors(rated_w: float, dc_v: float = 600.0) -> dict[str, int]:
    """SunSpec scale factors for an inverter of ``rated_w`` [W]: the finest resolution at
    which 120 % of rating (DC: over a 90 % efficiency) still fits the point's register
    (W, VA, VAr, DCW int16; A, DCA uint16), as a real device's map is laid out for its size [1]_.

    .. [1] SunSpec Alliance, "SunSpec Inverter Models" (models 101-103, 160), scale factor
       points ``*_SF``: value = register x 10^SF.
    """

    def fit(peak: float, limit: int, finest: int) -> int:
        sf = finest
        while peak / 10.0**sf > limit:
            sf += 1
        return sf

    peak = 1.2 * rated_w
    out = dict(SF)
    out["W_SF"] = out["VA_SF"] = out["VAr_SF"] = fit(peak, 32767, SF["W_SF"])
    out["A_SF"] = fit(peak / 230.0, 65535, SF["A_SF"])  # A is the sum of the phases
    out["DCW_SF"] = fit(peak / 0.9, 32767, SF["DCW_SF"])  # DC is AC / efficiency; 103.DCW is int16
    out["DCA_SF"] = fit(peak / dc_v, 65535, SF["DCA_SF"])
    return out


class SimInverter:
    """A SunSpec inverter on ``host:port`` (a free port unless given)."""

    def __init__(self, *, unit: int = 1, model: int = 103, mppt: int = 2,
                 rated_w: float = 10_000.0, longitude_deg: float = 0.0,
                 clock: Clock = time.time, host: str = "127.0.0.1", port: int = 0,
                 energy_wh: float = 1_234_567.0,
                 coils: list[bool] | None = None, discrete: list[bool] | None = None) -> None:
        if model not in ss.INVERTERS:
            raise ValueError(f"inverter model must be one of {ss.INVERTERS}, got {model}")
        self.unit, self.model, self.mppt = unit, model, mppt
        self.rated_w, self.longitude_deg, self.clock = rated_w, longitude_deg, clock
        self.host, self.port = host, port or free_port(host)
        self.energy_wh = energy_wh
        self._last_t: float | None = None
        self.holding: npt.NDArray[np.uint16] = np.zeros(65536, np.uint16)
        self.input: npt.NDArray[np.uint16] = np.zeros(65536, np.uint16)
        self.holding[LIMIT_REGISTER] = 100
        self.coils = coils if coils is not None else [i % 3 == 0 for i in range(PLAIN_SIZE)]
        self.discrete = discrete if discrete is not None else [i % 2 == 1 for i in range(PLAIN_SIZE)]
        self.sf = scale_factors(rated_w)
        self.layout = self._layout()
        self.sunspec_size = max(a for a in self.layout.values()) + 2 - SUNSPEC_BASE
        self._write_static()
        self._server: Any = None
        self.reads = 0  # requests served, for tests and benchmarks
        self.delay_s = 0.0  # answer late (a device that hangs), for timeout tests

    # -- the SunSpec map ---------------------------------------------------------------
    def _layout(self) -> dict[str, int]:
        """Absolute register address of every model header and point."""
        at: dict[str, int] = {"SunS": SUNSPEC_BASE}
        a = SUNSPEC_BASE + 2
        models = [(ss.COMMON, ss.COMMON_LENGTH, ss.COMMON_POINTS),
                  (self.model, ss.INVERTER_LENGTH, ss.inverter_points(self.model))]
        pts160: list[ss.Point] = list(ss.MPPT_FIXED)
        for k in range(1, self.mppt + 1):
            pts160.extend(ss.mppt_module_points(k))
        models.append((ss.MPPT, ss.MPPT_FIXED_LENGTH + self.mppt * ss.MPPT_MODULE_LENGTH,
                       tuple(pts160)))
        for mid, length, pts in models:
            at[f"model{mid}"] = a
            for p in pts:
                at[f"{mid}.{p.name}"] = a + 2 + p.offset
            a += 2 + length
        at["end"] = a
        return at

    def _put(self, key: str, regs: list[int]) -> None:
        a = self.layout[key]
        self.holding[a:a + len(regs)] = regs

    def _write_static(self) -> None:
        self._put("SunS", list(ss.SUNS))
        mppt_len = ss.MPPT_FIXED_LENGTH + self.mppt * ss.MPPT_MODULE_LENGTH
        for mid, length in ((ss.COMMON, ss.COMMON_LENGTH), (self.model, ss.INVERTER_LENGTH),
                            (ss.MPPT, mppt_len)):
            self._put(f"model{mid}", [mid, length])
        self._put("end", [ss.END_MODEL, 0])
        for name, size, text in (("Mn", 16, "ironfield"), ("Md", 16, "SimInverter"),
                                 ("Vr", 8, "1.0.0"), ("SN", 16, "SIM-0001")):
            self._put(f"1.{name}", codec.encode_string(text, size))
        self._put("1.DA", [self.unit])
        inv = self.model
        for name in ("A_SF", "V_SF", "W_SF", "Hz_SF", "VA_SF", "VAr_SF", "PF_SF", "WH_SF",
                     "DCA_SF", "DCV_SF", "DCW_SF", "Tmp_SF"):
            self._put(f"{inv}.{name}", codec.encode(self.sf[name], "int16"))
        for name in ("DCA_SF", "DCV_SF", "DCW_SF", "DCWH_SF"):
            self._put(f"160.{name}", codec.encode(self.sf[name], "int16"))
        self._put("160.N", [self.mppt])
        for k in range(1, self.mppt + 1):
            b = self.layout["model160"] + 2 + ss.MPPT_FIXED_LENGTH + (k - 1) * ss.MPPT_MODULE_LENGTH
            self.holding[b] = k
            self.holding[b + 1:b + 9] = codec.encode_string(f"MPPT{k}", 8)

    def _raw(self, value: float, sf: str) -> float:
        return value / 10.0 ** self.sf[sf]

    def state(self, t_s: float | None = None) -> dict[str, float]:
        """The time model's operating point now (or at ``t_s``), with the current limit."""
        t = self.clock() if t_s is None else t_s
        return inverter_state(t, self.rated_w, float(self.holding[LIMIT_REGISTER]),
                              self.longitude_deg, mppt=self.mppt)

    def refresh(self) -> None:
        """Write the time model's values into the SunSpec registers."""
        t = self.clock()
        st = self.state(t)
        if self._last_t is not None and t > self._last_t:
            self.energy_wh += st["ac_w"] * (t - self._last_t) / 3600.0
        self._last_t = t
        inv = self.model
        phases = {101: 1, 102: 2, 103: 3}[inv]
        v_ph = 230.0
        i_ph = st["ac_w"] / (phases * v_ph)
        vals: dict[str, tuple[float, str]] = {
            "A": (i_ph * phases, "A_SF"), "W": (st["ac_w"], "W_SF"), "Hz": (st["hz"], "Hz_SF"),
            "VA": (st["ac_w"], "VA_SF"), "VAr": (0.0, "VAr_SF"), "PF": (100.0, "PF_SF"),
            "DCA": (st["dc_a"], "DCA_SF"), "DCV": (st["dc_v"], "DCV_SF"),
            "DCW": (st["dc_w"], "DCW_SF"), "TmpCab": (35.0, "Tmp_SF"),
        }
        for p in "ABC"[:phases]:
            vals[f"Aph{p}"] = (i_ph, "A_SF")
            vals[f"PhVph{p}"] = (v_ph, "V_SF")
        types = {p.name: p.type for p in ss.inverter_points(inv)}
        for name, (v, sf) in vals.items():
            self._put(f"{inv}.{name}", codec.encode(self._raw(v, sf), types[name]))
        self._put(f"{inv}.WH", codec.encode(self._raw(self.energy_wh, "WH_SF"), "uint32"))
        self._put(f"{inv}.St", [int(st["state"])])
        for k in range(1, self.mppt + 1):
            dcv = st["dc_v"]
            self._put(f"160.DCA{k}", codec.encode(self._raw(st["mppt_w"] / dcv if dcv else 0.0,
                                                             "DCA_SF"), "uint16"))
            self._put(f"160.DCV{k}", codec.encode(self._raw(dcv, "DCV_SF"), "uint16"))
            self._put(f"160.DCW{k}", codec.encode(self._raw(st["mppt_w"], "DCW_SF"), "uint16"))
            self._put(f"160.DCWH{k}", codec.encode(self.energy_wh / self.mppt, "uint32"))
            self._put(f"160.Tmp{k}", codec.encode(40.0, "int16"))
            self._put(f"160.DCSt{k}", [int(st["state"])])

    # -- plain storage -------------------------------------------------------------------
    def set_holding(self, address: int, regs: list[int]) -> None:
        self.holding[address:address + len(regs)] = regs

    def set_input(self, address: int, regs: list[int]) -> None:
        self.input[address:address + len(regs)] = regs

    # -- the server ------------------------------------------------------------------------
    async def _action(self, fc: int, start: int, address: int, count: int,
                      registers: list[int], set_values: list[int] | list[bool] | None,
                      ) -> ExcCodes | None:
        self.reads += 1
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        if fc in (3, 4, 6, 16):
            image = self.input if fc == 4 else self.holding
            if set_values is not None and fc in (6, 16):
                image[address:address + len(set_values)] = [int(v) for v in set_values]
                return None
            if fc == 3 and address + count > SUNSPEC_BASE:
                self.refresh()
            off = address - start
            registers[off:off + count] = image[address:address + count].tolist()
        return None

    def _device(self) -> SimDevice:
        u16 = DataType.REGISTERS
        hold = [SimData(0, count=PLAIN_SIZE, values=0, datatype=u16),
                SimData(SUNSPEC_BASE, count=self.sunspec_size, values=0, datatype=u16,
                        readonly=False)]
        inp = [SimData(0, count=PLAIN_SIZE, values=0, datatype=u16)]
        co = [SimData(0, values=list(self.coils), datatype=DataType.BITS)]
        di = [SimData(0, values=list(self.discrete), datatype=DataType.BITS)]
        return SimDevice(self.unit, simdata=(co, di, hold, inp), action=self._action)

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    async def start(self) -> None:
        self._server = ModbusTcpServer(self._device(), address=(self.host, self.port))
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    async def __aenter__(self) -> SimInverter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
