"""OPC UA security (Basic256Sha256 with generated certificates) and unreachable endpoints."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ironfield.connectors.opcua.connector import OpcUaConnector, create
from ironfield.connectors.opcua.session import application_uri
from ironfield.connectors.sim.certs import make_certificate
from ironfield.connectors.sim.opcua_plc import SimPlc, node_id
from ironfield.connectors.sim.ports import free_port
from ironfield.connectors.sim.sink import CollectingSink
from ironfield.core.plant import ConnectorSpec, PlantSpec, parse_plant
from ironfield.core.plugins import ConnectorContext
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalRegistry

A = "site/area/plc"
PLANT = """\
plant: t
sites: []
connectors:
  - id: plc
    type: opcua
    endpoint: ENDPOINT
    asset: site/area/plc
    subscriptions:
      - nodes:
          - {signal: speed, node: "ns=2;s=PLC.Line1.ConveyorSpeed"}
"""


def _ctx(tmp_path: Path, reg: SignalRegistry, plant_file: str = "plant.yaml",
         plant: PlantSpec | None = None) -> ConnectorContext:
    return ConnectorContext(reg, plant or PlantSpec(plant="t", sites=[]), tmp_path, plant_file)


def _spec(endpoint: str, nodes: list[dict[str, Any]], **kw: Any) -> ConnectorSpec:
    return ConnectorSpec.model_validate({
        "id": "plc", "type": "opcua", "endpoint": endpoint, "asset": A, "timeout": "2s",
        "watchdog": "1s", "backoff_max": "500ms",
        "subscriptions": [{"publishing_interval": "100ms", "nodes": nodes}], **kw})


async def _start(conn: OpcUaConnector) -> tuple[CollectingSink, asyncio.Task[None]]:
    sink = CollectingSink()
    return sink, asyncio.create_task(conn.run(sink))


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_basic256sha256_sign_and_encrypt(tmp_path: Path) -> None:
    server_cert, server_key = make_certificate(tmp_path / "pki", "server",
                                               "urn:ironfield:sim-plc:server")
    client_cert, client_key = make_certificate(tmp_path / "pki", "client",
                                               "urn:ironfield:connector")
    assert application_uri(str(client_cert)) == "urn:ironfield:connector"
    async with SimPlc(update_s=0.1, certificate=server_cert, private_key=server_key) as plc:
        reg = SignalRegistry()
        secure = {"policy": "Basic256Sha256", "mode": "SignAndEncrypt",
                  "certificate": str(client_cert), "private_key": str(client_key),
                  "server_certificate": str(server_cert)}
        conn = create(_spec(plc.endpoint, [{"signal": "counter", "node": node_id("Counter")}],
                            security=secure), _ctx(tmp_path, reg))
        sink, task = await _start(conn)
        await sink.wait_for(lambda: len(sink.batches) >= 2)
        await _stop(task)
        assert sink.batches[-1].quality.tolist() == [Quality.GOOD]
        # the same server refuses a client that does not encrypt
        plain = create(_spec(plc.endpoint, [{"signal": "counter", "node": node_id("Counter")}]),
                       _ctx(tmp_path, SignalRegistry()))
        sink2, task2 = await _start(plain)
        await sink2.wait_for(lambda: "comm_fault" in sink2.event_types())
        await _stop(task2)
        assert not sink2.batches or all(b.quality[0] != Quality.GOOD for b in sink2.batches)


async def test_wrong_endpoint_is_named_with_the_plant_line(tmp_path: Path) -> None:
    f = tmp_path / "plant.yaml"
    f.write_text(PLANT.replace("ENDPOINT", f"opc.tcp://127.0.0.1:{free_port()}/nothing"))
    plant = parse_plant(f.read_text(), str(f))
    conn = create(plant.connectors[0], _ctx(tmp_path, SignalRegistry(), str(f), plant))
    sink, task = await _start(conn)
    await sink.wait_for(lambda: "comm_fault" in sink.event_types())
    await _stop(task)
    line = next(i + 1 for i, t in enumerate(PLANT.splitlines()) if "endpoint:" in t)
    msg = next(e for e in sink.events if e.type == "comm_fault").payload["error"]
    assert msg.startswith(f"{f}:{line}: connector 'plc': cannot connect to opc.tcp://"), msg
    (pre,) = await conn.preflight()
    assert pre.startswith(f"{f}:{line}: connector 'plc': cannot connect to opc.tcp://"), pre
