"""The Modbus connector against a real pymodbus server on loopback (the simulated inverter)."""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ironfield.connectors.modbus import codec
from ironfield.connectors.modbus.connector import ModbusConnector, create
from ironfield.connectors.sim.modbus_inverter import LIMIT_REGISTER, SimInverter
from ironfield.connectors.sim.sink import CollectingSink
from ironfield.core.errors import PlantFileError
from ironfield.core.plant import ConnectorSpec, PlantSpec, parse_plant
from ironfield.core.plugins import Command, ConnectorContext
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalDef, SignalRegistry

NOON = 12 * 3600.0
A = "site/area/dev"


@pytest.fixture
async def sim() -> AsyncIterator[SimInverter]:
    s = SimInverter(clock=lambda: NOON)
    await s.start()
    yield s
    await s.stop()


def _ctx(tmp_path: Path, plant_file: str = "<plant>", plant: PlantSpec | None = None,
         registry: SignalRegistry | None = None) -> ConnectorContext:
    return ConnectorContext(SignalRegistry() if registry is None else registry,
                            plant or PlantSpec(plant="t", sites=[]),
                            tmp_path, plant_file)


def _spec(sim: SimInverter, registers: list[dict[str, Any]], **kw: Any) -> ConnectorSpec:
    return ConnectorSpec.model_validate({
        "id": "mb", "type": "modbus", "host": sim.host, "port": sim.port, "asset": A,
        "timeout": "500ms", "backoff_max": "1s",
        "groups": [{"name": "g", "interval": "100ms", "registers": registers}], **kw})


def _latest(sink: CollectingSink, reg: SignalRegistry) -> dict[str, tuple[float, int]]:
    b = sink.all().latest_per_signal()
    return {reg.path(s): (v, q) for s, _, v, q in b.rows()}


async def _run(conn: ModbusConnector, sink: CollectingSink) -> asyncio.Task[None]:
    return asyncio.create_task(conn.run(sink))


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def _words(fmt: str, v: float, word: str = "big", byte: str = "big") -> list[int]:
    b = struct.pack(">" + fmt, v)
    w = [b[i:i + 2] for i in range(0, len(b), 2)]
    if word == "little":
        w = w[::-1]
    if byte == "little":
        w = [x[::-1] for x in w]
    return [int.from_bytes(x, "big") for x in w]


async def test_every_type_and_order_decodes(sim: SimInverter, tmp_path: Path) -> None:
    layout = [  # (name, address, type, fmt, value, word, byte, scale, offset)
        ("i16", 0, "int16", "h", -1234, "big", "big", 0.1, 0.0),
        ("u16", 1, "uint16", "H", 60000, "big", "big", 1.0, -10.0),
        ("i32", 2, "int32", "i", -123456789, "little", "big", 1.0, 0.0),
        ("u32", 4, "uint32", "I", 4000000000, "big", "little", 1.0, 0.0),
        ("f32", 6, "float32", "f", 3.5, "little", "little", 2.0, 1.0),
        ("f64", 8, "float64", "d", -1.0e-3, "big", "big", 1.0, 0.0),
    ]
    regs = []
    for name, addr, t, fmt, v, wo, bo, scale, off in layout:
        sim.set_holding(addr, _words(fmt, v, wo, bo))
        regs.append({"signal": name, "address": addr, "type": t, "word_order": wo,
                     "byte_order": bo, "scale": scale, "offset": off})
    sim.set_input(50, _words("f", -7.25))
    regs.append({"signal": "inp", "address": 50, "function": "input", "type": "float32"})
    regs += [{"signal": f"c{i}", "address": i, "function": "coil"} for i in range(5)]
    regs += [{"signal": f"d{i}", "address": i, "function": "discrete"} for i in range(4)]
    sim.set_holding(20, codec.encode_string("LINE-3", 4))
    regs.append({"signal": "tag", "address": 20, "type": "string", "length": 4})
    reg = SignalRegistry()
    conn = create(_spec(sim, regs), _ctx(tmp_path, registry=reg))
    sink = CollectingSink()
    task = await _run(conn, sink)
    await sink.wait_for(lambda: len(sink.all()) >= 20)
    await _stop(task)
    got = _latest(sink, reg)
    for name, _a, _t, fmt, v, *_o, scale, off in layout:
        want = struct.unpack(">" + fmt, struct.pack(">" + fmt, v))[0] * scale + off
        value, quality = got[f"{A}/{name}"]
        assert value == pytest.approx(want, rel=1e-12) and quality == Quality.GOOD, name
    assert got[f"{A}/inp"][0] == -7.25
    assert [got[f"{A}/c{i}"][0] for i in range(5)] == [float(b) for b in sim.coils[:5]]
    assert [got[f"{A}/d{i}"][0] for i in range(4)] == [float(b) for b in sim.discrete[:4]]
    texts = [e.payload["value"] for e in sink.events if e.type == "text_value"]
    assert texts == ["LINE-3"]
    # holding 0..11 and 20..23 (not adjacent), input, coil, discrete: five reads
    assert [(b.function, b.start, b.count) for b in conn.blocks[0]][:2] == [
        ("holding", 0, 12), ("holding", 20, 4)]
    assert len(conn.blocks[0]) == 5


