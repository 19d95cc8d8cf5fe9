"""Modbus: time to poll a 1,000-register map with coalesced reads vs one read per register.

Both run in the same process against the same loopback pymodbus server (the simulated
inverter), through the connector's own link and decoder, alternating rounds.

    .venv/bin/python bench/modbus_coalescing.py [--registers 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import numpy as np
import numpy.typing as npt

from ironfield.connectors.modbus.config import RegisterSpec
from ironfield.connectors.modbus.connector import poll_blocks
from ironfield.connectors.modbus.link import ModbusLink
from ironfield.connectors.modbus.plan import Block, Point, coalesce, one_per_point
from ironfield.connectors.sim.modbus_inverter import SimInverter


async def _time(link: ModbusLink, blocks: list[Block]) -> tuple[float, npt.NDArray[np.float64]]:
    t = time.perf_counter()
    b = await poll_blocks(link, blocks)
    return time.perf_counter() - t, b.sorted().value


async def main(n: int, rounds: int) -> None:
    async with SimInverter() as sim:
        sim.set_holding(0, list(range(n)))
        pts = [Point(RegisterSpec(signal=f"r{i}", address=i), f"b/m/r/r{i}", i, ())
               for i in range(n)]
        fast, slow = coalesce(pts), one_per_point(pts)
        link = ModbusLink(sim.host, sim.port, sim.unit, 2.0)
        await link.open()
        await poll_blocks(link, fast)  # warm up both paths
        await poll_blocks(link, slow[:10])
        t_fast, t_slow = [], []
        for _ in range(rounds):
            dt, v1 = await _time(link, fast)
            t_fast.append(dt)
            dt, v2 = await _time(link, slow)
            t_slow.append(dt)
            assert np.array_equal(v1, v2) and np.array_equal(v1, np.arange(n))
        link.close()
    f, s = statistics.median(t_fast), statistics.median(t_slow)
    print(f"modbus poll of a {n}-register map over loopback, median of {rounds} rounds")
    print(f"  coalesced       : {len(fast):5d} requests  {f * 1e3:9.1f} ms")
    print(f"  one per register: {len(slow):5d} requests  {s * 1e3:9.1f} ms")
    print(f"  speed-up (one-per-register / coalesced): {s / f:.1f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--registers", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    asyncio.run(main(a.registers, a.rounds))
