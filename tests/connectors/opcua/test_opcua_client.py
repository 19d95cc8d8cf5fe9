"""The OPC UA connector against a real asyncua server on loopback (the simulated PLC)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from ironfield.connectors.opcua.connector import OpcUaConnector, create
from ironfield.connectors.sim.opcua_plc import SimPlc, node_id
from ironfield.connectors.sim.sink import CollectingSink
from ironfield.core.plant import ConnectorSpec, PlantSpec, parse_plant
from ironfield.core.plugins import Command, ConnectorContext
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalRegistry

A = "site/area/plc"


# One server for the module: an asyncua server takes seconds to build its address space.
pytestmark = pytest.mark.asyncio(loop_scope="module")
BULK = 240


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def plc() -> AsyncIterator[SimPlc]:
    s = SimPlc(update_s=0.2, bulk=BULK)
    await s.start()
    yield s
    await s.stop()


def _ctx(tmp_path: Path, reg: SignalRegistry, plant_file: str = "plant.yaml",
         plant: PlantSpec | None = None) -> ConnectorContext:
    return ConnectorContext(reg, plant or PlantSpec(plant="t", sites=[]), tmp_path, plant_file)


def _spec(endpoint: str, nodes: list[dict[str, Any]], **kw: Any) -> ConnectorSpec:
    sub = {"publishing_interval": "100ms", "nodes": nodes}
    sub.update(kw.pop("sub", {}))
    return ConnectorSpec.model_validate({
        "id": "plc", "type": "opcua", "endpoint": endpoint, "asset": A, "timeout": "2s",
        "watchdog": "1s", "backoff_max": "500ms", "subscriptions": [sub], **kw})


async def _start(conn: OpcUaConnector) -> tuple[CollectingSink, asyncio.Task[None]]:
    sink = CollectingSink()
    return sink, asyncio.create_task(conn.run(sink))


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def _latest(sink: CollectingSink, reg: SignalRegistry) -> dict[str, tuple[float, int, int]]:
    return {reg.path(s).rsplit("/", 1)[1]: (v, q, t)
            for s, t, v, q in sink.all().latest_per_signal().rows()}


PLANT = """\
plant: t
sites:
  - id: site
    areas:
      - id: area
        equipment:
          - id: plc
            signals:
              - {name: setpoint, unit: m/s, writable: true, range: [0, 4]}
              - {name: counter, writable: true}
              - {name: speed}
connectors:
  - id: plc
    type: opcua
    endpoint: ENDPOINT
    asset: site/area/plc
    timeout: 2s
    watchdog: 1s
    backoff_max: 500ms
    subscriptions:
      - publishing_interval: 100ms
        nodes:
          - {signal: speed, node: "ns=2;s=PLC.Line1.ConveyorSpeed"}
          - {signal: counter, path: "0:Objects/2:PLC/2:Line1/2:Counter"}
          - {signal: running, node: "nsu=urn:ironfield:sim-plc;s=PLC.Line1.Running"}
          - {signal: broken, node: "ns=2;s=PLC.Line1.BrokenSensor"}
          - {signal: setpoint, node: "ns=2;s=PLC.Line1.SpeedSetpoint", methods: {set: "2:SetSpeed"}}
          - {signal: ghost, node: "ns=2;s=PLC.Line1.Nope"}
          - {signal: lost, path: "0:Objects/2:PLC/2:Line9/2:Speed"}
          - {signal: recipe, node: "ns=2;s=PLC.Line1.Recipe"}
