"""SunSpec discovery and decoding against the simulated inverter at a fixed clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ironfield.connectors.modbus.sunspec import create
from ironfield.connectors.sim.modbus_inverter import LIMIT_REGISTER, SF, SimInverter, scale_factors
from ironfield.connectors.sim.sink import CollectingSink
from ironfield.connectors.sim.timemodel import inverter_state
from ironfield.core.plant import ConnectorSpec, PlantSpec
from ironfield.core.plugins import Command, ConnectorContext
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalRegistry

NOON = 12 * 3600.0
INV = "luobei/energy/pv/inverter-01"


def _ctx(tmp_path: Path, reg: SignalRegistry) -> ConnectorContext:
    return ConnectorContext(reg, PlantSpec(plant="t", sites=[]), tmp_path, "plant.yaml")


async def _collect(sim: SimInverter, tmp_path: Path, **kw: object
                   ) -> tuple[dict[str, tuple[float, int]], CollectingSink, SignalRegistry]:
    reg = SignalRegistry()
    spec = ConnectorSpec.model_validate({"id": "inv", "type": "sunspec", "host": sim.host,
                                         "port": sim.port, "asset": INV, "interval": "100ms",
                                         "timeout": "500ms", **kw})
    conn = create(spec, _ctx(tmp_path, reg))
    sink = CollectingSink()
    task = asyncio.create_task(conn.run(sink))
    try:
        await sink.wait_for(lambda: len(sink.batches) >= 1 or "config_fault" in sink.event_types())
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    b = sink.all().latest_per_signal()
    got = {reg.path(s).rsplit("/", 1)[1]: (v, q) for s, _, v, q in b.rows()}
    return got, sink, reg


@pytest.fixture(params=[10_000.0, 500_000.0], ids=["10kW", "500kW"])
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[SimInverter]:
    s = SimInverter(clock=lambda: NOON, model=103, mppt=2, rated_w=request.param)
    s.holding[LIMIT_REGISTER] = 60  # throttled to 60 % of its rating
    await s.start()
    yield s
    await s.stop()


def test_scale_factors_follow_the_rating() -> None:
    assert scale_factors(10_000.0) == SF  # a 10 kW unit: W in 1 W, A in 0.01 A
    big = scale_factors(500_000.0)  # 600 kW peak: W in 100 W (int16), A in 0.1 A (uint16)
    assert (big["W_SF"], big["VA_SF"], big["DCW_SF"], big["A_SF"], big["DCA_SF"]) == (2, 2, 2, -1, -1)
    assert big["V_SF"] == SF["V_SF"] and big["Hz_SF"] == SF["Hz_SF"]


async def test_three_phase_inverter_values_with_scale_factors(
        sim: SimInverter, tmp_path: Path) -> None:
    got, sink, reg = await _collect(sim, tmp_path)
    want = inverter_state(NOON, sim.rated_w, 60.0, 0.0, mppt=2)

    def close(name: str, v: float, sf: str) -> None:
        value, q = got[name]
        assert q == Quality.GOOD, name
        assert abs(value - v) <= 0.5 * 10.0 ** sim.sf[sf] + 1e-9, (name, value, v)

    close("ac_power_w", want["ac_w"], "W_SF")
    assert want["ac_w"] == pytest.approx(0.6 * sim.rated_w)  # the half-sine peaks at solar noon
    close("dc_power_w", want["dc_w"], "DCW_SF")
    close("dc_voltage_v", want["dc_v"], "DCV_SF")
    close("dc_current_a", want["dc_a"], "DCA_SF")
    close("ac_frequency_hz", 50.0, "Hz_SF")
    close("ac_current_a", want["ac_w"] / 230.0, "A_SF")
    close("ac_voltage_cn_v", 230.0, "V_SF")
    close("mppt2_dc_power_w", want["mppt_w"], "DCW_SF")
    close("mppt1_dc_voltage_v", want["dc_v"], "DCV_SF")
    assert got["ac_energy_wh"] == (1_234_567.0, Quality.GOOD)
    assert got["status"] == (5.0, Quality.GOOD)  # SunSpec St 5 = throttled
    assert reg.definition(f"{INV}/status").states[5] == "throttled"
    assert reg.definition(f"{INV}/ac_power_w").unit == "W"
    assert got["ac_reactive_power_var"] == (0.0, Quality.GOOD)
    info = next(e for e in sink.events if e.type == "device_info").payload
    assert (info["manufacturer"], info["serial"]) == ("ironfield", "SIM-0001")


async def test_single_phase_model_has_no_phase_b(tmp_path: Path) -> None:
    async with SimInverter(clock=lambda: NOON, model=101, mppt=1) as sim:
        got, _, _ = await _collect(sim, tmp_path)
    assert "ac_voltage_an_v" in got and "ac_voltage_bn_v" not in got
    assert "mppt1_dc_power_w" in got and "mppt2_dc_power_w" not in got
    assert got["ac_power_w"][0] == pytest.approx(10_000.0, abs=0.5)
    assert got["status"][0] == 4.0  # mppt


async def test_unimplemented_point_reads_as_bad(sim: SimInverter, tmp_path: Path) -> None:
    # TmpCab 0x8000 is "not implemented" in SunSpec [int16]; the rest stays good
    orig = sim.refresh

    def refresh() -> None:
        orig()
        sim.holding[sim.layout["103.TmpCab"]] = 0x8000

    sim.refresh = refresh  # type: ignore[method-assign]
    got, _, _ = await _collect(sim, tmp_path)
    assert got["cabinet_temp_c"][1] == Quality.BAD
    assert got["ac_power_w"][1] == Quality.GOOD


async def test_device_without_sunspec_map_is_reported(sim: SimInverter, tmp_path: Path) -> None:
    got, sink, _ = await _collect(sim, tmp_path, base=0)
    msg = next(e for e in sink.events if e.type == "config_fault").payload["message"]
    assert msg.startswith("plant.yaml: connector 'inv'") and "no SunSpec map" in msg
    assert "instead of 'SunS'" in msg
    assert not got


async def test_sunspec_signals_are_read_only(sim: SimInverter, tmp_path: Path) -> None:
    reg = SignalRegistry()
    spec = ConnectorSpec.model_validate({"id": "inv", "type": "sunspec", "host": sim.host,
                                         "port": sim.port, "asset": INV})
    conn = create(spec, _ctx(tmp_path, reg))
    assert not conn.owns(f"{INV}/ac_power_w")
    assert (await conn.write(Command(f"{INV}/ac_power_w", 1.0))).status == "rejected"
