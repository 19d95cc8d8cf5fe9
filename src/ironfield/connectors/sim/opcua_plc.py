"""An asyncua server exposing a PLC's tags, driven by a time model.

Namespace ``urn:ironfield:sim-plc`` (index 2), string node ids:

- ``PLC.Line1.ConveyorSpeed`` Double [m/s]: follows ``SpeedSetpoint`` with a small ripple
- ``PLC.Line1.MotorCurrent`` Double [A], ``PLC.Line1.TankLevel`` Double [%]
- ``PLC.Line1.Counter`` Int32 (one count per update), ``PLC.Line1.Running`` Boolean
- ``PLC.Line1.SpeedSetpoint`` Double [m/s], writable
- ``PLC.Line1.BrokenSensor`` Double, always status BadSensorFailure
- ``PLC.Line1.Recipe`` String (not a number: for plant-file type checks)
- ``PLC.Line1.SetSpeed(speed: Double) -> Boolean`` method: sets the setpoint
- ``Bulk.00000`` .. : ``bulk`` Double tags that all change every update (benchmarks)

Browse path of a tag: ``0:Objects/2:PLC/2:Line1/2:ConveyorSpeed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ironfield.connectors.opcua.uatypes import Server, ua, uamethod
from ironfield.connectors.sim.ports import free_port
from ironfield.connectors.sim.timemodel import Clock, bulk_values, wave

NAMESPACE = "urn:ironfield:sim-plc"
TAGS = ("ConveyorSpeed", "MotorCurrent", "TankLevel", "Counter", "Running", "SpeedSetpoint",
        "BrokenSensor", "Recipe")


def node_id(tag: str) -> str:
    """The plant-file node id of a Line1 tag (or a bulk tag index as ``Bulk.00042``)."""
    return f"ns=2;s={tag}" if tag.startswith("Bulk.") else f"ns=2;s=PLC.Line1.{tag}"


class SimPlc:
    """A PLC on ``opc.tcp://host:port/ironfield/plc`` (a free port unless given)."""

    def __init__(self, *, bulk: int = 0, clock: Clock = time.time, host: str = "127.0.0.1",
                 port: int = 0, update_s: float = 1.0,
                 certificate: Path | None = None, private_key: Path | None = None) -> None:
        self.bulk, self.clock, self.update_s = bulk, clock, update_s
        self.host, self.port = host, port or free_port(host)
        self.certificate, self.private_key = certificate, private_key
        self.setpoint = 1.5
        self.counter = 0
        self.method_delay_s = 0.0  # SetSpeed answers late (a PLC busy), for timeout tests
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._nodes: dict[str, Any] = {}
        self._bulk_ids: list[ua.NodeId] = []
        for name in ("asyncua", "asyncua.server"):
            logging.getLogger(name).setLevel(logging.ERROR)

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}/ironfield/plc"

    def values(self, t_s: float) -> dict[str, float]:
        """Every Line1 tag's value at ``t_s`` [s] (the time model)."""
        return {
            "ConveyorSpeed": self.setpoint + wave(t_s, 60.0, 0.02, 0.0),
            "MotorCurrent": wave(t_s, 30.0, 2.0, 12.0 + 4.0 * self.setpoint),
            "TankLevel": wave(t_s, 600.0, 20.0, 55.0),
        }

    async def start(self) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("ironfield simulated PLC")
        if self.certificate is not None and self.private_key is not None:
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            await server.load_certificate(str(self.certificate))
            await server.load_private_key(str(self.private_key))
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        idx = await server.register_namespace(NAMESPACE)
        plc = await server.nodes.objects.add_object(ua.NodeId("PLC", idx), ua.QualifiedName("PLC", idx))
        line = await plc.add_object(ua.NodeId("PLC.Line1", idx), ua.QualifiedName("Line1", idx))
        t = self.clock()
        init: dict[str, Any] = dict(self.values(t))
        init.update(Counter=ua.Variant(self.counter, ua.VariantType.Int32), Running=True,
                    SpeedSetpoint=self.setpoint, BrokenSensor=0.0, Recipe="door-outer-v3")
        for tag in TAGS:
            v = init[tag]
            self._nodes[tag] = await line.add_variable(
                ua.NodeId(f"PLC.Line1.{tag}", idx), ua.QualifiedName(tag, idx), v)
        await self._nodes["SpeedSetpoint"].set_writable()
        await self._nodes["BrokenSensor"].write_value(ua.DataValue(
            ua.Variant(0.0, ua.VariantType.Double), StatusCode=ua.StatusCode(
                ua.StatusCodes.BadSensorFailure)))

        @uamethod  # type: ignore[untyped-decorator]
        async def set_speed(parent: Any, speed: float) -> bool:
            if self.method_delay_s:
                await asyncio.sleep(self.method_delay_s)
            await self.set_setpoint(float(speed))
            return True

        await line.add_method(ua.NodeId("PLC.Line1.SetSpeed", idx), ua.QualifiedName("SetSpeed", idx),
                              set_speed, [ua.VariantType.Double], [ua.VariantType.Boolean])
        if self.bulk:
            await self._add_bulk(server, plc, idx)
        self._server = server
        await server.start()
        self._task = asyncio.create_task(self._tick())

    async def _add_bulk(self, server: Any, plc: Any, idx: int) -> None:
        # 100 tags per folder: asyncua scans a parent's references on every add
        bulk = await plc.add_folder(ua.NodeId("Bulk", idx), ua.QualifiedName("Bulk", idx))
        vals = bulk_values(self.clock(), self.bulk)
        items = []
        folder = bulk
        for i in range(self.bulk):
            if i % 100 == 0:
                folder = await bulk.add_folder(ua.NodeId(f"Bulk.G{i // 100:03d}", idx),
                                               ua.QualifiedName(f"G{i // 100:03d}", idx))
            nid = ua.NodeId(f"Bulk.{i:05d}", idx)
            item = ua.AddNodesItem()
            item.RequestedNewNodeId = nid
            item.BrowseName = ua.QualifiedName(f"Tag{i:05d}", idx)
            item.NodeClass = ua.NodeClass.Variable
            item.ParentNodeId = folder.nodeid
            item.ReferenceTypeId = ua.NodeId(ua.ObjectIds.HasComponent)
            item.TypeDefinition = ua.NodeId(ua.ObjectIds.BaseDataVariableType)
            attrs = ua.VariableAttributes()
            attrs.DisplayName = ua.LocalizedText(f"Tag{i:05d}")
            attrs.DataType = ua.NodeId(ua.ObjectIds.Double)
            attrs.Value = ua.Variant(float(vals[i]), ua.VariantType.Double)
            attrs.ValueRank = ua.ValueRank.Scalar
            attrs.AccessLevel = ua.AccessLevel.CurrentRead.mask
            attrs.UserAccessLevel = ua.AccessLevel.CurrentRead.mask
            item.NodeAttributes = attrs
            items.append(item)
            self._bulk_ids.append(nid)
        for r in await server.iserver.isession.add_nodes(items):
            r.StatusCode.check()

    async def set_setpoint(self, speed: float) -> None:
        self.setpoint = speed
        if self._server is not None:
            await self._nodes["SpeedSetpoint"].write_value(ua.Variant(speed, ua.VariantType.Double))

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        k = 0
        while True:
            k += 1
            await asyncio.sleep(max(0.0, t0 + k * self.update_s - loop.time()))
            await self.update()

    async def update(self) -> None:
        """Advance the model one step and publish every tag's new value."""
        server = self._server
        if server is None:
            return
        t = self.clock()
        ts = datetime.fromtimestamp(t, UTC)
        sp = await self._nodes["SpeedSetpoint"].read_value()
        self.setpoint = float(sp)
        self.counter += 1
        for tag, v in self.values(t).items():
            await server.write_attribute_value(self._nodes[tag].nodeid, ua.DataValue(
                ua.Variant(v, ua.VariantType.Double), SourceTimestamp=ts, ServerTimestamp=ts))
        await server.write_attribute_value(self._nodes["Counter"].nodeid, ua.DataValue(
            ua.Variant(self.counter, ua.VariantType.Int32), SourceTimestamp=ts, ServerTimestamp=ts))
        if self._bulk_ids:
            vals = bulk_values(t, self.bulk).tolist()
            w = server.write_attribute_value
            for i, (nid, v) in enumerate(zip(self._bulk_ids, vals, strict=True)):
                await w(nid, ua.DataValue(ua.Variant(v, ua.VariantType.Double),
                                          SourceTimestamp=ts, ServerTimestamp=ts))
                if i % 500 == 499:
                    await asyncio.sleep(0)  # let requests in between: a PLC answers while it scans

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._server is not None:
            server, self._server = self._server, None
            await server.stop()
        self._nodes.clear()
        self._bulk_ids.clear()

    async def __aenter__(self) -> SimPlc:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