PLANT = """\
plant: t
sites:
  - id: site
    areas:
      - id: area
        equipment:
          - id: dev
            signals:
              - {name: limit_pct, unit: "%", writable: true, range: [0, 100]}
              - {name: temp, writable: false}
              - {name: pump_on, type: bool, writable: true, range: [0, 1]}
connectors:
  - id: mb
    type: modbus
    host: 127.0.0.1
    port: PORT
    asset: site/area/dev
    timeout: 500ms
    backoff_max: 500ms
    groups:
      - interval: 100ms
        registers:
          - {signal: limit_pct, address: 1000}
          - {signal: temp, address: 1001, type: int16}
          - {signal: beyond, address: 1999, type: float32}
          - {signal: nowhere, address: 3000}
          - {signal: inp, address: 7, function: input}
          - {signal: pump_on, address: 10, function: coil}
"""


def _plant_ctx(sim: SimInverter, tmp_path: Path) -> tuple[ConnectorSpec, ConnectorContext]:
    f = tmp_path / "plant.yaml"
    f.write_text(PLANT.replace("PORT", str(sim.port)))
    plant = parse_plant(f.read_text(), str(f))
    reg = SignalRegistry()
    reg.register_many(plant.signal_defs())
    return plant.connectors[0], _ctx(tmp_path, str(f), plant, reg)


async def test_bad_addresses_are_named_with_file_line_and_device_answer(
        sim: SimInverter, tmp_path: Path) -> None:
    spec, ctx = _plant_ctx(sim, tmp_path)
    conn = create(spec, ctx)
    sink = CollectingSink()
    task = await _run(conn, sink)
    await sink.wait_for(lambda: len(sink.batches) >= 3)
    await _stop(task)
    faults = [e.payload["message"] for e in sink.events if e.type == "config_fault"]
    assert len(faults) == 2
    lines = PLANT.splitlines()
    for msg, name in zip(sorted(faults), ["beyond", "nowhere"], strict=True):
        line = next(i + 1 for i, t in enumerate(lines) if f"signal: {name}," in t)
        assert msg.startswith(f"{ctx.plant_file}:{line}: connector 'mb'"), msg
        assert "exception 2 (illegal data address)" in msg
    got = _latest(sink, ctx.registry)
    assert got[f"{A}/limit_pct"] == (100.0, Quality.GOOD)
    assert got[f"{A}/inp"][1] == Quality.GOOD
    assert got[f"{A}/nowhere"][1] == Quality.BAD_CONFIG and math.isnan(got[f"{A}/nowhere"][0])
    # the same report without collecting (for a start-up check command)
    assert sorted(await create(spec, ctx).preflight()) == sorted(faults)
    await sim.stop()
    (down,) = await create(spec, ctx).preflight()
    line = next(i + 1 for i, t in enumerate(lines) if "host:" in t)
    assert down.startswith(f"{ctx.plant_file}:{line}: connector 'mb'") and "cannot connect" in down
    await sim.start()


def test_bad_settings_name_file_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "plant.yaml"
    f.write_text(PLANT.replace("PORT", "502").replace("function: input", "function: inpt"))
    plant = parse_plant(f.read_text(), str(f))
    with pytest.raises(PlantFileError) as e:
        create(plant.connectors[0], _ctx(tmp_path, str(f), plant))
    line = next(i + 1 for i, t in enumerate(PLANT.splitlines()) if "function: input" in t)
    assert f"{f}:{line}" in str(e.value) and "function" in str(e.value)


