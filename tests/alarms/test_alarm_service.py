"""The alarm service on a real in-process bus: batches in, journal events out, clock ticks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ironfield.alarms import AlarmEngine
from ironfield.alarms.service import AlarmService
from ironfield.alarms.testing import T0, S
from ironfield.alarms.testing import AlarmHarness as Rig
from ironfield.core.batch import Batch
from ironfield.core.bus import Bus
from ironfield.core.events import Event


async def _until(cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def test_batches_from_the_bus_raise_alarms_and_the_clock_finds_stale_data() -> None:
    bus = Bus()
    rig = Rig([])
    published: list[Event] = []
    events_sub = bus.subscribe(batches=False, events=True)

    def emit(e: Event) -> None:  # what the runtime does: journal it, publish it
        published.append(e)
        bus.publish(e)

    engine = AlarmEngine([
        {"id": "lvl", "type": "limit", "signal": "plant/area/tank-1/level_m", "h": 5.0},
        {"id": "flow", "type": "stale", "signal": "plant/area/tank-1/flow_m3h", "timeout": "1min"},
    ], rig.registry, emit)
    now = [T0]
    svc = AlarmService(engine, bus, tick_interval_s=0.01, clock=lambda: now[0])
    task = asyncio.create_task(svc.run())
    try:
        await _until(lambda: bus.subscribers == 2)
        bus.publish(Batch.build(rig.sid("plant/area/tank-1/level_m"), T0 + S, 7.0))
        await _until(lambda: len(published) == 1)
        assert published[0].payload["alarm"] == "lvl.H"
        now[0] = T0 + 61 * S  # the clock moves past the stale timeout
        await _until(lambda: len(published) == 2)
        assert published[1].payload["alarm"] == "flow" and published[1].ts == T0 + 60 * S
        got = [events_sub.get_nowait(), events_sub.get_nowait()]
        assert got == published and svc.batches == 1 and svc.lagged == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert bus.subscribers == 1  # the service closed its subscription
