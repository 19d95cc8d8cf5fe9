"""CPU of the demo haul fleet: the simulation alone, and the haulage app's processing on
top of the platform's own ingest of the same telemetry (real time, real MQTT broker).

    .venv/bin/python bench/haulage_cpu.py [seconds per round] [broker host:port]

Three rounds in one process, each ``seconds`` long (default 60), on the demo plant's
fleet (10 trucks, 5 s telemetry, 8 signals each):
  sim      FleetSim publishing, no platform
  ingest   FleetSim + a Platform with the MQTT connector and historian, no haulage app
  app      the same with the haulage app (tracking, KPIs every 5 s, dispatch write-back)
Prints the process CPU time per wall second (% of one core) of each round, and the
app's share = app - ingest. The brief's budget: simulation + app well under half a core.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from ironfield.apps.haulage.app import HaulageApp
from ironfield.apps.haulage.simulate import FleetSim
from ironfield.core.plant import PlantSpec, load_plant
from ironfield.core.plugins import SimulationContext
from ironfield.demo import plant_path
from ironfield.runtime.platform import Platform


def plant(host: str, port: int, with_app: bool) -> PlantSpec:
    demo = load_plant(plant_path("demo"))
    luobei = next(s for s in demo.sites if s.id == "luobei")
    pit = next(a for a in luobei.areas if a.id == "pit")
    doc: dict[str, Any] = {
        "plant": "haulbench",
        "equipment_types": {"haul_truck": demo.equipment_types["haul_truck"].model_dump(exclude_none=True)},
        "sites": [{"id": "luobei", "areas": [pit.model_dump(exclude_none=True)]}],
        "historian": {"backend": "duckdb", "path": "h.duckdb"},
        "connectors": [{"id": "site-mqtt", "type": "mqtt", "url": f"mqtt://{host}:{port}",
                        "client_id": f"haulbench-{uuid.uuid4().hex[:8]}", "session_expiry_s": 0,
                        "topics": [{"topic": "luobei/{area}/{equipment}/{signal}", "format": "value"}]}],
        "apps": {"haulage": demo.apps["haulage"]} if with_app else {},
    }
    return PlantSpec.model_validate(doc)


async def round_(name: str, seconds: float, host: str, port: int, platform: bool, app: bool) -> float:
    spec = plant(host, port, app)
    section = load_plant(plant_path("demo")).apps["haulage"]
    with tempfile.TemporaryDirectory() as d:
        p = None
        if platform:
            p = Platform(plant=spec, data_dir=Path(d), app_factories={"haulage": HaulageApp})
            p.open()
            await p.start()
        sim = FleetSim(SimulationContext(name="haulage", config=section, plant=spec,
                                         data_dir=Path(d), mqtt_host=host, mqtt_port=port))
        task = asyncio.create_task(sim.run())
        await asyncio.sleep(5)  # warm-up, connections
        c0, w0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu = (time.process_time() - c0) / (time.monotonic() - w0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if p is not None:
            await p.stop()
        print(f"{name:7s} {100 * cpu:6.1f} % of a core  ({sim.published} values published, "
              f"{sim.followed} assignments followed, {sim.fallbacks} own choices)")
        return cpu


async def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    host, _, port = (sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1:1883").partition(":")
    sim = await round_("sim", seconds, host, int(port), False, False)
    ingest = await round_("ingest", seconds, host, int(port), True, False)
    app = await round_("app", seconds, host, int(port), True, True)
    print(f"haulage app alone: {100 * (app - ingest):.1f} % of a core; "
          f"simulation + app: {100 * (sim + app - ingest):.1f} % (budget: well under 50 %)")


if __name__ == "__main__":
    asyncio.run(main())