async def test_write_back_confirmed_refused_and_timed_out(sim: SimInverter, tmp_path: Path) -> None:
    spec, ctx = _plant_ctx(sim, tmp_path)
    conn = create(spec, ctx)
    sink = CollectingSink()
    task = await _run(conn, sink)
    await sink.wait_for(lambda: conn.up is True and len(sink.batches) >= 1)
    assert conn.owns(f"{A}/limit_pct") and not conn.owns(f"{A}/inp")
    r = await conn.write(Command(f"{A}/limit_pct", 40.0, user="op"))
    assert (r.status, r.old_value, r.new_value) == ("confirmed", 100.0, 40.0)
    assert sim.holding[LIMIT_REGISTER] == 40
    assert sim.state()["ac_w"] == pytest.approx(0.4 * sim.rated_w)
    r = await conn.write(Command(f"{A}/limit_pct", 140.0))
    assert r.status == "rejected" and "above its high limit 100" in r.message
    assert sim.holding[LIMIT_REGISTER] == 40  # nothing was sent
    r = await conn.write(Command(f"{A}/pump_on", 1.0))
    assert (r.status, r.old_value, r.new_value) == ("confirmed", 0.0, 1.0)
    r = await conn.write(Command(f"{A}/temp", 1.0))
    assert r.status == "rejected" and "read-only" in r.message
    r = await conn.write(Command(f"{A}/inp", 1.0))
    assert r.status == "rejected" and "input" in r.message
    sim.delay_s = 3.0
    r = await conn.write(Command(f"{A}/limit_pct", 50.0, timeout_s=0.3))
    assert r.status == "timeout" and "0.3" in r.message
    sim.delay_s = 0.0
    await _stop(task)


async def test_device_outage_marks_bad_quality_and_recovers(
        sim: SimInverter, tmp_path: Path) -> None:
    reg = SignalRegistry()
    conn = create(_spec(sim, [{"signal": "x", "address": 5}]), _ctx(tmp_path, registry=reg))
    sim.set_holding(5, [77])
    sink = CollectingSink()
    task = await _run(conn, sink)
    await sink.wait_for(lambda: len(sink.batches) >= 2)
    await sim.stop()
    await sink.wait_for(lambda: "comm_fault" in sink.event_types())
    bad = sink.all().take(sink.all().quality == Quality.BAD_COMM_FAILURE)
    assert bad.signal.tolist() == [reg.id(f"{A}/x")]
    fault = next(e for e in sink.events if e.type == "comm_fault")
    assert fault.payload["connector"] == "mb" and str(sim.port) in fault.payload["device"]
    await asyncio.sleep(0.5)  # several failed retries: still one fault event
    assert sink.event_types().count("comm_fault") == 1
    n = len(sink.batches)
    await sim.start()
    await sink.wait_for(lambda: "comm_restored" in sink.event_types() and len(sink.batches) > n + 1)
    await _stop(task)
    last = sink.batches[-1]
    assert last.value.tolist() == [77.0] and last.quality.tolist() == [Quality.GOOD]
    assert conn.connects >= 2


async def test_wrong_type_shows_as_bad_quality_and_a_fault(sim: SimInverter, tmp_path: Path) -> None:
    # registers 0x7FC0 0x0000 hold a float32 NaN: what a uint32 counter read as float32
    # (or a float read with the wrong word order) can decode to
    sim.set_holding(30, [0x7FC0, 0x0000])
    reg = SignalRegistry()
    conn = create(_spec(sim, [{"signal": "meter", "address": 30, "type": "float32"}]),
                  _ctx(tmp_path, registry=reg))
    sink = CollectingSink()
    task = await _run(conn, sink)
    await sink.wait_for(lambda: len(sink.batches) >= 3)
    await _stop(task)
    assert set(sink.all().quality.tolist()) == {Quality.BAD}
    (msg,) = [e.payload["message"] for e in sink.events if e.type == "config_fault"]
    assert "(holding 30, float32" in msg and "word_order" in msg


def test_registry_definition_is_kept() -> None:
    reg = SignalRegistry()
    reg.register(SignalDef(f"{A}/limit_pct", writable=True, high=100.0))
    assert reg.definition(f"{A}/limit_pct").writable
    assert np.int32(reg.id(f"{A}/limit_pct")) == 0
