"""Run the simulated PLC and inverter on loopback until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import json

from ironfield.connectors.sim.devices import SimDevices


async def _main() -> None:
    async with SimDevices() as dev:
        print(json.dumps(dev.connectors("site/area/inverter-01", "site/area/plc"), indent=2))
        print("simulated devices running; Ctrl-C stops them", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