"""


def _plant(plc: SimPlc, tmp_path: Path) -> tuple[OpcUaConnector, SignalRegistry, Path]:
    f = tmp_path / "plant.yaml"
    f.write_text(PLANT.replace("ENDPOINT", plc.endpoint))
    plant = parse_plant(f.read_text(), str(f))
    reg = SignalRegistry()
    reg.register_many(plant.signal_defs())
    return create(plant.connectors[0], _ctx(tmp_path, reg, str(f), plant)), reg, f


async def test_values_quality_and_plant_file_faults(plc: SimPlc, tmp_path: Path) -> None:
    conn, reg, f = _plant(plc, tmp_path)
    sink, task = await _start(conn)
    await sink.wait_for(lambda: len({s for b in sink.batches for s in b.signal.tolist()}) >= 8)
    c0 = plc.counter
    await sink.wait_for(lambda: _latest(sink, reg)["counter"][0] >= c0 + 2)
    await _stop(task)
    got = _latest(sink, reg)
    assert got["speed"][1] == Quality.GOOD and abs(got["speed"][0] - 1.5) <= 0.02 + 1e-9
    assert got["running"][:2] == (1.0, Quality.GOOD)
    assert got["broken"][1] == Quality.BAD_SENSOR_FAILURE  # server StatusCode carried over
    assert got["setpoint"][:2] == (1.5, Quality.GOOD)
    # source timestamps come from the server's clock model, within one update of now
    assert abs(got["counter"][2] - plc.clock() * 1e9) < 5e9
    lines = PLANT.splitlines()
    faults = sorted(e.payload["message"] for e in sink.events if e.type == "config_fault")
    assert len(faults) == 3
    for name, answer in (("ghost", "BadNodeIdUnknown"), ("lost", "BadNoMatch"),
                         ("recipe", "its value is String")):
        line = next(i + 1 for i, t in enumerate(lines) if f"signal: {name}," in t)
        msg = next(m for m in faults if f"'{A}/{name}'" in m)
        assert msg.startswith(f"{f}:{line}: connector 'plc'") and answer in msg, msg
    for name in ("ghost", "lost", "recipe"):
        assert got[name][1] == Quality.BAD_CONFIG and math.isnan(got[name][0])
    assert len(conn.problems) == 3
    assert sorted(await _plant(plc, tmp_path)[0].preflight()) == faults


async def test_write_back_variable_and_method(plc: SimPlc, tmp_path: Path) -> None:
    conn, reg, _ = _plant(plc, tmp_path)
    sink, task = await _start(conn)
    await sink.wait_for(lambda: conn.up and len(sink.batches) > 0)
    sp = f"{A}/setpoint"
    r = await conn.write(Command(sp, 2.5, user="op"))
    assert (r.status, r.old_value, r.new_value) == ("confirmed", 1.5, 2.5)
    await sink.wait_for(lambda: abs(_latest(sink, reg)["speed"][0] - 2.5) <= 0.02 + 1e-9)
    r = await conn.write(Command(sp, 3.0, method="set"))
    assert (r.status, r.new_value, plc.setpoint) == ("confirmed", 3.0, 3.0)
    r = await conn.write(Command(sp, 4.5))
    assert r.status == "rejected" and "above its high limit 4" in r.message
    r = await conn.write(Command(f"{A}/speed", 1.0))
    assert r.status == "rejected" and "read-only" in r.message
    # the plant file says writable, the PLC does not: the server's answer is the reason
    r = await conn.write(Command(f"{A}/counter", 5.0))
    assert r.status == "failed" and "server answered Bad" in r.message, r.message
    plc.method_delay_s = 3.0
    r = await conn.write(Command(sp, 1.0, method="set", timeout_s=0.3))
    assert r.status == "timeout" and "0.3 s" in r.message
    assert plc.setpoint == 3.0
    plc.method_delay_s = 0.0
    await _stop(task)
    await plc.set_setpoint(1.5)  # the module shares this PLC


async def test_outage_marks_bad_and_reconnect_recreates_subscriptions(
        plc: SimPlc, tmp_path: Path) -> None:
    reg = SignalRegistry()
    conn = create(_spec(plc.endpoint, [{"signal": "counter", "node": node_id("Counter")}]),
                  _ctx(tmp_path, reg))
    sink, task = await _start(conn)
    await sink.wait_for(lambda: len(sink.batches) >= 2)
    await plc.stop()
    await sink.wait_for(lambda: "comm_fault" in sink.event_types())
    bad = sink.batches[-1]
    assert bad.quality.tolist() == [Quality.BAD_COMM_FAILURE]
    fault = next(e for e in sink.events if e.type == "comm_fault").payload
    assert fault["endpoint"] == plc.endpoint and fault["connector"] == "plc"
    await plc.start()  # same port, fresh server: the old subscription is gone
    await sink.wait_for(lambda: "comm_restored" in sink.event_types())
    n = len(sink.batches)
    await sink.wait_for(lambda: len(sink.batches) >= n + 2)
    await _stop(task)
    assert sink.event_types().count("comm_fault") == 1
    assert sink.batches[-1].quality.tolist() == [Quality.GOOD]
    assert conn.sessions[0].connects == 2


async def test_items_spread_over_sessions_and_subscriptions(plc: SimPlc, tmp_path: Path) -> None:
    reg = SignalRegistry()
    nodes = [{"signal": f"b{i:03d}", "node": node_id(f"Bulk.{i:05d}")} for i in range(BULK)]
    spec = _spec(plc.endpoint, nodes, max_items_per_session=100, max_items_per_subscription=40)
    conn = create(spec, _ctx(tmp_path, reg))
    assert [len(s.items) for s in conn.sessions] == [100, 100, 40]
    sink, task = await _start(conn)
    ids = {reg.id(f"{A}/b{i:03d}") for i in range(BULK)}
    await sink.wait_for(lambda: ids <= {s for b in sink.batches for s in b.signal.tolist()})
    await _stop(task)
    assert [len(s.subscriptions) for s in conn.sessions] == [0, 0, 0]  # closed on cancel
    b = sink.all()
    idx = np.array([int(reg.path(s)[-3:]) for s in b.signal.tolist()])
    # every bulk tag k reads floor(t) + k/1000 (the time model), so the fraction names the tag
    frac = b.value - np.floor(b.value)
    assert np.allclose(frac, idx * 1e-3, atol=1e-6)
    # more than one batch per publish cycle: several subscriptions delivered
    assert len(sink.batches) >= 7


async def test_deadband_filters_small_changes(plc: SimPlc, tmp_path: Path) -> None:
    reg = SignalRegistry()
    nodes: list[dict[str, Any]] = [{"signal": "speed_all", "node": node_id("ConveyorSpeed")},
             {"signal": "speed_db", "node": node_id("ConveyorSpeed"), "deadband": 1.0},
             {"signal": "counter", "node": node_id("Counter")}]
    conn = create(_spec(plc.endpoint, nodes, sub={"sampling_interval": "50ms"}), _ctx(tmp_path, reg))
    sink, task = await _start(conn)
    c0 = plc.counter
    await sink.wait_for(lambda: plc.counter >= c0 + 8 and len(sink.batches) >= 6)
    await _stop(task)
    b = sink.all()
    n_all = int((b.signal == reg.id(f"{A}/speed_all")).sum())
    n_db = int((b.signal == reg.id(f"{A}/speed_db")).sum())
    # the ripple is ±0.02 m/s, far under the 1.0 deadband: only the initial value passes
    assert n_db == 1 and n_all >= 4
