"""The demo's simulated fleet publishes over MQTT like real trucks; the app in a real
Platform turns that into cycles and sends assignments the trucks follow (a short run with
simulated time 240x faster than the wall clock)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest

from apps.haulage.haulage_rig import plant
from ironfield.apps.haulage.app import HaulageApp
from ironfield.apps.haulage.simulate import FleetSim
from ironfield.core.plugins import SimulationContext
from ironfield.runtime.platform import Platform
from server.server_rig import stop_platform

pytestmark = [pytest.mark.service, pytest.mark.slow]


async def test_simulated_fleet_makes_cycles_and_obeys_dispatch(
        tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> None:
    host, port = mosquitto
    site = f"h{unique}"
    spec = plant(site, unique, trucks_in_plant=3, fleet=3,
                 app={"sim": {"time_scale": 240, "telemetry_s": 30, "warmup_min": 30, "seed": 3}})
    p = Platform(plant=spec, data_dir=tmp_path, app_factories={"haulage": HaulageApp})
    p.open()
    await p.start()
    await asyncio.to_thread(p.connectors["site-mqtt"].connected.wait, 10)  # type: ignore[attr-defined]
    await asyncio.sleep(0.5)
    sim = FleetSim(SimulationContext(name="haulage", config=spec.apps["haulage"], plant=spec,
                                     data_dir=tmp_path, mqtt_host=host, mqtt_port=port,
                                     mqtt_protocol="5", seed=3))
    task = asyncio.create_task(sim.run())
    assert p.historian is not None
    h = p.historian
    try:
        deadline = time.monotonic() + 120
        while (len(h.events(0, 2**62, types=["haulage.cycle"])) < 3 or sim.followed < 3):
            assert not task.done(), task.exception()
            assert time.monotonic() < deadline, (sim.published, sim.followed, sim.fallbacks)
            await asyncio.sleep(0.2)
        cycles = h.events(0, 2**62, types=["haulage.cycle"])
        for ev in cycles:
            c = ev.payload
            assert c["loader"] in ("bench-1460", "bench-1430", "bench-1400")
            assert c["dump"] in ("crusher", "rom-pad")
            assert 80 <= c["tonnes"] <= 100  # a 90 t truck, loaded within a few %
            assert c["regen_kwh"] > 0  # loaded downhill regenerates
        assert {ev.asset for ev in cycles} <= {f"{site}/pit/truck-0{i}" for i in (1, 2, 3)}
        assert sim.bad_commands == 0
        # every decision the app sent was confirmed by the broker
        dis = h.events(0, 2**62, types=["haulage.dispatch"])
        assert dis and {e.payload["status"] for e in dis} == {"confirmed"}
        assert p.tasks["app/haulage"].restarts == 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stop_platform(p)
